"""Client traffic for the sandbox, one mode per process.

  synthetic         steady users: list agents, enqueue jobs, poll job status (RATE requests/s)
  attack            replay a wrong API token against the write API (ATTACK_RATE requests/s)
  leak-connections  open database connections, keep them idle in transaction, never give them back
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any

from sandboxlib.http import setup_logging, stop_on_signal

log = logging.getLogger("traffic")
APP = os.environ.get("APP_INTERNAL_URL", "http://app:8000")
STOP = threading.Event()
HEARTBEAT = Path("/tmp/heartbeat")


def beat() -> None:
    HEARTBEAT.touch()


def call(method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(APP + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError:
        return 0, None


def synthetic() -> None:
    token = os.environ["APP_API_TOKEN"]
    rate = float(os.environ.get("RATE", "4"))
    recent: deque[str] = deque(maxlen=20)
    counts: dict[int, int] = {}
    last_report = time.monotonic()
    while not STOP.is_set():
        started = time.monotonic()
        roll = random.random()
        if roll < 0.3:
            status, _ = call("GET", "/api/agents")
        elif roll < 0.5:
            status, body = call("POST", "/api/jobs", {"kind": "echo", "payload": {"n": random.randint(1, 1000)}}, token)
            if status == 202 and body:
                recent.append(body["id"])
        elif roll < 0.9 and recent:
            status, _ = call("GET", f"/api/jobs/{random.choice(recent)}")
        else:
            status, _ = call("GET", "/api/version")
        counts[status] = counts.get(status, 0) + 1
        beat()
        if time.monotonic() - last_report > 60:
            log.info("last minute: %s", ", ".join(f"{k or 'refused'}={v}" for k, v in sorted(counts.items())))
            counts.clear()
            last_report = time.monotonic()
        STOP.wait(max(0.0, 1.0 / rate - (time.monotonic() - started)))


def attack() -> None:
    rate = float(os.environ.get("ATTACK_RATE", "20"))
    leaked = os.environ.get("LEAKED_TOKEN", "revoked-" + os.urandom(8).hex())
    log.info("replaying a leaked API token at %.0f requests/s", rate)
    while not STOP.is_set():
        started = time.monotonic()
        call("POST", "/api/agents", {"name": "exfil"}, leaked)
        beat()
        STOP.wait(max(0.0, 1.0 / rate - (time.monotonic() - started)))


def leak_connections() -> None:
    import psycopg2

    from sandboxlib.settings import database_dsn

    held: list[Any] = []
    dsn = database_dsn()
    refused = ""
    while not STOP.is_set():
        try:
            conn = psycopg2.connect(dsn)
            cur = conn.cursor()
            cur.execute("BEGIN; SELECT count(*) FROM agents")  # idle in transaction from here on
            held.append(conn)
            refused = ""
            continue
        except psycopg2.Error as exc:
            message = str(exc).strip().splitlines()[0]
            if message != refused:
                log.info("holding %d connections; the server refuses more: %s", len(held), message)
                refused = message
        held = [c for c in held if not c.closed]
        beat()
        STOP.wait(2)


def main() -> int:
    setup_logging("traffic")
    mode = sys.argv[1] if len(sys.argv) > 1 else "synthetic"
    modes = {"synthetic": synthetic, "attack": attack, "leak-connections": leak_connections}
    if mode not in modes:
        print(f"unknown mode {mode!r}; one of {', '.join(modes)}", file=sys.stderr)
        return 2
    stop_on_signal(STOP.set)
    beat()
    modes[mode]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
