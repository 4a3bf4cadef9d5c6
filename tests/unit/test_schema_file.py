"""The checked-in schema.graphql is exactly the schema the code exports."""

from __future__ import annotations

from pathlib import Path

from api.graphql.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_file_matches_code() -> None:
    exported = str(schema) + "\n"
    assert SCHEMA_FILE.read_text() == exported, "schema.graphql is stale: run `crm schema export`"


def test_every_type_and_field_is_described() -> None:
    from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

    missing = []
    for name, gql_type in schema._schema.type_map.items():
        if name.startswith("__") or name in {"Query", "Mutation"}:
            continue
        if isinstance(gql_type, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType, GraphQLEnumType)):
            if not gql_type.description:
                missing.append(name)
        if isinstance(gql_type, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            missing += [f"{name}.{f}" for f, field in gql_type.fields.items() if not field.description]
    for root in ("Query", "Mutation"):
        missing += [f"{root}.{f}" for f, field in schema._schema.type_map[root].fields.items() if not field.description]
    assert missing == []
