"""Every connection pages both ways: `first`/`after` forwards, `last`/`before` backwards, with truthful page flags."""

from __future__ import annotations

import pytest

from tests.integration.graphql_client import gid

OPPS = """
query($first: Int, $after: String, $last: Int, $before: String, $order: OpportunityOrder) {
  opportunities(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
BY_NAME = {"field": "NAME", "direction": "ASC"}
ACCOUNT_OPPS = """
query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  node(id: $id) { ... on Account {
    opportunities(first: $first, after: $after, last: $last, before: $before) {
      edges { node { name } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  } }
}
"""
LEADS = "query($after: String) { leads(first: 5, after: $after) { edges { node { id } } } }"


def _names(connection: dict) -> list[str]:  # type: ignore[type-arg]
    return [e["node"]["name"] for e in connection["edges"]]


def _flags(connection: dict) -> tuple[bool, bool]:  # type: ignore[type-arg]
    info = connection["pageInfo"]
    return info["hasPreviousPage"], info["hasNextPage"]


async def test_paging_forwards_then_backwards_over_a_list(world, as_) -> None:  # type: ignore[no-untyped-def]
    # Given an admin who sees O1..O6, ordered by name
    admin = await as_("admin")
    # When they read forwards two at a time
    first = (await admin.data(OPPS, first=2, order=BY_NAME))["opportunities"]
    middle = (await admin.data(OPPS, first=2, after=first["pageInfo"]["endCursor"], order=BY_NAME))["opportunities"]
    end = (await admin.data(OPPS, first=2, after=middle["pageInfo"]["endCursor"], order=BY_NAME))["opportunities"]
    # Then each page knows truthfully what lies before and after it
    assert (_names(first), _flags(first)) == (["O1", "O2"], (False, True))
    assert (_names(middle), _flags(middle)) == (["O3", "O4"], (True, True))
    assert (_names(end), _flags(end)) == (["O5", "O6"], (True, False))
    # When they go back from the last page with last/before
    back = (await admin.data(OPPS, last=2, before=end["pageInfo"]["startCursor"], order=BY_NAME))["opportunities"]
    # Then they get the page before it, in list order, with both flags true
    assert (_names(back), _flags(back)) == (["O3", "O4"], (True, True))
    start = (await admin.data(OPPS, last=3, before=back["pageInfo"]["startCursor"], order=BY_NAME))["opportunities"]
    assert (_names(start), _flags(start)) == (["O1", "O2"], (False, True))
    # And `last` alone is the end of the list
    tail = (await admin.data(OPPS, last=4, order=BY_NAME))["opportunities"]
    assert (_names(tail), _flags(tail)) == (["O3", "O4", "O5", "O6"], (True, False))
    # And both cursors bound one window
    window = (await admin.data(OPPS, first=10, after=first["pageInfo"]["endCursor"],
                               before=end["pageInfo"]["startCursor"], order=BY_NAME))["opportunities"]  # fmt: skip
    assert (_names(window), _flags(window)) == (["O3", "O4"], (True, True))


async def test_a_nested_connection_pages_backwards_too(world, as_) -> None:  # type: ignore[no-untyped-def]
    # Given the east account's deals O1, O3 and O6, newest first
    admin = await as_("admin")
    account = gid("Account", world.accounts["A_east"].id)
    first = (await admin.data(ACCOUNT_OPPS, id=account, first=1))["node"]["opportunities"]
    rest = (await admin.data(ACCOUNT_OPPS, id=account, first=5, after=first["pageInfo"]["endCursor"]))["node"]
    rest = rest["opportunities"]
    assert (len(rest["edges"]), _flags(first), _flags(rest)) == (2, (False, True), (True, False))
    # When the last of them is read backwards to the start
    back = (await admin.data(ACCOUNT_OPPS, id=account, last=5, before=rest["pageInfo"]["endCursor"]))["node"]
    back = back["opportunities"]
    # Then they are the two before it, in list order, and nothing precedes them
    assert _names(back) == _names(first) + _names(rest)[:1]
    assert _flags(back) == (False, True)


async def test_a_cursor_of_another_ordering_or_list_is_refused_naming_the_argument(world, as_) -> None:  # type: ignore[no-untyped-def]
    # Given a cursor of the opportunities ordered by amount
    admin = await as_("admin")
    by_amount = await admin.data(OPPS, first=1, order={"field": "AMOUNT", "direction": "DESC"})
    cursor = by_amount["opportunities"]["pageInfo"]["endCursor"]
    # When it is reused with the default ordering, backwards, or on another list
    for body in (
        await admin(OPPS, first=1, after=cursor),
        await admin(OPPS, last=1, before=cursor, order=BY_NAME),
        await admin(LEADS, after=cursor),
    ):
        # Then the answer is a clear error naming the argument, not a database error
        error = body["errors"][0]
        assert error["extensions"]["code"] == "INVALID"
        assert error["extensions"]["field"] in {"after", "before"}
        assert "another list or ordering" in error["message"]
        assert "operator" not in error["message"]


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"first": 2, "last": 2}, "last"),
        ({"last": 101}, "last"),
        ({"last": -1}, "last"),
        ({"before": "bm90"}, "before"),
    ],
)
async def test_bad_backward_arguments_are_named(variables, field, world, as_) -> None:  # type: ignore[no-untyped-def]
    body = await (await as_("admin"))(OPPS, **variables)
    assert body["errors"][0]["extensions"]["field"] == field
    assert body["data"] is None or body["data"]["opportunities"] is None
