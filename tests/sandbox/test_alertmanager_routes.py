"""Alertmanager's routing tree, checked by Alertmanager's own amtool: the config rendered with
monitoring/.env.example (and with the sandbox's values) passes `amtool check-config`, and every
severity and every category reaches exactly the receivers the routing contract names."""

from __future__ import annotations

import shlex
import subprocess
from itertools import product
from pathlib import Path

import pytest

from opsbook.sandbox import Sandbox
from tests.support.alertmanager import ALERTMANAGER, TEMPLATE, example_env, expected_receivers, render, sandbox_env

pytestmark = pytest.mark.sandbox
ROOT = Path(__file__).resolve().parents[2]
IMAGE = "opsbook-sandbox/monitoring"

SEVERITIES = ("critical", "major", "warning")
CATEGORIES = ("critical", "major", "warning", "business", "security", "infrastructure")

CASES: list[dict[str, str]] = [
    {"alertname": "Synthetic", "severity": severity, "category": category, "service": "app"}
    for severity, category in product(SEVERITIES, CATEGORIES)
] + [
    {"alertname": "NoLabels"},
    {"alertname": "UnknownSeverity", "severity": "info", "service": "app"},
    {"alertname": "SecurityWithoutSeverity", "category": "security"},
    {"alertname": "BusinessWithoutSeverity", "category": "business", "service": "crm"},
]


@pytest.fixture(scope="module")
def amtool_results(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One container runs every amtool command (a container per case would cost a second each):
    `check-config` on both renderings, then `config routes test` per case. The sandbox fixture is
    there for the image: it builds opsbook-sandbox/monitoring."""
    work = tmp_path_factory.mktemp("amtool")
    work.chmod(0o755)  # amtool runs as nobody in the container
    for name, env in (("example", example_env()), ("sandbox", sandbox_env())):
        done = render(TEMPLATE, work / f"{name}.yml", env)
        assert done.returncode == 0, done.stderr
    lines = [f"echo '=== check {name}'; amtool check-config /work/{name}.yml 2>&1; echo \"=== exit $?\""
             for name in ("example", "sandbox")]
    for index, labels in enumerate(CASES):
        args = " ".join(shlex.quote(f"{k}={v}") for k, v in labels.items())
        lines.append(f"echo \"=== case {index} $(amtool config routes test --config.file=/work/example.yml {args} "
                     f"2>/dev/null)\"")
    done = subprocess.run(["docker", "run", "--rm", "--network", "none", "-v", f"{ALERTMANAGER}:/etc/alertmanager:ro",
                           "-v", f"{work}:/work:ro", "--entrypoint", "sh", IMAGE, "-c", "\n".join(lines)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    results: dict[str, str] = {}
    current = None
    for line in done.stdout.splitlines():
        if line.startswith("=== check "):
            current = line.removeprefix("=== check ")
            results[current] = ""
        elif line.startswith("=== exit "):
            results[f"{current} exit"] = line.removeprefix("=== exit ")
        elif line.startswith("=== case "):
            index, _, receivers = line.removeprefix("=== case ").partition(" ")
            results[f"case {index}"] = receivers.strip()
        elif current is not None:
            results[current] += line + "\n"
    return results


@pytest.mark.parametrize("rendering", ["example", "sandbox"])
def test_the_rendered_config_passes_amtool_check_config(amtool_results: dict[str, str], rendering: str) -> None:
    assert amtool_results[f"{rendering} exit"] == "0", amtool_results[rendering]
    assert "SUCCESS" in amtool_results[rendering]
    assert "5 receivers" in amtool_results[rendering] and "4 inhibit rules" in amtool_results[rendering]


@pytest.mark.parametrize("index", range(len(CASES)),
                         ids=[" ".join(f"{k}={v}" for k, v in c.items() if k != "alertname") or "no-labels"
                              for c in CASES])
def test_each_label_set_reaches_exactly_its_receivers(amtool_results: dict[str, str], index: int) -> None:
    labels = CASES[index]
    reached = amtool_results[f"case {index}"].split(",")
    assert len(reached) == len(set(reached)), f"a receiver is notified twice: {reached}"
    assert set(reached) == expected_receivers(labels), f"{labels} reached {reached}"
