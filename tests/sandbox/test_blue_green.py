"""The proxy in front of the app's two slots (sandbox/proxy): traffic moves from one release to
another with no request failing for the synthetic users, and never to a slot that fails its
health check. What users saw is the traffic generator's own count of answers."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from opsbook.sandbox import Sandbox
from tests.support.waiting import eventually

pytestmark = pytest.mark.sandbox


def container(sandbox: Sandbox, service: str) -> str:
    return next(s.container for s in sandbox.status() if s.service == service and s.container)


def answers(sandbox: Sandbox) -> dict[str, int]:
    """The synthetic users' answers since the traffic generator started, by status."""
    done = subprocess.run(["docker", "exec", container(sandbox, "traffic"), "cat", "/tmp/answers.json"],
                          capture_output=True, text=True, check=True)
    return {key: int(count) for key, count in json.loads(done.stdout).items()}


def failures(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Answers that users would call an error: 5xx, refused connections, timeouts."""
    return {key: after[key] - before.get(key, 0) for key in after
            if (key.startswith("5") or not key.isdigit()) and after[key] > before.get(key, 0)}


def slot(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "exec", container(sandbox, "proxy"), "slot", *args],
                          capture_output=True, text=True, timeout=120)


def health(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url + "/api/health", timeout=5) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        return dict(json.loads(exc.read() or b"{}"))
    except OSError:
        return {}


def start_green(env: dict[str, str], version: str) -> None:
    """The green slot on `version`, answering (healthy or not), out of traffic."""
    subprocess.run(["bash", "-c", '$COMPOSE up -d --no-deps app-green'], check=True, capture_output=True,
                   env={**env, "APP_GREEN_VERSION": version}, timeout=120)
    assert eventually(lambda: health(env["APP_GREEN_URL"]).get("version") == version, timeout=60), \
        f"app-green never answered as {version}"


@pytest.fixture(scope="module")
def proxy_env(sandbox: Sandbox) -> Iterator[dict[str, str]]:
    """Each test leaves blue live; the green slot is put back on the default release (and every
    other trace removed) by one reset after the module."""
    yield {**os.environ, **sandbox.env()}
    sandbox.reset()


def test_traffic_moves_to_a_new_release_and_back_and_no_user_request_fails(
        sandbox: Sandbox, proxy_env: dict[str, str]) -> None:
    start_green(proxy_env, "1.1.0")
    before = answers(sandbox)
    switched = slot(sandbox, "switch", "green")
    assert switched.returncode == 0, switched.stderr
    assert "live slot: green" in switched.stdout
    live = health(proxy_env["APP_URL"])
    assert (live["version"], live["slot"]) == ("1.1.0", "green")
    time.sleep(3)  # users on the new release for a while
    assert slot(sandbox, "switch", "blue").returncode == 0
    assert health(proxy_env["APP_URL"])["version"] == "1.0.0"
    time.sleep(2)
    after = answers(sandbox)
    assert sum(after.values()) - sum(before.values()) >= 15, "the synthetic users sent (almost) nothing"
    assert failures(before, after) == {}, "users got errors while traffic moved between the slots"


def test_a_slot_that_fails_its_health_check_never_takes_traffic(sandbox: Sandbox, proxy_env: dict[str, str]) -> None:
    start_green(proxy_env, "broken")
    before = answers(sandbox)
    refused = slot(sandbox, "switch", "green", "4")
    assert refused.returncode == 1
    assert "green did not pass its health check within 4 s; traffic stays on blue" in refused.stderr
    status = slot(sandbox, "status").stdout
    assert "blue (live): UP" in status and "green: MAINT" in status
    assert health(proxy_env["APP_URL"])["version"] == "1.0.0"
    assert failures(before, answers(sandbox)) == {}
