"""The mail outbox: e-mails written in the transaction that causes them, and a sender's claims on them.

A message is written with the change that caused it, so a rolled-back change sends nothing and a
committed one is not lost when the mail server is down. A sender claims one due message at a time
(`FOR UPDATE SKIP LOCKED`), so several workers never send the same message at once.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.identity.sign_in.models import MailMessage, MailStatus
from domain.mail.templates import MailKind, RenderedMail
from domain.shared.base import new_id, utcnow

# After this many failed attempts a message is dead: kept, visible in `crm mail list`, no longer tried.
MAX_ATTEMPTS = 8


def queue_mail(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID | None,
    kind: str,
    to_address: str,
    locale: str,
    subject: str,
    body_text: str,
) -> MailMessage:
    """Add an e-mail to the outbox in the caller's transaction; a worker sends it once the transaction commits."""
    message = MailMessage(
        id=new_id(),
        tenant_id=tenant_id,
        kind=kind,
        to_address=to_address,
        locale=locale,
        subject=subject,
        body_text=body_text,
        status=MailStatus.PENDING,
        attempts=0,
        created_at=utcnow(),
        next_attempt_at=utcnow(),
    )
    session.add(message)
    return message


def queue_rendered(
    session: AsyncSession, *, tenant_id: uuid.UUID | None, kind: MailKind, to_address: str, mail: RenderedMail
) -> MailMessage:
    """Queue a rendered text of one of the CRM's mail kinds."""
    return queue_mail(
        session,
        tenant_id=tenant_id,
        kind=kind.value,
        to_address=to_address,
        locale=mail.locale,
        subject=mail.subject,
        body_text=mail.body_text,
    )


async def claim_due(session: AsyncSession, *, tenant_id: uuid.UUID | None = None) -> MailMessage | None:
    """The oldest pending message whose time has come (of one tenant, when given), locked for this transaction.

    None when no due message is free: another sender holds the rest.
    """
    statement = (
        select(MailMessage)
        .where(MailMessage.status == MailStatus.PENDING, MailMessage.next_attempt_at <= utcnow())
        .order_by(MailMessage.next_attempt_at, MailMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if tenant_id is not None:
        statement = statement.where(MailMessage.tenant_id == tenant_id)
    return (await session.execute(statement)).scalar_one_or_none()


def mark_sent(message: MailMessage) -> None:
    message.attempts += 1
    message.status = MailStatus.SENT
    message.sent_at = utcnow()
    message.last_error = None


def mark_failed(message: MailMessage, error: str, retry_in: timedelta | None) -> str:
    """Record a failed attempt: retried after `retry_in`, or dead when that is None or the attempts are spent."""
    message.attempts += 1
    message.last_error = error[:2000] or "unknown error"
    if retry_in is None or message.attempts >= MAX_ATTEMPTS:
        message.status = MailStatus.DEAD
    else:
        message.next_attempt_at = utcnow() + retry_in
    return message.status


async def list_mail(
    session: AsyncSession, *, tenant_id: uuid.UUID | None = None, status: str | None = None, limit: int = 50
) -> list[MailMessage]:
    """The newest messages first, of one tenant and one status when given."""
    statement = select(MailMessage).order_by(MailMessage.created_at.desc(), MailMessage.id).limit(limit)
    if tenant_id is not None:
        statement = statement.where(MailMessage.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(MailMessage.status == status)
    return list((await session.execute(statement)).scalars())


async def find_mail(session: AsyncSession, message_id: uuid.UUID) -> MailMessage | None:
    return await session.get(MailMessage, message_id)
