"""Sending the mail outbox through SMTP (aiosmtplib): STARTTLS where the server offers it, smtps:// for TLS at once.

Each message is claimed (`FOR UPDATE SKIP LOCKED`) and sent in its own transaction, so several workers
share the outbox without sending a message twice at the same time. Delivery is at least once: a crash
after the server took a message and before the commit sends it again. A failed attempt is retried
after an exponential backoff with full jitter (tenacity's `wait_random_exponential`, as the ERP relay
does); after `MAX_ATTEMPTS` attempts, or at once when the server refuses the recipient for good, the
message is dead, and stays in the table for `crm mail list`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from types import SimpleNamespace
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import wait_random_exponential

from domain.identity.sign_in.models import MailMessage, MailStatus
from domain.mail.outbox import claim_due, mark_failed, mark_sent
from infrastructure.db import transaction

log = logging.getLogger("crm.mail")


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to reach the mail server, from `smtp://user:pass@host:port` or `smtps://...`."""

    hostname: str
    port: int
    username: str | None = None
    password: str | None = None
    # smtps://: TLS from the first byte; smtp://: STARTTLS when the server offers it.
    implicit_tls: bool = False
    tls_context: ssl.SSLContext | None = None
    timeout_seconds: float = 30

    @classmethod
    def from_url(cls, url: str, *, tls_context: ssl.SSLContext | None = None) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("The SMTP URL must look like smtp://user:password@host:port or smtps://host:port.")
        implicit_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname,
            port=parts.port or (465 if implicit_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit_tls,
            tls_context=tls_context,
        )

    def client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.hostname,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.implicit_tls,
            start_tls=False if self.implicit_tls else None,
            tls_context=self.tls_context,
            timeout=self.timeout_seconds,
        )


@dataclass(frozen=True)
class MailRetryPolicy:
    """Backoff after failed attempt n: random in [0, min(cap, base·2^(n-1))] seconds."""

    base_seconds: float = float(os.environ.get("CRM_MAIL_RETRY_BASE_SECONDS", "60"))
    cap_seconds: float = float(os.environ.get("CRM_MAIL_RETRY_CAP_SECONDS", "3600"))

    def delay(self, attempt: int) -> timedelta:
        wait = wait_random_exponential(multiplier=self.base_seconds, max=self.cap_seconds)
        return timedelta(seconds=wait(SimpleNamespace(attempt_number=attempt)))  # type: ignore[arg-type]


@dataclass
class DeliveryReport:
    """What one round of delivery did."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0


def build_message(message: MailMessage, mail_from: str) -> EmailMessage:
    """The outbox row as an RFC 5322 message: UTF-8 plain text, encoded headers for non-ASCII subjects."""
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    email["Message-ID"] = make_msgid(idstring=message.id.hex, domain=domain)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body_text, charset="utf-8")
    email["Content-Language"] = message.locale  # after set_content, which drops Content-* headers
    return email


def _refused_for_good(exc: Exception) -> bool:
    """Whether the server refused the recipient with a permanent (5xx) answer: trying again cannot help."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(r.code >= 500 for r in exc.recipients)
    return isinstance(exc, aiosmtplib.SMTPRecipientRefused) and exc.code >= 500


def _about_the_message(exc: Exception) -> bool:
    """Whether a failure concerned this message only (so the next one may still go through the server)."""
    return isinstance(
        exc, aiosmtplib.SMTPRecipientsRefused | aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError
    )


@dataclass
class MailSender:
    """Hands due outbox messages to one SMTP server."""

    server: SmtpServer
    mail_from: str
    policy: MailRetryPolicy = field(default_factory=MailRetryPolicy)

    @classmethod
    def from_settings(cls, smtp_url: str, mail_from: str) -> MailSender:
        return cls(SmtpServer.from_url(smtp_url), mail_from)

    async def deliver_due(
        self, sessions: async_sessionmaker[AsyncSession], *, tenant_id: uuid.UUID | None = None, limit: int = 500
    ) -> DeliveryReport:
        """Send the messages that are due (of one tenant, when given), one transaction each, over one connection.

        A round stops early when the server fails in a way that is not about one message (down, refusing us).
        """
        report = DeliveryReport()
        client: aiosmtplib.SMTP | None = None
        try:
            for _ in range(limit):
                async with transaction(sessions) as session:
                    message = await claim_due(session, tenant_id=tenant_id)
                    if message is None:
                        break
                    try:
                        if client is None:
                            client = self.server.client()
                            await client.connect()
                        await client.send_message(build_message(message, self.mail_from))
                    except Exception as exc:  # every failure is recorded on the message and retried within the bound
                        error = f"{type(exc).__name__}: {exc}"
                        retry_in = None if _refused_for_good(exc) else self.policy.delay(message.attempts + 1)
                        status = mark_failed(message, error, retry_in)
                        if status == MailStatus.DEAD:
                            report.dead += 1
                            log.warning(
                                "mail %s to %s is dead after %d attempts: %s",
                                message.id,
                                message.to_address,
                                message.attempts,
                                error,
                            )
                        else:
                            report.retrying += 1
                            log.info("mail %s failed (attempt %d), retrying: %s", message.id, message.attempts, error)
                        await _close(client)
                        client = None
                        if not _about_the_message(exc):
                            break  # the server is down or refuses us: leave the rest for the next round
                    else:
                        mark_sent(message)
                        report.sent += 1
        finally:
            await _close(client)
        return report


async def _close(client: aiosmtplib.SMTP | None) -> None:
    if client is None or not client.is_connected:
        return
    try:
        await client.quit()
    except aiosmtplib.SMTPException:
        client.close()


MAIL_POLL_EVERY = timedelta(seconds=float(os.environ.get("CRM_MAIL_POLL_SECONDS", "5")))


async def run_mail_loop(
    sessions: async_sessionmaker[AsyncSession],
    sender: MailSender,
    stop: asyncio.Event,
    *,
    every: timedelta = MAIL_POLL_EVERY,
) -> None:
    """Deliver due mail every few seconds until `stop` is set."""
    while not stop.is_set():
        try:
            report = await sender.deliver_due(sessions)
            if report.sent or report.retrying or report.dead:
                log.info("mail: sent %d, retrying %d, dead %d", report.sent, report.retrying, report.dead)
        except Exception:
            log.exception("mail delivery failed; trying again next round")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every.total_seconds())
        except TimeoutError:
            pass
