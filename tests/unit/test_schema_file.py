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


def test_every_argument_and_enum_value_is_described() -> None:
    from graphql import GraphQLEnumType, GraphQLInterfaceType, GraphQLObjectType

    missing = []
    for name, gql_type in schema._schema.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(gql_type, (GraphQLObjectType, GraphQLInterfaceType)):
            missing += [
                f"{name}.{f}({a})"
                for f, field in gql_type.fields.items()
                for a, arg in field.args.items()
                if not arg.description
            ]
        if isinstance(gql_type, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in gql_type.values.items() if not value.description]
    assert missing == []


def test_every_type_with_an_id_is_a_node() -> None:
    from graphql import GraphQLNonNull, GraphQLObjectType

    not_nodes = [
        name
        for name, gql_type in schema._schema.type_map.items()
        if isinstance(gql_type, GraphQLObjectType)
        and not name.startswith("__")
        and isinstance(gql_type.fields.get("id"), object)
        and "id" in gql_type.fields
        and isinstance(gql_type.fields["id"].type, GraphQLNonNull)
        and str(gql_type.fields["id"].type.of_type) == "ID"
        and "Node" not in {i.name for i in gql_type.interfaces}
    ]
    assert not_nodes == []
