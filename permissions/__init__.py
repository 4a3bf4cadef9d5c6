"""Access engine: Casbin answers role questions, SQL predicates answer row questions."""
