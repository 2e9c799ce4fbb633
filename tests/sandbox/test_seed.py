"""Which template of the sandbox's data volume a reset copies: a new one whenever the seed or a
migration changes, and every day (the rows are dated from the day they were made)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from opsbook.sandbox.seed import SEED_TABLES, seed_key, seed_script, template_name


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


def test_the_script_generates_the_rows_without_their_indexes_and_rebuilds_them(tmp_path: Path) -> None:
    migrations, seed = files(tmp_path)
    script = "\n".join(seed_script(seed))
    dropped, built = script.index("DROP INDEX"), script.index("SELECT definition FROM seed_indexes")
    assert dropped < script.index("INSERT INTO agents DEFAULT VALUES;") < built
    for table in SEED_TABLES:
        assert f"ANALYZE {table};" in script[built:]
    assert template_name(seed_key(migrations, seed, date(2026, 12, 3))).startswith("opsbook_seed_")
