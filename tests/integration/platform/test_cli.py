"""The `crm` command line against the test database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from api.cli import main
from domain.channel.deal_registrations import DealRegistration, RegistrationStatus
from domain.erp.outbox import ErpAdapterKind, ErpConnection
from infrastructure import migrations
from tests.conftest import create_database
from tests.integration.world import build_world
from tests.reads import read_for_test


@pytest.fixture
def runner(database_url, monkeypatch) -> CliRunner:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    return CliRunner()


def test_schema_export_check_passes_for_the_checked_in_file(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(main, ["schema", "export", "--check"])
    assert result.exit_code == 0, result.output


def test_schema_export_check_fails_for_a_stale_file(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stale = tmp_path / "schema.graphql"
    stale.write_text("type Query { old: Int }\n")
    result = runner.invoke(main, ["schema", "export", "--check", "--output", str(stale)])
    assert result.exit_code == 1


def test_migrate_is_idempotent(runner, database_url) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(main, ["migrate"])
    assert result.exit_code == 0, result.output
    assert f"revision {migrations.head_revision(database_url)}" in result.output


async def test_token_for_a_user_works_against_the_api(runner, sessions, client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(sessions)
    # The command runs its own event loop, so it runs in a thread beside the test's loop
    result = await asyncio.to_thread(runner.invoke, main, ["token", world.users["d1_admin"].email])
    assert result.exit_code == 0, result.output
    response = await client.post(
        "/graphql", json={"query": "{ me { email } }"}, headers={"Authorization": f"Bearer {result.output.strip()}"}
    )
    assert response.json() == {"data": {"me": {"email": world.users["d1_admin"].email}}}


def test_token_for_an_unknown_user_is_a_clear_error(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(main, ["token", "nobody@nowhere.example"])
    assert result.exit_code == 1
    assert "No active user with e-mail nobody@nowhere.example" in result.output


def test_client_create_rejects_internal_roles(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(main, ["tenant", "create", "cli-tenant", "CLI Tenant"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["client", "create", "--tenant", "cli-tenant", "--name", "Bad", "--role", "admin"])
    assert result.exit_code == 1 and "Machine clients take roles" in result.output
    result = runner.invoke(main, ["client", "create", "--tenant", "cli-tenant", "--name", "ERP"])
    assert result.exit_code == 0 and "client_secret:" in result.output


async def test_worker_expires_registrations_whose_protection_ran_out(runner, sessions) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(sessions)
    registration_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        session.add(
            DealRegistration(
                tenant_id=world.tenant_id, id=registration_id, partner_organization_id=world.orgs["R1a"].id,
                submitted_by_id=world.users["r1a_sales"].id, customer_name="Lapsed", customer_normalized_name="lapsed",
                products=["Drives"], amount=Decimal("1.00"), currency="USD", expected_close_date=date(2027, 1, 1),
                status=RegistrationStatus.APPROVED, conflicts=[],
                protection_expires_at=datetime.now(UTC) - timedelta(hours=1),
            )
        )  # fmt: skip
    result = await asyncio.to_thread(runner.invoke, main, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    async with sessions() as session:
        status = (
            await session.execute(
                read_for_test(select(DealRegistration.status).where(DealRegistration.id == registration_id))
            )
        ).scalar_one()
    assert status is RegistrationStatus.EXPIRED


async def test_erp_connect_validates_and_saves(runner, sessions, world) -> None:  # type: ignore[no-untyped-def]
    missing = await asyncio.to_thread(
        runner.invoke,
        main,
        ["erp", "connect", "--tenant", world.slug, "--adapter", "tryton", "--url", "http://erp:8000"],
    )
    assert missing.exit_code != 0 and "--database, --login and --password" in missing.output
    unknown = await asyncio.to_thread(
        runner.invoke, main, ["erp", "connect", "--tenant", "nope", "--adapter", "webhook", "--url", "https://erp",
                              "--webhook-secret", "x"],
    )  # fmt: skip
    assert unknown.exit_code != 0 and "No tenant with slug nope" in unknown.output
    saved = await asyncio.to_thread(
        runner.invoke, main, ["erp", "connect", "--tenant", world.slug, "--adapter", "webhook", "--url", "https://erp",
                              "--webhook-secret", "shh"],
    )  # fmt: skip
    assert saved.exit_code == 0, saved.output
    async with sessions() as session:
        connection = await session.get(ErpConnection, world.tenant_id)
    assert connection is not None and connection.adapter is ErpAdapterKind.WEBHOOK
    assert connection.settings == {"url": "https://erp"} and connection.webhook_secret == "shh"
    no_erp = await asyncio.to_thread(runner.invoke, main, ["erp", "reconcile", "--tenant", "nope"])
    assert no_erp.exit_code != 0


def test_worker_once_delivers_and_runs_the_schedule_on_an_empty_queue(pg_server_url, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """On a database of its own, so the shared test queue is left alone."""
    url = create_database(pg_server_url, f"crm_worker_{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("DATABASE_URL", url)
    result = CliRunner().invoke(main, ["worker", "--once"])
    assert result.exit_code == 0, result.output
