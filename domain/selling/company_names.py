"""Normalizing company names so that spelling variants of one company compare equal."""

from __future__ import annotations

import re
import unicodedata

# Legal-form words that say nothing about which company it is.
LEGAL_SUFFIXES = tuple(
    (
        "incorporated inc corporation corp company co limited ltd llc plc gmbh ag sa sas srl "
        "bv nv oy ab as kk pte pty lp llp "
        "股份有限公司 有限责任公司 有限公司 集团 株式会社"
    ).split()
)
_SUFFIX_RE = re.compile(r"(?:\s(?:" + "|".join(re.escape(s) for s in LEGAL_SUFFIXES if s.isascii()) + r"))+$")
_CJK_SUFFIXES = tuple(s for s in LEGAL_SUFFIXES if not s.isascii())
_PUNCTUATION_RE = re.compile(r"[^\w\s]+")
_SPACE_RE = re.compile(r"\s+")


def normalize_company_name(name: str) -> str:
    """Fold width and case, drop punctuation and trailing legal forms: "ACME, Inc." -> "acme"."""
    text = unicodedata.normalize("NFKC", name).casefold().replace("&", " and ")
    text = _PUNCTUATION_RE.sub(" ", text)
    text = _SPACE_RE.sub(" ", text).strip()
    previous = None
    while previous != text:
        previous = text
        text = _SUFFIX_RE.sub("", text).strip()
        for suffix in _CJK_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)].strip()
    return text or _SPACE_RE.sub(" ", unicodedata.normalize("NFKC", name).casefold()).strip()
