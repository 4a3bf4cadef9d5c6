"""The mail outbox against a real SMTP server: sending, TLS and login, retries with backoff, dead mail, the CLI."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from api.cli import main
from domain.identity.sign_in.models import MailMessage
from domain.identity.tenants import Tenant
from domain.mail.outbox import MAX_ATTEMPTS, queue_mail
from domain.shared.base import utcnow
from integrations.mail.smtp import MailRetryPolicy, MailSender, SmtpServer
from tests.integration.smtp_server import (
    accept_crm_login,
    free_port,
    outbox,
    self_signed_tls,
    sender_for,
    smtp_server,
)
from tests.integration.world import build_world

GOOD_PASSWORD = "violet harbour lantern 42 quietly"


@pytest.fixture
def runner(database_url, monkeypatch) -> CliRunner:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("CRM_SMTP_URL", raising=False)
    return CliRunner()


async def _queue(sessions, tenant_id: uuid.UUID, to: str = "ada@example.test", subject: str = "Hello") -> uuid.UUID:  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        message = queue_mail(
            session, tenant_id=tenant_id, kind="test", to_address=to, locale="en", subject=subject,
            body_text="A line of text.\nAnd another, with ünïcode.",
        )  # fmt: skip
    return message.id


async def _message(sessions, message_id: uuid.UUID) -> MailMessage:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        found = await session.get(MailMessage, message_id)
        assert found is not None
        return found


async def _make_due(sessions, message_id: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        await session.execute(
            update(MailMessage)
            .where(MailMessage.id == message_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


async def test_mail_queued_in_a_rolled_back_transaction_is_never_there(sessions) -> None:  # type: ignore[no-untyped-def]
    tenant_id = uuid.uuid4()
    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            queue_mail(session, tenant_id=tenant_id, kind="test", to_address="x@example.test", locale="en",
                       subject="never", body_text="never")  # fmt: skip
            await session.flush()
            raise RuntimeError("the change failed")
    assert await outbox(sessions, tenant_id) == []


async def test_a_message_reaches_the_server_as_utf8_text_and_is_marked_sent(sessions) -> None:  # type: ignore[no-untyped-def]
    tenant_id = uuid.uuid4()
    message_id = await _queue(sessions, tenant_id, subject="Grüße 你好")
    with smtp_server() as (inbox, port):
        report = await sender_for(port).deliver_due(sessions, tenant_id=tenant_id)
    assert (report.sent, report.retrying, report.dead) == (1, 0, 0)
    (received,) = inbox.received
    assert received.rcpt_tos == ["ada@example.test"] and received.mail_from == "no-reply@crm.test"
    assert received.message["Subject"] == "Grüße 你好"
    assert received.message["Message-ID"].endswith("@crm.test>")
    assert "ünïcode" in received.body
    sent = await _message(sessions, message_id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, None) and sent.sent_at is not None


async def test_smtp_down_is_retried_later_with_the_error_and_dead_after_the_bound(sessions) -> None:  # type: ignore[no-untyped-def]
    tenant_id = uuid.uuid4()
    message_id = await _queue(sessions, tenant_id)
    nothing_listens = free_port()
    sender = MailSender(SmtpServer("127.0.0.1", nothing_listens), "crm <no-reply@crm.test>", MailRetryPolicy(60, 600))
    # When the server cannot be reached
    before = utcnow()
    report = await sender.deliver_due(sessions, tenant_id=tenant_id)
    # Then the attempt is recorded with its error, and the next one is scheduled later (backoff with jitter)
    assert (report.sent, report.retrying, report.dead) == (0, 1, 0)
    failed = await _message(sessions, message_id)
    assert (failed.status, failed.attempts) == ("pending", 1)
    assert failed.last_error and "SMTPConnect" in failed.last_error
    assert before < failed.next_attempt_at <= before + timedelta(seconds=61)
    # When every later attempt fails too, the message is dead after the bound, and left alone after that
    for attempt in range(2, MAX_ATTEMPTS + 1):
        await _make_due(sessions, message_id)
        report = await sender.deliver_due(sessions, tenant_id=tenant_id)
        assert (await _message(sessions, message_id)).attempts == attempt
    dead = await _message(sessions, message_id)
    assert (dead.status, dead.attempts, report.dead) == ("dead", MAX_ATTEMPTS, 1)
    await _make_due(sessions, message_id)
    assert (await sender.deliver_due(sessions, tenant_id=tenant_id)).dead == 0
    assert (await _message(sessions, message_id)).attempts == MAX_ATTEMPTS


async def test_a_message_that_failed_goes_out_once_the_server_is_back(sessions) -> None:  # type: ignore[no-untyped-def]
    tenant_id = uuid.uuid4()
    message_id = await _queue(sessions, tenant_id)
    with smtp_server() as (inbox, port):
        pass  # the server is gone again: its port is free
    await sender_for(port).deliver_due(sessions, tenant_id=tenant_id)
    assert (await _message(sessions, message_id)).attempts == 1
    await _make_due(sessions, message_id)
    with smtp_server() as (inbox, port):
        report = await sender_for(port).deliver_due(sessions, tenant_id=tenant_id)
    assert report.sent == 1 and len(inbox.received) == 1
    sent = await _message(sessions, message_id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)


async def test_a_recipient_refused_for_good_is_dead_at_once_and_the_others_still_go(sessions) -> None:  # type: ignore[no-untyped-def]
    tenant_id = uuid.uuid4()
    refused_id = await _queue(sessions, tenant_id, to="gone@example.test")
    good_id = await _queue(sessions, tenant_id, to="here@example.test")
    with smtp_server() as (inbox, port):
        inbox.refuse.add("gone@example.test")
        report = await sender_for(port).deliver_due(sessions, tenant_id=tenant_id)
    assert (report.sent, report.dead) == (1, 1)
    refused = await _message(sessions, refused_id)
    assert (refused.status, refused.attempts) == ("dead", 1) and "550" in (refused.last_error or "")
    assert (await _message(sessions, good_id)).status == "sent"
    assert [r.rcpt_tos for r in inbox.received] == [["here@example.test"]]


async def test_starttls_is_used_when_offered_and_the_url_credentials_log_in(sessions, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tenant_id = uuid.uuid4()
    await _queue(sessions, tenant_id)
    server_tls, client_tls = self_signed_tls(tmp_path)
    options = {"tls_context": server_tls, "require_starttls": True, "auth_required": True,
               "authenticator": accept_crm_login}  # fmt: skip
    with smtp_server(**options) as (inbox, port):
        server = SmtpServer.from_url(f"smtp://crm:s3cret@127.0.0.1:{port}", tls_context=client_tls)
        report = await MailSender(server, "crm <no-reply@crm.test>").deliver_due(sessions, tenant_id=tenant_id)
    assert report.sent == 1
    (received,) = inbox.received
    assert received.tls and received.login == "crm"


async def test_smtps_speaks_tls_from_the_first_byte(sessions, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tenant_id = uuid.uuid4()
    await _queue(sessions, tenant_id)
    server_tls, client_tls = self_signed_tls(tmp_path)
    with smtp_server(ssl_context=server_tls) as (inbox, port):
        server = SmtpServer.from_url(f"smtps://127.0.0.1:{port}", tls_context=client_tls)
        report = await MailSender(server, "crm <no-reply@crm.test>").deliver_due(sessions, tenant_id=tenant_id)
    assert report.sent == 1 and inbox.received[0].tls


def test_smtp_urls_are_read_with_their_defaults() -> None:
    plain = SmtpServer.from_url("smtp://mailer:p%40ss%2Fword@mail.example.com")
    assert (plain.hostname, plain.port, plain.username, plain.password, plain.implicit_tls) == (
        "mail.example.com", 25, "mailer", "p@ss/word", False,
    )  # fmt: skip
    implicit = SmtpServer.from_url("smtps://mail.example.com")
    assert (implicit.port, implicit.implicit_tls, implicit.username) == (465, True, None)
    assert SmtpServer.from_url("smtp://mail.example.com:587").port == 587
    for bad in ("http://mail.example.com", "mail.example.com:25", "smtp://"):
        with pytest.raises(ValueError, match="smtp://"):
            SmtpServer.from_url(bad)


async def test_the_worker_keeps_mail_without_smtp_and_sends_it_with_smtp(runner, sessions, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(sessions)
    message_id = await _queue(sessions, world.tenant_id, to=f"worker@{world.slug}.example")
    # Without CRM_SMTP_URL the worker leaves mail queued
    result = await asyncio.to_thread(runner.invoke, main, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert (await _message(sessions, message_id)).status == "pending"
    # With it, `crm worker --once` sends what is due
    with smtp_server() as (inbox, port):
        monkeypatch.setenv("CRM_SMTP_URL", f"smtp://127.0.0.1:{port}")
        result = await asyncio.to_thread(runner.invoke, main, ["worker", "--once"])
        assert result.exit_code == 0, result.output
    assert (await _message(sessions, message_id)).status == "sent"
    assert inbox.to(f"worker@{world.slug}.example")


async def test_mail_list_and_show_print_the_outbox(runner, sessions) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(sessions)
    message_id = await _queue(sessions, world.tenant_id, to=f"list@{world.slug}.example", subject="Your link")
    result = await asyncio.to_thread(runner.invoke, main, ["mail", "list", "--tenant", world.slug])
    assert result.exit_code == 0, result.output
    header, row = result.output.splitlines()
    assert header.split()[:3] == ["id", "created", "(UTC)"]
    assert str(message_id) in row and f"list@{world.slug}.example" in row and "Your link" in row and "pending" in row
    result = await asyncio.to_thread(runner.invoke, main, ["mail", "list", "--tenant", world.slug, "--status", "sent"])
    assert result.exit_code == 0 and result.output.strip() == "No mail."
    result = await asyncio.to_thread(runner.invoke, main, ["mail", "show", str(message_id)])
    assert result.exit_code == 0, result.output
    assert f"To:       list@{world.slug}.example" in result.output and "Subject:  Your link" in result.output
    assert "Status:   pending, 0 attempt(s)" in result.output
    assert result.output.rstrip().endswith("And another, with ünïcode.")
    for bad, says in ((str(uuid.uuid4()), "No mail with id"), ("not-an-id", "is not a mail id")):
        result = await asyncio.to_thread(runner.invoke, main, ["mail", "show", bad])
        assert result.exit_code == 1 and says in result.output
    result = await asyncio.to_thread(runner.invoke, main, ["mail", "list", "--tenant", "no-such-tenant"])
    assert result.exit_code == 1 and "No tenant with slug no-such-tenant" in result.output


async def test_tenant_create_with_an_admin_prints_a_link_that_signs_them_in(
    runner, sessions, client, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CRM_PUBLIC_URL", "https://crm.example.test/")
    slug = f"new-{uuid.uuid4().hex[:8]}"
    args = ["tenant", "create", slug, "Acme China", "--admin-email", f"Boss@{slug}.example", "--admin-name", "Li Na",
            "--locale", "zh-CN"]  # fmt: skip
    result = await asyncio.to_thread(runner.invoke, main, args)
    assert result.exit_code == 0, result.output
    link = next(line.strip() for line in result.output.splitlines() if "#token=" in line)
    assert link.startswith("https://crm.example.test/auth/invitation#token=")
    assert f"boss@{slug}.example" in result.output
    # The invitation e-mail is queued in the admin's language
    async with sessions() as session:
        tenant_id = (await session.execute(select(Tenant.id).where(Tenant.slug == slug))).scalar_one()
    (mail,) = await outbox(sessions, tenant_id)
    assert mail.locale == "zh-CN" and link in mail.body_text and mail.to_address == f"boss@{slug}.example"
    # The printed link signs the admin in, as an admin of the new tenant
    token = link.partition("#token=")[2]
    response = await client.post(
        "/auth/invitation/accept", json={"token": token, "password": GOOD_PASSWORD, "cookie": False}
    )
    assert response.status_code == 200, response.text
    access = response.json()["access_token"]
    me = await client.post(
        "/graphql", json={"query": "{ me { email roles } }"}, headers={"Authorization": f"Bearer {access}"}
    )
    assert me.json() == {"data": {"me": {"email": f"boss@{slug}.example", "roles": ["admin"]}}}


async def test_tenant_create_refuses_bad_slugs_and_bad_admins_creating_nothing(runner, sessions) -> None:  # type: ignore[no-untyped-def]
    for bad in ("a", "-acme", "acme-", "Acme", "ac_me", "ac me", "x" * 64, "acme\n"):
        result = await asyncio.to_thread(runner.invoke, main, ["tenant", "create", "--", bad, "Acme"])
        assert result.exit_code == 1, (bad, result.output)
        assert "is not valid: use 2 to 63 lower-case letters, digits and hyphens" in result.output
    slug = f"ok-{uuid.uuid4().hex[:8]}"
    result = await asyncio.to_thread(
        runner.invoke, main, ["tenant", "create", slug, "Acme", "--admin-email", "not-an-address"]
    )
    assert result.exit_code == 1 and "email must be an e-mail address" in result.output
    async with sessions() as session:
        assert (await session.execute(select(Tenant.id).where(Tenant.slug == slug))).scalar_one_or_none() is None
    # The shortest slug is two characters, and without --admin-email a tenant is made as before
    result = await asyncio.to_thread(runner.invoke, main, ["tenant", "create", "z9", "Shortest"])
    assert result.exit_code == 0 and "Created tenant z9" in result.output and "#token=" not in result.output
