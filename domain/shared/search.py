"""Free-text search over records: the bound on what one search may ask, and the match it runs.

A `contains` match costs the database time in proportion to the length of the text it looks for,
on every row it scans, so the text is bounded before any SQL is built.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_

from domain.shared.errors import ErrorCode, FieldError, ValidationFailed

MAX_SEARCH_LENGTH = 200


def search_term(value: str | None, field: str = "search") -> str | None:
    """The trimmed text to search for, or None when blank; ValidationFailed naming the field when it is too long."""
    if value is None:
        return None
    term = value.strip()
    if len(term) > MAX_SEARCH_LENGTH:
        raise ValidationFailed(
            [FieldError(field, ErrorCode.TOO_LONG, f"{field} must be at most {MAX_SEARCH_LENGTH} characters.")]
        )
    return term or None


def contains_any(term: str, *columns: Any) -> ColumnElement[bool]:
    """Any of the columns contains the term, in any case; `%` and `_` in the term match themselves."""
    return or_(*(column.icontains(term, autoescape=True) for column in columns))
