"""Which saved copy of the sandbox's data volume a reset loads: a new one whenever the seed or a
migration changes, and every day (the rows are dated from the day they were made)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from opsbook.sandbox.seed import SEED_TABLES, seed_key, seed_script


def files(tmp_path: Path, migration: str = "CREATE TABLE agents (id bigserial);") -> tuple[list[Path], Path]:
    (tmp_path / "0001_agents.sql").write_text(migration)
    (tmp_path / "platform.sql").write_text("INSERT INTO agents DEFAULT VALUES;")
    return [tmp_path / "0001_agents.sql"], tmp_path / "platform.sql"


def test_a_changed_migration_or_a_new_day_means_a_new_copy(tmp_path: Path) -> None:
    migrations, seed = files(tmp_path)
    today = date(2026, 12, 3)
    key = seed_key(migrations, seed, today)
    assert seed_key(migrations, seed, today) == key
    assert seed_key(migrations, seed, date(2026, 12, 4)) != key
    migrations, seed = files(tmp_path, "CREATE TABLE agents (id bigserial, name text);")
    assert seed_key(migrations, seed, today) != key


def test_the_script_loads_the_copy_when_saved_and_saves_it_otherwise(tmp_path: Path) -> None:
    migrations, seed = files(tmp_path)
    lines = seed_script(seed, "abc123")
    saved, generated = "\n".join(lines).split("\\else")
    for table in SEED_TABLES:
        assert f"COPY {table} FROM '/var/lib/postgresql/seed/abc123/{table}.copy'" in saved
        assert f"COPY {table} TO '/var/lib/postgresql/seed/abc123/{table}.copy'" in generated
    assert "INSERT INTO agents DEFAULT VALUES;" in generated and "INSERT INTO agents" not in saved
