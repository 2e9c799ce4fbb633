"""The sandbox's Prometheus copy is the production monitoring/ with time sped up, nothing else."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from opsbook.sandbox import Sandbox
from opsbook.sandbox.monitoring import (
    derive,
    derive_expr,
    derive_prometheus_config,
    derive_rule_file,
    format_duration,
    parse_duration,
    scale,
    source_rule_files,
)

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "monitoring" / "prometheus"
_DURATION = r"\d+(?:ms|y|w|d|h|m|s)(?:\d+(?:ms|y|w|d|h|m|s))*"


@pytest.mark.parametrize(("text", "ms"), [("5m", 300_000), ("1h30m", 5_400_000), ("500ms", 500), ("1w", 604_800_000),
                                          ("2h", 7_200_000), ("0s", 0)])
def test_durations_read_and_write_as_prometheus_writes_them(text: str, ms: int) -> None:
    assert parse_duration(text) == ms
    assert parse_duration(format_duration(ms)) == ms


def test_a_production_minute_is_a_sandbox_second_with_a_five_second_floor() -> None:
    assert scale("5m", 5000) == "5s"
    assert scale("10m", 5000) == "10s"
    assert scale("2h", 5000) == "2m"
    assert scale("1m", 5000) == "5s"  # floor: five scrapes
    assert scale("1w") == "2h48m"
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        scale("5 minutes")


def test_expressions_scale_ranges_subqueries_and_offsets_only() -> None:
    expr = ('sum(rate(x{route!~"/a[5m]|b"}[5m])) / sum(rate(x[1h] offset 1w))'
            ' > 0.05 and max_over_time(y[30m:1m]) > 2 # window [10m] in a comment')
    assert derive_expr(expr) == ('sum(rate(x{route!~"/a[5m]|b"}[5s])) / sum(rate(x[1m] offset 2h48m))'
                                 ' > 0.05 and max_over_time(y[30s:1s]) > 2 # window [10m] in a comment')
    assert derive_expr("rate(x[1m])") == "rate(x[5s])"
    assert derive_expr("x > 26 * 3600") == "x > 26 * 3600"  # numbers are thresholds, even in seconds


def _without_durations(expr: str) -> str:
    return re.sub(_DURATION, "D", expr)


def test_the_derived_copy_is_the_transformation_of_the_source(tmp_path: Path) -> None:
    copy = derive(SOURCE, tmp_path / "prometheus")
    assert [p.name for p in copy.rule_files] == [p.name for p in source_rule_files(SOURCE)]
    for path in source_rule_files(SOURCE):
        source = yaml.safe_load(path.read_text())
        derived = yaml.safe_load((copy.directory / "alerts" / path.name).read_text())
        assert derived == derive_rule_file(source), path.name
        pairs = [(s, d) for sg, dg in zip(source["groups"], derived["groups"]) for s, d in zip(sg["rules"], dg["rules"])]
        assert len(pairs) == sum(len(g["rules"]) for g in source["groups"])
        for production, sandbox in pairs:
            name = production["alert"]
            # Thresholds, matchers, labels and annotations are the production ones.
            assert _without_durations(sandbox["expr"]) == _without_durations(production["expr"]), name
            assert sandbox["labels"] == production["labels"], name
            assert sandbox["annotations"] == production["annotations"], name
            if "for" in production:
                expected = max(parse_duration(production["for"]) // 60, 5000)
                assert parse_duration(sandbox["for"]) == expected, name
            for window in re.findall(r"\[(" + _DURATION + r")\]", sandbox["expr"]):
                assert parse_duration(window) >= 5000, f"{name}: window [{window}] under five scrapes"
    config = yaml.safe_load(copy.config.read_text())
    assert config == derive_prometheus_config(yaml.safe_load((SOURCE / "prometheus.yml").read_text()))
    assert config["global"]["scrape_interval"] == config["global"]["evaluation_interval"] == "1s"
    assert config["global"]["external_labels"]["environment"] == "sandbox"


def test_production_files_carry_production_timings() -> None:
    config = yaml.safe_load((SOURCE / "prometheus.yml").read_text())
    assert parse_duration(config["global"]["scrape_interval"]) >= 10_000
    for path in source_rule_files(SOURCE):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    assert parse_duration(rule["for"]) >= 60_000, f"{rule['alert']}: for {rule['for']} is a sandbox value"


def test_a_rule_deleted_from_the_source_leaves_the_copy(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(SOURCE, source)
    target = tmp_path / "copy"
    derive(source, target)
    (source / "alerts" / "business.rules.yml").unlink()
    derive(source, target)
    assert not (target / "alerts" / "business.rules.yml").exists()
    assert (target / "alerts" / "critical.rules.yml").exists()


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (Debian package prometheus)")
def test_promtool_accepts_the_derived_copy(tmp_path: Path) -> None:
    copy = derive(SOURCE, tmp_path / "prometheus")
    done = subprocess.run(["promtool", "check", "config", str(copy.config)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(copy.rule_files)} rule files found" in done.stdout, done.stdout


def test_compose_mounts_the_copy_the_driver_writes() -> None:
    box = Sandbox(ROOT, "opsbook-definitions")
    volumes = box.compose_spec()["services"]["prometheus"]["volumes"]
    mount = next(v for v in volumes if v.endswith(":/etc/prometheus:ro"))
    assert mount.split(":/etc/prometheus")[0].replace("${COMPOSE_PROJECT_NAME:?", "").startswith("./.state/")
    assert box.monitoring_dir == ROOT / "sandbox" / ".state" / "opsbook-definitions" / "prometheus"
