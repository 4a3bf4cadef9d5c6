"""Invitations and password resets by e-mail, end to end: GraphQL, the outbox, a real SMTP server, the links."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from api.auth.tokens import issue_user_token
from api.graphql.relay import parse_global_id
from domain.identity.sign_in.models import AuthSession, MailMessage, UserCredential, UserLink
from domain.identity.sign_in.sessions import start_session
from domain.identity.users import User
from domain.shared.base import utcnow
from tests.integration.graphql_client import gid
from tests.integration.smtp_server import deliver, outbox, smtp_server
from tests.reads import read_for_test

INVITE = """
mutation($input: InviteUserInput!) {
  inviteUser(input: $input) { user { id email } errors { field code message } }
}
"""
RESEND = """
mutation($input: ResendInvitationInput!) {
  resendInvitation(input: $input) { user { email } errors { field code message } }
}
"""
ME = "{ me { email } }"
GOOD_PASSWORD = "violet harbour lantern 42 quietly"
OTHER_PASSWORD = "copper meadow tunnel 17 brightly"


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    with smtp_server() as (inbox, port):
        yield inbox, port


async def _invite(as_, world, *, email: str, org: str = "E", roles=("account_manager",), locale=None, by="admin"):  # type: ignore[no-untyped-def]
    caller = await as_(by)
    payload = {"email": email, "name": "Wei Zhang", "organizationId": gid("Organization", world.orgs[org].id),
               "roles": list(roles)}  # fmt: skip
    if locale is not None:
        payload["locale"] = locale
    data = await caller.data(INVITE, input=payload)
    return data["inviteUser"]


async def _invited_token(as_, world, sessions, smtp, email: str, **kwargs) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Invite a user, deliver the mail to the SMTP server, and return (user global id, token from the e-mail)."""
    inbox, port = smtp
    result = await _invite(as_, world, email=email, **kwargs)
    assert result["errors"] == [], result
    await deliver(sessions, world.tenant_id, port)
    (received,) = inbox.to(email)
    return result["user"]["id"], received.token


async def _graphql_me(client, access_token: str):  # type: ignore[no-untyped-def]
    return await client.post("/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {access_token}"})


async def _credential(sessions, world, email: str) -> UserCredential | None:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        user_id = (
            await session.execute(
                read_for_test(select(User.id).where(User.tenant_id == world.tenant_id, User.email == email))
            )
        ).scalar_one()
        return await session.get(UserCredential, (world.tenant_id, user_id))


def _error(response) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("field")


async def test_an_invited_user_gets_the_mail_and_signs_in_through_its_link(as_, world, sessions, client, smtp) -> None:  # type: ignore[no-untyped-def]
    # Given an admin invites a new account manager
    inbox, port = smtp
    email = f"wei.{uuid.uuid4().hex[:6]}@{world.slug}.example"
    result = await _invite(as_, world, email=email)
    assert result["errors"] == []
    # When the worker delivers the outbox to the SMTP server
    report = await deliver(sessions, world.tenant_id, port)
    assert report.sent == 1
    (received,) = inbox.to(email)
    # Then the mail names who invited, the organization, the link and its 7 days
    assert received.message["Subject"] == f"You are invited to Tenant {world.slug}"
    assert received.message["From"] == "channel-crm tests <no-reply@crm.test>"
    assert "Admin (admin@" in received.body and "7 days" in received.body
    assert received.link.startswith("http://127.0.0.1:8000/auth/invitation#token=")
    (row,) = [m for m in await outbox(sessions, world.tenant_id) if m.to_address == email]
    assert (row.status, row.attempts, row.kind) == ("sent", 1, "invitation") and row.sent_at is not None
    # And the page the link opens is served, self-contained
    page = await client.get("/auth/invitation")
    assert (
        page.status_code == 200
        and "<form" in page.text
        and "default-src 'none'" in page.headers["content-security-policy"]
    )
    # When the invitee chooses a password through the link
    response = await client.post(
        "/auth/invitation/accept", json={"token": received.token, "password": GOOD_PASSWORD, "cookie": False}
    )
    # Then they are signed in: the access token works on the API, and the password works at sign-in
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_token"]
    me = await _graphql_me(client, body["access_token"])
    assert me.json() == {"data": {"me": {"email": email}}}
    login = await client.post(
        "/auth/login", json={"tenant": world.slug, "email": email, "password": GOOD_PASSWORD, "cookie": False}
    )
    assert login.status_code == 200, login.text


async def test_a_used_link_is_refused_and_changes_nothing(as_, world, sessions, client, smtp) -> None:  # type: ignore[no-untyped-def]
    email = f"used.{uuid.uuid4().hex[:6]}@{world.slug}.example"
    _, token = await _invited_token(as_, world, sessions, smtp, email)
    first = await client.post("/auth/invitation/accept", json={"token": token, "password": GOOD_PASSWORD})
    assert first.status_code == 200, first.text
    before = await _credential(sessions, world, email)
    # When the same link is used again with another password
    again = await client.post("/auth/invitation/accept", json={"token": token, "password": OTHER_PASSWORD})
    # Then it is refused naming the token, and the password stays the first one
    assert _error(again) == (400, "LINK_USED", "token")
    assert "already been used" in again.json()["error"]["message"]
    after = await _credential(sessions, world, email)
    assert after is not None and before is not None and after.password_hash == before.password_hash


async def test_an_expired_link_is_refused_and_sets_no_password(as_, world, sessions, client, smtp) -> None:  # type: ignore[no-untyped-def]
    email = f"late.{uuid.uuid4().hex[:6]}@{world.slug}.example"
    _, token = await _invited_token(as_, world, sessions, smtp, email)
    async with sessions() as session, session.begin():
        await session.execute(
            update(UserLink)
            .where(UserLink.tenant_id == world.tenant_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    response = await client.post("/auth/invitation/accept", json={"token": token, "password": GOOD_PASSWORD})
    assert _error(response) == (400, "LINK_EXPIRED", "token")
    assert "expired" in response.json()["error"]["message"]
    credential = await _credential(sessions, world, email)
    assert credential is None or credential.password_hash is None


async def test_a_forged_token_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.post(
        "/auth/invitation/accept", json={"token": secrets.token_urlsafe(32), "password": GOOD_PASSWORD}
    )
    assert _error(response) == (400, "LINK_UNKNOWN", "token")
    missing = await client.post("/auth/invitation/accept", json={"password": GOOD_PASSWORD})
    assert _error(missing) == (400, "REQUIRED", "token")


async def test_a_weak_password_is_refused_naming_the_field_and_the_link_still_works(
    as_, world, sessions, client, smtp
) -> None:  # type: ignore[no-untyped-def]
    email = f"weak.{uuid.uuid4().hex[:6]}@{world.slug}.example"
    _, token = await _invited_token(as_, world, sessions, smtp, email)
    for weak in ("password1234", "short", email):
        response = await client.post("/auth/invitation/accept", json={"token": token, "password": weak})
        assert _error(response) == (400, "PASSWORD_TOO_WEAK", "password"), response.text
    credential = await _credential(sessions, world, email)
    assert credential is None or credential.password_hash is None
    # The link was not spent by the refused attempts
    ok = await client.post("/auth/invitation/accept", json={"token": token, "password": GOOD_PASSWORD})
    assert ok.status_code == 200, ok.text


async def test_resending_replaces_the_link_and_only_until_a_password_is_set(as_, world, sessions, client, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, port = smtp
    email = f"again.{uuid.uuid4().hex[:6]}@{world.slug}.example"
    user_id, old_token = await _invited_token(as_, world, sessions, smtp, email)
    admin = await as_("admin")
    # When the admin sends a new invitation
    data = await admin.data(RESEND, input={"userId": user_id})
    assert data["resendInvitation"]["errors"] == []
    await deliver(sessions, world.tenant_id, port)
    new_token = inbox.to(email)[-1].token
    assert new_token != old_token
    # Then the old link no longer works, the new one does
    old = await client.post("/auth/invitation/accept", json={"token": old_token, "password": GOOD_PASSWORD})
    assert _error(old) == (400, "LINK_REPLACED", "token") and "newer link" in old.json()["error"]["message"]
    new = await client.post("/auth/invitation/accept", json={"token": new_token, "password": GOOD_PASSWORD})
    assert new.status_code == 200, new.text
    # And once the password is set there is nothing to resend
    data = await admin.data(RESEND, input={"userId": user_id})
    errors = data["resendInvitation"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("userId", "INVITATION_ALREADY_ACCEPTED")]


async def test_only_those_who_manage_the_user_may_resend(as_, world, sessions, smtp) -> None:  # type: ignore[no-untyped-def]
    email = f"d1.{uuid.uuid4().hex[:6]}@{world.slug}.example"
    result = await _invite(as_, world, email=email, org="R1a", roles=("partner_sales",), by="d1_admin")
    assert result["errors"] == []
    user_id = result["user"]["id"]
    # A sibling distributor's admin does not see the user
    d2 = await as_("d2_admin")
    data = await d2.data(RESEND, input={"userId": user_id})
    assert [(e["field"], e["code"]) for e in data["resendInvitation"]["errors"]] == [("userId", "NOT_FOUND")]
    # The distributor above the dealer may
    d1 = await as_("d1_admin")
    data = await d1.data(RESEND, input={"userId": user_id})
    assert data["resendInvitation"]["errors"] == []


async def test_a_zh_cn_user_gets_the_invitation_in_chinese(as_, world, sessions, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, port = smtp
    email = f"zh.{uuid.uuid4().hex[:6]}@{world.slug}.example"
    result = await _invite(as_, world, email=email, locale="zh-CN")
    assert result["errors"] == []
    await deliver(sessions, world.tenant_id, port)
    (received,) = inbox.to(email)
    assert received.message["Subject"] == f"邀请您加入 Tenant {world.slug}"
    assert received.message["Content-Language"] == "zh-CN"
    assert "邀请您加入" in received.body and "7 天后失效" in received.body
    assert "#token=" in received.link


async def test_an_unknown_locale_is_refused(as_, world) -> None:  # type: ignore[no-untyped-def]
    result = await _invite(as_, world, email=f"fr@{world.slug}.example", locale="fr")
    assert [(e["field"], e["code"]) for e in result["errors"]] == [("locale", "INVALID")]


async def test_a_deactivated_users_invitation_no_longer_works(as_, world, sessions, client, smtp) -> None:  # type: ignore[no-untyped-def]
    email = f"gone.{uuid.uuid4().hex[:6]}@{world.slug}.example"
    user_id, token = await _invited_token(as_, world, sessions, smtp, email)
    admin = await as_("admin")
    deactivate = "mutation($input: SetUserActiveInput!) { setUserActive(input: $input) { errors { field } } }"
    await admin.data(deactivate, input={"id": user_id, "active": False, "reason": "left before starting"})
    response = await client.post("/auth/invitation/accept", json={"token": token, "password": GOOD_PASSWORD})
    assert _error(response) == (400, "ACCOUNT_INACTIVE", "token")


async def _signed_up(as_, world, sessions, client, smtp) -> tuple[str, uuid.UUID]:  # type: ignore[no-untyped-def]
    """A user who accepted their invitation: (email, user id)."""
    email = f"reset.{uuid.uuid4().hex[:6]}@{world.slug}.example"
    user_gid, token = await _invited_token(as_, world, sessions, smtp, email)
    accepted = await client.post("/auth/invitation/accept", json={"token": token, "password": GOOD_PASSWORD})
    assert accepted.status_code == 200, accepted.text
    parsed = parse_global_id(user_gid)
    assert parsed is not None
    return email, parsed[1]


async def test_a_reset_request_answers_the_same_for_unknown_accounts_and_sends_nothing(
    as_, world, sessions, client, smtp
) -> None:  # type: ignore[no-untyped-def]
    inbox, port = smtp
    email, _ = await _signed_up(as_, world, sessions, client, smtp)
    mails_before = len(await outbox(sessions, world.tenant_id))
    known = await client.post("/auth/password-reset", json={"tenant": world.slug, "email": email})
    unknown = await client.post(
        "/auth/password-reset", json={"tenant": world.slug, "email": f"nobody@{world.slug}.example"}
    )
    no_tenant = await client.post("/auth/password-reset", json={"tenant": "no-such-tenant", "email": email})
    # Then all three answer 202 with the same body
    assert known.status_code == unknown.status_code == no_tenant.status_code == 202
    assert known.json() == unknown.json() == no_tenant.json()
    # And only the known account gets a mail
    assert len(await outbox(sessions, world.tenant_id)) == mails_before + 1
    await deliver(sessions, world.tenant_id, port)
    assert inbox.to(f"nobody@{world.slug}.example") == []
    reset_mail = inbox.to(email)[-1]
    assert "30 minutes" in reset_mail.body and "ignore this e-mail" in reset_mail.body
    assert reset_mail.link.startswith("http://127.0.0.1:8000/auth/reset#token=")
    # Missing fields are bad input, whoever asks
    missing = await client.post("/auth/password-reset", json={"tenant": world.slug})
    assert _error(missing) == (400, "REQUIRED", "email")


async def test_a_reset_link_works_once_and_ends_every_other_session(as_, world, sessions, client, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, port = smtp
    email, user_id = await _signed_up(as_, world, sessions, client, smtp)
    # Given the user is signed in on another device
    async with sessions() as session, session.begin():
        other = await start_session(
            session, tenant_id=world.tenant_id, user_id=user_id, method="password", client_address=None, user_agent=None
        )
    other_token = await issue_user_token(sessions, world.tenant_id, user_id, session_id=other.session_id)
    assert (await _graphql_me(client, other_token)).status_code == 200
    # When they reset the password through the e-mailed link
    await client.post("/auth/password-reset", json={"tenant": world.slug, "email": email})
    await deliver(sessions, world.tenant_id, port)
    token = inbox.to(email)[-1].token
    page = await client.get("/auth/reset", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text and "重置密码" in page.text
    response = await client.post(
        "/auth/password-reset/confirm", json={"token": token, "password": OTHER_PASSWORD, "cookie": False}
    )
    assert response.status_code == 200, response.text
    # Then this device is signed in, the other device is signed out
    assert (await _graphql_me(client, response.json()["access_token"])).json() == {"data": {"me": {"email": email}}}
    assert (await _graphql_me(client, other_token)).status_code == 401
    async with sessions() as session:
        ended = await session.get(AuthSession, (world.tenant_id, other.session_id))
        assert ended is not None and ended.revoked_reason == "password reset"
    # And the new password is the one that signs in
    old = await client.post("/auth/login", json={"tenant": world.slug, "email": email, "password": GOOD_PASSWORD})
    new = await client.post("/auth/login", json={"tenant": world.slug, "email": email, "password": OTHER_PASSWORD})
    assert (old.status_code, new.status_code) == (401, 200)
    # And the link does not work twice
    again = await client.post("/auth/password-reset/confirm", json={"token": token, "password": GOOD_PASSWORD})
    assert _error(again) == (400, "LINK_USED", "token")
    # And the user is told their password changed
    await deliver(sessions, world.tenant_id, port)
    notice = inbox.to(email)[-1]
    assert notice.message["Subject"] == "Your channel-crm password was changed"


async def test_an_invitation_token_is_no_reset_token(as_, world, sessions, client, smtp) -> None:  # type: ignore[no-untyped-def]
    email = f"mix.{uuid.uuid4().hex[:6]}@{world.slug}.example"
    _, token = await _invited_token(as_, world, sessions, smtp, email)
    response = await client.post("/auth/password-reset/confirm", json={"token": token, "password": GOOD_PASSWORD})
    assert _error(response) == (400, "LINK_UNKNOWN", "token")


async def test_reset_mails_are_throttled_per_user_and_only_the_newest_link_works(
    as_, world, sessions, client, smtp
) -> None:  # type: ignore[no-untyped-def]
    inbox, port = smtp
    email, _ = await _signed_up(as_, world, sessions, client, smtp)
    for _ in range(5):
        response = await client.post("/auth/password-reset", json={"tenant": world.slug, "email": email.upper()})
        assert response.status_code == 202
    async with sessions() as session:
        kinds = (
            await session.execute(
                select(MailMessage.kind).where(
                    MailMessage.tenant_id == world.tenant_id, MailMessage.to_address == email
                )
            )
        ).scalars()
        assert sorted(kinds) == ["invitation", "password_reset", "password_reset", "password_reset"]
    await deliver(sessions, world.tenant_id, port)
    tokens = [r.token for r in inbox.to(email) if "reset" in r.link]
    assert len(tokens) == 3
    stale = await client.post("/auth/password-reset/confirm", json={"token": tokens[0], "password": OTHER_PASSWORD})
    assert _error(stale) == (400, "LINK_REPLACED", "token")
    fresh = await client.post("/auth/password-reset/confirm", json={"token": tokens[-1], "password": OTHER_PASSWORD})
    assert fresh.status_code == 200, fresh.text
