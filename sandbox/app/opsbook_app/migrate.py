"""The release's schema migrations: apply them (blocking, before the release serves), show the
plan, or revert those a newer release applied (a migration rollback).

    python3 -m opsbook_app.migrate          apply this release's pending migrations, in order, in one
                                            transaction (a failure changes nothing)
    python3 -m opsbook_app.migrate plan     what `up` would apply, and what `down` would revert
    python3 -m opsbook_app.migrate down     revert, newest first and in one transaction, every applied
                                            migration this release does not ship (exit 3, changing
                                            nothing, when one of them is irreversible)
    python3 -m opsbook_app.migrate check    can this release run on the database as it is: are the
                                            tables it needs there (exit 1, naming those missing)

A release ships the migrations listed in its release.json (`migrations`). A migration's undo is
migrations/NNNN_name.down.sql; applying stores it in schema_migrations.down_sql, so an older
release, whose image never had that file, can still revert it. No down file: irreversible, and
the way back is restoring the pre-deploy backup.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import psycopg2

from sandboxlib.http import setup_logging
from sandboxlib.settings import database_dsn

log = logging.getLogger("migrate")
ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"
IRREVERSIBLE = 3


def release() -> dict[str, Any]:
    return dict(json.loads((ROOT / "release.json").read_text()))


def shipped() -> list[str]:
    """This release's migrations, oldest first."""
    return list(release()["migrations"])


def connect(deadline: float) -> Any:
    while True:
        try:
            return psycopg2.connect(database_dsn())
        except psycopg2.OperationalError as exc:
            if time.monotonic() > deadline:
                raise
            log.info("waiting for the database: %s", str(exc).strip())
            time.sleep(1)


def applied(cur: Any) -> dict[str, str | None]:
    """Applied migrations (oldest first) and their stored undo."""
    cur.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
    cur.execute("ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS down_sql text")
    cur.execute("SELECT version, down_sql FROM schema_migrations ORDER BY version")
    return {row[0]: row[1] for row in cur.fetchall()}


def up(cur: Any) -> int:
    done = applied(cur)
    pending = [name for name in shipped() if name not in done]
    for name in pending:
        down = MIGRATIONS / f"{name}.down.sql"
        log.info("applying %s%s", name, "" if down.exists() else " (irreversible: no down migration)")
        cur.execute((MIGRATIONS / f"{name}.sql").read_text())
        cur.execute("INSERT INTO schema_migrations (version, down_sql) VALUES (%s, %s)",
                    (name, down.read_text() if down.exists() else None))
    log.info("schema up to date: %d migrations, %d applied now", len(shipped()), len(pending))
    return 0


def foreign(done: dict[str, str | None]) -> list[str]:
    """Applied migrations this release does not ship, newest first: what `down` reverts."""
    ours = set(shipped())
    return sorted((name for name in done if name not in ours), reverse=True)


def plan(cur: Any) -> int:
    done = applied(cur)
    pending = [name for name in shipped() if name not in done]
    print(f"applied: {len(done)}; this release ships {len(shipped())}")
    for name in pending:
        print(f"up: would apply {name}")
    for name in foreign(done):
        print(f"down: would revert {name}" + ("" if done[name] else " -- IRREVERSIBLE: restore the pre-deploy backup"))
    if not pending and not foreign(done):
        print("schema matches this release")
    return 0


def down(cur: Any) -> int:
    done = applied(cur)
    revert = foreign(done)
    stuck = [name for name in revert if not done[name]]
    if stuck:
        log.error("cannot revert %s: irreversible (no down migration); restore the pre-deploy backup instead",
                  ", ".join(stuck))
        return IRREVERSIBLE
    for name in revert:
        log.info("reverting %s", name)
        cur.execute(done[name])
        cur.execute("DELETE FROM schema_migrations WHERE version = %s", (name,))
    log.info("schema back to this release: %d reverted", len(revert))
    return 0


def check(cur: Any) -> int:
    """The release's own health check's schema part, without starting the release."""
    needed = list(release()["requires_tables"])
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(%s)", (needed,))
    present = {row[0] for row in cur.fetchall()}
    missing = [name for name in needed if name not in present]
    version = release()["version"]
    if missing:
        print(f"{version} cannot run on this schema: missing tables: {', '.join(missing)}")
        return 1
    print(f"{version} can run on this schema")
    return 0


def main(argv: list[str]) -> int:
    setup_logging("migrate")
    command = argv[0] if argv else "up"
    actions = {"up": up, "plan": plan, "down": down, "check": check}
    if command not in actions:
        print(f"usage: python3 -m opsbook_app.migrate [{'|'.join(actions)}]", file=sys.stderr)
        return 2
    conn = connect(time.monotonic() + 60)
    conn.autocommit = False
    status = 0
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(4242)")
            # A migration waiting on a table's lock holds every query behind it: give up instead.
            cur.execute("SET LOCAL lock_timeout = '5s'")
            cur.execute("SET LOCAL statement_timeout = '60s'")
            status = actions[command](cur)
            if status:
                conn.rollback()
    except psycopg2.Error as exc:
        log.error("migration failed, nothing changed: %s", str(exc).strip())
        return 1
    finally:
        conn.close()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
