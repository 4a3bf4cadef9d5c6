"""The cost arithmetic of api/graphql/cost.py on the real schema, and the query limits' settings."""

from __future__ import annotations

import time
from typing import Any

import pytest
from graphql import parse

from api.graphql.cost import INTROSPECTION_COST, LIST_SIZE, MUTATION_COST, operation_cost
from api.graphql.schema import schema
from api.settings import QueryLimits


def cost(query: str, **variables: Any) -> int:
    return operation_cost(schema._schema, parse(query), None, variables).total


def test_a_scalar_costs_nothing_and_an_object_one() -> None:
    assert cost("{ me { email } }") == 1
    assert cost("{ me { email organization { name parent { name } } } }") == 3
    assert cost("{ __typename me { __typename email } }") == 1


def test_a_connection_costs_its_page_statement_plus_page_size_times_each_row() -> None:
    # Given neither first nor last, the default page of 20
    assert cost("{ opportunities { edges { cursor node { name } } pageInfo { hasNextPage } } }") == 1 + 20
    assert cost("{ opportunities(first: 5) { edges { node { name } } } }") == 1 + 5
    assert cost("{ opportunities(last: 7) { edges { node { name } } } }") == 1 + 7
    # Connections with a larger default page are priced by it
    assert cost("{ products { edges { node { name } } } }") == 1 + 50
    # totalCount is a count statement
    assert cost("{ opportunities(first: 5) { totalCount } }") == 1 + 1


def test_nested_pages_multiply() -> None:
    nested = "{ opportunities(first: 100) { edges { node { name activities(first: 100) { edges { node { subject } } } } } } }"
    assert cost(nested) == 1 + 100 * (1 + 1 + 100)
    deeper = (
        "{ accounts(first: 10) { edges { node { opportunities(first: 10) { edges { node { "
        "activities(first: 10) { totalCount edges { node { subject } } } } } } } } } }"
    )
    assert cost(deeper) == 1 + 10 * (1 + 1 + 10 * (1 + 1 + 1 + 10))


def test_aliases_are_priced_one_by_one() -> None:
    one = "opportunities(first: 100) { edges { node { name activities(first: 100) { edges { node { subject } } } } } }"
    thirty = "{ " + " ".join(f"a{n}: {one}" for n in range(30)) + " }"
    result = operation_cost(schema._schema, parse(thirty))
    assert result.total == 30 * 10_201
    assert len(result.by_field) == 30 and result.costliest == ("a0", 10_201)


def test_page_sizes_come_from_variables_and_are_clamped_to_what_the_api_serves() -> None:
    query = "query($n: Int) { opportunities(first: $n) { edges { node { name } } } }"
    assert cost(query, n=7) == 1 + 7
    assert cost(query) == 1 + 20  # unset: the default page
    assert cost(query, n=10_000) == 1 + 100  # refused at execution; never priced above what could be served
    assert cost(query, n=-5) == 1
    assert cost("query($n: Int = 3) { opportunities(first: $n) { edges { node { name } } } }") == 1 + 3
    # Variables that do not coerce are priced at the defaults (execution refuses them)
    assert cost(query, n="many") == 1 + 20


def test_lists_are_priced_at_their_limit_ids_or_the_assumed_size() -> None:
    team = "{ opportunities(first: 10) { edges { node { team { user { name } } } } } }"
    assert cost(team) == 1 + 10 * (1 + LIST_SIZE * (1 + 1))
    ids = '{ nodes(ids: ["a", "b", "c"]) { id } }'
    assert cost(ids) == 3
    breakdown = "{ receivablesBreakdown(by: ORDER, first: 7) { ownStock } }"
    assert cost(breakdown) == 20 + 7 * 1  # an aggregate: its own 20 once, then one a line


def test_fragments_are_priced_where_they_are_spread() -> None:
    inline = "{ opportunities(first: 5) { edges { node { ... on Opportunity { name account { name } } } } } }"
    named = "fragment Deal on Opportunity { name account { name } } { opportunities(first: 5) { edges { node { ...Deal } } } }"
    assert cost(inline) == cost(named) == 1 + 5 * (1 + 1)
    # A fragment of the connection itself takes the page size of where it is spread
    page = "fragment Page on OpportunityConnection { edges { node { name } } } { a: opportunities(first: 3) { ...Page } b: opportunities(first: 9) { ...Page } }"
    assert cost(page) == (1 + 3) + (1 + 9)


def test_a_fragment_spread_many_times_over_is_priced_quickly() -> None:
    # Given fragments each spreading the next twice, ten levels deep (2^10 leaves in all)
    levels = 10
    fragments = [f"fragment F{levels} on Organization {{ name }}"]
    fragments += [
        f"fragment F{n} on Organization {{ parent {{ ...F{n + 1} }} a: parent {{ ...F{n + 1} }} }}"
        for n in range(levels)
    ]
    started = time.perf_counter()
    total = cost(" ".join(fragments) + " { me { organization { ...F0 } } }")
    # Then the price is exact and takes no time: each fragment is priced once
    assert total == 1 + 1 + sum(2**n for n in range(1, levels + 1))
    assert time.perf_counter() - started < 0.5


def test_mutations_and_introspection_have_their_own_prices() -> None:
    create = 'mutation { createAccount(input: {name: "Acme"}) { account { name } errors { code } } }'
    assert cost(create) == MUTATION_COST + 1 + 1 + LIST_SIZE
    assert cost("{ __schema { types { name fields { name } } } }") == INTROSPECTION_COST
    assert cost('{ __type(name: "Opportunity") { name } }') == INTROSPECTION_COST


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"CRM_MAX_QUERY_COST": "lots"}, "CRM_MAX_QUERY_COST must be a whole number, not 'lots'."),
        ({"CRM_USER_BUDGET_REFILL": "fast"}, "CRM_USER_BUDGET_REFILL must be a number, not 'fast'."),
        ({"CRM_MAX_RESPONSE_BYTES": "0"}, "CRM_MAX_RESPONSE_BYTES must be greater than 0."),
        ({"CRM_USER_BUDGET": "500"}, "CRM_USER_BUDGET (500) must be at least CRM_MAX_QUERY_COST (20000)"),
        ({"CRM_MAX_CONNECTIONS_PER_REQUEST": "1"}, "CRM_MAX_CONNECTIONS_PER_REQUEST must be at least 2."),
    ],
)
def test_bad_limits_are_refused_naming_the_variable(environment: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        QueryLimits.from_env(environment)
    assert message in str(refused.value)


def test_limits_come_from_the_environment_with_defaults_for_the_rest() -> None:
    limits = QueryLimits.from_env({"CRM_MAX_QUERY_COST": "5000", "CRM_TENANT_BUDGET_REFILL": "2.5"})
    assert (limits.max_cost, limits.tenant_refill_per_second) == (5000, 2.5)
    assert limits.user_budget == QueryLimits().user_budget
