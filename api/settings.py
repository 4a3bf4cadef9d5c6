"""Service settings, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from platformdirs import user_data_dir

from infrastructure.db import DatabaseTimeouts, seconds_from_env


@dataclass(frozen=True)
class QueryLimits:
    """How much one GraphQL request, and one caller over time, may ask of the service (README: Configuration).

    Costs are points: roughly one per object a query returns, lists and pages multiplied through their nesting
    (api/graphql/cost.py). Budgets are token buckets: each holds up to its size and refills at its rate.
    """

    max_cost: int = 20_000  # CRM_MAX_QUERY_COST: the most one request may cost
    user_budget: int = 100_000  # CRM_USER_BUDGET: points a person may spend at once
    user_refill_per_second: float = 1_000  # CRM_USER_BUDGET_REFILL: points a person regains per second
    tenant_budget: int = 1_000_000  # CRM_TENANT_BUDGET: points all people of a tenant together may spend at once
    tenant_refill_per_second: float = 10_000  # CRM_TENANT_BUDGET_REFILL
    client_budget: int = 200_000  # CRM_CLIENT_BUDGET: points a machine client (ERP integration) may spend at once
    client_refill_per_second: float = 2_000  # CRM_CLIENT_BUDGET_REFILL
    max_connections: int = 4  # CRM_MAX_CONNECTIONS_PER_REQUEST: database connections one request holds at once
    # CRM_MAX_CONCURRENT_REQUESTS: GraphQL requests one caller may have in progress in one process (GitHub: 100)
    max_concurrent: int = 100
    max_response_bytes: int = 10 * 1024 * 1024  # CRM_MAX_RESPONSE_BYTES: the largest GraphQL response sent

    def __post_init__(self) -> None:
        for item in fields(self):
            if not getattr(self, item.name) > 0:
                raise ValueError(f"{ENVIRONMENT[item.name]} must be greater than 0.")
        for budget in ("user_budget", "tenant_budget", "client_budget"):
            if getattr(self, budget) < self.max_cost:
                raise ValueError(
                    f"{ENVIRONMENT[budget]} ({getattr(self, budget)}) must be at least CRM_MAX_QUERY_COST "
                    f"({self.max_cost}), or a query at the cost limit could never run."
                )
        if self.max_connections < 2:
            # A mutation's transaction may open a second session (credit checks, catalogue sync) while it holds one.
            raise ValueError("CRM_MAX_CONNECTIONS_PER_REQUEST must be at least 2.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> QueryLimits:
        """The limits set by environment variables, each unset one at its default."""
        values: dict[str, int | float] = {}
        for item in fields(cls):
            raw = environ.get(ENVIRONMENT[item.name], "").strip()
            if not raw:
                continue
            kind = float if item.name.endswith("_per_second") else int
            try:
                values[item.name] = kind(raw)
            except ValueError:
                number = "a number" if kind is float else "a whole number"
                raise ValueError(f"{ENVIRONMENT[item.name]} must be {number}, not {raw!r}.") from None
        return cls(**values)  # type: ignore[arg-type]


ENVIRONMENT = {
    "max_cost": "CRM_MAX_QUERY_COST",
    "user_budget": "CRM_USER_BUDGET",
    "user_refill_per_second": "CRM_USER_BUDGET_REFILL",
    "tenant_budget": "CRM_TENANT_BUDGET",
    "tenant_refill_per_second": "CRM_TENANT_BUDGET_REFILL",
    "client_budget": "CRM_CLIENT_BUDGET",
    "client_refill_per_second": "CRM_CLIENT_BUDGET_REFILL",
    "max_connections": "CRM_MAX_CONNECTIONS_PER_REQUEST",
    "max_concurrent": "CRM_MAX_CONCURRENT_REQUESTS",
    "max_response_bytes": "CRM_MAX_RESPONSE_BYTES",
}


@dataclass(frozen=True)
class Settings:
    """How this process runs: where its data lives, whether it is production, how long tokens last."""

    database_url: str | None
    data_dir: Path
    production: bool
    token_ttl_seconds: int = 3600
    issuer: str = "channel-crm"
    # Where people reach this service; links in e-mails and SSO callbacks are built on it.
    public_url: str = "http://127.0.0.1:8000"
    # smtp://user:pass@host:port (STARTTLS where the server offers it) or smtps://; unset keeps mail in the database.
    smtp_url: str | None = None
    mail_from: str = "channel-crm <no-reply@localhost>"
    query_limits: QueryLimits = field(default_factory=QueryLimits)
    # A request still running after this long is stopped and answered 504; /readyz waits on the database this long.
    request_timeout_seconds: float = 60.0
    ready_timeout_seconds: float = 2.0
    database_timeouts: DatabaseTimeouts = field(default_factory=DatabaseTimeouts)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            data_dir=Path(os.environ.get("CRM_DATA_DIR") or user_data_dir("channel-crm")),
            production=os.environ.get("CRM_ENV") == "production",
            token_ttl_seconds=int(os.environ.get("CRM_TOKEN_TTL_SECONDS", "3600")),
            public_url=(os.environ.get("CRM_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
            smtp_url=os.environ.get("CRM_SMTP_URL") or None,
            mail_from=os.environ.get("CRM_MAIL_FROM") or "channel-crm <no-reply@localhost>",
            query_limits=QueryLimits.from_env(),
            request_timeout_seconds=seconds_from_env(os.environ, "CRM_REQUEST_TIMEOUT") or 60.0,
            ready_timeout_seconds=seconds_from_env(os.environ, "CRM_READY_TIMEOUT") or 2.0,
            database_timeouts=DatabaseTimeouts.from_env(),
        )
