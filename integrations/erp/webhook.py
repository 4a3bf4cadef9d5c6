"""The generic signed-webhook adapter: JSON over HTTPS, every request signed with HMAC-SHA256.

For ERPs that integrate over HTTP. The ERP side serves (relative to its base URL):

    POST /parties            {reference, name, tax_id, country_code, street, city, postal_code} → {"id"}
    POST /orders             {reference, party, currency, sale_date, lines[]}                   → status
    POST /contracts          {reference, party, currency, start_date, end_date, lines[]}        → status
    GET  /changes?since=C    → {"statuses": [status…], "cursor": C'}
    POST /statuses           {kind, references[]} → {"statuses": [status…]}
    GET  /references?kind=K  → {"references": [...]}
    GET  /orders/<reference> → {reference, party_reference, currency, sale_date, lines[], status} or 404
    GET  /products           → {"products": [{code, name, list_price, currency, active, id}]}
    GET  /credit/<reference> → {"credit_limit": "…" | null, "owed": "…"}

A status is {kind, reference, erp_id, state, changed_at, total_amount, currency, invoice_state,
shipment_state, paid_amount, number}; a contract's total_amount is its amount per month. kind,
reference, erp_id, state and changed_at are required; changed_at is ISO 8601 with a UTC offset;
amounts are decimal strings (or JSON numbers), 0 to 9999999999999999.99; ids and states are short
strings (erp_id and number at most 64 characters, the states at most 40). Pushes
carry `Idempotency-Key: <reference>`; the ERP must answer a repeated key with the record it
already made; a contract pushed again with an earlier end_date has been terminated, and the ERP
should stop billing it then. Amounts travel as decimal strings, before tax.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import orjson

from domain.shared.money import MAX_AMOUNT
from domain.shared.text import unstorable_reason
from integrations.erp.port import (
    ErpChanges,
    ErpContract,
    ErpError,
    ErpLine,
    ErpOrder,
    ErpOrderDetails,
    ErpParty,
    ErpProduct,
    ErpRejected,
    ErpStatus,
    ErpUnavailable,
    RecordKind,
)
from integrations.erp.signing import signed_headers


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value))


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


class MalformedStatus(ErpError):
    """A status not in the documented shape; `field` names the part at fault (None: the status itself)."""

    def __init__(self, field: str | None, problem: str) -> None:
        super().__init__(f"{field or 'The status'} {problem}.")
        self.field = field
        self.problem = problem


TIME_FORMAT = "an ISO 8601 time with a UTC offset, such as 2026-01-31T09:30:00+00:00"


def _text(data: dict[str, Any], name: str, *, max_length: int) -> str | None:
    """A string (an ERP's integer id is taken as its digits) that fits its column and PostgreSQL can store."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedStatus(name, "must be a string")
    text = str(value)
    if len(text) > max_length:
        raise MalformedStatus(name, f"must be at most {max_length} characters")
    if (reason := unstorable_reason(text)) is not None:
        raise MalformedStatus(name, reason)
    return text


def _required_text(data: dict[str, Any], name: str, *, max_length: int) -> str:
    text = _text(data, name, max_length=max_length)
    if text is None:
        raise MalformedStatus(name, "is required")
    if not text.strip():
        raise MalformedStatus(name, "must not be blank")
    return text


def _amount(data: dict[str, Any], name: str) -> Decimal | None:
    """A non-negative decimal amount (a JSON string or number) within what the CRM's money columns hold."""
    value = data.get(name)
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidOperation
        amount = Decimal(str(value).strip())
        if not amount.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):  # ValueError: an integer too long to print
        raise MalformedStatus(name, 'must be a finite decimal number such as "120.50"') from None
    if amount < 0:
        raise MalformedStatus(name, "must not be negative")
    if amount > MAX_AMOUNT:
        raise MalformedStatus(name, f"must be at most {MAX_AMOUNT}")
    return amount


def _changed_at(data: dict[str, Any]) -> datetime:
    value = data.get("changed_at")
    if value is None:
        raise MalformedStatus("changed_at", "is required")
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:  # a time without an offset cannot be ordered against ours
        raise MalformedStatus("changed_at", f"must be {TIME_FORMAT}")
    return moment


def status_from_json(data: Any) -> ErpStatus:
    """An ErpStatus from its JSON form (webhook bodies and this adapter's answers).

    Raises MalformedStatus naming the first field that is missing, of the wrong type, or out of range.
    """
    if not isinstance(data, dict):
        raise MalformedStatus(None, "must be a JSON object")
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in {k.value for k in RecordKind}:
        raise MalformedStatus("kind", f"must be one of {', '.join(k.value for k in RecordKind)}")
    return ErpStatus(
        kind=RecordKind(kind),
        reference=_required_text(data, "reference", max_length=64),
        erp_id=_required_text(data, "erp_id", max_length=64),
        state=_required_text(data, "state", max_length=40),
        changed_at=_changed_at(data),
        total_amount=_amount(data, "total_amount"),
        currency=_text(data, "currency", max_length=3),
        invoice_state=_text(data, "invoice_state", max_length=40),
        shipment_state=_text(data, "shipment_state", max_length=40),
        paid_amount=_amount(data, "paid_amount"),
        number=_text(data, "number", max_length=64),
    )


class SignedWebhookErp:
    """ErpPort over signed JSON requests to an ERP's HTTP endpoint."""

    def __init__(
        self, url: str, secret: str, *, timeout: float = 30, transport: httpx.AsyncBaseTransport | None = None
    ):
        self._secret = secret
        self._client = httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout, transport=transport)

    async def _call(self, method: str, path: str, body: Any = None, *, key: str | None = None) -> Any:
        raw = orjson.dumps(body, default=_default) if body is not None else b""
        headers = signed_headers(self._secret, raw, str(uuid.uuid4()))
        if key:
            headers["idempotency-key"] = key
        try:
            response = await self._client.request(method, path, content=raw, headers=headers)
        except httpx.HTTPError as exc:
            raise ErpUnavailable(f"The ERP could not be reached: {exc!r}") from exc
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise ErpUnavailable(f"The ERP answered {response.status_code}: {response.text[:300]}")
        if response.status_code >= 400:
            try:
                message = response.json().get("error") or response.text
            except ValueError:
                message = response.text
            raise ErpRejected(f"The ERP refused the request ({response.status_code}): {str(message)[:500]}")
        return response.json() if response.content else None

    async def ensure_party(self, party: ErpParty) -> str:
        return str((await self._call("POST", "/parties", asdict(party), key=f"party:{party.reference}"))["id"])

    async def push_order(self, order: ErpOrder) -> ErpStatus:
        return status_from_json(await self._call("POST", "/orders", asdict(order), key=order.reference))

    async def push_contract(self, contract: ErpContract) -> ErpStatus:
        return status_from_json(await self._call("POST", "/contracts", asdict(contract), key=contract.reference))

    async def changes_since(self, cursor: str | None) -> ErpChanges:
        data = await self._call("GET", "/changes" + (f"?since={cursor}" if cursor else ""))
        return ErpChanges([status_from_json(s) for s in data["statuses"]], data.get("cursor") or cursor)

    async def statuses(self, kind: RecordKind, references: list[str]) -> dict[str, ErpStatus]:
        data = await self._call("POST", "/statuses", {"kind": kind.value, "references": references})
        found = [status_from_json(s) for s in data["statuses"]]
        return {s.reference: s for s in found}

    async def all_references(self, kind: RecordKind) -> list[str]:
        return list((await self._call("GET", f"/references?kind={kind.value}"))["references"])

    async def order_details(self, reference: str) -> ErpOrderDetails | None:
        try:
            data = await self._call("GET", f"/orders/{reference}")
        except ErpRejected as exc:
            if "(404)" in str(exc):
                return None
            raise
        return ErpOrderDetails(
            reference=data["reference"],
            party_reference=data.get("party_reference"),
            currency=data["currency"],
            sale_date=date.fromisoformat(data["sale_date"]) if data.get("sale_date") else None,
            lines=tuple(
                ErpLine(x["product_code"], x["description"], Decimal(str(x["quantity"])), Decimal(str(x["unit_price"])))
                for x in data["lines"]
            ),
            status=status_from_json(data["status"]),
        )

    async def products(self) -> list[ErpProduct]:
        data = await self._call("GET", "/products")
        return [
            ErpProduct(
                code=p["code"],
                name=p["name"],
                list_price=Decimal(str(p["list_price"])),
                currency=p["currency"],
                active=bool(p.get("active", True)),
                erp_id=str(p["id"]) if p.get("id") is not None else None,
            )
            for p in data["products"]
        ]

    async def credit_limit(self, party_reference: str) -> tuple[Decimal | None, Decimal]:
        data = await self._call("GET", f"/credit/{party_reference}")
        return _decimal(data.get("credit_limit")), _decimal(data.get("owed")) or Decimal("0")

    async def close(self) -> None:
        await self._client.aclose()
