"""Money validation and keyset cursors."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.shared.errors import ValidationFailed, Validator
from domain.shared.money import check_amount, check_currency
from domain.shared.pagination import PageRequest, decode_cursor, encode_cursor


@pytest.mark.parametrize(
    ("amount", "ok"),
    [
        (Decimal("0"), True),
        (Decimal("10.5"), True),
        (Decimal("-0.01"), False),
        (Decimal("1.001"), False),
        (Decimal("NaN"), False),
        (Decimal("Infinity"), False),
        (Decimal("10000000000000000"), False),
    ],
)
def test_amount_rules(amount: Decimal, ok: bool) -> None:
    v = Validator()
    result = check_amount(v, "amount", amount)
    assert (not v.field_errors) == ok
    if ok:
        assert result == amount.quantize(Decimal("0.01"))
    else:
        assert v.field_errors[0].field == "amount"


@pytest.mark.parametrize(("code", "ok"), [("usd", True), ("EUR", True), ("US", False), ("EURO", False), ("12$", False)])
def test_currency_rules(code: str, ok: bool) -> None:
    v = Validator()
    check_currency(v, "currency", code)
    assert (not v.field_errors) == ok


@given(
    st.one_of(
        st.datetimes(timezones=st.just(UTC)),
        st.dates(),
        st.decimals(allow_nan=False, allow_infinity=False, places=2),
        st.text(max_size=50),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.none(),
    ),
    st.uuids(),
)
def test_cursor_round_trip(value: object, row_id: uuid.UUID) -> None:
    decoded_value, decoded_id, signature = decode_cursor(encode_cursor(value, row_id, "0123456789abcdef"))
    assert (decoded_id, signature) == (row_id, "0123456789abcdef")
    assert decoded_value == value
    assert type(decoded_value) is type(value) or isinstance(value, (datetime, date))


@pytest.mark.parametrize("argument", ["after", "before"])
def test_a_cursor_of_another_list_or_ordering_is_refused_naming_the_argument(argument: str) -> None:
    from domain.selling.opportunities import Opportunity
    from domain.shared.pagination import Ordering, SortDirection

    by_amount = Ordering("Query.opportunities", Opportunity.amount, Opportunity.id, SortDirection.DESC)
    by_created = Ordering("Query.opportunities", Opportunity.created_at, Opportunity.id, SortDirection.DESC)
    ascending = Ordering("Query.opportunities", Opportunity.amount, Opportunity.id, SortDirection.ASC)
    cursor = encode_cursor(Decimal("10.00"), uuid.uuid4(), by_amount.signature)
    assert by_amount.position(cursor, argument)[0] == Decimal("10.00")
    for other in (by_created, ascending):
        with pytest.raises(ValidationFailed) as raised:
            other.position(cursor, argument)
        assert (raised.value.errors[0].field, raised.value.errors[0].code) == (argument, "INVALID")
        assert "another list or ordering" in raised.value.errors[0].message


@pytest.mark.parametrize("cursor", ["", "abc", "bm90LWEtY3Vyc29y", "W10", "WzEsMl0"])
@pytest.mark.parametrize("argument", ["after", "before"])
def test_foreign_cursors_are_refused(cursor: str, argument: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        PageRequest(first=5, **{argument: cursor}).validated()
    assert raised.value.errors[0].field == argument


def test_first_and_last_together_are_refused() -> None:
    with pytest.raises(ValidationFailed) as raised:
        PageRequest(first=5, last=5).validated()
    assert [(e.field, e.code) for e in raised.value.errors] == [("last", "INVALID")]
