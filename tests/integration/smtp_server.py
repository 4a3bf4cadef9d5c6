"""A real SMTP server in the test process (aiosmtpd), keeping what it receives; and a self-signed cert for STARTTLS."""

from __future__ import annotations

import datetime as dt
import re
import socket
import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from domain.identity.sign_in.models import MailMessage
from infrastructure.db import transaction
from integrations.mail.smtp import MailRetryPolicy, MailSender, SmtpServer

LINK = re.compile(r"(https?://\S+#token=([A-Za-z0-9_-]+))")


@dataclass
class Received:
    """One message the server accepted, with how it arrived."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: str | None

    @property
    def body(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]

    @property
    def link(self) -> str:
        found = LINK.search(self.body)
        assert found, self.body
        return found.group(1)

    @property
    def token(self) -> str:
        found = LINK.search(self.body)
        assert found, self.body
        return found.group(2)


@dataclass
class Inbox:
    """The aiosmtpd handler: keeps every message; refuses the recipients in `refuse` with a permanent 550."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        # session.ssl is set by STARTTLS; a server listening with TLS (smtps) shows it on its transport
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, tls, login))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(**smtp_options: object) -> Iterator[tuple[Inbox, int]]:
    """Run an SMTP server on a free local port for the block; yields its inbox and port."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **smtp_options)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def sender_for(port: int, **server: object) -> MailSender:
    """A sender to the local server that retries quickly (seconds, not minutes)."""
    return MailSender(
        SmtpServer(hostname="127.0.0.1", port=port, **server),  # type: ignore[arg-type]
        "channel-crm tests <no-reply@crm.test>",
        MailRetryPolicy(base_seconds=1, cap_seconds=5),
    )


async def deliver(sessions, tenant_id: uuid.UUID, port: int):  # type: ignore[no-untyped-def]
    """Send the tenant's due mail to the local server now."""
    return await sender_for(port).deliver_due(sessions, tenant_id=tenant_id)


async def outbox(sessions, tenant_id: uuid.UUID) -> list[MailMessage]:  # type: ignore[no-untyped-def]
    """The tenant's mail, oldest first."""
    from sqlalchemy import select

    async with transaction(sessions) as session:
        rows = await session.execute(
            select(MailMessage).where(MailMessage.tenant_id == tenant_id).order_by(MailMessage.created_at)
        )
        return list(rows.scalars())


def accept_crm_login(server, session, envelope, mechanism, auth_data) -> AuthResult:  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh self-signed certificate for 127.0.0.1, and a client context trusting it."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client
