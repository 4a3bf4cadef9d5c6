"""Money validation and keyset cursors."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import ValidationFailed, Validator
from domain.money import check_amount, check_currency
from domain.pagination import PageRequest, decode_cursor, encode_cursor


@pytest.mark.parametrize(
    ("amount", "ok"),
    [(Decimal("0"), True), (Decimal("10.5"), True), (Decimal("-0.01"), False), (Decimal("1.001"), False),
     (Decimal("NaN"), False), (Decimal("Infinity"), False), (Decimal("10000000000000000"), False)],
)  # fmt: skip
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
    ),
    st.uuids(),
)
def test_cursor_round_trip(value: object, row_id: uuid.UUID) -> None:
    decoded_value, decoded_id = decode_cursor(encode_cursor(value, row_id))
    assert decoded_id == row_id
    assert decoded_value == value
    assert type(decoded_value) is type(value) or isinstance(value, (datetime, date))


@pytest.mark.parametrize("cursor", ["", "abc", "bm90LWEtY3Vyc29y", "W10", "WzEsMl0"])
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        PageRequest(first=5, after=cursor).validated()
    assert raised.value.errors[0].field == "after"
