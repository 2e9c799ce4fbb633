"""The sandbox's data volume: `sandbox/app/seed/platform.sql` fills the platform's tables with a
year of history, once per version of that file and of the migrations it runs on, into a template
database (`opsbook_seed_<key>`); every reset then replaces the app's database by a file-level copy
of it (`CREATE DATABASE ... STRATEGY FILE_COPY`): a second, instead of reloading the rows, and
almost no WAL, so the WAL archive holds what the platform wrote, not the sandbox's resets.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

# In load order: a table after the ones it references.
SEED_TABLES = ("organisations", "agents", "jobs", "job_results", "users", "crm_sync_log")
# Tables whose id is a bigserial: their sequence continues after the loaded rows.
SERIAL_TABLES = ("organisations", "agents", "job_results", "users", "crm_sync_log")
TEMPLATE_PREFIX = "opsbook_seed_"


def seed_key(migrations: list[Path], seed: Path, today: date | None = None) -> str:
    """A name for this version of the volume: it changes when the seed or a migration does, and
    every day, since the rows are dated relative to the day they were made ("the last 7 days"
    of a copy a month old would be empty, and its plans different)."""
    digest = hashlib.sha256((today or date.today()).isoformat().encode() + b"\0")
    for path in [*migrations, seed]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def template_name(key: str) -> str:
    """The template database holding this version of the volume."""
    return f"{TEMPLATE_PREFIX}{key}"


def seed_script(seed: Path, tables: tuple[str, ...] = SEED_TABLES) -> list[str]:
    """psql lines, run as the superuser inside the template's building transaction once the
    migrations ran (as the app's role): generate the rows, then index and analyse them."""
    names = ", ".join(f"'{table}'" for table in tables)
    lines = [
        # Rows load several times faster into tables without their secondary indexes, which are
        # then built in one pass each: keep their definitions, drop them, load, build them again.
        "CREATE TEMP TABLE seed_indexes ON COMMIT DROP AS"
        " SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition"
        " FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
        f" WHERE t.relnamespace = 'public'::regnamespace AND t.relname IN ({names})"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);",
        "SELECT format('DROP INDEX %s', name) FROM seed_indexes \\gexec",
        "SET LOCAL maintenance_work_mem = '64MB';",
        # The rows are consistent by construction: skip the foreign key checks while loading.
        "SET LOCAL session_replication_role = replica;",
        "SET ROLE opsbook;",
        seed.read_text(encoding="utf-8"),
        "RESET ROLE;",
        "SET LOCAL session_replication_role = origin;",
        "SELECT definition FROM seed_indexes \\gexec",
    ]
    lines += [f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table};"
              for table in SERIAL_TABLES if table in tables]
    lines += [f"ANALYZE {table};" for table in tables]
    return lines
