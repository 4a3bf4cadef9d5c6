"""Web-to-lead: public forms, keyed per tenant form, that turn a visitor's submission into a routed lead.

No sign-in is needed, so the form defends itself: a signed timing token the page fetches first
(too fast or too old is a bot), a honeypot field humans never fill, and rate limits per visitor and
per form kept in PostgreSQL so they hold across every worker process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Boolean, ForeignKeyConstraint, Index, String, Uuid, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain import audit_log
from domain.access import Access, Action, Resource
from domain.base import Base, TenantScoped, Timestamped, utcnow
from domain.errors import ErrorCode, FieldError, Forbidden, NotFound, RateLimited, ValidationFailed, Validator
from domain.lead_routing import route
from domain.leads import Lead, LeadSource, NewLead, create_lead

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


@dataclass
class Submission:
    """What arrived from the public form."""

    token: str | None
    honeypot: str | None
    lead: NewLead


async def create_form(
    session: AsyncSession, access: Access, name: str, campaign: str | None, territory_id: uuid.UUID | None
) -> WebForm:
    """A new public form for the tenant (admins)."""
    if not access.can(Resource.ROUTING_RULE, Action.CREATE):
        raise Forbidden("Only admins create web forms.")
    v = Validator()
    clean = v.require_text("name", name, max_length=200)
    v.raise_if_any()
    form = WebForm(
        tenant_id=access.actor.tenant_id, id=uuid.uuid4(), key=secrets.token_urlsafe(24), secret=secrets.token_hex(32),
        name=clean, campaign=(campaign or "").strip() or None, territory_id=territory_id,
    )  # fmt: skip
    session.add(form)
    await session.flush()
    audit_log.record(session, access, record_type="web_form", record_id=form.id, action="created",
                     changes=audit_log.created_changes({"name": clean, "campaign": form.campaign}))  # fmt: skip
    return form


async def active_form_or_raise(session: AsyncSession, key: str) -> WebForm:
    form = (await session.execute(select(WebForm).where(WebForm.key == key, WebForm.is_active))).scalar_one_or_none()
    if form is None:
        raise NotFound("No such form.")
    return form


def _sign(form: WebForm, issued_at: int) -> str:
    return hmac.new(form.secret.encode(), f"{form.key}:{issued_at}".encode(), hashlib.sha256).hexdigest()[:32]


def issue_token(form: WebForm, now: float | None = None) -> str:
    """The timing token a form page fetches when it is shown."""
    issued_at = int(now if now is not None else time.time())
    return f"{issued_at}.{_sign(form, issued_at)}"


def _check_token(form: WebForm, token: str | None, now: float) -> None:
    try:
        issued_text, signature = (token or "").split(".", 1)
        issued_at = int(issued_text)
    except ValueError:
        raise ValidationFailed([FieldError("token", ErrorCode.INVALID, "Reload the form and try again.")]) from None
    if not hmac.compare_digest(signature, _sign(form, issued_at)):
        raise ValidationFailed([FieldError("token", ErrorCode.INVALID, "Reload the form and try again.")])
    age = now - issued_at
    if age < MIN_FILL_SECONDS or age > TOKEN_LIFETIME_SECONDS:
        raise ValidationFailed([FieldError("token", ErrorCode.INVALID, "Reload the form and try again.")])


def visitor_id(form: WebForm, client_address: str, user_agent: str) -> str:
    """A per-form salted hash of who is submitting, so rate limits need no stored addresses."""
    return hashlib.sha256(f"{form.secret}:{client_address}:{user_agent}".encode()).hexdigest()


async def submit(session: AsyncSession, form: WebForm, visitor: str, submission: Submission) -> Lead | None:
    """Take a submission: None for a bot caught by the honeypot (answered like success), else the routed lead."""
    now = time.time()
    _check_token(form, submission.token, now)
    if submission.honeypot:
        return None
    hour_ago = utcnow() - timedelta(hours=1)
    recent = select(func.count()).where(WebFormSubmission.form_id == form.id, WebFormSubmission.created_at > hour_ago)
    if (await session.execute(recent.where(WebFormSubmission.visitor == visitor))).scalar_one() >= PER_VISITOR_PER_HOUR:
        raise RateLimited("Too many submissions from you; try again later.", retry_after=3600)
    if (await session.execute(recent)).scalar_one() >= PER_FORM_PER_HOUR:
        raise RateLimited("This form is busy; try again later.", retry_after=600)
    cmd = submission.lead
    cmd.source, cmd.source_detail, cmd.territory_id = LeadSource.WEB_FORM, form.campaign or form.name, form.territory_id
    lead = await create_lead(session, None, form.tenant_id, cmd)
    session.add(WebFormSubmission(tenant_id=form.tenant_id, id=uuid.uuid4(), form_id=form.id, visitor=visitor))
    await session.execute(
        delete(WebFormSubmission).where(WebFormSubmission.form_id == form.id, WebFormSubmission.created_at < hour_ago)
    )
    await route(session, lead)
    return lead
