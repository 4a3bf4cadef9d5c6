"""What people sign in with, and what signing in leaves behind: credentials, sessions, links, throttles, SSO."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ARRAY,
    Boolean,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.shared.base import Base, TenantScoped, utcnow


class MfaRequirement(StrEnum):
    """Who of a tenant must pass a second factor at sign-in."""

    NONE = "none"
    ADMINS = "admins"
    INTERNAL = "internal"
    EVERYONE = "everyone"


class SignInMethod(StrEnum):
    PASSWORD = "password"
    SSO = "sso"
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"


class LinkPurpose(StrEnum):
    """What a single-use link e-mailed to a person lets them do."""

    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"


class UserCredential(Base):
    """A user's password hash and second factor; one row per user, made when either is first set."""

    __tablename__ = "user_credential"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user_id"], ["app_user.tenant_id", "app_user.id"], ondelete="CASCADE"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Base32 TOTP secret; `totp_enabled_at` is set once the user proved their authenticator has it.
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The last time step a code was accepted for: a code is good once, even inside its 30 seconds.
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Argon2 hashes of the unused recovery codes; using one removes it.
    recovery_code_hashes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow, onupdate=utcnow
    )


class AuthSession(TenantScoped, Base):
    """One signed-in device: the family its rotating refresh tokens belong to."""

    __tablename__ = "auth_session"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user_id"], ["app_user.tenant_id", "app_user.id"], ondelete="CASCADE"),
        Index("ix_auth_session_user", "tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    method: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    client_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(400), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


class RefreshToken(Base):
    """One refresh token of a session, kept as a SHA-256 hash; good once, then replaced by the next."""

    __tablename__ = "refresh_token"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "session_id"], ["auth_session.tenant_id", "auth_session.id"], ondelete="CASCADE"
        ),
        Index("ix_refresh_token_session", "tenant_id", "session_id"),
    )

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    session_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SignInThrottle(Base):
    """Failed sign-ins of one account or one client address, and the lock they earned; shared by all workers."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # How many times the key was locked; each lock lasts twice as long as the one before.
    lockouts: Mapped[int] = mapped_column(Integer, default=0)


class UserLink(TenantScoped, Base):
    """A single-use, expiring link e-mailed to a user (an invitation or a password reset); only its hash is kept."""

    __tablename__ = "user_link"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user_id"], ["app_user.tenant_id", "app_user.id"], ondelete="CASCADE"),
        Index("ix_user_link_user", "tenant_id", "user_id", "purpose"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Set when a newer link of the same purpose replaced this one.
    replaced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class MailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class MailMessage(Base):
    """An e-mail to send, written in the transaction that caused it; a worker hands it to SMTP."""

    __tablename__ = "mail_message"
    __table_args__ = (Index("ix_mail_message_status", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SsoConnection(Base):
    """A tenant's OpenID Connect identity provider, and how its users and groups map onto the CRM's."""

    __tablename__ = "sso_connection"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(300))
    client_secret: Mapped[str] = mapped_column(Text)
    allowed_domains: Mapped[list[str]] = mapped_column(ARRAY(String(253)), default=list)
    groups_claim: Mapped[str] = mapped_column(String(100), default="groups")
    # {"idp group": ["crm role", ...]}
    role_mapping: Mapped[dict[str, list[str]]] = mapped_column(JSONB, default=dict)
    # New users may be created at their first sign-in (in the enterprise organization, with mapped roles).
    create_users: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow, onupdate=utcnow
    )


class SsoLogin(Base):
    """One single sign-on in flight: its state, nonce and PKCE verifier, kept until the callback uses them."""

    __tablename__ = "sso_login"

    state: Mapped[str] = mapped_column(String(100), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier: Mapped[str] = mapped_column(String(200))
    return_to: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
