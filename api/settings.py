"""Service settings, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir


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
        )
