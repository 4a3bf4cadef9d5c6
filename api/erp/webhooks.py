"""`POST /webhooks/erp`: signed status notifications from an ERP.

Headers: `X-CRM-Tenant` (tenant slug), `X-CRM-Timestamp`, `X-CRM-Signature` (`sha256=<hex>` of
HMAC-SHA256 over `<timestamp>.<body>` with the tenant's webhook secret) and `X-CRM-Delivery` (a
unique id per notification). Body: `{"statuses": [status, …]}` in the signed-webhook adapter's
status format. A bad or missing signature, a stale timestamp, an unknown tenant (all 401), a
replayed delivery id (409) or a malformed body (400, naming the field) applies nothing; otherwise
every status is applied in one transaction, in the ERP's order, idempotently.

The handler only reads the request and maps the outcome to HTTP; the use case is `services.erp`.
"""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import JSONResponse

from domain.shared.errors import Conflict, DomainError, Unauthenticated
from integrations.erp.signing import DELIVERY_HEADER, SIGNATURE_HEADER, TENANT_HEADER, TIMESTAMP_HEADER
from services.erp import SignedNotification, receive_notification

MAX_BODY = 1_000_000  # bytes; refused with 413 while streaming (api.request_limits), before this endpoint runs


def _error(status: int, error: DomainError) -> JSONResponse:
    return JSONResponse({"error": error.message, **({"field": error.field} if error.field else {})}, status_code=status)


async def erp_webhook(request: Request) -> JSONResponse:
    """Apply a signed notification's statuses; answer their counts, or why nothing was applied."""
    notification = SignedNotification(
        tenant_slug=request.headers.get(TENANT_HEADER, ""),
        timestamp=request.headers.get(TIMESTAMP_HEADER),
        signature=request.headers.get(SIGNATURE_HEADER),
        delivery_id=request.headers.get(DELIVERY_HEADER, ""),
        body=await request.body(),
    )
    try:
        receipt = await receive_notification(request.app.state.sessions, notification)
    except Unauthenticated as exc:
        return _error(401, exc)
    except Conflict as exc:
        return _error(409, exc)
    except DomainError as exc:
        return _error(400, exc)
    return JSONResponse(asdict(receipt))
