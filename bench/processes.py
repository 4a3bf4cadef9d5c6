"""The benchmark's processes: its own PostgreSQL, our API and the floor as pinned subprocesses, and their costs.

Each server runs in its own process under `taskset -c N`, so the CPU it spends (user + system, from
/proc/<pid>/stat) is its alone; PostgreSQL's CPU is in none of them, and is measured apart (`PostgresCpu`) when
the server runs on this machine. SQL statements are counted from
PostgreSQL's own log (`log_statement = all`, switched on only while counting): every statement a side sends,
BEGIN, COMMIT and ROLLBACK included. That needs a server whose log file this process can read, which the bench's
own embedded PostgreSQL is; with another `--database-url` the counts are left empty.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
from sqlalchemy.engine import make_url

from bench.generate import connect

BENCH_DATABASE = "crm_bench"
STATEMENT_LINE = re.compile(r"LOG:  (statement|execute [^:]*): ")


def bench_database_url() -> str:
    """The bench's own embedded PostgreSQL (in the data folder's bench-pgdata), started if needed; its crm_bench db."""
    import pgserver

    from api.settings import Settings

    pgdata = Settings.from_env().data_dir / "bench-pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    # BENCH_DATABASE is a constant of ours, not input.
    if "(1 row)" not in server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{BENCH_DATABASE}';"):  # noqa: S608
        server.psql(f"CREATE DATABASE {BENCH_DATABASE};")
    return str(server.get_uri(BENCH_DATABASE))


async def plan_alike(url: str) -> None:
    """Every side's sessions plan with the settings our service gives its own (`planner_settings`).

    Set on the database, so PostGraphile's and the floor's connections take them too: the sides differ in the SQL
    they send, not in how PostgreSQL prices it.
    """
    import asyncpg

    from infrastructure.db import planner_settings

    conn = await connect(url)
    try:
        database = await conn.fetchval("SELECT current_database()")
        for name, value in planner_settings().items():
            try:
                await conn.execute(f'ALTER DATABASE "{database}" SET {name} = {float(value)}')
            except asyncpg.InsufficientPrivilegeError:
                print(f"cannot set {name} on {database}: PostGraphile and the floor plan with the server's own")
    finally:
        await conn.close()


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_environment(url: str) -> dict[str, str]:
    """The libpq variables (read by node-postgres and asyncpg alike) for a SQLAlchemy-style URL."""
    u = make_url(url)
    env = {"PGDATABASE": u.database or "postgres", "PGUSER": u.username or "postgres"}
    host = u.query.get("host") or u.host
    if host:
        env["PGHOST"] = str(host[0] if isinstance(host, tuple) else host)
    if u.port:
        env["PGPORT"] = str(u.port)
    if u.password:
        env["PGPASSWORD"] = u.password
    return env


def pinned(command: list[str], cpu: int | None) -> list[str]:
    """The command under `taskset -c cpu` (which execs it, so the pid stays the server's)."""
    return command if cpu is None else ["taskset", "-c", str(cpu), *command]


def start_ours(url: str, port: int, cpu: int | None) -> subprocess.Popen[bytes]:
    """Our API with production settings in one uvicorn process on 127.0.0.1:port.

    Budgets are set out of reach: a benchmark's thousands of requests a minute by one person would otherwise be
    answered 429 once the person's budget is spent, and speed, not the budget, is measured here.
    """
    unlimited = {name: "1000000000000" for name in ("CRM_USER_BUDGET", "CRM_USER_BUDGET_REFILL", "CRM_TENANT_BUDGET",
                                                    "CRM_TENANT_BUDGET_REFILL")}  # fmt: skip
    env = {**os.environ, **unlimited, "DATABASE_URL": url, "CRM_ENV": "production"}
    env.pop("CRM_DOOR_GUARD", None)  # the server as it ships, whatever the driver runs with
    command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--port", str(port),
               "--log-level", "warning", "--no-access-log"]  # fmt: skip
    return subprocess.Popen(pinned(command, cpu), env=env)


def start_floor(url: str, port: int, cpu: int | None, pool: int = 16) -> subprocess.Popen[bytes]:
    """The floor (bench/floor.py) in one uvicorn process on 127.0.0.1:port."""
    env = {**os.environ, **pg_environment(url)}
    command = [sys.executable, "-m", "bench.floor", "--port", str(port), "--pool", str(pool)]
    return subprocess.Popen(pinned(command, cpu), env=env)


async def wait_until_serving(process: subprocess.Popen[bytes], url: str, name: str, seconds: float = 60) -> None:
    """Wait for any HTTP answer at `url`; fail when the process exits or the time is up."""
    async with httpx.AsyncClient() as client:
        for _ in range(int(seconds * 10)):
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} before serving")
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} did not start serving within {seconds} s")


class StatementLog:
    """Counts the SQL statements PostgreSQL runs, from its log, while `log_statement` is switched on."""

    def __init__(self, url: str, log_file: Path | None) -> None:
        self.url, self.log_file = url, log_file

    @classmethod
    async def open(cls, url: str) -> StatementLog:
        """A counter for the server behind `url`; it counts nothing when its log file is not readable here."""
        conn = await connect(url)
        try:
            superuser = await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            data_dir = await conn.fetchval("SHOW data_directory") if superuser else None
        finally:
            await conn.close()
        log_file = Path(data_dir) / "log" if data_dir else None
        return cls(url, log_file if log_file is not None and log_file.is_file() else None)

    @property
    def available(self) -> bool:
        return self.log_file is not None

    async def _set(self, on: bool) -> None:
        conn = await connect(self.url)
        try:
            await conn.execute("ALTER SYSTEM SET log_statement = 'all'" if on else "ALTER SYSTEM RESET log_statement")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()
        await asyncio.sleep(0.3)  # backends take the reloaded setting at their next command

    async def start(self) -> int:
        """Switch logging on; the log's length, to count from."""
        await self._set(True)
        assert self.log_file is not None
        return self.log_file.stat().st_size

    async def stop(self, offset: int) -> int:
        """Statements logged after `offset` (from `start`); switches logging off."""
        await asyncio.sleep(0.2)
        assert self.log_file is not None
        with self.log_file.open("rb") as f:
            f.seek(offset)
            count = sum(1 for line in f if STATEMENT_LINE.search(line.decode(errors="replace")))
        await self._set(False)
        return count


class PostgresCpu:
    """CPU seconds of the whole PostgreSQL server when it runs on this machine: the postmaster, its live children
    (backends, autovacuum, WAL writer…) and the children that have exited (closed connections included)."""

    def __init__(self, backend_pid: int) -> None:
        try:
            self.postmaster: psutil.Process | None = psutil.Process(backend_pid).parent()
            if self.postmaster is not None and "postgres" not in " ".join(self.postmaster.cmdline()):
                self.postmaster = None
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            self.postmaster = None  # PostgreSQL is on another machine

    def total(self) -> float | None:
        if self.postmaster is None:
            return None
        try:
            times = self.postmaster.cpu_times()
            seconds = times.user + times.system + times.children_user + times.children_system
            for child in self.postmaster.children():
                try:
                    own = child.cpu_times()
                    seconds += own.user + own.system
                except psutil.NoSuchProcess:
                    continue
            return seconds
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
