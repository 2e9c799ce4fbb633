"""Client traffic for the sandbox, one mode per process.

  synthetic         steady users (RATE requests/s): agents read and created, signups, jobs (echo and
                    crm_sync) enqueued and polled; sent on a clock, so a slow answer does not slow the
                    arrivals (at most MAX_IN_FLIGHT requests wait at once)
  attack            replay a wrong API token against the write API (ATTACK_RATE requests/s)
  flood             one client reading the agents list far beyond its rate limit (FLOOD_RATE requests/s)
  scan-admin        a valid, non-admin API token probing the admin routes (SCAN_RATE requests/s)
  leak-connections  open database connections (LEAK_MAX of them, or all it can), keep them idle in
                    transaction, never give them back
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
import uuid
from collections import deque
from pathlib import Path
from typing import Any, Callable

from sandboxlib.http import setup_logging, stop_on_signal

log = logging.getLogger("traffic")
APP = os.environ.get("APP_INTERNAL_URL", "http://app:8000")
STOP = threading.Event()
HEARTBEAT = Path("/tmp/heartbeat")


def beat() -> None:
    HEARTBEAT.touch()


def call(method: str, path: str, body: Any = None, token: str | None = None, timeout: float = 5) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(APP + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError:
        return 0, None


# One cycle of the synthetic users, RATE requests a second; each kind spread evenly over the cycle,
# so every few seconds of it carry every kind (rates over 5 s windows never see a gap).
# Per 20 requests: 10 on agents (2 lists, 6 reads, 2 creations), 1 signup (the app queues its
# crm_sync), 5 jobs enqueued (3 echo, 2 crm_sync), 3 job status polls, 1 version.
CYCLE = ("list_agents", "get_agent", "enqueue_echo", "get_agent", "job_status",
         "create_agent", "crm_sync", "get_agent", "signup", "job_status",
         "list_agents", "get_agent", "enqueue_echo", "get_agent", "job_status",
         "create_agent", "crm_sync", "get_agent", "enqueue_echo", "version")
# Longer than the app's statement timeout (5 s) plus its pool wait (2 s): a slow answer is measured
# by the app, not cut short by the client.
SYNTHETIC_TIMEOUT = 15.0


class SyntheticUsers:
    """What the synthetic users remember between requests: recent agents and jobs."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.agents: deque[int] = deque(maxlen=50)
        self.jobs: deque[str] = deque(maxlen=20)
        self._lock = threading.Lock()

    def _pick(self, items: deque[Any]) -> Any:
        with self._lock:
            return random.choice(items) if items else None

    def _remember(self, items: deque[Any], value: Any) -> None:
        with self._lock:
            items.append(value)

    def request(self, kind: str) -> int:
        if kind == "list_agents":
            return call("GET", "/api/agents", timeout=SYNTHETIC_TIMEOUT)[0]
        if kind == "get_agent":
            agent = self._pick(self.agents)
            if agent is None:
                return call("GET", "/api/agents", timeout=SYNTHETIC_TIMEOUT)[0]
            return call("GET", f"/api/agents/{agent}", timeout=SYNTHETIC_TIMEOUT)[0]
        if kind == "create_agent":
            status, body = call("POST", "/api/agents", {"name": f"agent-{random.randint(1, 10**6)}",
                                                        "owner": random.choice(("platform", "data", "web"))},
                                self.token, timeout=SYNTHETIC_TIMEOUT)
            if status == 201 and body:
                self._remember(self.agents, body["id"])
            return status
        if kind == "signup":
            email = f"user-{uuid.uuid4().hex[:12]}@example.com"
            return call("POST", "/api/signups", {"email": email}, timeout=SYNTHETIC_TIMEOUT)[0]
        if kind in ("enqueue_echo", "crm_sync"):
            job: dict[str, Any] = {"kind": "echo", "agent_id": self._pick(self.agents),
                                   "payload": {"n": random.randint(1, 1000)}}
            if kind == "crm_sync":  # a customer updated their profile: the CRM must hear of it
                job = {"kind": "crm_sync", "payload": {"email": f"user-{random.randint(1, 500)}@example.com",
                                                       "event": "profile_update"}}
            status, body = call("POST", "/api/jobs", job, self.token, timeout=SYNTHETIC_TIMEOUT)
            if status == 202 and body:
                self._remember(self.jobs, body["id"])
            return status
        if kind == "job_status":
            job_id = self._pick(self.jobs)
            if job_id is not None:
                return call("GET", f"/api/jobs/{job_id}", timeout=SYNTHETIC_TIMEOUT)[0]
        return call("GET", "/api/version", timeout=SYNTHETIC_TIMEOUT)[0]


ANSWERS_FILE = Path("/tmp/answers.json")


def on_clock(rate: float, send: Callable[[int], int], max_in_flight: int) -> None:
    """Call send(n) for n = 0, 1, 2 ... at `rate` per second, each in its own thread, until STOP;
    log a count of answers by status every minute, and keep the counts since start in
    ANSWERS_FILE (what users saw: `cat /tmp/answers.json` in the container). A tick with
    `max_in_flight` requests already waiting is skipped (and counted as `skipped`)."""
    slots = threading.BoundedSemaphore(max_in_flight)
    counts: dict[str, int] = {}
    total: dict[str, int] = {}
    counts_lock = threading.Lock()

    def count(key: str) -> None:
        with counts_lock:
            counts[key] = counts.get(key, 0) + 1
            total[key] = total.get(key, 0) + 1
            if key.startswith("5") or not key.isdigit():
                log.warning("answer %s", key)
            ANSWERS_FILE.with_suffix(".tmp").write_text(json.dumps(total, sort_keys=True))
            ANSWERS_FILE.with_suffix(".tmp").replace(ANSWERS_FILE)

    def one(n: int) -> None:
        try:
            status = send(n)
            count(str(status or "refused"))
        except Exception as exc:  # a bug in one request must not stop the traffic
            count(type(exc).__name__)
        finally:
            slots.release()

    started = last_report = time.monotonic()
    n = 0
    while not STOP.is_set():
        if slots.acquire(blocking=False):
            threading.Thread(target=one, args=(n,), daemon=True).start()
        else:
            count("skipped")
        beat()
        n += 1
        if time.monotonic() - last_report > 60:
            with counts_lock:
                summary = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
                counts.clear()
            log.info("last minute: %s", summary)
            last_report = time.monotonic()
        STOP.wait(max(0.0, started + n / rate - time.monotonic()))


def synthetic() -> None:
    users = SyntheticUsers(os.environ["APP_API_TOKEN"])
    rate = float(os.environ.get("RATE", "4"))
    log.info("synthetic users: %.1f requests/s", rate)
    on_clock(rate, lambda n: users.request(CYCLE[n % len(CYCLE)]), int(os.environ.get("MAX_IN_FLIGHT", "40")))


def one_by_one(rate: float, send: Callable[[int], Any]) -> None:
    """Call send(0), send(1) ... one after the other, at most `rate` a second, until STOP: a client
    in a tight loop, on one connection at a time."""
    n = 0
    while not STOP.is_set():
        started = time.monotonic()
        send(n)
        beat()
        n += 1
        STOP.wait(max(0.0, 1.0 / rate - (time.monotonic() - started)))


def attack() -> None:
    rate = float(os.environ.get("ATTACK_RATE", "20"))
    leaked = os.environ.get("LEAKED_TOKEN", "revoked-" + os.urandom(8).hex())
    log.info("replaying a leaked API token at %.0f requests/s", rate)
    one_by_one(rate, lambda _n: call("POST", "/api/agents", {"name": "exfil"}, leaked))


def flood() -> None:
    """A runaway client: one address reading the agents list far faster than its budget allows."""
    rate = float(os.environ.get("FLOOD_RATE", "60"))
    log.info("flooding GET /api/agents at %.0f requests/s from one client", rate)
    one_by_one(rate, lambda _n: call("GET", "/api/agents"))


ADMIN_PROBES = (("GET", "/api/admin/users"), ("DELETE", "/api/admin/users/1"), ("GET", "/api/admin/users"),
                ("DELETE", "/api/admin/users/2"))


def scan_admin() -> None:
    """A valid (non-admin) API token walking the admin routes: every probe is refused with 403."""
    token = os.environ["APP_API_TOKEN"]
    rate = float(os.environ.get("SCAN_RATE", "5"))
    log.info("probing the admin routes with a non-admin API token at %.0f requests/s", rate)
    one_by_one(rate, lambda n: call(*ADMIN_PROBES[n % len(ADMIN_PROBES)], token=token))


def leak_connections() -> None:
    import psycopg2

    from sandboxlib.settings import database_dsn

    held: list[Any] = []
    dsn = database_dsn()
    refused = ""
    most = int(os.environ.get("LEAK_MAX", "0")) or None  # 0: as many as the server gives
    while not STOP.is_set():
        if most is not None and len(held) >= most:
            beat()
            STOP.wait(2)
            continue
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
    modes = {"synthetic": synthetic, "attack": attack, "flood": flood, "scan-admin": scan_admin,
             "leak-connections": leak_connections}
    if mode not in modes:
        print(f"unknown mode {mode!r}; one of {', '.join(modes)}", file=sys.stderr)
        return 2
    stop_on_signal(STOP.set)
    beat()
    modes[mode]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
