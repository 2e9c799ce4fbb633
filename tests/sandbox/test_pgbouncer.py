"""PgBouncer in the sandbox (sandbox/pgbouncer): every app and worker connection goes through
it, the app's statement timeout still holds there (transaction mode: SET LOCAL), and a pool
resized at run time is back to its configured size after a reset."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from opsbook.sandbox import Sandbox
from tests.support.waiting import eventually

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def env(sandbox: Sandbox) -> Iterator[dict[str, str]]:
    yield sandbox.env()
    sandbox.reset()


def console(env: dict[str, str], command: str) -> list[dict[str, str]]:
    """Rows of PgBouncer's admin console, by column name."""
    done = subprocess.run(["psql", env["PGBOUNCER_ADMIN_URL"], "-XA", "-F", "\t", "-P", "footer=off", "-c", command],
                          capture_output=True, text=True, check=True, timeout=30)
    header, *rows = done.stdout.splitlines()
    names = header.split("\t")
    return [dict(zip(names, row.split("\t"))) for row in rows]


def sql(env: dict[str, str], query: str) -> list[list[str]]:
    done = subprocess.run(["psql", env["DATABASE_ADMIN_URL"], "-XAt", "-F", "\t", "-c", query],
                          capture_output=True, text=True, check=True, timeout=30)
    return [line.split("\t") for line in done.stdout.splitlines()]


def address(sandbox: Sandbox, service: str) -> str:
    container = next(s.container for s in sandbox.status() if s.service == service and s.container)
    done = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                           container], capture_output=True, text=True, check=True)
    return done.stdout.split()[0]


def get(url: str, timeout: float = 30) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_every_app_and_worker_connection_goes_through_pgbouncer(sandbox: Sandbox, env: dict[str, str]) -> None:
    assert get(env["APP_URL"] + "/api/agents")[0] == 200
    pooler = address(sandbox, "pgbouncer")
    clients = console(env, "SHOW CLIENTS")
    by_application = {c["application_name"] for c in clients if c["database"] == "opsbook"}
    assert {"app", "worker"} <= by_application, f"PgBouncer's clients: {clients}"
    app_addresses = {address(sandbox, "app"), address(sandbox, "worker")}
    assert app_addresses <= {c["addr"] for c in clients}, "the app and the worker are PgBouncer's clients"
    pool = next(p for p in console(env, "SHOW POOLS") if p["database"] == "opsbook" and p["user"] == "opsbook")
    assert int(pool["cl_active"]) + int(pool["cl_waiting"]) >= 2, pool
    # On PostgreSQL's side, every session of the app or the worker comes from the pooler.
    sessions = sql(env, "select application_name, host(client_addr) from pg_stat_activity"
                        " where application_name in ('app', 'worker')")
    assert sessions, "the app's and the worker's sessions are in pg_stat_activity"
    direct = [s for s in sessions if s[1] != pooler]
    assert not direct, f"sessions of the app or worker that bypass PgBouncer ({pooler}): {direct}"
    assert not set(s[1] for s in sessions) & app_addresses


def test_the_apps_statement_timeout_holds_through_the_pooler(sandbox: Sandbox, env: dict[str, str]) -> None:
    """A query waiting on a lock is cancelled by the app's 5 s statement timeout (set per
    transaction: PgBouncer drops a connection's startup options) and answered 503, while the
    lock is still held."""
    locker = subprocess.Popen(["psql", env["DATABASE_ADMIN_URL"], "-Xq", "-c",
                               "begin; lock table agents in access exclusive mode; select pg_sleep(20); commit"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert eventually(lambda: sql(env, "select count(*) from pg_locks l join pg_class c on c.oid = l.relation"
                                           " where c.relname = 'agents' and l.mode = 'AccessExclusiveLock'"
                                           " and l.granted")[0][0] == "1", timeout=10)
        started = time.monotonic()
        status, body = get(env["APP_BLUE_URL"] + "/api/agents")
        waited = time.monotonic() - started
        assert locker.poll() is None, "the lock was released before the app answered"
        assert status == 503, body
        assert "canceling statement due to statement timeout" in json.loads(body).get("detail", ""), body
        assert waited < 15, f"answered after {waited:.1f} s: the query waited for the lock, not its timeout"
    finally:
        locker.terminate()
        locker.wait(timeout=10)


def test_a_pool_resized_at_run_time_is_back_to_its_configured_size_after_a_reset(
        sandbox: Sandbox, env: dict[str, str]) -> None:
    def pool_size() -> str:
        return next(d["pool_size"] for d in console(env, "SHOW DATABASES") if d["name"] == "opsbook")

    configured = pool_size()
    console(env, f"SET default_pool_size = {int(configured) + 5}")
    assert pool_size() == str(int(configured) + 5)
    sandbox.reset()
    assert pool_size() == configured
