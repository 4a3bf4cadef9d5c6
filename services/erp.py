"""The ERP link's use cases that span concepts or own their transactions.

- A signed status notification from a tenant's ERP (`POST /webhooks/erp`): verified, checked for replay and
  applied in one system unit of work.
- A dead outbox message retried by a person: the message and its order or contract are pending again.
- The catalogue pulled on request: the ERP is asked with no transaction open, the products written after.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import UnitOfWork, system_unit_of_work
from domain.commerce.contracts import Contract
from domain.commerce.orders import Order
from domain.erp import outbox
from domain.erp.codes import ErpCode
from domain.erp.outbox import MessageKind, MessageStatus, OutboxMessage, SyncState
from domain.erp.status import apply_status
from domain.shared.errors import (
    Conflict,
    DomainError,
    ErrorCode,
    FieldError,
    Forbidden,
    Unauthenticated,
    ValidationFailed,
)
from integrations.erp.port import ErpError, ErpNotConnected, ErpStatus, ErpUnavailable
from integrations.erp.signing import DELIVERY_HEADER, SignatureError, verify
from integrations.erp.sync import reported, sync_products
from integrations.erp.webhook import MalformedStatus, status_from_json
from services.unit_of_work import Sessions, system_unit

log = logging.getLogger("crm.webhooks")
WEBHOOK_JOB = "erp webhook"
MAX_DELIVERY_ID = 100


@dataclass(frozen=True)
class SignedNotification:
    """A notification as it arrived: the tenant it names, its signature headers and its raw body."""

    tenant_slug: str
    timestamp: str | None
    signature: str | None
    delivery_id: str
    body: bytes


@dataclass(frozen=True)
class Receipt:
    """What a notification's statuses did: applied, the same news again (or older), or about unknown records."""

    applied: int = 0
    unchanged: int = 0
    unknown: int = 0


def _statuses(body: bytes) -> list[ErpStatus]:
    """The notification's statuses; a DomainError naming the first part at fault when the body is not well formed."""
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DomainError(f"The body is not JSON: {exc}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("statuses"), list):
        raise DomainError("statuses must be a list of status objects.", field="statuses")
    parsed = []
    for index, item in enumerate(data["statuses"]):
        try:
            parsed.append(status_from_json(item))
        except MalformedStatus as exc:
            field = f"statuses[{index}]" + (f".{exc.field}" if exc.field else "")
            raise DomainError(f"{field} {exc.problem}.", field=field) from None
    return parsed


async def receive_notification(sessions: Sessions, notification: SignedNotification) -> Receipt:
    """Apply a signed notification's statuses once, in the ERP's order, idempotently; all or nothing.

    Raises Unauthenticated for an unknown tenant (or one without a webhook secret) and a bad or stale signature,
    a DomainError naming the field for a missing delivery id or a malformed body, and Conflict for a delivery id
    received before. Nothing is applied then.
    """
    async with sessions() as session:
        found = await outbox.webhook_secret(session, notification.tenant_slug)
    if found is None:
        raise Unauthenticated("Unknown tenant, or it takes no signed webhooks.")
    tenant_id, secret = found
    try:
        verify(secret, notification.timestamp, notification.signature, notification.body)
    except SignatureError as exc:
        log.warning("rejected an ERP webhook for %s: %s", notification.tenant_slug, exc)
        raise Unauthenticated(str(exc)) from None
    delivery_id = notification.delivery_id.strip()
    if not delivery_id or len(delivery_id) > MAX_DELIVERY_ID:
        message = f"{DELIVERY_HEADER} must be a unique id of 1 to {MAX_DELIVERY_ID} characters."
        raise ValidationFailed([FieldError(DELIVERY_HEADER, ErrorCode.INVALID, message)])
    statuses = _statuses(notification.body)
    counts = {"applied": 0, "unchanged": 0, "unknown": 0}
    async with system_unit(sessions, tenant_id, WEBHOOK_JOB) as uow:
        if not await outbox.record_receipt(uow, delivery_id):
            raise Conflict("This delivery was received before; nothing applied again.")
        for status in sorted(statuses, key=lambda s: s.changed_at):
            result = await apply_status(uow, reported(status))
            counts["unknown" if not result.found else "applied" if result.changed else "unchanged"] += 1
    return Receipt(**counts)


async def retry_message(uow: UnitOfWork, message_id: uuid.UUID) -> OutboxMessage:
    """Queue a dead outbox message again with a fresh set of attempts; its order or contract is pending again.

    Raises Forbidden when the actor's role may not retry deliveries, NotFound for a message they may not see,
    and Conflict (OUTBOX_MESSAGE_NOT_DEAD) for one that is not dead.
    """
    if not uow.access.can(Resource.ERP_SYNC, Action.UPDATE):
        raise Forbidden("Your role may not retry ERP deliveries.")
    message = await uow.get(OutboxMessage, message_id, action=Action.UPDATE, for_update=True)
    if message.status is not MessageStatus.DEAD:
        raise Conflict(
            f"The message is {message.status.value}; only a dead one is retried.",
            field="id",
            code=ErpCode.OUTBOX_MESSAGE_NOT_DEAD,
        )
    await outbox.requeue(uow.session, message)
    # Whether the ERP has the record is the ERP link's bookkeeping, whoever may read the record itself.
    link = system_unit_of_work(uow.session, uow.tenant_id, "erp outbox retry")
    model: type[Order | Contract] = Order if message.kind is MessageKind.ORDER else Contract
    record = (
        await uow.session.execute(link.visible(model, Action.UPDATE).where(model.id == message.record_id))
    ).scalar()
    if record is not None:
        record.sync_state = SyncState.PENDING
    return message


async def pull_products(uow: UnitOfWork, sessions: Sessions) -> int:
    """Pull the ERP's products and list prices now; how many were added, changed or retired.

    The ERP is asked with no transaction open (the unit of work's session is left untouched meanwhile); the
    products are written in a short transaction of their own. Raises Forbidden when the actor's role may not
    change the catalogue, and Conflict with ERP_NOT_CONNECTED, ERP_UNAVAILABLE or ERP_REJECTED when the ERP
    cannot be asked, does not answer, or refuses.
    """
    if not uow.access.can(Resource.PRODUCT, Action.UPDATE):
        raise Forbidden("Your role may not sync the catalogue.")
    try:
        return await sync_products(sessions, uow.tenant_id)
    except ErpNotConnected as exc:
        raise Conflict(str(exc), code=ErpCode.ERP_NOT_CONNECTED) from exc
    except ErpUnavailable as exc:
        raise Conflict(f"The ERP did not answer: {exc}", code=ErpCode.ERP_UNAVAILABLE) from exc
    except ErpError as exc:
        raise Conflict(f"The ERP refused: {exc}", code=ErpCode.ERP_REJECTED) from exc
