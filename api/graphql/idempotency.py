"""Create mutations that a retry does not repeat: the `idempotencyKey` input field and the input's fingerprint.

Every create mutation takes an optional `idempotencyKey` and hands it, with its input, to the one mutation runner
(`api.graphql.mutation.mutate`). The key is held for the request in the create's own transaction
(domain/shared/idempotency.py); a retry with the same key and the same input gets the first result again, re-read
through the caller's visibility like any mutation's payload.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry

KEY_DESCRIPTION = (
    "A key of your choice (up to 255 characters; a UUID is a good one) that makes retrying this create safe: "
    "sent again with the same key and the same input within 24 hours, the mutation creates nothing more and "
    "answers with what the first request created; with a different input it is refused (CONFLICT on "
    "idempotencyKey). Keys are your own: another user's same key is another key. A create that failed leaves "
    "no key behind, so it may be retried with the same one."
)


def idempotency_key_field() -> Any:
    """The optional `idempotencyKey` field of a create mutation's input."""
    return strawberry.field(default=None, description=KEY_DESCRIPTION)


def request_values(value: Any) -> Any:
    """A GraphQL input (objects, lists, scalars) as plain JSON values, to fingerprint; the key itself left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: request_values(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "idempotency_key" and getattr(value, f.name) is not strawberry.UNSET
        }
    if isinstance(value, Mapping):
        return {str(k): request_values(v) for k, v in value.items() if v is not strawberry.UNSET}
    if isinstance(value, list | tuple):
        return [request_values(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value.normalize()) if value.is_finite() else str(value)  # 10.50 and 10.5 are one amount
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
