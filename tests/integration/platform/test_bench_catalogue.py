"""The benchmark's three sides (our API, PostGraphile with row-level security, the floor) return the same rows.

On a tiny generated tenant (bench/generate.py's XS), each catalogue query is sent once to each side as each persona,
and the canonical answers must be equal; a few known facts of the data pin down what "the same" is. Timing stays
out of the suite (python -m bench.run measures). Needs Node 22 and postgraphile from npm (cached in
~/.cache/channel-crm after the first install).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from bench.catalogue import BY_NAME, CATALOGUE, PERSONAS
from bench.generate import SIZES
from bench.run import Timing, start_bench, stop_sides
from infrastructure import migrations
from tests.conftest import create_database

COUNT = SIZES["XS"]


@pytest.fixture(scope="module")
def bench_url(pg_server_url: str) -> Iterator[str]:
    """A database of its own: the PostGraphile side enables row-level security on its tables."""
    url = create_database(pg_server_url, f"crm_bench_{uuid.uuid4().hex[:8]}")
    migrations.upgrade(url)
    yield url


async def test_every_side_returns_the_same_rows_for_every_persona(bench_url: str) -> None:
    # Given the three servers over a generated XS tenant
    bench, sides = await start_bench(bench_url, "XS", COUNT, dict.fromkeys(("ours", "postgraphile", "floor")))
    try:
        answers = {}
        # When each catalogue query is sent as each persona to each side
        for entry in CATALOGUE:
            for persona in PERSONAS:
                # Then they agree (agree raises Disagreement, naming the side and both answers, when they do not)
                answers[(entry.name, persona)] = await bench.agree(entry, persona)
        # And the answers are the ones the data implies: the admin sees every deal, the distributor its half, the
        # dealer its sixth of that; partners never see the internal owner
        lists = {p: answers[("opportunity_list", p)] for p in PERSONAS}
        assert {p: a["total"] for p, a in lists.items()} == {"admin": COUNT, "distributor": COUNT // 2,
                                                             "dealer": len(range(1, COUNT // 2, 6))}  # fmt: skip
        assert all(len(a["rows"]) == 50 for a in lists.values())
        assert all(row[7] is not None for row in lists["admin"]["rows"])
        assert all(row[7] is None for p in ("distributor", "dealer") for row in lists[p]["rows"])
        deal = {p: answers[("deal_page", p)] for p in PERSONAS}
        assert all(d["activities"]["total"] == 3 and d["quotes"]["total"] == 1 for d in deal.values())
        assert (
            deal["admin"]["team"][0][2] is not None and deal["dealer"]["team"][0][2] is None
        )  # an internal specialist
        forecast = {p: sum(b[1] for b in answers[("forecast", p)]) for p in PERSONAS}
        assert forecast["admin"] > forecast["distributor"] > forecast["dealer"] > 0
        # And the write went through on every side, as the persona
        for persona in PERSONAS:
            assert answers[("log_activity", persona)][3] == str(bench.viewers[persona].user_id)
        assert BY_NAME["log_activity"].mutation
        # And a timed cell reports what each side cost: its own CPU and the database's (PostgreSQL runs here)
        for side in ("ours", "floor"):
            timing = Timing()
            await bench.time(BY_NAME["deal_page"], "admin", side, 40, 4, timing)
            row = timing.row("deal_page", "admin", side, "XS", 4)
            assert row["requests"] == 40 and row["errors"] == 0
            assert row["cpu_ms_per_request"] > 0 and row["postgres_cpu_ms_per_request"] > 0, row
    finally:
        await stop_sides(sides)
