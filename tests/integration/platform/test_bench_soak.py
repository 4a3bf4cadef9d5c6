"""The soak benchmark's harness runs end to end and reports; its figures are measured, never asserted."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from bench.soak import OPERATIONS, error_kind, main
from tests.conftest import create_database


def test_a_short_soak_serves_the_mixed_workload_and_reports_each_window(
    pg_server_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a fresh database on the test server
    url = create_database(pg_server_url, f"crm_soak_test_{uuid.uuid4().hex[:8]}")
    out = tmp_path / "soak.json"

    # When the soak loads the demo, starts `crm serve` and drives its workload for three seconds
    main(["--database-url", url, "--workers", "1", "--concurrency", "4", "--minutes", "0.05", "--window", "1.5",
          "--warmup", "0", "--json", "--output", str(out)])  # fmt: skip

    # Then it reports two windows and the totals, as JSON on stdout and in the file
    report = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text()) == report
    assert [w["window"] for w in report["windows"]] == [1, 2]
    for window in report["windows"]:
        assert {"requests", "errors", "p50_ms", "p95_ms", "p99_ms", "server_rss_mb_max", "pg_connections_max"} <= set(
            window
        )
        assert window["server_rss_mb_max"] > 0 and window["pg_connections_max"] > 0
    totals = report["totals"]
    assert totals["requests"] > 0 and totals["writes"] > 0
    assert set(totals["by_operation"]) == {op.name for op in OPERATIONS}
    # and every request of the mix is one the API accepts: no error of any kind, no acknowledged write lost
    assert totals["errors"] == {}
    assert report["writes"]["lost"] == 0 and report["writes"]["acknowledged_creates"] > 0
    assert report["server"]["alive_at_end"] is True


def test_failures_are_counted_by_kind_with_429_on_its_own() -> None:
    # Given the answers a soak can get
    def answer(status: int, body: object) -> httpx.Response:
        return httpx.Response(status, json=body)

    # Then each is its own kind: a spent budget, too many in progress, a GraphQL error, a payload error, success
    spent = {"errors": [{"message": "Spent.", "extensions": {"code": "RATE_LIMITED", "retryAfter": 2}}]}
    assert error_kind(answer(429, spent), None) == ("http 429 RATE_LIMITED", None)
    assert error_kind(answer(429, {"errors": [{"code": "TOO_MANY_REQUESTS"}]}), None)[0] == "http 429 TOO_MANY_REQUESTS"
    assert error_kind(httpx.Response(502, text="Bad gateway"), None)[0] == "http 502"
    assert (
        error_kind(answer(200, {"errors": [{"message": "x", "extensions": {"code": "INTERNAL"}}]}), None)[0]
        == "graphql INTERNAL"
    )
    invalid = {"data": {"logActivity": {"activity": None, "errors": [{"field": "subject", "code": "REQUIRED"}]}}}
    assert error_kind(answer(200, invalid), "logActivity")[0] == "payload REQUIRED"
    ok = {"data": {"logActivity": {"activity": {"id": "A1"}, "errors": []}}}
    assert error_kind(answer(200, ok), "logActivity") == (None, {"activity": {"id": "A1"}, "errors": []})
