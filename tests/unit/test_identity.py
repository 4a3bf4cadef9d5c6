"""Identity matching: when two companies are the same customer, and tax id validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.selling.customer_matching import (
    CompanyIdentity,
    MatchReason,
    identity_of,
    match,
    matches_among,
    validate_tax_id,
)
from domain.shared.errors import ValidationFailed


def reasons(a: CompanyIdentity, b: CompanyIdentity) -> set[MatchReason]:
    return {m.reason for m in match(a, b)}


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (identity_of("ACME Inc."), identity_of("Acme Corporation"), {MatchReason.EXACT_NAME}),
        (identity_of("Acme Robotics Ltd"), identity_of("Acme Robotic Ltd."), {MatchReason.SIMILAR_NAME}),
        (identity_of("北京星辰科技有限公司"), identity_of("北京星辰科技股份有限公司"), {MatchReason.EXACT_NAME}),
        (
            identity_of("Zenith Steel", tax_id="91110000600037341L"),
            identity_of("ZS Holdings", tax_id="9111 0000 6000 3734 1L"),
            {MatchReason.TAX_ID},
        ),
        (
            identity_of("Zenith", web_domain="https://www.zenith.example/about"),
            identity_of("Zen Co", web_domain="zenith.example"),
            {MatchReason.WEB_DOMAIN},
        ),
        (
            identity_of("Orient", email="li@orient.example"),
            identity_of("Orient Pacific Trading", web_domain="orient.example"),
            {MatchReason.EMAIL_DOMAIN},
        ),
        (identity_of("Alpha", email="a@gmail.com"), identity_of("Beta", email="b@gmail.com"), set()),
        (
            identity_of("Acme Robotics", tax_id="91110000600037341L"),
            identity_of("Acme Robotic", tax_id="91350100M000100Y43"),
            set(),
        ),
        (
            identity_of("Acme", tax_id="91110000600037341L", web_domain="acme.example"),
            identity_of("Acme", tax_id="91350100M000100Y43", web_domain="acme.example"),
            {MatchReason.WEB_DOMAIN},
        ),
        (identity_of("Blue River Foods"), identity_of("Red Peak Mining"), set()),
    ],
)
def test_match_table(a: CompanyIdentity, b: CompanyIdentity, expected: set[MatchReason]) -> None:
    assert reasons(a, b) == expected


def test_matches_are_ordered_and_explained() -> None:
    a = identity_of("Acme Robotics GmbH", tax_id="91110000600037341L", web_domain="acme.example")
    candidates = [
        ("similar", identity_of("Acme Robotic AG")),
        ("different", identity_of("Red Peak Mining")),
        ("strong", identity_of("ACME", tax_id="91110000600037341L")),
        ("none", identity_of("Other")),
    ]
    hits = matches_among(a, candidates)
    assert [key for key, _ in hits] == ["strong", "similar"]
    assert hits[0][1][0].detail == "same tax id 91110000600037341L"


@pytest.mark.parametrize(
    ("value", "country", "compact"),
    [
        ("91110000600037341L", None, "91110000600037341L"),
        ("9111 0000 6000 3734 1l", "CN", "91110000600037341L"),
        ("DE136695976", None, "DE136695976"),
        ("12-3456789", "US", "123456789"),
        ("ABC123", None, "ABC123"),
    ],
)
def test_valid_tax_ids(value: str, country: str | None, compact: str) -> None:
    assert validate_tax_id(value, country) == compact


@pytest.mark.parametrize(
    ("value", "message"),
    [("91110000600037341M", "check digit"), ("DE136695977", "check digit"), ("x", "4 to 40"), ("  ", "blank")],
)
def test_invalid_tax_ids_name_the_field_and_the_problem(value: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_tax_id(value)
    error = raised.value.errors[0]
    assert error.field == "taxId" and message in error.message


names = st.text(alphabet=st.characters(categories=["Lu", "Ll", "Nd", "Lo", "Zs"]), min_size=1, max_size=40)
domains = st.one_of(st.none(), st.from_regex(r"[a-z]{3,10}\.(com|example|cn)", fullmatch=True))


@given(names, names, domains, domains)
def test_match_is_symmetric_in_its_reasons(n1: str, n2: str, d1: str | None, d2: str | None) -> None:
    a, b = identity_of(n1, web_domain=d1), identity_of(n2, web_domain=d2)
    assert reasons(a, b) == reasons(b, a)


@given(names, domains)
def test_a_company_matches_itself(name: str, domain: str | None) -> None:
    identity = identity_of(name, web_domain=domain)
    if identity.name:
        assert MatchReason.EXACT_NAME in reasons(identity, identity)


@given(names, domains)
def test_identity_normalization_is_idempotent(name: str, domain: str | None) -> None:
    once = identity_of(name, web_domain=domain)
    assert identity_of(once.name, web_domain=once.web_domain) == once


@pytest.mark.parametrize(
    ("a", "b", "similar"),
    [
        ("Acme Robotics", "Acme Robotic", True),
        ("Blue River Foods", "Blue River Food", True),
        ("North Star Logistics", "Northstar Logistics", True),
        ("East Industries", "West Industries", False),
        ("Apex Steel", "Apex Steam", False),
        ("星辰科技", "星晨科技", False),
        ("上海华信国际贸易", "上海华信国际贸", True),
    ],
)
def test_name_similarity_weighs_every_word(a: str, b: str, similar: bool) -> None:
    assert bool(reasons(identity_of(a), identity_of(b)) & {MatchReason.SIMILAR_NAME, MatchReason.EXACT_NAME}) is similar
