"""The `crm` command line: run the service, migrate, load the demo, issue tokens, export the schema."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import click
import uvicorn
from sqlalchemy.engine import make_url

from api.auth.links import link_pages
from api.auth.tokens import issue_user_token
from api.embedded_postgres import resolve_database_url
from api.graphql.schema import schema as graphql_schema
from api.settings import Settings
from domain.channel.deal_registrations import expire_due
from domain.channel.lead_routing import expire_offers
from domain.commerce.contracts import run_renewals
from domain.erp.outbox import ErpAdapterKind, ErpConnection
from domain.identity.sign_in.models import MailMessage
from domain.mail.outbox import find_mail, list_mail
from domain.shared.errors import DomainError
from domain.shared.idempotency import purge_expired
from infrastructure import migrations
from infrastructure.db import connect_raw, create_engine, session_factory, transaction
from integrations.erp import worker as erp_worker
from integrations.erp.port import ErpError
from integrations.erp.reconcile import ReconcileReport, reconcile
from integrations.erp.sync import sync_products
from integrations.mail.smtp import MailSender
from services.demo import DEMO_PASSWORD, DemoSummary, load_demo
from services.identity import register_machine_client, users_with_email
from services.tenants import FirstAdmin, provision_tenant, tenant_by_slug
from services.unit_of_work import Sessions

T = TypeVar("T")
SCHEMA_FILE = Path("schema.graphql")
DATABASE_CONNECT_SECONDS = 10


def _database_url() -> str:
    try:
        settings = Settings.from_env()
    except ValueError as exc:  # a malformed CRM_* variable: its message names it
        raise click.ClickException(str(exc)) from exc
    try:
        url = resolve_database_url(settings)
    except Exception as exc:  # noqa: BLE001 - report any start-up failure as one clear line
        raise click.ClickException(f"Cannot reach or start the database: {exc}") from exc
    _connect_or_fail(url)
    return url


def _connect_or_fail(url: str) -> None:
    """Connect once, so a wrong or dead DATABASE_URL is one clear line, not a traceback from deep inside a command."""

    async def probe() -> None:
        connection = await asyncio.wait_for(connect_raw(url), DATABASE_CONNECT_SECONDS)
        await connection.close()

    try:
        asyncio.run(probe())
    except Exception as exc:  # noqa: BLE001 - whatever stops the connection, the operator reads one line
        reason = " ".join(str(exc).split()) or f"no answer within {DATABASE_CONNECT_SECONDS} seconds"
        raise click.ClickException(f"Cannot connect to the database at {_shown_url(url)}: {reason}") from exc


def _shown_url(url: str) -> str:
    """The URL with its password masked, to print."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown by name only
        return "DATABASE_URL"


def _listen_or_fail(host: str, port: int) -> None:
    """Bind the address once as uvicorn will, so a port in use fails before migrating or printing anything."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        reason = "the port is already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise click.ClickException(f"Cannot listen on {host}:{port}: {reason}.") from exc


def _with_sessions(url: str, work: Callable[[Sessions], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(url, pool_size=2)
        try:
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


@click.group()
def main() -> None:
    """channel-crm: a GraphQL channel CRM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("pgserver", "casbin", "casbin.policy", "casbin.enforcer", "casbin.role_manager"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@main.command()
def migrate() -> None:
    """Bring the database schema to the newest migration."""
    url = _database_url()
    migrations.upgrade(url)
    click.echo(f"Database at revision {migrations.head_revision(url)}.")


def _load_demo(url: str) -> DemoSummary:
    production = Settings.from_env().production
    return _with_sessions(url, lambda sessions: load_demo(sessions, production=production))


@main.command()
def demo() -> None:
    """Load the demo tenant (does nothing if it is there already)."""
    url = _database_url()
    migrations.upgrade(url)
    summary = _load_demo(url)
    click.echo(("Loaded" if summary.created else "Already loaded:") + f" demo tenant '{summary.tenant_slug}'.")
    for name, count in summary.counts.items():
        click.echo(f"  {name}: {count}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--no-demo", is_flag=True, help="Do not load the demo tenant.")
def serve(host: str, port: int, workers: int, no_demo: bool) -> None:
    """Run the API (migrating first, and loading the demo tenant unless --no-demo)."""
    _listen_or_fail(host, port)
    url = _database_url()
    migrations.upgrade(url)
    # Workers are separate processes: they find the database through the environment.
    os.environ["DATABASE_URL"] = url
    if not no_demo:
        summary = _load_demo(url)
        click.echo(f"Demo tenant '{summary.tenant_slug}' is ready. Some users to try:")
        for role, email in summary.sample_users:
            click.echo(f"  {role:<22} {email}")
        if not Settings.from_env().production:
            click.echo(f"Demo password (every demo user, demo only): {DEMO_PASSWORD}")
    click.echo(f"\nPortal:    http://{host}:{port}/portal/   (distributors and dealers, e.g. sales@dealer-n1.example)")
    click.echo(f"GraphiQL:  http://{host}:{port}/graphql   (sign in with the form at the top)")
    click.echo(
        f"Sign in:   curl -s http://{host}:{port}/auth/login -H 'Content-Type: application/json' "
        f'-d \'{{"tenant": "acme", "email": "...", "password": "...", "cookie": false}}\'\n'
    )
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, proxy_headers=True)


@main.command()
@click.argument("email")
@click.option("--tenant", "tenant_slug", default=None, help="Tenant slug, when the e-mail exists in several.")
def token(email: str, tenant_slug: str | None) -> None:
    """Print a bearer token for the user with this e-mail."""

    async def work(sessions: Sessions) -> str:
        found = await users_with_email(sessions, email, tenant_slug)
        if not found:
            raise click.ClickException(
                f"No active user with e-mail {email}" + (f" in tenant {tenant_slug}." if tenant_slug else ".")
            )
        if len(found) > 1:
            slugs = ", ".join(sorted(u.tenant_slug for u in found))
            raise click.ClickException(f"{email} exists in several tenants ({slugs}); pass --tenant.")
        return await issue_user_token(sessions, found[0].tenant_id, found[0].user_id)

    click.echo(_with_sessions(_database_url(), work))


@main.group()
def tenant() -> None:
    """Manage tenants."""


@tenant.command("create")
@click.argument("slug")
@click.argument("name")
@click.option("--admin-email", default=None, help="E-mail of the tenant's first admin, who is sent an invitation.")
@click.option("--admin-name", default=None, help="The admin's full name (default: the e-mail's local part).")
@click.option(
    "--locale",
    type=click.Choice(["en", "zh-CN"]),
    default="en",
    show_default=True,
    help="Language of the admin's e-mails.",
)
def tenant_create(slug: str, name: str, admin_email: str | None, admin_name: str | None, locale: str) -> None:
    """Create a tenant with its enterprise organization and default policies, and with --admin-email its first admin.

    The admin gets an invitation link (printed here and e-mailed) to choose a password; it works once, for 7 days.
    """
    if not name.strip():
        raise click.ClickException("The tenant name must not be blank.")
    settings = Settings.from_env()
    admin = None
    if admin_email is not None:
        admin = FirstAdmin(email=admin_email, name=admin_name, locale=locale, pages=link_pages(settings))

    async def work(sessions: Sessions) -> tuple[uuid.UUID, str | None, str | None]:
        try:
            created = await provision_tenant(sessions, slug, name, admin)
        except DomainError as exc:
            if exc.field == "slug":  # a bad or taken slug: nothing was begun
                raise click.ClickException(exc.message) from exc
            raise click.ClickException(f"{exc.message} Nothing was created.") from exc
        return created.tenant_id, created.invitation_link, created.admin_email

    url = _database_url()
    migrations.upgrade(url)
    tenant_id, link, email = _with_sessions(url, work)
    click.echo(f"Created tenant {slug} ({tenant_id}).")
    if link is not None:
        click.echo(f"Invitation for the admin {email} (works once, for 7 days):")
        click.echo(f"  {link}")
        sending = "`crm worker` sends it" if settings.smtp_url else "set CRM_SMTP_URL and run `crm worker` to send it"
        click.echo(f"The invitation e-mail is queued ({sending}; `crm mail list` shows it).")


@main.group()
def client() -> None:
    """Manage machine clients (OAuth2 client credentials)."""


@client.command("create")
@click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")
@click.option("--name", required=True, help="What the client is, e.g. 'ERP sync'.")
@click.option("--role", "roles", multiple=True, default=["erp_integration"], show_default=True)
def client_create(tenant_slug: str, name: str, roles: tuple[str, ...]) -> None:
    """Register a machine client and print its id and secret (the secret is shown only now)."""

    async def work(sessions: Sessions) -> tuple[str, str]:
        try:
            registered, secret = await register_machine_client(sessions, tenant_slug, name, list(roles))
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        return registered.client_id, secret

    client_id, secret = _with_sessions(_database_url(), work)
    click.echo(f"client_id:     {client_id}\nclient_secret: {secret}")


@main.group()
def schema() -> None:
    """The GraphQL schema."""


@schema.command("export")
@click.option("--output", type=click.Path(path_type=Path), default=SCHEMA_FILE, show_default=True)
@click.option("--check", is_flag=True, help="Exit 1 if the file differs from the code instead of writing it.")
def schema_export(output: Path, check: bool) -> None:
    """Write the schema's SDL (what front-end teams read)."""
    sdl = str(graphql_schema) + "\n"
    if check:
        if not output.exists() or output.read_text() != sdl:
            click.echo(f"{output} is stale: run `crm schema export`.", err=True)
            sys.exit(1)
        click.echo(f"{output} is up to date.")
        return
    output.write_text(sdl)
    click.echo(f"Wrote {output}.")


@main.command()
@click.option("--interval", default=60, show_default=True, type=int, help="Seconds between runs of the scheduled jobs.")
@click.option("--once", is_flag=True, help="Deliver what is queued, run the scheduled jobs once, and exit.")
def worker(interval: int, once: bool) -> None:
    """Deliver outbox messages to the ERP, send queued mail, and run the scheduled jobs.

    Mail goes to CRM_SMTP_URL every few seconds; without it, mail stays queued in the database.

    Scheduled: poll each tenant's ERP for changes, open contract renewals, expire lapsed deal
    registrations, re-route leads whose partner let the SLA pass, delete expired idempotency keys.
    Several workers may run: each outbox message is claimed by one delivery at a time (a lease),
    a tenant's poll too, the rest is idempotent. Every worker picks up each due message itself, so none
    waits on a lost queue job.
    """
    log = logging.getLogger("crm.worker")
    settings = Settings.from_env()
    mail = None
    if settings.smtp_url:
        try:
            mail = MailSender.from_settings(settings.smtp_url, settings.mail_from)
        except ValueError as exc:
            raise click.ClickException(f"CRM_SMTP_URL: {exc}") from exc
    else:
        log.info("CRM_SMTP_URL is not set: mail stays queued in the database (see `crm mail list`)")

    async def work(sessions: Sessions) -> None:
        async def scheduled() -> None:
            async with transaction(sessions) as session:
                expired = await expire_due(session)
            async with transaction(sessions) as session:
                rerouted = await expire_offers(session)
            async with transaction(sessions) as session:
                renewals = await run_renewals(session)
            async with transaction(sessions) as session:
                keys = await purge_expired(session)
            applied = await erp_worker.poll_all(sessions)
            log.info(
                "expired %d deal registrations, re-routed %d leads, renewals %s, applied %d ERP changes, "
                "deleted %d expired idempotency keys",
                expired,
                rerouted,
                renewals,
                applied,
                keys,
            )

        await erp_worker.run(url, sessions, scheduled, interval=interval, once=once, mail=mail)

    url = _database_url()
    migrations.upgrade(url)
    _with_sessions(url, work)


@main.group()
def mail() -> None:
    """The mail outbox: what was sent, what waits, what failed."""


@mail.command("list")
@click.option("--tenant", "tenant_slug", default=None, help="Only this tenant's mail.")
@click.option("--status", type=click.Choice(["pending", "sent", "dead"]), default=None, help="Only mail in this state.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
def mail_list(tenant_slug: str | None, status: str | None, limit: int) -> None:
    """List the newest mail: id, created, to, subject, status (and attempts)."""

    async def work(sessions: Sessions) -> list[MailMessage]:
        tenant_id = None
        if tenant_slug:
            found = await tenant_by_slug(sessions, tenant_slug)
            if found is None:
                raise click.ClickException(f"No tenant with slug {tenant_slug}.")
            tenant_id = found.id
        async with sessions() as session:
            return await list_mail(session, tenant_id=tenant_id, status=status, limit=limit)

    rows = _with_sessions(_database_url(), work)
    if not rows:
        click.echo("No mail.")
        return
    click.echo(f"{'id':36}  {'created (UTC)':16}  {'status':7}  {'tries':>5}  {'to':32}  subject")
    for m in rows:
        click.echo(
            f"{m.id!s:36}  {m.created_at:%Y-%m-%d %H:%M}  {m.status:7}  {m.attempts:>5}  {m.to_address:32}  {m.subject}"
        )


@mail.command("show")
@click.argument("message_id")
def mail_show(message_id: str) -> None:
    """Print one message, headers and body (to copy an invitation link by hand, for instance)."""
    try:
        wanted = uuid.UUID(message_id)
    except ValueError as exc:
        raise click.ClickException(f"{message_id} is not a mail id (ids look like those of `crm mail list`).") from exc

    async def work(sessions: Sessions) -> MailMessage | None:
        async with sessions() as session:
            return await find_mail(session, wanted)

    m = _with_sessions(_database_url(), work)
    if m is None:
        raise click.ClickException(f"No mail with id {message_id}.")
    click.echo(f"From:     {Settings.from_env().mail_from}")
    click.echo(f"To:       {m.to_address}")
    click.echo(f"Subject:  {m.subject}")
    click.echo(f"Date:     {m.created_at:%Y-%m-%d %H:%M:%S} UTC")
    click.echo(f"Kind:     {m.kind} ({m.locale})")
    sent = f", sent {m.sent_at:%Y-%m-%d %H:%M:%S} UTC" if m.sent_at else ""
    click.echo(f"Status:   {m.status}, {m.attempts} attempt(s){sent}")
    if m.status == "pending" and m.attempts:
        click.echo(f"Next try: {m.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC")
    if m.last_error:
        click.echo(f"Error:    {m.last_error}")
    click.echo("")
    click.echo(m.body_text)


def _tenant_id(session_work: Callable[[Sessions, uuid.UUID], Awaitable[T]], slug: str) -> T:
    """Run work with the id of the tenant named by slug."""

    async def work(sessions: Sessions) -> T:
        found = await tenant_by_slug(sessions, slug)
        if found is None:
            raise click.ClickException(f"No tenant with slug {slug}.")
        return await session_work(sessions, found.id)

    return _with_sessions(_database_url(), work)


@main.group()
def erp() -> None:
    """Connect a tenant to its ERP, pull its catalogue, reconcile both sides."""


@erp.command("connect")
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
@click.option("--adapter", type=click.Choice(["tryton", "webhook"]), required=True)
@click.option("--url", required=True, help="The ERP's base URL.")
@click.option("--database", default=None, help="Tryton: the database name.")
@click.option("--login", default=None, help="Tryton: the user to log in as.")
@click.option("--password", default=None, envvar="CRM_ERP_PASSWORD", help="Tryton: its password (or CRM_ERP_PASSWORD).")
@click.option("--webhook-secret", default=None, envvar="CRM_ERP_WEBHOOK_SECRET", help="HMAC secret for webhooks.")
def erp_connect(
    slug: str,
    adapter: str,
    url: str,
    database: str | None,
    login: str | None,
    password: str | None,
    webhook_secret: str | None,
) -> None:
    """Set (or replace) the tenant's ERP connection."""
    kind = ErpAdapterKind(adapter)
    if kind is ErpAdapterKind.TRYTON and not (database and login and password):
        raise click.ClickException("The tryton adapter needs --database, --login and --password.")
    if kind is ErpAdapterKind.WEBHOOK and not webhook_secret:
        raise click.ClickException("The webhook adapter needs --webhook-secret.")
    settings = {"url": url} | ({"database": database, "login": login, "password": password} if database else {})

    async def work(sessions: Sessions, tenant_id: uuid.UUID) -> str:
        async with transaction(sessions) as session:
            connection = await session.get(ErpConnection, tenant_id)
            if connection is None:
                connection = ErpConnection(tenant_id=tenant_id)
                session.add(connection)
            connection.adapter, connection.settings, connection.webhook_secret = kind, settings, webhook_secret
        return f"Tenant {slug} now uses the {adapter} adapter at {url}."

    click.echo(_tenant_id(work, slug))


@erp.command("sync-products")
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
def erp_sync_products(slug: str) -> None:
    """Pull the ERP's products and list prices now."""

    async def work(sessions: Sessions, tenant_id: uuid.UUID) -> int:
        return await sync_products(sessions, tenant_id)

    try:
        changed = _tenant_id(work, slug)
    except ErpError as exc:  # no connection configured, or the ERP down or refusing
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{changed} products changed.")


@erp.command("reconcile")
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
@click.option("--repair", is_flag=True, help="Fix what can be fixed: re-queue what the ERP lacks, apply its states.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--pending-grace-minutes",
    "grace",
    default=10,
    show_default=True,
    type=click.IntRange(min=0),
    help="A pending record the ERP lacks is drift once its message has waited this long.",
)
def erp_reconcile(slug: str, repair: bool, as_json: bool, grace: int) -> None:
    """Compare the tenant's orders and contracts with the ERP's and report drift. Exit 3 when there is drift."""

    async def work(sessions: Sessions, tenant_id: uuid.UUID) -> ReconcileReport:
        return await reconcile(sessions, tenant_id, repair=repair, pending_grace=timedelta(minutes=grace))

    try:
        report = _tenant_id(work, slug)
    except (LookupError, ErpError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({"checked": report.checked, "drift": [asdict(d) for d in report.drift]}, indent=2))
    else:
        click.echo(f"Checked {report.checked} orders and contracts; {len(report.drift)} drift.")
        for d in report.drift:
            click.echo(f"  {d.kind:16} {d.record:8} {d.reference:12} {d.detail}{'  (repaired)' if d.repaired else ''}")
    if not report.clean and not repair:
        sys.exit(3)
