"""Company name normalization: spelling variants of one company compare equal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.selling.company_names import normalize_company_name


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("ACME, Inc.", "acme"),
        ("Acme Corp. Ltd", "acme"),
        ("ＡＣＭＥ　Ｉｎｃ", "acme"),  # full-width letters and space
        ("Acme   GmbH", "acme"),
        ("北京星辰科技有限公司", "北京星辰科技"),
        ("上海华信股份有限公司", "上海华信"),
        ("Johnson & Johnson", "johnson and johnson"),
        ("Co", "co"),  # a name that is only a legal form stays
    ],
)
def test_known_variants(raw: str, normalized: str) -> None:
    assert normalize_company_name(raw) == normalized


@given(st.text(max_size=80))
def test_idempotent_and_never_empty_for_non_blank(raw: str) -> None:
    once = normalize_company_name(raw)
    assert normalize_company_name(once) == once or normalize_company_name(once) == normalize_company_name(raw)
    if raw.strip():
        assert once.strip() or not any(c.isalnum() for c in raw)


@given(st.text(alphabet=st.characters(categories=["Lu", "Ll", "Nd"]), min_size=1, max_size=30))
def test_punctuation_and_legal_form_do_not_matter(name: str) -> None:
    assert normalize_company_name(name + ", LTD.") == normalize_company_name(name + " ltd")


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 ", min_size=1, max_size=30))
def test_case_does_not_matter(name: str) -> None:
    assert normalize_company_name(name.upper()) == normalize_company_name(name)
