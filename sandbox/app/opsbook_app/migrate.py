"""Apply versioned SQL migrations (migrations/NNNN_name.sql) once each, in order."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import psycopg2

from sandboxlib.http import setup_logging
from sandboxlib.settings import database_dsn

log = logging.getLogger("migrate")
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def connect(deadline: float) -> "psycopg2.extensions.connection":
    while True:
        try:
            return psycopg2.connect(database_dsn())
        except psycopg2.OperationalError as exc:
            if time.monotonic() > deadline:
                raise
            log.info("waiting for the database: %s", str(exc).strip())
            time.sleep(1)


def main() -> int:
    setup_logging("migrate")
    conn = connect(time.monotonic() + 60)
    conn.autocommit = False
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(4242)")
        cur.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        cur.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in cur.fetchall()}
        files = sorted(MIGRATIONS.glob("*.sql"))
        pending = [f for f in files if f.stem not in done]
        for path in pending:
            log.info("applying %s", path.name)
            cur.execute(path.read_text())
            cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (path.stem,))
    log.info("schema up to date: %d migrations, %d applied now", len(files), len(pending))
    return 0


if __name__ == "__main__":
    sys.exit(main())
