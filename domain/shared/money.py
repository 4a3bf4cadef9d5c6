"""Money rules: Decimal amounts with an ISO 4217 currency code."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from domain.shared.errors import ErrorCode, Validator

CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = Decimal("9999999999999999.99")


def check_amount(v: Validator, field: str, amount: Decimal | None, *, required: bool = True) -> Decimal | None:
    """A non-negative amount with at most two decimal places."""
    if amount is None:
        if required:
            v.fail(field, ErrorCode.REQUIRED, f"{field} is required.")
        return None
    try:
        if not amount.is_finite():
            raise InvalidOperation
        if amount < 0:
            v.fail(field, ErrorCode.OUT_OF_RANGE, f"{field} must not be negative.")
        elif amount > MAX_AMOUNT:
            v.fail(field, ErrorCode.OUT_OF_RANGE, f"{field} must be at most {MAX_AMOUNT}.")
        elif amount != amount.quantize(Decimal("0.01")):
            v.fail(field, ErrorCode.INVALID, f"{field} must have at most two decimal places.")
        else:
            return amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        v.fail(field, ErrorCode.INVALID, f"{field} must be a finite decimal number.")
    return None


def check_currency(v: Validator, field: str, currency: str | None, *, required: bool = True) -> str | None:
    if currency is None:
        if required:
            v.fail(field, ErrorCode.REQUIRED, f"{field} is required.")
        return None
    code = currency.strip().upper()
    if not CURRENCY_PATTERN.match(code):
        v.fail(field, ErrorCode.INVALID, f"{field} must be a three-letter ISO 4217 code such as USD.")
        return None
    return code
