"""HMAC-SHA256 signatures over timestamp + body, for webhooks in both directions.

The signed string is `<unix seconds>.<raw body>`; the signature travels as `sha256=<hex>`. A
receiver rejects a bad signature, a timestamp outside the tolerance (stale or from the future),
and a delivery id it has seen before (replay).
"""

from __future__ import annotations

import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300
TIMESTAMP_HEADER = "x-crm-timestamp"
SIGNATURE_HEADER = "x-crm-signature"
DELIVERY_HEADER = "x-crm-delivery"
TENANT_HEADER = "x-crm-tenant"


class SignatureError(Exception):
    """The request is not what its signature claims, or not fresh."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signed_headers(secret: str, body: bytes, delivery_id: str, *, now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        DELIVERY_HEADER: delivery_id,
        "content-type": "application/json",
    }


def verify(
    secret: str,
    timestamp: str | None,
    given: str | None,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Raise SignatureError unless the signature matches and the timestamp is fresh."""
    if not timestamp or not given:
        raise SignatureError("The request is not signed: timestamp and signature headers are required.")
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureError("The timestamp header is not a whole number of seconds.") from None
    current = now if now is not None else time.time()
    if abs(current - sent) > tolerance:
        raise SignatureError(f"The timestamp is more than {tolerance} s away from now: stale or replayed.")
    if not hmac.compare_digest(signature(secret, sent, body), given):
        raise SignatureError("The signature does not match the body.")
