"""`POST /webhooks/erp`: signed status notifications from an ERP.

Headers: `X-CRM-Tenant` (tenant slug), `X-CRM-Timestamp`, `X-CRM-Signature` (`sha256=<hex>` of
HMAC-SHA256 over `<timestamp>.<body>` with the tenant's webhook secret) and `X-CRM-Delivery` (a
unique id per notification). Body: `{"statuses": [status, …]}` in the signed-webhook adapter's
status format. A bad or missing signature, a stale timestamp, an unknown tenant (all 401), a
replayed delivery id (409) or a malformed body (400, naming the field) applies nothing; otherwise
every status is applied in one transaction, in the ERP's order, idempotently.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from starlette.requests import Request
from starlette.responses import JSONResponse

from domain.erp.outbox import ErpConnection, WebhookReceipt
from domain.erp.status import apply_status
from domain.identity.tenants import Tenant
from infrastructure.db import transaction
from integrations.erp.signing import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TENANT_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    verify,
)
from integrations.erp.sync import reported
from integrations.erp.webhook import MalformedStatus, status_from_json

log = logging.getLogger("crm.webhooks")
MAX_BODY = 1_000_000  # bytes; refused with 413 while streaming (api.request_limits), before this endpoint runs


def _error(status: int, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"error": message, **({"field": field} if field else {})}, status_code=status)


def _parse(body: bytes) -> list[Any] | JSONResponse:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _error(400, f"The body is not JSON: {exc}.")
    if not isinstance(data, dict) or not isinstance(data.get("statuses"), list):
        return _error(400, "statuses must be a list of status objects.", "statuses")
    parsed = []
    for index, item in enumerate(data["statuses"]):
        try:
            parsed.append(status_from_json(item))
        except MalformedStatus as exc:
            field = f"statuses[{index}]" + (f".{exc.field}" if exc.field else "")
            return _error(400, f"{field} {exc.problem}.", field)
    return parsed


async def erp_webhook(request: Request) -> JSONResponse:
    sessions = request.app.state.sessions
    body = await request.body()
    slug = request.headers.get(TENANT_HEADER, "")
    delivery_id = request.headers.get(DELIVERY_HEADER, "").strip()
    async with sessions() as session:
        found = (
            await session.execute(
                select(Tenant.id, ErpConnection.webhook_secret)
                .join(ErpConnection, ErpConnection.tenant_id == Tenant.id)
                .where(Tenant.slug == slug)
            )
        ).one_or_none()
    if found is None or not found.webhook_secret:
        return _error(401, "Unknown tenant, or it takes no signed webhooks.")
    try:
        verify(found.webhook_secret, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER), body)
    except SignatureError as exc:
        log.warning("rejected an ERP webhook for %s: %s", slug, exc)
        return _error(401, str(exc))
    if not delivery_id or len(delivery_id) > 100:
        return _error(400, f"{DELIVERY_HEADER} must be a unique id of 1 to 100 characters.", DELIVERY_HEADER)
    statuses = _parse(body)
    if isinstance(statuses, JSONResponse):
        return statuses
    tenant_id = found.id
    async with transaction(sessions) as session:
        inserted = (
            await session.execute(
                insert(WebhookReceipt)
                .values(tenant_id=tenant_id, delivery_id=delivery_id)
                .on_conflict_do_nothing()
                .returning(WebhookReceipt.delivery_id)
            )
        ).scalar_one_or_none()
        if inserted is None:
            return _error(409, "This delivery was received before; nothing applied again.")
        counts = {"applied": 0, "unchanged": 0, "unknown": 0}
        for status in sorted(statuses, key=lambda s: s.changed_at):
            result = await apply_status(session, tenant_id, reported(status))
            counts["unknown" if not result.found else "applied" if result.changed else "unchanged"] += 1
    return JSONResponse(counts)
