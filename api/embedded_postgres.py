"""An embedded PostgreSQL (the `pgserver` package) for when no DATABASE_URL is given."""

from __future__ import annotations

import logging

from api.settings import Settings

log = logging.getLogger("crm")

DATABASE_NAME = "crm"


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set; otherwise start (or reuse) the embedded server in the data folder and use its `crm` db."""
    if settings.database_url:
        return settings.database_url
    import pgserver

    pgdata = settings.data_dir / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None keeps the server running for the next command; it is shared by every `crm` process.
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    # DATABASE_NAME is a constant of ours, not input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        log.info("created database %s in %s", DATABASE_NAME, pgdata)
    return server.get_uri(DATABASE_NAME)
