"""Single sign-on by a tenant's OpenID Connect provider: its configuration, logins in flight, and who signs in.

The HTTP side (discovery, the code exchange, ID token checks) is the integration's; this module gets plain
values: the tenant's slug, a state, the identity the provider vouched for. Users are matched by e-mail within
the tenant. New users are made at their first sign-in only where the tenant allows it, in the enterprise
organization, with the internal roles their provider groups map to. Existing users keep the roles they have:
the mapping decides a new user's first roles only, so a change at the provider never silently takes roles
away from (or grants them to) someone an admin has already set up.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, delete, false, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.actor import Access, Action, Actor, ActorKind, Resource
from domain.access.principals import ACTIVE_ORG_STATUSES, SIGN_IN
from domain.access.unit_of_work import UnitOfWork, system_unit_of_work
from domain.audit import trail as audit_log
from domain.channel.organizations import Organization, OrganizationKind
from domain.identity.sign_in.models import SsoConnection, SsoLogin
from domain.identity.tenants import Tenant
from domain.identity.users import INTERNAL_ROLES, User
from domain.shared.base import new_id, utcnow
from domain.shared.errors import DomainError, ErrorCode, FieldError, Forbidden, NotFound, ValidationFailed, Validator

# A login must come back from the provider within this long.
LOGIN_LIFETIME = timedelta(minutes=10)
# Spent and expired logins are kept this long, so a replayed state is told apart from a made-up one.
LOGIN_RETENTION = timedelta(days=1)

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_CLAIM_RE = re.compile(r"^[A-Za-z0-9_.:/-]{1,100}$")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
NOT_CONFIGURED = "Single sign-on is not set up for this tenant."
STATE_UNKNOWN = "The sign-in's state is missing or unknown; start the sign-in again."


class SsoFailure(StrEnum):
    """Why a single sign-on was refused; sent to clients as `reason` beside the error code."""

    STATE_UNKNOWN = "STATE_UNKNOWN"
    STATE_USED = "STATE_USED"
    STATE_EXPIRED = "STATE_EXPIRED"
    PROVIDER_DECLINED = "PROVIDER_DECLINED"
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"
    PROVIDER_MISCONFIGURED = "PROVIDER_MISCONFIGURED"
    CODE_REJECTED = "CODE_REJECTED"
    FOREIGN_ISSUER = "FOREIGN_ISSUER"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    BAD_TOKEN = "BAD_TOKEN"
    NONCE_MISMATCH = "NONCE_MISMATCH"
    EMAIL_MISSING = "EMAIL_MISSING"
    EMAIL_NOT_ALLOWED = "EMAIL_NOT_ALLOWED"
    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
    NO_ACCOUNT = "NO_ACCOUNT"
    NO_ROLE = "NO_ROLE"
    ACCOUNT_INACTIVE = "ACCOUNT_INACTIVE"


_BAD_REQUEST = frozenset({SsoFailure.STATE_UNKNOWN, SsoFailure.STATE_USED, SsoFailure.STATE_EXPIRED})


class SsoRefused(DomainError):
    """A single sign-on that may not go on; nothing was created and nobody is signed in."""

    def __init__(self, reason: SsoFailure, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.code = ErrorCode.INVALID if reason in _BAD_REQUEST else ErrorCode.UNAUTHENTICATED


# --- configuration, by tenant admins ------------------------------------------------------------------------


@dataclass(frozen=True)
class SsoConfiguration:
    """A tenant's whole SSO configuration as an admin gives it; a None `client_secret` keeps the stored one."""

    issuer: str
    client_id: str
    client_secret: str | None
    allowed_domains: list[str]
    role_mapping: list[tuple[str, list[str]]]
    groups_claim: str = "groups"
    create_users: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class SsoSettings:
    """What an admin may read back of the configuration: everything but the client secret."""

    tenant_slug: str
    issuer: str
    client_id: str
    client_secret_set: bool
    allowed_domains: list[str]
    groups_claim: str
    role_mapping: dict[str, list[str]]
    create_users: bool
    enabled: bool
    updated_at: datetime


def _settings(slug: str, row: SsoConnection) -> SsoSettings:
    return SsoSettings(
        tenant_slug=slug,
        issuer=row.issuer,
        client_id=row.client_id,
        client_secret_set=bool(row.client_secret),
        allowed_domains=list(row.allowed_domains),
        groups_claim=row.groups_claim,
        role_mapping={group: list(roles) for group, roles in row.role_mapping.items()},
        create_users=row.create_users,
        enabled=row.enabled,
        updated_at=row.updated_at,
    )


def _require_admin(access: Access) -> None:
    if not access.can(Resource.POLICY, Action.UPDATE):
        raise Forbidden("Only tenant admins read or change single sign-on.")


async def tenant_slug(uow: UnitOfWork) -> str:
    """The actor's tenant's slug, which names its sign-in URLs (admins)."""
    _require_admin(uow.access)
    slug = await uow.session.scalar(select(Tenant.slug).where(Tenant.id == uow.tenant_id))
    assert slug is not None
    return slug


async def read_settings(uow: UnitOfWork) -> SsoSettings | None:
    """The tenant's SSO configuration without its secret, or None when there is none (admins)."""
    slug = await tenant_slug(uow)
    row = await uow.session.get(SsoConnection, uow.tenant_id)
    return _settings(slug, row) if row is not None else None


def issuer_problem(issuer: str, *, production: bool) -> str | None:
    """Why an issuer URL is not acceptable (None when it is): https, or http to this machine outside production."""
    try:
        parts = urlsplit(issuer)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "issuer must be a URL such as https://login.example.com."
    local_http = parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS and not production
    if not parts.hostname or not (parts.scheme == "https" or local_http):
        return "issuer must be an https URL (http is accepted for localhost only, and not in production)."
    if parts.query or parts.fragment or parts.username or parts.password:
        return "issuer must not have a query, a fragment or user information."
    return None


def _check(cmd: SsoConfiguration, *, production: bool, has_secret: bool) -> tuple[dict[str, object], Validator]:
    v = Validator()
    issuer = v.require_text("issuer", cmd.issuer, max_length=500)
    if issuer and (problem := issuer_problem(issuer, production=production)):
        v.fail("issuer", ErrorCode.INVALID, problem)
    client_id = v.require_text("clientId", cmd.client_id, max_length=300)
    secret = cmd.client_secret.strip() if cmd.client_secret is not None else None
    if secret is None and not has_secret:
        v.fail("clientSecret", ErrorCode.REQUIRED, "clientSecret is required when single sign-on is first set up.")
    elif secret is not None and not secret:
        v.fail(
            "clientSecret", ErrorCode.REQUIRED, "clientSecret must not be blank; leave it out to keep the stored one."
        )
    elif secret is not None and len(secret) > 2000:
        v.fail("clientSecret", ErrorCode.TOO_LONG, "clientSecret must be at most 2000 characters.")
    domains: list[str] = []
    for i, raw in enumerate(cmd.allowed_domains):
        value = raw.strip().lower().removeprefix("@")
        if not _DOMAIN_RE.match(value):
            v.fail(f"allowedDomains[{i}]", ErrorCode.INVALID, f"'{raw}' is not a domain such as example.com.")
        elif value not in domains:
            domains.append(value)
    if not cmd.allowed_domains:
        v.fail("allowedDomains", ErrorCode.REQUIRED, "Give at least one e-mail domain whose users may sign in.")
    claim = cmd.groups_claim.strip()
    if not _CLAIM_RE.match(claim):
        v.fail("groupsClaim", ErrorCode.INVALID, "groupsClaim must be a claim name such as groups (1-100 characters).")
    mapping: dict[str, list[str]] = {}
    for i, (raw_group, roles) in enumerate(cmd.role_mapping):
        group = raw_group.strip()
        if not group or len(group) > 200:
            v.fail(f"roleMapping[{i}].group", ErrorCode.INVALID, "A group must be 1 to 200 characters.")
        elif group in mapping:
            v.fail(f"roleMapping[{i}].group", ErrorCode.DUPLICATE, f"The group '{group}' is mapped twice.")
        unknown = sorted(set(roles) - INTERNAL_ROLES)
        if unknown:
            v.fail(
                f"roleMapping[{i}].roles",
                ErrorCode.INVALID,
                f"Groups map to internal roles only ({', '.join(sorted(INTERNAL_ROLES))}); not {', '.join(unknown)}.",
            )
        elif not roles:
            v.fail(f"roleMapping[{i}].roles", ErrorCode.REQUIRED, "Give at least one role for the group.")
        mapping.setdefault(group, sorted(set(roles)))
    values: dict[str, object] = {
        "issuer": issuer,
        "client_id": client_id,
        "allowed_domains": domains,
        "groups_claim": claim,
        "role_mapping": mapping,
        "create_users": cmd.create_users,
        "enabled": cmd.enabled,
    }
    if secret:
        values["client_secret"] = secret
    return values, v


async def configure(uow: UnitOfWork, cmd: SsoConfiguration, *, production: bool) -> SsoSettings:
    """Set up or replace the tenant's SSO (admins); every bad field is reported at once and nothing changes."""
    slug = await tenant_slug(uow)
    session, access, tenant_id = uow.session, uow.access, uow.tenant_id
    row = await session.get(SsoConnection, tenant_id, with_for_update=True)
    values, v = _check(cmd, production=production, has_secret=row is not None)
    v.raise_if_any()
    secret_changed = "client_secret" in values
    if row is None:
        row = SsoConnection(tenant_id=tenant_id, **values)
        session.add(row)
        await session.flush()
        shown = {k: val for k, val in values.items() if k != "client_secret"}
        audit_log.record(
            session,
            access,
            record_type="sso_connection",
            record_id=tenant_id,
            action="created",
            changes=audit_log.created_changes(shown),
        )
    else:
        before = {k: getattr(row, k) for k in values if k != "client_secret"}
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_at = utcnow()
        await session.flush()
        changes = audit_log.diff(before, {k: val for k, val in values.items() if k != "client_secret"})
        if secret_changed:
            changes["client_secret"] = {"old": "(hidden)", "new": "(changed)"}
        if changes:
            audit_log.record(
                session, access, record_type="sso_connection", record_id=tenant_id, action="updated", changes=changes
            )
    return _settings(slug, row)


async def remove(uow: UnitOfWork) -> bool:
    """Remove the tenant's SSO (admins); False when there was none. Users and their sessions stay."""
    await tenant_slug(uow)
    result = await uow.session.execute(delete(SsoConnection).where(SsoConnection.tenant_id == uow.tenant_id))
    removed = bool(result.rowcount)  # type: ignore[attr-defined]
    if removed:
        audit_log.record(
            uow.session, uow.access, record_type="sso_connection", record_id=uow.tenant_id, action="deleted"
        )
    return removed


# --- signing in ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SsoTenant:
    """A tenant whose SSO is on, and where its sign-ins may return to."""

    tenant_id: uuid.UUID
    slug: str
    frontend_origins: list[str]
    connection: SsoConnection


async def tenant_for_sign_in(session: AsyncSession, slug: str) -> SsoTenant:
    """The tenant of that slug with its enabled SSO; NotFound alike for an unknown tenant and one without SSO."""
    row = (
        await session.execute(
            select(Tenant, SsoConnection)
            .join(SsoConnection, SsoConnection.tenant_id == Tenant.id)
            .where(Tenant.slug == slug.strip().lower(), SsoConnection.enabled.is_(True))
        )
    ).one_or_none()
    if row is None:
        raise NotFound(NOT_CONFIGURED)
    tenant, connection = row
    return SsoTenant(tenant.id, tenant.slug, list(tenant.frontend_origins), connection)


def origin_of(url: str) -> str | None:
    """A URL's origin as scheme://host[:port] (default ports left out), or None for anything but http(s)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default_port = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default_port else "")


def check_return_to(return_to: str | None, *, frontend_origins: list[str], public_url: str) -> str:
    """Where a sign-in may send the browser back: the tenant's front ends or this service only (no open redirect).

    None gives this service's GraphQL endpoint; a path (/x) is taken as one on this service.
    """
    public_url = public_url.rstrip("/")
    if not return_to:
        return f"{public_url}/graphql"
    if len(return_to) > 2000:
        raise ValidationFailed([_return_to_error(ErrorCode.TOO_LONG, "return_to must be at most 2000 characters.")])
    if "\\" in return_to or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in return_to):
        raise ValidationFailed([_return_to_error(ErrorCode.INVALID, "return_to must be a plain URL.")])
    if return_to.startswith("/") and not return_to.startswith("//"):
        return_to = public_url + return_to
    allowed = {origin for origin in map(origin_of, [public_url, *frontend_origins]) if origin}
    if origin_of(return_to) not in allowed:
        raise ValidationFailed(
            [
                _return_to_error(
                    ErrorCode.INVALID,
                    "return_to must be on one of this tenant's registered front ends or on this service.",
                )
            ]
        )
    return return_to


def _return_to_error(code: ErrorCode, message: str) -> FieldError:
    return FieldError("return_to", code, message)


async def begin_login(session: AsyncSession, tenant_id: uuid.UUID, return_to: str) -> SsoLogin:
    """A new login in flight with fresh state, nonce and PKCE verifier; long-dead ones of the tenant are cleared."""
    now = utcnow()
    await session.execute(
        delete(SsoLogin).where(SsoLogin.tenant_id == tenant_id, SsoLogin.expires_at < now - LOGIN_RETENTION)
    )
    login = SsoLogin(
        state=secrets.token_urlsafe(32),
        tenant_id=tenant_id,
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        return_to=return_to,
        created_at=now,
        expires_at=now + LOGIN_LIFETIME,
    )
    session.add(login)
    await session.flush()
    return login


async def consume_login(session: AsyncSession, tenant_id: uuid.UUID, state: str | None) -> SsoLogin:
    """Spend the login of a state the provider sent back: good once, within its lifetime, for its own tenant.

    It is spent before the provider is asked anything, so a state is never good twice, even when this sign-in
    then fails or two callbacks race.
    """
    if not state or len(state) > 100:
        raise SsoRefused(SsoFailure.STATE_UNKNOWN, STATE_UNKNOWN)
    now = utcnow()
    spent = await session.scalar(
        update(SsoLogin)
        .where(
            SsoLogin.state == state,
            SsoLogin.tenant_id == tenant_id,
            SsoLogin.used_at.is_(None),
            SsoLogin.expires_at > now,
        )
        .values(used_at=now)
        .returning(SsoLogin)
    )
    if spent is not None:
        return spent
    known = await session.scalar(select(SsoLogin).where(SsoLogin.state == state, SsoLogin.tenant_id == tenant_id))
    if known is None:
        raise SsoRefused(SsoFailure.STATE_UNKNOWN, STATE_UNKNOWN)
    if known.used_at is not None:
        raise SsoRefused(SsoFailure.STATE_USED, "This sign-in was already completed or tried; start it again.")
    raise SsoRefused(SsoFailure.STATE_EXPIRED, "This sign-in took longer than 10 minutes; start it again.")


@dataclass(frozen=True)
class SsoIdentity:
    """Who the provider says signed in: its subject, e-mail (and whether it checked it), name and groups."""

    subject: str
    email: str | None
    email_verified: bool | None
    name: str | None
    groups: list[str]


@dataclass(frozen=True)
class _SigningIn:
    """The access of a person signing in: it names them in the audit trail and grants nothing."""

    actor: Actor

    def can(self, resource: Resource, action: Action) -> bool:
        return False

    def rows(self, resource: Resource, action: Action = Action.READ) -> ColumnElement[bool]:
        return false()

    def rows_beyond_team(self, resource: Resource, action: Action) -> ColumnElement[bool]:
        return false()

    def rows_reached(self, resource: Resource, parent: Resource, link: str) -> ColumnElement[bool]:
        return false()


def mapped_roles(role_mapping: dict[str, list[str]], groups: list[str]) -> list[str]:
    """The internal roles the provider's groups map to."""
    return sorted({role for group in groups for role in role_mapping.get(group, []) if role in INTERNAL_ROLES})


async def sign_in_user(session: AsyncSession, connection: SsoConnection, identity: SsoIdentity) -> User:
    """The tenant's user the identity signs in as, made now if the tenant allows it; SsoRefused otherwise."""
    email = (identity.email or "").strip().lower()
    if "@" not in email or len(email) > 320:
        raise SsoRefused(SsoFailure.EMAIL_MISSING, "The identity provider did not say which e-mail address signed in.")
    if email.rsplit("@", 1)[1] not in connection.allowed_domains:
        raise SsoRefused(
            SsoFailure.EMAIL_NOT_ALLOWED, f"{email} is not in an e-mail domain allowed to sign in to this tenant."
        )
    if identity.email_verified is False:
        raise SsoRefused(SsoFailure.EMAIL_NOT_VERIFIED, f"The identity provider has not verified {email}.")
    user = await _user_by_email(session, connection.tenant_id, email)
    if user is not None:
        return user
    if not connection.create_users:
        raise SsoRefused(SsoFailure.NO_ACCOUNT, f"{email} has no account in this tenant; ask an administrator.")
    roles = mapped_roles(connection.role_mapping, identity.groups)
    if not roles:
        raise SsoRefused(
            SsoFailure.NO_ROLE, f"None of {email}'s groups at the identity provider maps to a role in this tenant."
        )
    return await _create_user(session, connection, identity, email, roles)


async def _user_by_email(session: AsyncSession, tenant_id: uuid.UUID, email: str) -> User | None:
    """The tenant's user with this e-mail, read before anyone is signed in (the `sign-in` system access)."""
    uow = system_unit_of_work(session, tenant_id, SIGN_IN)
    statement = (
        select(User, Organization.status)
        .join(Organization, (Organization.tenant_id == User.tenant_id) & (Organization.id == User.organization_id))
        .where(uow.rows(User), func.lower(User.email) == email)
    )
    row = (await session.execute(uow.mark(statement))).one_or_none()
    if row is None:
        return None
    user, org_status = row
    if not user.is_active or org_status not in ACTIVE_ORG_STATUSES:
        raise SsoRefused(
            SsoFailure.ACCOUNT_INACTIVE, "This account is deactivated, or its organization no longer has access."
        )
    return user


async def _create_user(
    session: AsyncSession, connection: SsoConnection, identity: SsoIdentity, email: str, roles: list[str]
) -> User:
    tenant_id = connection.tenant_id
    uow = system_unit_of_work(session, tenant_id, SIGN_IN)
    enterprise_id = await session.scalar(
        uow.visible_columns(Organization, Organization.id)
        .where(Organization.kind == OrganizationKind.ENTERPRISE, Organization.parent_id.is_(None))
        .order_by(Organization.created_at)
        .limit(1)
    )
    assert enterprise_id is not None, "every tenant has its enterprise organization"
    name = (identity.name or "").strip()[:200] or email.split("@", 1)[0]
    user = User(
        tenant_id=tenant_id,
        id=new_id(),
        email=email,
        name=name,
        organization_id=enterprise_id,
        roles=roles,
        is_active=True,
    )
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError:
        # The same person's other sign-in made the account a moment ago: use that one.
        existing = await _user_by_email(session, tenant_id, email)
        if existing is None:
            raise
        return existing
    actor = Actor(tenant_id=tenant_id, kind=ActorKind.USER, roles=frozenset(roles), user_id=user.id, email=email)
    audit_log.record(
        session,
        _SigningIn(actor),
        record_type="user",
        record_id=user.id,
        action="created_by_sso",
        changes=audit_log.created_changes(
            {"email": email, "organization_id": enterprise_id, "roles": ", ".join(roles), "issuer": connection.issuer}
        ),
    )
    return user
