"""Web-to-lead: public forms, keyed per tenant form, that turn a visitor's submission into a routed lead.

No sign-in is needed, so the form defends itself: a signed timing token the page fetches first
(too fast or too old is a bot, and each token is taken once), a honeypot field humans never fill,
and rate limits per visitor and per form kept in PostgreSQL so they hold across every worker process.
A visitor is their network address (an IPv6 visitor, their /64 network), never anything they send.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Boolean, ForeignKeyConstraint, Index, String, Uuid, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import UnitOfWork
from domain.audit import trail as audit_log
from domain.channel.leads import LeadSource, NewLead
from domain.channel.organizations import tenant_territory_ids
from domain.shared.base import Base, TenantScoped, Timestamped, utcnow
from domain.shared.errors import ErrorCode, FieldError, Forbidden, NotFound, RateLimited, ValidationFailed, Validator

MIN_FILL_SECONDS = 3
TOKEN_LIFETIME_SECONDS = 24 * 3600
PER_VISITOR_PER_HOUR = 5
PER_FORM_PER_HOUR = 500


class WebForm(TenantScoped, Timestamped, Base):
    """A tenant's public lead form, addressed by its key."""

    __tablename__ = "web_form"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "territory_id"], ["territory.tenant_id", "territory.id"]),
    )

    key: Mapped[str] = mapped_column(String(64), unique=True)
    secret: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    campaign: Mapped[str | None] = mapped_column(String(200), nullable=True)
    territory_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class WebFormSubmission(TenantScoped, Timestamped, Base):
    """One accepted submission, kept briefly for rate limiting (visitor is a salted hash, not an address)."""

    __tablename__ = "web_form_submission"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "form_id"], ["web_form.tenant_id", "web_form.id"], ondelete="CASCADE"),
        Index("ix_web_form_submission_recent", "form_id", "visitor", "created_at"),
    )

    form_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    visitor: Mapped[str] = mapped_column(String(64))


class WebFormTokenUse(TenantScoped, Timestamped, Base):
    """A timing token that a submission has taken (its id is the token's nonce); kept while the token could live."""

    __tablename__ = "web_form_token_use"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "form_id"], ["web_form.tenant_id", "web_form.id"], ondelete="CASCADE"),
        Index("ix_web_form_token_use_form_created", "form_id", "created_at"),
    )

    form_id: Mapped[uuid.UUID] = mapped_column(Uuid)


@dataclass
class Submission:
    """What arrived from the public form."""

    token: str | None
    honeypot: str | None
    lead: NewLead


async def create_form(uow: UnitOfWork, name: str, campaign: str | None, territory_id: uuid.UUID | None) -> WebForm:
    """A new public form for the tenant (admins)."""
    if not uow.access.can(Resource.ROUTING_RULE, Action.CREATE):
        raise Forbidden("Only admins create web forms.")
    v = Validator()
    clean = v.require_text("name", name, max_length=200)
    if territory_id is not None and not await tenant_territory_ids(uow, {territory_id}):
        v.fail("territoryId", ErrorCode.NOT_FOUND, "No territory with that territoryId.")
    v.raise_if_any()
    form = WebForm(
        tenant_id=uow.tenant_id,
        id=uuid.uuid4(),
        key=secrets.token_urlsafe(24),
        secret=secrets.token_hex(32),
        name=clean,
        campaign=(campaign or "").strip() or None,
        territory_id=territory_id,
    )
    uow.session.add(form)
    await uow.session.flush()
    created = audit_log.created_changes({"name": clean, "campaign": form.campaign})
    audit_log.record(
        uow.session, uow.access, record_type="web_form", record_id=form.id, action="created", changes=created
    )
    return form


async def active_form_or_raise(session: AsyncSession, key: str) -> WebForm:
    """The active form with that public key (read before any tenant is known); NotFound otherwise."""
    form = (await session.execute(select(WebForm).where(WebForm.key == key, WebForm.is_active))).scalar_one_or_none()
    if form is None:
        raise NotFound("No such form.")
    return form


def _sign(form: WebForm, issued_at: int, nonce: uuid.UUID) -> str:
    message = f"{form.key}:{issued_at}:{nonce.hex}".encode()
    return hmac.new(form.secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def issue_token(form: WebForm, now: float | None = None) -> str:
    """A timing token for one showing of the form: when it was issued, a nonce of its own, and their signature."""
    issued_at = int(now if now is not None else time.time())
    nonce = uuid.uuid4()
    return f"{issued_at}.{nonce.hex}.{_sign(form, issued_at, nonce)}"


def _bad_token(message: str = "Reload the form and try again.") -> ValidationFailed:
    return ValidationFailed([FieldError("token", ErrorCode.INVALID, message)])


def _check_token(form: WebForm, token: str | None, now: float) -> uuid.UUID:
    """The token's nonce, when this form signed it between MIN_FILL_SECONDS and TOKEN_LIFETIME_SECONDS ago."""
    try:
        issued_text, nonce_text, signature = (token or "").split(".")
        issued_at, nonce = int(issued_text), uuid.UUID(hex=nonce_text)
    except ValueError:
        raise _bad_token() from None
    if not hmac.compare_digest(signature, _sign(form, issued_at, nonce)):
        raise _bad_token()
    age = now - issued_at
    if age < MIN_FILL_SECONDS or age > TOKEN_LIFETIME_SECONDS:
        raise _bad_token()
    return nonce


async def _take_token(session: AsyncSession, form: WebForm, nonce: uuid.UUID) -> None:
    """Mark the token used, in the submission's transaction; a token already used is refused.

    A submission refused later (bad fields, rate limits) rolls this back, so the visitor may correct and resend.
    """
    taken = (
        await session.execute(
            insert(WebFormTokenUse)
            .values(tenant_id=form.tenant_id, id=nonce, form_id=form.id)
            .on_conflict_do_nothing()
            .returning(WebFormTokenUse.id)
        )
    ).scalar_one_or_none()
    if taken is None:
        raise _bad_token("This form was already sent; reload it to send another.")
    # A token older than its lifetime is refused by its age, so its use need not be remembered.
    expired = utcnow() - timedelta(seconds=TOKEN_LIFETIME_SECONDS)
    await session.execute(
        delete(WebFormTokenUse).where(WebFormTokenUse.form_id == form.id, WebFormTokenUse.created_at < expired)
    )


def visitor_id(form: WebForm, client_address: str) -> str:
    """A per-form salted hash of the submitting network address (an IPv6 /64), so rate limits store no addresses.

    Only the address counts: headers such as User-Agent are the sender's to choose, and would give one sender
    as many allowances as it has values to send.
    """
    try:
        address = ipaddress.ip_address(client_address)
    except ValueError:
        network = client_address  # not an IP address (a test client or a Unix socket): use it as it is
    else:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        network = str(ipaddress.ip_network(f"{address}/64", strict=False)) if address.version == 6 else str(address)
    return hashlib.sha256(f"{form.secret}:{network}".encode()).hexdigest()


async def admit_submission(uow: UnitOfWork, form: WebForm, visitor: str, submission: Submission) -> NewLead | None:
    """Check a submission's token, honeypot and rate limits and count it; the lead it asks for, or None for a bot.

    A bot caught by the honeypot is answered like success, with nothing stored but the token's use.
    """
    session = uow.session
    nonce = _check_token(form, submission.token, time.time())
    await _take_token(session, form, nonce)
    if submission.honeypot:
        return None
    hour_ago = utcnow() - timedelta(hours=1)
    recent = select(func.count()).where(WebFormSubmission.form_id == form.id, WebFormSubmission.created_at > hour_ago)
    if (await session.execute(recent.where(WebFormSubmission.visitor == visitor))).scalar_one() >= PER_VISITOR_PER_HOUR:
        raise RateLimited("Too many submissions from you; try again later.", retry_after=3600)
    if (await session.execute(recent)).scalar_one() >= PER_FORM_PER_HOUR:
        raise RateLimited("This form is busy; try again later.", retry_after=600)
    session.add(WebFormSubmission(tenant_id=form.tenant_id, id=uuid.uuid4(), form_id=form.id, visitor=visitor))
    await session.execute(
        delete(WebFormSubmission).where(WebFormSubmission.form_id == form.id, WebFormSubmission.created_at < hour_ago)
    )
    cmd = submission.lead
    cmd.source, cmd.source_detail, cmd.territory_id = LeadSource.WEB_FORM, form.campaign or form.name, form.territory_id
    return cmd
