"""An ERP that speaks the signed-webhook protocol, in process: the counterpart the generic adapter is tested against.

It verifies every request's signature (a bad one is refused with 401), keeps its sales and contracts
by the CRM's reference (a repeated reference returns the existing record), and can be told to be
down (503) or to refuse (422), so delivery, retries and dead messages are exercised over real HTTP
semantics. Back-office changes (`ship`, `pay`) move a record's status and change time.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integrations.erp.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from integrations.erp.webhook import SignedWebhookErp


@dataclass
class SignedErp:
    secret: str
    tenant_id: Any = None  # the tenant this ERP serves; other tenants' jobs (the queue is shared) go their own way
    down: bool = False
    refuse: str | None = None
    parties: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # reference -> status
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # reference -> what was pushed
    creates: int = 0
    party_calls: int = 0
    bad_signatures: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _clock: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def tick(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.isoformat()

    def app(self) -> Starlette:
        async def guard(request: Request) -> tuple[bytes, JSONResponse | None]:
            body = await request.body()
            try:
                verify(self.secret, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER), body)
            except SignatureError as exc:
                self.bad_signatures += 1
                return body, JSONResponse({"error": str(exc)}, status_code=401)
            if self.down:
                return body, JSONResponse({"error": "maintenance"}, status_code=503)
            return body, None

        async def parties(request: Request) -> JSONResponse:
            body, refused = await guard(request)
            if refused:
                return refused
            data = orjson.loads(body)
            self.party_calls += 1
            party = self.parties.setdefault(data["reference"], {"id": str(next(self._ids)), **data})
            return JSONResponse({"id": party["id"]})

        async def push(request: Request) -> JSONResponse:
            body, refused = await guard(request)
            if refused:
                return refused
            if self.refuse:
                return JSONResponse({"error": self.refuse}, status_code=422)
            data = orjson.loads(body)
            kind = "order" if request.url.path.endswith("orders") else "contract"
            reference = data["reference"]
            if reference not in self.records:
                self.creates += 1
                self.documents[reference] = data
                total = sum(Decimal(x["quantity"]) * Decimal(x["unit_price"]) for x in data["lines"])
                self.records[reference] = {
                    "kind": kind, "reference": reference, "erp_id": str(next(self._ids)),
                    "state": "processing" if kind == "order" else "running", "changed_at": self.tick(),
                    "total_amount": str(total.quantize(Decimal("0.01"))), "currency": data["currency"],
                    "invoice_state": "pending" if kind == "order" else None,
                    "shipment_state": "waiting" if kind == "order" else None, "paid_amount": "0.00",
                    "number": f"S{len(self.records) + 1:05d}",
                }  # fmt: skip
            elif kind == "contract" and data["end_date"] != self.documents[reference]["end_date"]:
                self.documents[reference]["end_date"] = data["end_date"]  # an amendment: ends earlier
                self.records[reference]["changed_at"] = self.tick()
            return JSONResponse(self.records[reference])

        async def changes(request: Request) -> JSONResponse:
            _, refused = await guard(request)
            if refused:
                return refused
            since = request.query_params.get("since")
            found = [s for s in self.records.values() if since is None or s["changed_at"] >= since]
            cursor = max((s["changed_at"] for s in found), default=since)
            return JSONResponse({"statuses": found, "cursor": cursor})

        async def statuses(request: Request) -> JSONResponse:
            body, refused = await guard(request)
            if refused:
                return refused
            data = orjson.loads(body)
            found = [self.records[r] for r in data["references"] if r in self.records]
            return JSONResponse({"statuses": [s for s in found if s["kind"] == data["kind"]]})

        async def references(request: Request) -> JSONResponse:
            _, refused = await guard(request)
            if refused:
                return refused
            kind = request.query_params["kind"]
            return JSONResponse({"references": [r for r, s in self.records.items() if s["kind"] == kind]})

        async def order(request: Request) -> JSONResponse:
            _, refused = await guard(request)
            if refused:
                return refused
            reference = request.path_params["reference"]
            if reference not in self.records:
                return JSONResponse({"error": "no such order"}, status_code=404)
            data = self.documents[reference]
            return JSONResponse({
                "reference": reference, "party_reference": data["party"]["reference"], "currency": data["currency"],
                "sale_date": data.get("sale_date"), "lines": data["lines"], "status": self.records[reference],
            })  # fmt: skip

        async def products(request: Request) -> JSONResponse:
            _, refused = await guard(request)
            if refused:
                return refused
            return JSONResponse(
                {
                    "products": [
                        {"code": "HW-100", "name": "Gateway", "list_price": "1000.00", "currency": "USD", "id": 1},
                        {"code": "SVC-200", "name": "Support", "list_price": "200.00", "currency": "USD", "id": 2},
                    ]
                }
            )

        async def credit(request: Request) -> JSONResponse:
            _, refused = await guard(request)
            if refused:
                return refused
            return JSONResponse({"credit_limit": "5000.00", "owed": "1000.00"})

        return Starlette(
            routes=[
                Route("/parties", parties, methods=["POST"]),
                Route("/orders", push, methods=["POST"]),
                Route("/contracts", push, methods=["POST"]),
                Route("/changes", changes),
                Route("/statuses", statuses, methods=["POST"]),
                Route("/references", references),
                Route("/orders/{reference}", order),
                Route("/products", products),
                Route("/credit/{reference}", credit),
            ]
        )

    def port(self, connection: Any = None) -> Any:
        if connection is not None and self.tenant_id is not None and connection.tenant_id != self.tenant_id:
            from integrations.erp.sync import adapter_for

            return adapter_for(connection)
        return SignedWebhookErp("http://erp.test", self.secret, transport=httpx.ASGITransport(app=self.app()))

    def copy(self, reference: str, new_reference: str) -> None:
        """A record made by hand in the ERP under a CRM-looking reference (as after a CRM restore)."""
        self.records[new_reference] = dict(self.records[reference], reference=new_reference, changed_at=self.tick())
        self.documents[new_reference] = dict(self.documents[reference], reference=new_reference)

    def ship(self, reference: str) -> None:
        self.records[reference].update(shipment_state="sent", changed_at=self.tick())

    def pay(self, reference: str) -> None:
        record = self.records[reference]
        record.update(invoice_state="paid", paid_amount=record["total_amount"], state="done", changed_at=self.tick())
