"""Compiled reads: a whole GraphQL read answered by one SQL statement that builds its JSON in PostgreSQL.

`api.graphql.compiled` plans a document's selection into the plan of `plan.py`, naming only fields that
`shapes.py` knows how to read; `render.py` turns the plan into one statement whose row rules come from the
door (`UnitOfWork.rows`), exactly those the resolvers apply; `run.py` keeps each compiled statement and runs it.
Whatever the planner does not cover is answered by the resolvers, and the two are held to the same answers.
"""
