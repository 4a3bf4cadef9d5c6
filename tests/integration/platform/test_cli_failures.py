"""The `crm` command line fails in one clear line with a non-zero exit, never with a traceback."""

from __future__ import annotations

import asyncio
import socket

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url

from api import cli
from api.cli import main
from domain.erp.outbox import ErpAdapterKind
from tests.integration.commerce_setup import connect_erp
from tests.integration.world import build_world


@pytest.fixture
def runner(database_url, monkeypatch) -> CliRunner:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    return CliRunner()


def _one_line_error(result: Result) -> str:
    """The single line the command printed, asserting it failed with exit code 1 and printed nothing else."""
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ") and "Traceback" not in result.output
    return lines[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_sync_products_without_an_erp_connection_is_one_line(runner, sessions) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(sessions)
    result = await asyncio.to_thread(runner.invoke, main, ["erp", "sync-products", "--tenant", world.slug])
    assert _one_line_error(result) == "Error: No ERP connection is configured for this tenant."


async def test_sync_products_with_the_erp_down_is_one_line(runner, sessions) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(sessions)
    erp_url = f"http://127.0.0.1:{_free_port()}"
    await connect_erp(sessions, world.tenant_id, ErpAdapterKind.WEBHOOK, {"url": erp_url}, "secret")
    result = await asyncio.to_thread(runner.invoke, main, ["erp", "sync-products", "--tenant", world.slug])
    assert _one_line_error(result).startswith("Error: The ERP could not be reached")


@pytest.mark.parametrize("command", [["migrate"], ["token", "someone@example.com"], ["mail", "list"]])
def test_a_database_url_pointing_at_nothing_is_one_line(command, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    port = _free_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://crm:hunter2@127.0.0.1:{port}/crm")
    line = _one_line_error(CliRunner().invoke(main, command))
    assert line.startswith(f"Error: Cannot connect to the database at postgresql://crm:***@127.0.0.1:{port}/crm: ")
    assert "hunter2" not in line


def test_a_database_that_does_not_exist_is_one_line(database_url, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    missing = make_url(database_url).set(database="no_such_database").render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", missing)
    line = _one_line_error(CliRunner().invoke(main, ["migrate"]))
    assert line.startswith("Error: Cannot connect to the database at ") and "no_such_database" in line


def test_serve_on_a_port_in_use_fails_before_migrating_or_printing_the_banner(runner, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    migrated: list[str] = []
    monkeypatch.setattr(cli.migrations, "upgrade", migrated.append)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(main, ["serve", "--port", str(port), "--no-demo"])
    assert _one_line_error(result) == f"Error: Cannot listen on 127.0.0.1:{port}: the port is already in use."
    assert migrated == [] and "GraphiQL" not in result.output


def test_serve_on_a_port_out_of_range_is_a_usage_error(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(main, ["serve", "--port", "70000", "--no-demo"])
    assert result.exit_code == 2 and "--port" in result.output and "Traceback" not in result.output
