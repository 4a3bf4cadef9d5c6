"""Is this the same customer? Matching companies by tax id, domain and name, for duplicates and conflicts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from rapidfuzz import fuzz
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc
from stdnum.eu import vat as eu_vat
from stdnum.us import ein

from domain.selling.company_names import normalize_company_name
from domain.shared.errors import ErrorCode, FieldError, ValidationFailed

K = TypeVar("K")

# Mailbox providers: an address there says nothing about which company someone works for.
FREE_MAIL_DOMAINS = frozenset(
    (
        "gmail.com googlemail.com outlook.com hotmail.com live.com msn.com yahoo.com yahoo.co.jp icloud.com "
        "me.com aol.com proton.me protonmail.com gmx.de gmx.net web.de mail.ru yandex.ru "
        "qq.com 163.com 126.com sina.com sohu.com foxmail.com aliyun.com"
    ).split()
)
_SEPARATORS = re.compile(r"[\s\-./]")
EU_PREFIXES = frozenset(code.upper() for code in eu_vat.MEMBER_STATES) | {"EL"}


class MatchReason(StrEnum):
    TAX_ID = "tax_id"
    WEB_DOMAIN = "web_domain"
    EMAIL_DOMAIN = "email_domain"
    EXACT_NAME = "exact_name"
    SIMILAR_NAME = "similar_name"


@dataclass(frozen=True)
class Match:
    """One reason two companies look like the same customer, with its strength (0–100)."""

    reason: MatchReason
    score: float
    detail: str


@dataclass(frozen=True)
class CompanyIdentity:
    """What identifies a company, normalized for comparison."""

    name: str
    tax_id: str | None = None
    web_domain: str | None = None
    email_domain: str | None = None


def clean_domain(value: str | None) -> str | None:
    """example.com from 'https://www.Example.com/path'; None for blanks."""
    if not value or not value.strip():
        return None
    domain = value.strip().lower()
    domain = re.sub(r"^[a-z]+://", "", domain).split("/", 1)[0].split(":", 1)[0]
    return domain.removeprefix("www.") or None


def company_email_domain(email: str | None) -> str | None:
    """The domain of an e-mail address, unless it is a free mailbox provider's."""
    if not email or "@" not in email:
        return None
    domain = clean_domain(email.rsplit("@", 1)[1])
    return None if domain in FREE_MAIL_DOMAINS else domain


def compact_tax_id(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    return _SEPARATORS.sub("", value).upper()


def identity_of(
    name: str, tax_id: str | None = None, web_domain: str | None = None, email: str | None = None
) -> CompanyIdentity:
    """A company's identity from raw input."""
    return CompanyIdentity(
        name=normalize_company_name(name),
        tax_id=compact_tax_id(tax_id),
        web_domain=clean_domain(web_domain),
        email_domain=company_email_domain(email),
    )


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed([FieldError("taxId", ErrorCode.INVALID, message)])


def validate_tax_id(value: str, country: str | None = None) -> str:
    """The tax id in compact form, checked by the rules of its scheme (check digits included)."""
    compact = compact_tax_id(value)
    if compact is None:
        raise _invalid("taxId must not be blank.")
    country = (country or "").upper() or None
    try:
        if country == "CN" or (country is None and len(compact) == 18 and compact[:2].isdigit()):
            return str(uscc.validate(compact))
        if country == "US":
            return str(ein.compact(ein.validate(compact)))
        if compact[:2] in EU_PREFIXES and (country is None or country == compact[:2] or country == "EU"):
            return str(eu_vat.validate(compact))
    except stdnum_errors.InvalidChecksum as exc:
        raise _invalid(f"taxId {value.strip()} fails its check digit.") from exc
    except stdnum_errors.ValidationError as exc:
        raise _invalid(f"taxId {value.strip()} is not valid: {getattr(exc, 'message', exc)}.") from exc
    if not re.fullmatch(r"[0-9A-Z]{4,40}", compact):
        raise _invalid("taxId must be 4 to 40 letters or digits.")
    return compact


WORD_FLOOR = 85.0


def _word_scores(a: list[str], b: list[str]) -> list[float]:
    """For each word of `a`, how close the nearest word of `b` is."""
    return [max(fuzz.ratio(x, y) for y in b) for x in a]


def _name_similarity(a: str, b: str) -> float:
    """Similarity of two normalized names, 0–100."""
    if a.replace(" ", "") == b.replace(" ", ""):
        return 100.0  # "north star" and "northstar"
    # token_sort_ratio ignores word order; plain ratio serves names written without spaces (Chinese, Japanese).
    overall = max(fuzz.token_sort_ratio(a, b), fuzz.ratio(a, b))
    words_a, words_b = a.split(), b.split()
    if len(words_a) > 1 or len(words_b) > 1:
        # Every word must find a close partner: "east industries" and "west industries" are two companies,
        # however alike their letters, while "foods" and "food" are one.
        scores = _word_scores(words_a, words_b) + _word_scores(words_b, words_a)
        weakest = min(scores)
        overall = min(overall, weakest if weakest < WORD_FLOOR else sum(scores) / len(scores))
    return overall


def match(a: CompanyIdentity, b: CompanyIdentity, *, name_threshold: float = 90.0) -> list[Match]:
    """Every reason `a` and `b` look like one company, strongest first; different tax ids overrule names."""
    found: list[Match] = []
    if a.tax_id and b.tax_id and a.tax_id == b.tax_id:
        found.append(Match(MatchReason.TAX_ID, 100.0, f"same tax id {a.tax_id}"))
    if a.web_domain and a.web_domain == b.web_domain:
        found.append(Match(MatchReason.WEB_DOMAIN, 95.0, f"same web domain {a.web_domain}"))
    a_domains = {d for d in (a.email_domain, a.web_domain) if d}
    b_domains = {d for d in (b.email_domain, b.web_domain) if d}
    shared = sorted((a_domains & b_domains) - ({a.web_domain} & {b.web_domain}))
    if shared and (a.email_domain in shared or b.email_domain in shared):
        found.append(Match(MatchReason.EMAIL_DOMAIN, 90.0, f"e-mail domain {shared[0]}"))
    different_tax_ids = bool(a.tax_id and b.tax_id and a.tax_id != b.tax_id)
    if not different_tax_ids and a.name and b.name:
        if a.name == b.name:
            found.append(Match(MatchReason.EXACT_NAME, 100.0, f'same name "{a.name}"'))
        else:
            score = _name_similarity(a.name, b.name)
            if score >= name_threshold:
                found.append(Match(MatchReason.SIMILAR_NAME, score, f'name {score:.0f}% similar to "{b.name}"'))
    return sorted(found, key=lambda m: -m.score)


def matches_among(
    a: CompanyIdentity, candidates: Iterable[tuple[K, CompanyIdentity]], *, name_threshold: float = 90.0
) -> list[tuple[K, list[Match]]]:
    """The candidates that match `a`, strongest first."""
    hits = [(key, found) for key, other in candidates if (found := match(a, other, name_threshold=name_threshold))]
    return sorted(hits, key=lambda hit: -hit[1][0].score)
