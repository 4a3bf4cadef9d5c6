"""The ERP port over Tryton's JSON-RPC (tested against Tryton 8.2).

One `TrytonErp` talks to one database of one Tryton server: it logs in once (`common.db.login`),
sends the session on every call, reads the user's context once (it carries the company) and logs
in again once when the session is refused. Records are looked up by the CRM's references before
anything is created: a party by `code`, a sale or subscription by `reference`.

Failures: no answer, time-outs, HTTP 5xx/429/404 and Tryton's concurrency or "database locked"
errors raise `ErpUnavailable`; Tryton's user errors, warnings and validation errors raise
`ErpRejected` carrying Tryton's message.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, overload

import httpx
from stdnum.eu import vat

from integrations.erp.port import (
    ErpChanges,
    ErpContract,
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

RECURRENCE_SET_NAME = "CRM monthly"

_SALE_FIELDS = [
    "reference",
    "state",
    "create_date",
    "write_date",
    "total_amount",
    "untaxed_amount",
    "currency",
    "invoice_state",
    "shipment_state",
    "number",
    "invoices",
]


def net_share(paid: Decimal, untaxed: Decimal | None, total: Decimal | None) -> Decimal:
    """What was paid, before tax: the CRM's amounts are net, Tryton's invoices gross (paid in full is all of it)."""
    if not untaxed or not total or total == untaxed:
        return paid
    if paid >= total:
        return untaxed
    return (paid * untaxed / total).quantize(Decimal("0.01"))


_SUBSCRIPTION_FIELDS = ["reference", "state", "create_date", "write_date", "currency", "number", "lines"]
_INVOICE_FIELDS = ["state", "total_amount", "amount_to_pay", "create_date", "write_date"]
_TRANSIENT_MARKERS = (
    "database is locked",
    "could not serialize",
    "deadlock",
    "lock timeout",
    "locknotavailable",
    "canceling statement due to",
    "too many connections",
    "connection",
    "timeout",
    "operationalerror",
)


# -- Tryton's JSON encoding ---------------------------------------------------------------------
def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, time):
        return {
            "__class__": "time",
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, timedelta):
        return {"__class__": "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, bytes):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_encode(v) for v in value]
    return value


def _decode_object(dct: dict[str, Any]) -> Any:
    kind = dct.get("__class__")
    if kind == "Decimal":
        return Decimal(dct["decimal"])
    if kind == "datetime":
        return datetime(
            dct["year"], dct["month"], dct["day"], dct["hour"], dct["minute"], dct["second"], dct["microsecond"]
        )
    if kind == "date":
        return date(dct["year"], dct["month"], dct["day"])
    if kind == "time":
        return time(dct["hour"], dct["minute"], dct["second"], dct["microsecond"])
    if kind == "timedelta":
        return timedelta(seconds=dct["seconds"])
    if kind == "bytes":
        return base64.b64decode(dct["base64"])
    return dct


@overload
def _utc(value: datetime) -> datetime: ...


@overload
def _utc(value: None) -> None: ...


def _utc(value: datetime | None) -> datetime | None:
    """Tryton stores naive UTC timestamps; hand them out timezone-aware."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse_cursor(cursor: str | None) -> datetime | None:
    if not cursor:
        return None
    try:
        mark = datetime.fromisoformat(cursor)
    except ValueError as exc:
        raise ErpRejected(f"not an ISO datetime cursor: {cursor!r}") from exc
    return mark.astimezone(UTC).replace(tzinfo=None) if mark.tzinfo else mark


def _changed(record: dict[str, Any]) -> datetime:
    return record.get("write_date") or record["create_date"]


def _message(error: Any) -> tuple[str, str]:
    """(kind, message) of a JSON-RPC `error`: [kind, args] for Tryton exceptions, [str, traceback] else."""
    if isinstance(error, list | tuple) and error:
        kind = str(error[0])
        args = error[1] if len(error) > 1 else None
        if kind in {"UserError", "UserWarning", "LoginException"} and isinstance(args, list | tuple) and args:
            if kind == "UserWarning" and len(args) > 1:
                return kind, str(args[1])
            if kind == "LoginException" and len(args) > 1:
                return kind, str(args[1])
            parts = [str(a) for a in args[:2] if a]
            return kind, " ".join(parts)
        if kind == "ConcurrencyException":
            return kind, str(args or kind)
        return "Exception", kind
    return "Exception", str(error)


class TrytonErp:
    """`ErpPort` on a Tryton server's JSON-RPC interface (`POST {url}/{database}/rpc/`)."""

    def __init__(self, url: str, database: str, login: str, password: str, *, timeout: float = 30) -> None:
        self._rpc_url = f"{url.rstrip('/')}/{database}/rpc/"
        self._warm_url = f"{url.rstrip('/')}/{database}/rest/model/res.user"
        self._database = database
        self._login = login
        self._password = password
        self._client = httpx.AsyncClient(timeout=timeout)
        self._auth: str | None = None
        self._context: dict[str, Any] | None = None
        self._ids = itertools.count(1)
        self._company_currency: str | None = None

    # -- transport --------------------------------------------------------------------------------
    async def _post(self, method: str, params: list[Any], headers: dict[str, str] | None = None) -> httpx.Response:
        body = json.dumps({"id": next(self._ids), "method": method, "params": _encode(params)})
        try:
            return await self._client.post(
                self._rpc_url, content=body, headers={"Content-Type": "application/json", **(headers or {})}
            )
        except httpx.HTTPError as exc:
            # The server may come back as a new process: sign in afresh (and wake the database) then.
            self._auth = None
            if isinstance(exc, httpx.TimeoutException):
                raise ErpUnavailable(f"Tryton did not answer in time ({method})") from exc
            raise ErpUnavailable(f"Tryton unreachable ({method}): {exc!r}") from exc

    @staticmethod
    def _check_http(response: httpx.Response, method: str) -> None:
        status = response.status_code
        if status >= 500 or status in (404, 408, 423, 429):
            raise ErpUnavailable(f"Tryton answered HTTP {status} to {method}: {response.text[:200]}")
        if status >= 400:
            raise ErpRejected(f"Tryton answered HTTP {status} to {method}: {response.text[:200]}")

    @staticmethod
    def _result(response: httpx.Response, method: str) -> Any:
        try:
            payload = json.loads(response.content, object_hook=_decode_object)
        except ValueError as exc:
            raise ErpUnavailable(f"Tryton answered {method} with something not JSON") from exc
        if "error" in payload and payload["error"] is not None:
            kind, message = _message(payload["error"])
            if kind == "ConcurrencyException":
                raise ErpUnavailable(f"Tryton concurrency error on {method}: {message}")
            if kind in {"UserError", "UserWarning"}:
                raise ErpRejected(message)
            if kind == "LoginException":
                raise ErpUnavailable(f"Tryton refused the login: {message}")
            if any(marker in message.lower() for marker in _TRANSIENT_MARKERS):
                raise ErpUnavailable(f"Tryton failed on {method}: {message}")
            raise ErpRejected(f"Tryton failed on {method}: {message}")
        return payload.get("result")

    async def _wake(self) -> None:
        # A server serving several databases loads a database's pool lazily, but in Tryton 8.2 a login
        # that comes first leaves the pool empty for good (KeyError 'res.user'). Any request through the
        # REST routes loads it properly; its 401 is expected and ignored.
        try:
            await self._client.get(self._warm_url)
        except httpx.TimeoutException as exc:
            raise ErpUnavailable("Tryton did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise ErpUnavailable(f"Tryton unreachable: {exc!r}") from exc

    async def _sign_in(self) -> None:
        await self._wake()
        response = await self._post("common.db.login", [self._login, {"password": self._password}, "en"])
        if response.status_code in (401, 403):
            raise ErpUnavailable(f"Tryton refused the login of {self._login!r} on {self._database!r}")
        self._check_http(response, "common.db.login")
        result = self._result(response, "common.db.login")
        if not result:
            raise ErpUnavailable(f"Tryton refused the login of {self._login!r} on {self._database!r}")
        user_id, token = result[0], result[1]
        self._auth = "Session " + base64.b64encode(f"{self._login}:{user_id}:{token}".encode()).decode()
        if self._context is None:
            context = await self._call_raw("model.res.user.get_preferences", [True, {}])
            self._context = {k: v for k, v in context.items() if not k.startswith("locale")}

    async def _call_raw(self, method: str, params: list[Any]) -> Any:
        for attempt in range(2):
            auth = self._auth
            assert auth is not None  # signed in (again, after a refused session)
            response = await self._post(method, params, {"Authorization": auth})
            if response.status_code in (401, 403) and attempt == 0:
                self._auth = None
                await self._sign_in()
                continue
            self._check_http(response, method)
            return self._result(response, method)
        raise ErpUnavailable(f"Tryton kept refusing the session for {method}")

    async def _call(self, model: str, method: str, *args: Any, context: dict[str, Any] | None = None) -> Any:
        if self._auth is None:
            await self._sign_in()
        ctx = dict(self._context or {})
        if context:
            ctx.update(context)
        return await self._call_raw(f"model.{model}.{method}", [*args, ctx])

    async def _search_read(
        self,
        model: str,
        domain: list[Any],
        fields: list[str],
        *,
        order: list[list[str]] | None = None,
        limit: int | None = None,
        context: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        return await self._call(model, "search_read", domain, 0, limit, order, fields, context=context)

    async def _search(self, model: str, domain: list[Any], limit: int | None = None) -> list[int]:
        return await self._call(model, "search", domain, 0, limit, None)

    async def _read(self, model: str, ids: list[int], fields: list[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        return await self._call(model, "read", ids, fields)

    # -- parties ----------------------------------------------------------------------------------
    async def _find_party(self, reference: str) -> int | None:
        ids = await self._search("party.party", [["code", "=", reference]], limit=1)
        return ids[0] if ids else None

    async def ensure_party(self, party: ErpParty) -> str:
        return str(await self._ensure_party(party))

    async def _ensure_party(self, party: ErpParty) -> int:
        found = await self._find_party(party.reference)
        if found is not None:
            return found
        if party.tax_id:
            compact = _compact_vat(party.tax_id)
            identifiers = await self._search_read(
                "party.identifier",
                ["OR", ["code", "=", party.tax_id], ["code_compact", "=", compact]],
                ["party"],
                limit=1,
            )
            if identifiers:
                return identifiers[0]["party"]
        values: dict[str, Any] = {"code": party.reference, "name": party.name}
        if party.tax_id:
            identifier: dict[str, Any] = {"code": party.tax_id}
            if _valid_vat(party.tax_id):
                identifier["type"] = "eu_vat"
            values["identifiers"] = [["create", [identifier]]]
        values["addresses"] = [["create", [await self._address_values(party)]]]
        (party_id,) = await self._call("party.party", "create", [values])
        return party_id

    async def _address_values(self, party: ErpParty) -> dict[str, Any]:
        address: dict[str, Any] = {}
        if party.street:
            address["street"] = party.street
        if party.city:
            address["city"] = party.city
        if party.postal_code:
            address["postal_code"] = party.postal_code
        if party.country_code:
            countries = await self._search("country.country", [["code", "=", party.country_code.upper()]], limit=1)
            if countries:
                address["country"] = countries[0]
        return address

    async def _party_for_document(self, party: ErpParty) -> tuple[int, int, int | None]:
        """(party id, address id, customer payment term id) for a sale or subscription."""
        party_id = await self._ensure_party(party)
        (record,) = await self._read("party.party", [party_id], ["addresses", "customer_payment_term"])
        addresses = record.get("addresses") or []
        if addresses:
            address_id = addresses[0]
        else:
            (address_id,) = await self._call(
                "party.address", "create", [{"party": party_id, **(await self._address_values(party))}]
            )
        return party_id, address_id, record.get("customer_payment_term")

    async def _currency_id(self, code: str) -> int:
        ids = await self._search("currency.currency", [["code", "=", code.upper()]], limit=1)
        if not ids:
            raise ErpRejected(f"Tryton knows no currency {code!r}")
        return ids[0]

    async def _products_by_code(self, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = sorted(set(codes))
        found = await self._search_read(
            "product.product",
            [["code", "in", wanted]],
            ["code", "type", "sale_uom", "default_uom", "template"],
        )
        # Raw RPC skips the client's on-change that puts the product's customer taxes (those of its
        # accounting category) on a line.
        templates = {
            t["id"]: t.get("account_category")
            for t in await self._read("product.template", sorted({p["template"] for p in found}), ["account_category"])
        }
        category_ids = sorted({c for c in templates.values() if c})
        categories = {
            c["id"]: c.get("customer_taxes_used") or []
            for c in await self._read("product.category", category_ids, ["customer_taxes_used"])
        }
        for product in found:
            product["customer_taxes"] = categories.get(templates.get(product["template"]), [])
        by_code = {p["code"]: p for p in found}
        missing = [c for c in wanted if c not in by_code]
        if missing:
            raise ErpRejected(f"Tryton knows no product with code {', '.join(missing)}")
        return by_code

    # -- orders -----------------------------------------------------------------------------------
    async def push_order(self, order: ErpOrder) -> ErpStatus:
        existing = await self._search("sale.sale", [["reference", "=", order.reference]], limit=1)
        if existing:
            sale_id = existing[0]
        else:
            sale_id = await self._create_sale(order)
        (sale,) = await self._read("sale.sale", [sale_id], ["state"])
        if sale["state"] == "draft":
            await self._call("sale.sale", "quote", [sale_id])
            sale["state"] = "quotation"
        if sale["state"] == "quotation":
            await self._call("sale.sale", "confirm", [sale_id])
        statuses = await self._sale_statuses([sale_id])
        return statuses[0]

    async def _create_sale(self, order: ErpOrder) -> int:
        party_id, address_id, payment_term = await self._party_for_document(order.party)
        currency_id = await self._currency_id(order.currency)
        products = await self._products_by_code(line.product_code for line in order.lines)
        values: dict[str, Any] = {
            "party": party_id,
            "invoice_address": address_id,
            "shipment_address": address_id,
            "currency": currency_id,
            "sale_date": order.sale_date,
            "reference": order.reference,
            "lines": [["create", [self._sale_line(line, products[line.product_code]) for line in order.lines]]],
        }
        if payment_term:
            values["payment_term"] = payment_term
        (sale_id,) = await self._call("sale.sale", "create", [values])
        return sale_id

    @staticmethod
    def _sale_line(line: ErpLine, product: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "type": "line",
            "product": product["id"],
            "unit": product.get("sale_uom") or product["default_uom"],
            "quantity": float(line.quantity),
            "unit_price": line.unit_price,
            "description": line.description,
        }
        if product.get("customer_taxes"):
            values["taxes"] = [["add", product["customer_taxes"]]]
        return values

    async def _sale_statuses(self, ids: list[int]) -> list[ErpStatus]:
        sales = await self._read("sale.sale", ids, _SALE_FIELDS)
        invoice_ids = sorted({i for s in sales for i in s.get("invoices") or []})
        invoices = {i["id"]: i for i in await self._read("account.invoice", invoice_ids, _INVOICE_FIELDS)}
        currencies = await self._currency_codes({s["currency"] for s in sales if s.get("currency")})
        statuses = []
        for sale in sales:
            paid = Decimal(0)
            changed = _changed(sale)
            for invoice_id in sale.get("invoices") or []:
                invoice = invoices.get(invoice_id)
                if invoice is None:
                    continue
                changed = max(changed, _changed(invoice))
                if invoice["state"] in ("posted", "paid"):
                    paid += (invoice.get("total_amount") or 0) - (invoice.get("amount_to_pay") or 0)
            statuses.append(
                ErpStatus(
                    kind=RecordKind.ORDER,
                    reference=sale.get("reference") or "",
                    erp_id=str(sale["id"]),
                    state=sale["state"],
                    changed_at=_utc(changed),
                    total_amount=sale.get("untaxed_amount"),
                    currency=currencies.get(sale["currency"]) if sale.get("currency") else None,
                    invoice_state=sale.get("invoice_state"),
                    shipment_state=sale.get("shipment_state"),
                    paid_amount=net_share(paid, sale.get("untaxed_amount"), sale.get("total_amount")),
                    number=sale.get("number"),
                )
            )
        return statuses

    async def _currency_codes(self, ids: set[int]) -> dict[int, str]:
        return {c["id"]: c["code"] for c in await self._read("currency.currency", sorted(ids), ["code"])}

    # -- contracts --------------------------------------------------------------------------------
    async def push_contract(self, contract: ErpContract) -> ErpStatus:
        existing = await self._search("sale.subscription", [["reference", "=", contract.reference]], limit=1)
        if existing:
            subscription_id = existing[0]
        else:
            subscription_id = await self._create_subscription(contract)
        (subscription,) = await self._read("sale.subscription", [subscription_id], ["state", "end_date", "lines"])
        if (
            subscription["state"] in ("draft", "quotation", "running")
            and subscription.get("end_date") != contract.end_date
        ):
            await self._change_end(subscription_id, subscription, contract.end_date)
            subscription["state"] = "draft"
        if subscription["state"] == "draft":
            await self._call("sale.subscription", "quote", [subscription_id])
            subscription["state"] = "quotation"
        if subscription["state"] == "quotation":
            await self._call("sale.subscription", "run", [subscription_id])
        return (await self._subscription_statuses([subscription_id]))[0]

    async def _change_end(self, subscription_id: int, subscription: dict[str, Any], end: date) -> None:
        """A changed end (a termination): Tryton allows dates to change in draft only, so back to draft,
        move the end of the subscription and of any line that ran past it, then it is quoted and run again."""
        if subscription["state"] != "draft":
            await self._call("sale.subscription", "draft", [subscription_id])
        lines = await self._read("sale.subscription.line", list(subscription.get("lines") or []), ["end_date"])
        too_long = [line["id"] for line in lines if line.get("end_date") is None or line["end_date"] > end]
        if too_long:
            await self._call("sale.subscription.line", "write", too_long, {"end_date": end})
        await self._call("sale.subscription", "write", [subscription_id], {"end_date": end})

    async def _recurrence_set(self) -> int:
        ids = await self._search("sale.subscription.recurrence.rule.set", [["name", "=", RECURRENCE_SET_NAME]], 1)
        if ids:
            return ids[0]
        (set_id,) = await self._call(
            "sale.subscription.recurrence.rule.set",
            "create",
            [{"name": RECURRENCE_SET_NAME, "rules": [["create", [{"freq": "monthly", "interval": 1}]]]}],
        )
        return set_id

    async def _services(self, products: dict[str, dict[str, Any]]) -> dict[str, int]:
        product_ids = [p["id"] for p in products.values()]
        found = await self._search_read(
            "sale.subscription.service", [["product", "in", product_ids]], ["product"], context={"active_test": False}
        )
        by_product = {s["product"]: s["id"] for s in found}
        services = {}
        for code, product in products.items():
            if product["id"] not in by_product:
                if product.get("type") != "service":
                    raise ErpRejected(f"product {code} is not a service: a contract line needs a service")
                (by_product[product["id"]],) = await self._call(
                    "sale.subscription.service", "create", [{"product": product["id"]}]
                )
            services[code] = by_product[product["id"]]
        return services

    async def _create_subscription(self, contract: ErpContract) -> int:
        party_id, address_id, payment_term = await self._party_for_document(contract.party)
        currency_id = await self._currency_id(contract.currency)
        products = await self._products_by_code(line.product_code for line in contract.lines)
        services = await self._services(products)
        recurrence = await self._recurrence_set()
        lines = [
            {
                "service": services[line.product_code],
                "quantity": float(line.quantity),
                "unit": products[line.product_code].get("sale_uom") or products[line.product_code]["default_uom"],
                "unit_price": line.unit_price,
                "description": line.description,
                "start_date": contract.start_date,
                "end_date": contract.end_date,
            }
            for line in contract.lines
        ]
        values: dict[str, Any] = {
            "party": party_id,
            "invoice_address": address_id,
            "currency": currency_id,
            "reference": contract.reference,
            "start_date": contract.start_date,
            "end_date": contract.end_date,
            "invoice_recurrence": recurrence,
            "lines": [["create", lines]],
        }
        if payment_term:
            values["payment_term"] = payment_term
        (subscription_id,) = await self._call("sale.subscription", "create", [values])
        return subscription_id

    async def _subscription_statuses(self, ids: list[int]) -> list[ErpStatus]:
        subscriptions = await self._read("sale.subscription", ids, _SUBSCRIPTION_FIELDS)
        line_ids = [i for s in subscriptions for i in s.get("lines") or []]
        lines = {
            line["id"]: line
            for line in await self._read("sale.subscription.line", line_ids, ["quantity", "unit_price"])
        }
        currencies = await self._currency_codes({s["currency"] for s in subscriptions if s.get("currency")})
        statuses = []
        for subscription in subscriptions:
            total = Decimal(0)
            for line_id in subscription.get("lines") or []:
                line = lines[line_id]
                total += Decimal(str(line.get("quantity") or 0)) * (line.get("unit_price") or Decimal(0))
            statuses.append(
                ErpStatus(
                    kind=RecordKind.CONTRACT,
                    reference=subscription.get("reference") or "",
                    erp_id=str(subscription["id"]),
                    state=subscription["state"],
                    changed_at=_utc(_changed(subscription)),
                    total_amount=total.quantize(Decimal("0.01")),
                    currency=currencies.get(subscription["currency"]) if subscription.get("currency") else None,
                    number=subscription.get("number"),
                )
            )
        return statuses

    # -- polling and reconciliation ---------------------------------------------------------------
    async def changes_since(self, cursor: str | None) -> ErpChanges:
        mark = _parse_cursor(cursor)
        since: list[Any] = ["OR", ["write_date", ">=", mark], ["create_date", ">=", mark]] if mark else []
        order = [["write_date", "ASC"], ["create_date", "ASC"], ["id", "ASC"]]
        with_reference = ["reference", "not in", [None, ""]]
        sales = await self._search_read(
            "sale.sale",
            [with_reference, since] if since else [with_reference],
            ["create_date", "write_date"],
            order=order,
        )
        subscriptions = await self._search_read(
            "sale.subscription",
            [with_reference, since] if since else [with_reference],
            ["create_date", "write_date"],
            order=order,
        )
        seen = [_changed(r) for r in sales + subscriptions]
        sale_ids = {r["id"] for r in sales}
        if mark:
            invoices = await self._search_read(
                "account.invoice", [["type", "=", "out"], since], ["create_date", "write_date"], order=order
            )
            if invoices:
                seen.extend(_changed(i) for i in invoices)
                sale_ids.update(
                    await self._search("sale.sale", [with_reference, ["invoices", "in", [i["id"] for i in invoices]]])
                )
        statuses = await self._sale_statuses(sorted(sale_ids)) if sale_ids else []
        if subscriptions:
            statuses += await self._subscription_statuses([r["id"] for r in subscriptions])
        statuses.sort(key=lambda s: (s.changed_at, s.kind, s.reference))
        if not seen:
            return ErpChanges(statuses=statuses, cursor=cursor)
        newest = max([*seen, *(s.changed_at.replace(tzinfo=None) for s in statuses)])
        return ErpChanges(statuses=statuses, cursor=_utc(newest).isoformat())

    async def statuses(self, kind: RecordKind, references: list[str]) -> dict[str, ErpStatus]:
        if not references:
            return {}
        model = "sale.sale" if kind == RecordKind.ORDER else "sale.subscription"
        ids = await self._search(model, [["reference", "in", list(references)]])
        if not ids:
            return {}
        found = await (self._sale_statuses(ids) if kind == RecordKind.ORDER else self._subscription_statuses(ids))
        result: dict[str, ErpStatus] = {}
        for status in sorted(found, key=lambda s: int(s.erp_id)):  # several with one reference: the first made
            result.setdefault(status.reference, status)
        return result

    async def all_references(self, kind: RecordKind) -> list[str]:
        model = "sale.sale" if kind == RecordKind.ORDER else "sale.subscription"
        records = await self._search_read(model, [["reference", "not in", [None, ""]]], ["reference"])
        return sorted({r["reference"] for r in records})

    async def order_details(self, reference: str) -> ErpOrderDetails | None:
        ids = await self._search("sale.sale", [["reference", "=", reference]])
        if not ids:
            return None
        sale_id = min(ids)  # several with one reference: the first made
        (sale,) = await self._read("sale.sale", [sale_id], ["party", "currency", "sale_date", "lines"])
        (party,) = await self._read("party.party", [sale["party"]], ["code"])
        currency = (await self._currency_codes({sale["currency"]}))[sale["currency"]]
        rows = [
            r
            for r in await self._read(
                "sale.line", list(sale["lines"]), ["type", "product", "description", "quantity", "unit_price"]
            )
            if r.get("type", "line") == "line" and r.get("product")
        ]
        codes = {
            p["id"]: p["code"]
            for p in await self._read("product.product", sorted({r["product"] for r in rows}), ["code"])
        }
        lines = tuple(
            ErpLine(
                codes[r["product"]],
                r.get("description") or codes[r["product"]],
                Decimal(str(r["quantity"])),
                Decimal(str(r["unit_price"])),
            )
            for r in rows
        )
        (status,) = await self._sale_statuses([sale_id])
        return ErpOrderDetails(reference, party.get("code"), currency, sale.get("sale_date"), lines, status)

    # -- catalogue and credit ---------------------------------------------------------------------
    async def _company_currency_code(self) -> str:
        if self._company_currency is None:
            if self._auth is None:
                await self._sign_in()
            company = (self._context or {}).get("company")
            if not company:
                raise ErpRejected("the Tryton user has no company")
            (record,) = await self._read("company.company", [company], ["currency"])
            self._company_currency = (await self._currency_codes({record["currency"]}))[record["currency"]]
        return self._company_currency

    async def products(self) -> list[ErpProduct]:
        currency = await self._company_currency_code()
        records = await self._search_read(
            "product.product",
            [["salable", "=", True], ["code", "not in", [None, ""]]],
            ["code", "name", "list_price_used", "active"],
            order=[["code", "ASC"]],
        )
        return [
            ErpProduct(
                code=r["code"],
                name=r["name"],
                list_price=r.get("list_price_used") or Decimal(0),
                currency=currency,
                active=bool(r.get("active", True)),
                erp_id=str(r["id"]),
            )
            for r in records
        ]

    async def credit_limit(self, party_reference: str) -> tuple[Decimal | None, Decimal]:
        records = await self._search_read(
            "party.party", [["code", "=", party_reference]], ["credit_limit_amount", "receivable"], limit=1
        )
        if not records:
            return None, Decimal(0)
        record = records[0]
        limit = record.get("credit_limit_amount")
        owed = record.get("receivable")
        return (Decimal(limit) if limit is not None else None), (Decimal(owed) if owed is not None else Decimal(0))

    async def close(self) -> None:
        await self._client.aclose()


def _compact_vat(tax_id: str) -> str:
    try:
        return str(vat.compact(tax_id))
    except Exception:  # noqa: BLE001 - a code stdnum cannot parse: compare as given
        return "".join(tax_id.split()).upper()


def _valid_vat(tax_id: str) -> bool:
    try:
        return bool(vat.is_valid(tax_id))
    except Exception:  # noqa: BLE001
        return False


__all__ = ["TrytonErp"]
