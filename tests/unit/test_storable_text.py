"""The one rule for text from outside: PostgreSQL must be able to store it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.shared.errors import ErrorCode, Validator
from domain.shared.text import first_unstorable, unstorable_reason


def test_nul_and_lone_surrogates_are_named() -> None:
    assert unstorable_reason("Acme\x00") == "must not contain NUL characters"
    assert unstorable_reason("Acme \ud800") == "must be valid Unicode (it holds a lone surrogate)"
    assert unstorable_reason("Rocket 🚀 火箭") is None


@given(st.text())
def test_a_string_is_storable_exactly_when_it_has_no_nul_and_encodes_as_utf8(text: str) -> None:
    try:
        text.encode("utf-8")
        encodable = True
    except UnicodeEncodeError:
        encodable = False
    assert (unstorable_reason(text) is None) == (encodable and "\x00" not in text)


def test_the_first_bad_string_is_found_with_its_path() -> None:
    value = {"input": {"name": "ok", "lines": [{"description": "fine"}, {"description": "bad\x00"}]}}
    assert first_unstorable(value) == ("input.lines[1].description", "must not contain NUL characters")
    assert first_unstorable(["a", "\ud800"], "interests") == (
        "interests[1]",
        "must be valid Unicode (it holds a lone surrogate)",
    )
    assert first_unstorable({"a": [1, None, True, 2.5]}) is None


def test_deep_nesting_does_not_recurse() -> None:
    deep: object = "\x00"
    for _ in range(50_000):
        deep = [deep]
    path, _ = first_unstorable(deep, "x")  # type: ignore[misc]
    assert path == "x" + "[0]" * 50_000


def test_require_text_refuses_unstorable_text_naming_the_field() -> None:
    v = Validator()
    v.require_text("companyName", "Acme\x00", max_length=200)
    [error] = v.field_errors
    assert (error.field, error.code, error.message) == (
        "companyName",
        ErrorCode.INVALID,
        "companyName must not contain NUL characters.",
    )
