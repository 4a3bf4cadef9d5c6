"""E-mailed single-use links: invitations and password resets, their checks, and the password they set.

Only a link's SHA-256 is stored; the token itself is in the e-mail alone. A link is good once, until
it expires or a newer link of the same purpose replaces it, and setting a password ends every other
open link of the user. Nobody is signed in while a link is used, so users are read through the named
system access `sign-in` (and, for the organization an e-mail names, `sign-in mail`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.principals import SIGN_IN, load_user_actor
from domain.access.unit_of_work import system_unit_of_work
from domain.channel.organizations import Organization
from domain.identity.codes import IdentityCode
from domain.identity.sign_in.mfa import credential_for_update
from domain.identity.sign_in.models import LinkPurpose, UserCredential, UserLink
from domain.identity.sign_in.passwords import check_new_password, hash_password
from domain.identity.sign_in.sessions import new_secret_token, revoke_user_sessions, token_hash
from domain.identity.tenants import Tenant
from domain.identity.users import User
from domain.mail import templates
from domain.mail.outbox import queue_rendered
from domain.mail.templates import MailKind
from domain.shared.base import new_id, utcnow
from domain.shared.errors import DomainError, ErrorCode, required

INVITATION_LIFETIME = timedelta(days=7)
PASSWORD_RESET_LIFETIME = timedelta(minutes=30)
# More reset requests than this for one user within the hour send no further mail (and say nothing).
RESET_MAILS_PER_HOUR = 3


class LinkNotUsable(DomainError):
    """The link's token is unknown, spent, replaced or expired, or its user may no longer sign in."""

    code = ErrorCode.INVALID

    def __init__(self, message: str, code: IdentityCode) -> None:
        super().__init__(message, field="token", code=code)


@dataclass(frozen=True)
class LinkPages:
    """The pages that take a link's token; the token goes in the URL fragment, which browsers never send."""

    invitation: str
    password_reset: str

    def url(self, purpose: LinkPurpose, token: str) -> str:
        page = self.invitation if purpose is LinkPurpose.INVITATION else self.password_reset
        return f"{page}#token={token}"


async def _replace_open_links(
    session: AsyncSession, user: User, *, purpose: LinkPurpose | None = None, keep: uuid.UUID | None = None
) -> None:
    """Mark the user's unused links (of one purpose, when given) replaced, so they no longer work."""
    statement = update(UserLink).where(
        UserLink.tenant_id == user.tenant_id,
        UserLink.user_id == user.id,
        UserLink.used_at.is_(None),
        UserLink.replaced_at.is_(None),
    )
    if purpose is not None:
        statement = statement.where(UserLink.purpose == purpose.value)
    if keep is not None:
        statement = statement.where(UserLink.id != keep)
    await session.execute(statement.values(replaced_at=utcnow()))


async def _issue_link(
    session: AsyncSession, user: User, purpose: LinkPurpose, lifetime: timedelta
) -> tuple[str, UserLink]:
    """A new link of this purpose for the user, replacing any older one still open; returns its token and row."""
    await _replace_open_links(session, user, purpose=purpose)
    token = new_secret_token()
    now = utcnow()
    row = UserLink(
        tenant_id=user.tenant_id,
        id=new_id(),
        user_id=user.id,
        purpose=purpose.value,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    await session.flush()
    return token, row


async def _organization_label(session: AsyncSession, user: User) -> str:
    """The user's organization as the e-mails name it: with the tenant's name when that differs."""
    uow = system_unit_of_work(session, user.tenant_id, "sign-in mail")
    organization = (await uow.load(Organization, [user.organization_id])).get(user.organization_id)
    tenant = await session.get(Tenant, user.tenant_id)
    org_name = organization.name if organization else ""
    tenant_name = tenant.name if tenant else ""
    if not org_name or org_name == tenant_name:
        return tenant_name or org_name
    return f"{org_name} ({tenant_name})" if tenant_name else org_name


async def has_password(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Whether the user has set a password (an invited user has not, until they accept)."""
    found = await session.execute(
        select(UserCredential.password_hash).where(
            UserCredential.tenant_id == tenant_id, UserCredential.user_id == user_id
        )
    )
    return found.scalar_one_or_none() is not None


async def send_invitation(session: AsyncSession, user: User, *, inviter: str | None, pages: LinkPages) -> str:
    """Issue the user's invitation link (replacing an older one) and queue its e-mail; returns the link."""
    token, row = await _issue_link(session, user, LinkPurpose.INVITATION, INVITATION_LIFETIME)
    link = pages.url(LinkPurpose.INVITATION, token)
    mail = templates.invitation(
        user.locale,
        name=user.name,
        inviter=inviter,
        organization=await _organization_label(session, user),
        link=link,
        expires_at=row.expires_at,
    )
    queue_rendered(session, tenant_id=user.tenant_id, kind=MailKind.INVITATION, to_address=user.email, mail=mail)
    return link


async def request_password_reset(session: AsyncSession, *, tenant_slug: str, email: str, pages: LinkPages) -> bool:
    """Queue a reset link for the tenant's user with this e-mail, if they may sign in and are under the throttle.

    Returns whether a mail was queued; callers answer the same either way, so nobody learns who has an account.
    """
    tenant_id = (
        await session.execute(select(Tenant.id).where(Tenant.slug == tenant_slug.strip().lower()))
    ).scalar_one_or_none()
    if tenant_id is None:
        return False
    # Locked so that concurrent requests for one user count each other against the throttle.
    uow = system_unit_of_work(session, tenant_id, SIGN_IN)
    user = (
        await session.execute(uow.visible(User).where(User.email == email.strip().lower()).with_for_update())
    ).scalar_one_or_none()
    if user is None or await load_user_actor(session, tenant_id, user.id) is None:
        return False
    recent = (
        await session.execute(
            select(func.count())
            .select_from(UserLink)
            .where(
                UserLink.tenant_id == tenant_id,
                UserLink.user_id == user.id,
                UserLink.purpose == LinkPurpose.PASSWORD_RESET.value,
                UserLink.created_at > utcnow() - timedelta(hours=1),
            )
        )
    ).scalar_one()
    if recent >= RESET_MAILS_PER_HOUR:
        return False
    token, row = await _issue_link(session, user, LinkPurpose.PASSWORD_RESET, PASSWORD_RESET_LIFETIME)
    mail = templates.password_reset(
        user.locale,
        name=user.name,
        email=user.email,
        organization=await _organization_label(session, user),
        link=pages.url(LinkPurpose.PASSWORD_RESET, token),
        expires_at=row.expires_at,
    )
    queue_rendered(session, tenant_id=tenant_id, kind=MailKind.PASSWORD_RESET, to_address=user.email, mail=mail)
    return True


async def _usable_link_or_raise(
    session: AsyncSession, token: str | None, purpose: LinkPurpose
) -> tuple[UserLink, User]:
    """The open link the token names, locked, and its user; LinkNotUsable (field "token") otherwise."""
    if not token:
        raise required("token")
    link = (
        await session.execute(
            select(UserLink)
            .where(UserLink.token_hash == token_hash(token), UserLink.purpose == purpose.value)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if link is None:
        raise LinkNotUsable(
            "This link is not valid: check that you opened all of it, or ask for a new one.", IdentityCode.LINK_UNKNOWN
        )
    if link.used_at is not None:
        raise LinkNotUsable(
            "This link has already been used; it works once. Sign in, or ask for a new one.", IdentityCode.LINK_USED
        )
    if link.replaced_at is not None:
        raise LinkNotUsable(
            "A newer link has been sent since this one; use the link in the newest e-mail.", IdentityCode.LINK_REPLACED
        )
    if link.expires_at <= utcnow():
        raise LinkNotUsable("This link has expired; ask for a new one.", IdentityCode.LINK_EXPIRED)
    uow = system_unit_of_work(session, link.tenant_id, SIGN_IN)
    user = (
        await session.execute(uow.visible(User).where(User.id == link.user_id).with_for_update())
    ).scalar_one_or_none()
    if user is None or await load_user_actor(session, link.tenant_id, link.user_id) is None:
        raise LinkNotUsable(
            "This account is deactivated, or its organization no longer has access.", IdentityCode.ACCOUNT_INACTIVE
        )
    return link, user


async def _set_password(session: AsyncSession, link: UserLink, user: User, password: str | None) -> None:
    """Check and store the new password, spend the link and end the user's other open links."""
    check_new_password(password or "", personal=[user.email, user.name])
    hashed = await hash_password(password or "")
    now = utcnow()
    credential = await credential_for_update(session, user.tenant_id, user.id)
    credential.password_hash = hashed
    credential.password_changed_at = now
    link.used_at = now
    await session.flush()
    await _replace_open_links(session, user, keep=link.id)


async def accept_invitation(session: AsyncSession, token: str | None, password: str | None) -> User:
    """Set an invited user's first password through their invitation link; the link is spent."""
    link, user = await _usable_link_or_raise(session, token, LinkPurpose.INVITATION)
    await _set_password(session, link, user, password)
    return user


async def reset_password(session: AsyncSession, token: str | None, password: str | None) -> User:
    """Set a new password through a reset link: the link is spent, every session ends, a notice is queued."""
    link, user = await _usable_link_or_raise(session, token, LinkPurpose.PASSWORD_RESET)
    await _set_password(session, link, user, password)
    await revoke_user_sessions(session, user.tenant_id, [user.id], "password reset")
    await notify_password_changed(session, user)
    return user


async def notify_password_changed(session: AsyncSession, user: User) -> None:
    """Queue the notice that the user's password changed (so an owner who did not change it can act)."""
    mail = templates.password_changed(
        user.locale,
        name=user.name,
        email=user.email,
        organization=await _organization_label(session, user),
        changed_at=utcnow(),
    )
    queue_rendered(session, tenant_id=user.tenant_id, kind=MailKind.PASSWORD_CHANGED, to_address=user.email, mail=mail)


async def cancel_open_links(session: AsyncSession, user: User) -> None:
    """End the user's unused invitation and reset links (their password was just set another way)."""
    await _replace_open_links(session, user)
