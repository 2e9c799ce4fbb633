"""The sandbox's copy of monitoring/prometheus, derived mechanically from the production files.

monitoring/ holds the platform's production windows, `for:` durations and thresholds. The sandbox
cannot wait five minutes for an alert, so it runs a copy in which time is 60 times faster:

- every duration in a rule — `for:`, `keep_firing_for:`, a group's `interval:`, range selectors
  `[5m]`, subqueries `[30m:1m]` and `offset 1w` — is divided by 60 (a production minute is a
  sandbox second); a range selector, `for:` or `keep_firing_for:` shorter than 5 s becomes 5 s
  (five 1-second scrapes: enough samples for `rate()` and no firing on a single missed scrape);
  a subquery step is at least 1 s;
- scrape and evaluation intervals are 1 s (scrape timeout 1 s), the external label `environment`
  is `sandbox`;
- nothing else changes: thresholds, label matchers, labels and annotations are the production
  ones. A number in an expression stays a number, even when it means seconds (`time() - x >
  26 * 3600`): a fault must then create the real symptom (a backup really 26 hours old).

`derive()` writes the copy; tests compare it with `derive_rule_file()` of the source.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from opsbook.errors import SandboxError

SPEEDUP = 60
MIN_WINDOW_MS = 5_000
MIN_STEP_MS = 1_000
SANDBOX_INTERVAL = "1s"
RULE_FILE_GLOB = "*.rules.yml"
_UNITS_MS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000,
             "s": 1_000, "ms": 1}
_DURATION = re.compile(r"^(?:\d+(?:ms|y|w|d|h|m|s))+$")
_DURATION_PART = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
_OFFSET = re.compile(r"\boffset(\s+)(-?)((?:\d+(?:ms|y|w|d|h|m|s))+)")
_HEADER = ("# Derived by opsbook from {source}: do not edit (edit the source; `opsbook sandbox up`\n"
           "# or a reset writes this again). Durations / {speedup}, windows at least 5 s, thresholds unchanged.\n")


def parse_duration(text: str) -> int:
    """A Prometheus duration (`1h30m`, `90s`, `500ms`) in milliseconds."""
    text = str(text).strip()
    if not _DURATION.match(text):
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNITS_MS[unit] for n, unit in _DURATION_PART.findall(text))


def format_duration(ms: int) -> str:
    """Milliseconds as the shortest Prometheus duration (`90000` → `1m30s`)."""
    if ms == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s", "ms"):
        size = _UNITS_MS[unit]
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(parts)


def scale(text: str, floor_ms: int = 0) -> str:
    """One production duration as the sandbox's: divided by SPEEDUP, at least `floor_ms`."""
    ms = parse_duration(text)
    return format_duration(max(ms // SPEEDUP, floor_ms) if ms else 0)


def derive_expr(expr: str) -> str:
    """A PromQL expression with its range selectors, subqueries and offsets scaled.

    String literals and comments are copied untouched, so a `[5m]` inside a label matcher's
    regular expression is not a duration."""
    out: list[str] = []
    code: list[str] = []
    i = 0

    def flush() -> None:
        out.append(_scale_code("".join(code)))
        code.clear()

    while i < len(expr):
        char = expr[i]
        if char in "\"'`":
            flush()
            end = _string_end(expr, i)
            out.append(expr[i:end])
            i = end
        elif char == "#":
            flush()
            end = expr.find("\n", i)
            end = len(expr) if end < 0 else end
            out.append(expr[i:end])
            i = end
        else:
            code.append(char)
            i += 1
    flush()
    return "".join(out)


def _string_end(expr: str, start: int) -> int:
    quote = expr[start]
    i = start + 1
    while i < len(expr):
        if expr[i] == "\\" and quote != "`":
            i += 2
            continue
        if expr[i] == quote:
            return i + 1
        i += 1
    return len(expr)  # unterminated: promtool reports it; copy the rest as it is


_BRACKET = re.compile(r"\[\s*([0-9a-z]+)\s*(?::\s*([0-9a-z]*)\s*)?\]")


def _scale_code(code: str) -> str:
    def brackets(match: re.Match[str]) -> str:
        window, step = match.group(1), match.group(2)
        if not _DURATION.match(window):
            return match.group(0)  # a vector index or something promtool rejects anyway
        scaled = f"[{scale(window, MIN_WINDOW_MS)}"
        if step is not None:
            scaled += ":" + (scale(step, MIN_STEP_MS) if step else "")
        return scaled + "]"

    def offset(match: re.Match[str]) -> str:
        return f"offset{match.group(1)}{match.group(2)}{scale(match.group(3))}"

    return _OFFSET.sub(offset, _BRACKET.sub(brackets, code))


def derive_rule_file(document: dict[str, Any]) -> dict[str, Any]:
    """A parsed rule file (`groups:`) as the sandbox runs it."""
    groups = []
    for group in document.get("groups") or []:
        group = dict(group)
        if "interval" in group:
            group["interval"] = scale(group["interval"], MIN_STEP_MS)
        rules = []
        for rule in group.get("rules") or []:
            rule = dict(rule)
            if "expr" in rule:
                rule["expr"] = derive_expr(str(rule["expr"]))
            for key in ("for", "keep_firing_for"):
                if key in rule:
                    rule[key] = scale(rule[key], MIN_WINDOW_MS)
            rules.append(rule)
        group["rules"] = rules
        groups.append(group)
    return {**document, "groups": groups}


def derive_prometheus_config(document: dict[str, Any]) -> dict[str, Any]:
    """prometheus.yml as the sandbox runs it: 1 s intervals, environment=sandbox."""
    config = dict(document)
    global_ = dict(config.get("global") or {})
    global_.update(scrape_interval=SANDBOX_INTERVAL, scrape_timeout=SANDBOX_INTERVAL,
                   evaluation_interval=SANDBOX_INTERVAL)
    global_["external_labels"] = {**(global_.get("external_labels") or {}), "environment": "sandbox"}
    config["global"] = global_
    jobs = []
    for job in config.get("scrape_configs") or []:
        job = dict(job)
        for key in ("scrape_interval", "scrape_timeout"):
            if key in job:
                job[key] = SANDBOX_INTERVAL
        jobs.append(job)
    config["scrape_configs"] = jobs
    return config


@dataclass(frozen=True)
class DerivedCopy:
    """What derive() wrote: the config and one file per rule file."""

    directory: Path
    config: Path
    rule_files: tuple[Path, ...]


def source_rule_files(source: Path) -> list[Path]:
    return sorted((source / "alerts").glob(RULE_FILE_GLOB))


def derive(source: Path, target: Path) -> DerivedCopy:
    """Write the sandbox copy of `source` (monitoring/prometheus) into `target`.

    Each file is replaced whole (written beside it, then renamed), and derived rule files whose
    source is gone are removed, so Prometheus never reads half a file or a deleted rule."""
    config_path = source / "prometheus.yml"
    rule_paths = source_rule_files(source)
    if not rule_paths:
        raise SandboxError(f"{source / 'alerts'}: no rule files ({RULE_FILE_GLOB})")
    (target / "alerts").mkdir(parents=True, exist_ok=True)
    written = [_write(target / "prometheus.yml", derive_prometheus_config(_load(config_path)), config_path, source)]
    rules = [_write(target / "alerts" / path.name, derive_rule_file(_load(path)), path, source) for path in rule_paths]
    keep = {path.name for path in rules}
    for stale in (target / "alerts").glob(RULE_FILE_GLOB):
        if stale.name not in keep:
            stale.unlink()
    return DerivedCopy(target, written[0], tuple(rules))


def _load(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SandboxError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(document, dict):
        raise SandboxError(f"{path}: expected a mapping at the top")
    return document


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (expressions, descriptions) as `|` blocks, as they are written in the source."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _write(path: Path, document: dict[str, Any], source: Path, root: Path) -> Path:
    label = f"monitoring/prometheus/{source.relative_to(root)}"
    text = _HEADER.format(source=label, speedup=SPEEDUP) + yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)  # Prometheus runs as nobody
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

