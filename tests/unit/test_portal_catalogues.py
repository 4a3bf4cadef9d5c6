"""The portal's message catalogues: English and Simplified Chinese say the same things, and every message the
code asks for, and every value of every enum it shows, is in both."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from graphql import GraphQLEnumType, build_schema

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "api" / "portal" / "static"
LANGUAGES = ("en", "zh-CN")
PLACEHOLDER = re.compile(r"\{(\w+)\}")

# Keys the code builds from a value (t(`stage.${stage}`)): the prefix, and where its values come from.
ENUM_GROUPS = {
    "stage": "OpportunityStage",
    "leadStatus": "LeadStatus",
    "leadSource": "LeadSource",
    "regStatus": "RegistrationStatus",
    "registrations.status_help": "RegistrationStatus",
    "orderStatus": "OrderStatus",
    "sync": "SyncState",
    "syncHelp": "SyncState",
    "activity": "ActivityKind",
    "salesRole": "SalesRole",
    "teamAccess": "TeamAccess",
    "partnerRole": "PartnerRole",
    "forecast": "ForecastCategory",
    "quoteStatus": "QuoteStatus",
    "error.code": "ErrorCode",
    "error.field": "ErrorCode",
}


def catalogue(language: str) -> dict[str, str]:
    return json.loads((STATIC / "i18n" / f"{language}.json").read_text(encoding="utf-8"))


def sources() -> list[Path]:
    return sorted((STATIC / "app").rglob("*.js"))


def test_both_languages_have_every_key_with_the_same_placeholders() -> None:
    english, chinese = catalogue("en"), catalogue("zh-CN")
    assert english.keys() == chinese.keys(), {
        "only in en": sorted(english.keys() - chinese.keys()),
        "only in zh-CN": sorted(chinese.keys() - english.keys()),
    }
    for key, text in english.items():
        assert text.strip() and chinese[key].strip(), key
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(chinese[key])), key


def test_chinese_messages_are_translated_not_copied() -> None:
    english, chinese = catalogue("en"), catalogue("zh-CN")
    words = {k: PLACEHOLDER.sub("", v) for k, v in english.items()}
    copied = [k for k, v in english.items() if chinese[k] == v and re.search(r"[a-z]{3,}", words[k]) and v != "API"]
    assert not copied, copied


def test_every_message_the_code_asks_for_exists() -> None:
    english = catalogue("en")
    asked: set[str] = set()
    for source in sources():
        asked |= set(re.findall(r'\bt\("([A-Za-z0-9_.-]+)"', source.read_text(encoding="utf-8")))
    assert asked, "no t(...) calls found"
    assert sorted(asked - english.keys()) == []


@pytest.mark.parametrize(("prefix", "enum"), sorted(ENUM_GROUPS.items()))
def test_every_value_of_a_shown_enum_has_a_message(prefix: str, enum: str) -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    kind = schema.type_map[enum]
    assert isinstance(kind, GraphQLEnumType)
    for language in LANGUAGES:
        missing = [v for v in kind.values if f"{prefix}.{v}" not in catalogue(language)]
        assert not missing, (language, prefix, missing)


def test_every_partner_role_and_sign_in_method_has_a_message() -> None:
    from domain.identity.sign_in.models import SignInMethod
    from domain.identity.users import PARTNER_ROLES

    for language in LANGUAGES:
        messages = catalogue(language)
        for role in PARTNER_ROLES:
            assert f"role.{role}" in messages and f"role_help.{role}" in messages, (language, role)
        for method in SignInMethod:
            assert f"signInMethod.{method.value}" in messages, (language, method)


def test_no_user_visible_text_is_written_into_the_code() -> None:
    # Text between tags in the templates must come from the catalogues: `>Some words<` is a forgotten string.
    for source in sources():
        literal = re.findall(r">\s*([A-Za-z][A-Za-z ,.'!?]{3,})\s*<", source.read_text(encoding="utf-8"))
        assert not literal, (source.name, literal)
