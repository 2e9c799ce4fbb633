"""The app's HTTP API: health, agents CRUD (PostgreSQL), jobs (Redis queue), Prometheus metrics."""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import psycopg2
import psycopg2.extras

from sandboxlib.http import Request, Response, Router, serve, setup_logging
from sandboxlib.metrics import Registry
from sandboxlib.settings import database_dsn, redis_client, required

log = logging.getLogger("app")
QUEUE = "jobs"
POOL_MAX = int(os.environ.get("DB_POOL_MAX", "10"))
RELEASE = json.loads((Path(__file__).resolve().parent.parent / "release.json").read_text())
VERSION = os.environ.get("APP_VERSION", RELEASE["version"])

metrics = Registry()
REQUESTS = metrics.counter("opsbook_http_requests_total", "HTTP requests answered, by method, route and status.",
                           ("method", "route", "status"))
LATENCY = metrics.histogram("opsbook_http_request_duration_seconds", "HTTP request latency by route.", ("route",))
QUERY_LATENCY = metrics.histogram("opsbook_db_query_duration_seconds", "Database query latency by query name.",
                                  ("query",), buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
AUTH_FAILURES = metrics.counter("opsbook_auth_failures_total", "Requests refused for a missing or wrong API token.",
                                ("reason",))
JOBS_ENQUEUED = metrics.counter("opsbook_jobs_enqueued_total", "Jobs pushed onto the Redis queue.")
DB_ERRORS = metrics.counter("opsbook_db_errors_total", "Database errors seen by the app, by kind.", ("kind",))


class Database:
    """A small thread-safe pool: at most `maxconn` connections, opened on demand, kept idle
    for reuse, thrown away when the server closed them (restart, pg_terminate_backend)."""

    def __init__(self, dsn: str, maxconn: int) -> None:
        self.dsn = dsn
        self.maxconn = maxconn
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(maxconn)
        self.in_use = 0

    def idle(self) -> int:
        return len(self._idle)

    def _checkout(self) -> Any:
        if not self._slots.acquire(timeout=2):
            DB_ERRORS.inc(kind="pool_exhausted")
            raise ServiceUnavailable(f"database pool exhausted ({self.maxconn} connections in use)")
        with self._lock:
            conn = self._idle.pop() if self._idle else None
            self.in_use += 1
        try:
            if conn is None or conn.closed:
                conn = psycopg2.connect(self.dsn)
            return conn
        except Exception:
            DB_ERRORS.inc(kind="connect")
            self._checkin(None)
            raise

    def _checkin(self, conn: Any) -> None:
        with self._lock:
            self.in_use -= 1
            if conn is not None and not conn.closed:
                self._idle.append(conn)
        self._slots.release()

    @contextlib.contextmanager
    def cursor(self, query: str) -> Iterator[Any]:
        conn = self._checkout()
        started = time.monotonic()
        try:
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                yield cur
            conn.commit()
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            DB_ERRORS.inc(kind="connection")
            # The server went away (restart, terminate): the idle connections are dead too.
            with self._lock:
                stale, self._idle = self._idle + [conn], []
            for dead in stale:
                with contextlib.suppress(Exception):
                    dead.close()
            raise
        except psycopg2.Error:
            DB_ERRORS.inc(kind="query")
            with contextlib.suppress(psycopg2.Error):
                conn.rollback()
            raise
        finally:
            QUERY_LATENCY.observe(time.monotonic() - started, query=query)
            self._checkin(conn)


class ServiceUnavailable(Exception):
    http_status = 503


DB: Database
REDIS: Any
API_TOKEN = ""


def check_health() -> tuple[bool, dict[str, Any]]:
    """database: can we query it; schema: are the tables this release needs there; redis: ping."""
    checks: dict[str, Any] = {}
    started = time.monotonic()
    missing: list[str] = []
    try:
        with DB.cursor("health") as cur:
            cur.execute("SET LOCAL statement_timeout = 2000")
            cur.execute("SELECT 1 AS ok")
            for table in RELEASE["requires_tables"]:
                cur.execute("SELECT to_regclass(%s) IS NOT NULL AS present", (table,))
                if not cur.fetchone()["present"]:
                    missing.append(table)
        checks["database"] = {"ok": True}
        checks["schema"] = {"ok": not missing} if not missing else {
            "ok": False, "error": f"missing tables: {', '.join(missing)}"}
    except Exception as exc:
        text = str(exc).strip()
        checks["database"] = {"ok": False, "error": text.splitlines()[0] if text else type(exc).__name__}
        checks["schema"] = {"ok": False, "error": "database unavailable"}
    checks["database"]["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
    started = time.monotonic()
    try:
        REDIS.ping()
        checks["redis"] = {"ok": True}
    except Exception as exc:
        checks["redis"] = {"ok": False, "error": str(exc).strip() or type(exc).__name__}
    checks["redis"]["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
    return all(c["ok"] for c in checks.values()), checks


def health(_req: Request) -> Response:
    ok, checks = check_health()
    return Response(200 if ok else 503, {"status": "ok" if ok else "unhealthy", "version": VERSION, "checks": checks})


def version(_req: Request) -> Response:
    return Response(200, {"version": VERSION, "notes": RELEASE["notes"]})


def authorized(req: Request) -> Response | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        AUTH_FAILURES.inc(reason="missing")
        log.warning("auth failed: missing token from %s", req.headers.get("X-Forwarded-For", "client"))
        return Response(401, {"error": "missing bearer token"})
    if not hmac.compare_digest(header[len("Bearer "):].encode(), API_TOKEN.encode()):
        AUTH_FAILURES.inc(reason="invalid")
        log.warning("auth failed: invalid token")
        return Response(401, {"error": "invalid token"})
    return None


def list_agents(_req: Request) -> Response:
    with DB.cursor("list_agents") as cur:
        cur.execute("SELECT id, name, owner, status, created_at FROM agents ORDER BY id DESC LIMIT 100")
        return Response(200, {"agents": cur.fetchall()})


def create_agent(req: Request) -> Response:
    refused = authorized(req)
    if refused:
        return refused
    data = req.json()
    if not isinstance(data, dict) or not str(data.get("name", "")).strip():
        return Response(400, {"error": "body must be a JSON object with a non-empty name"})
    with DB.cursor("create_agent") as cur:
        cur.execute("INSERT INTO agents (name, owner) VALUES (%s, %s) RETURNING id, name, owner, status, created_at",
                    (data["name"], data.get("owner", "platform")))
        return Response(201, cur.fetchone())


def get_agent(req: Request) -> Response:
    if not req.params["id"].isdigit():
        return Response(400, {"error": "agent id must be a number"})
    with DB.cursor("get_agent") as cur:
        cur.execute("SELECT id, name, owner, status, created_at FROM agents WHERE id = %s", (int(req.params["id"]),))
        row = cur.fetchone()
    return Response(200, row) if row else Response(404, {"error": "no such agent"})


def delete_agent(req: Request) -> Response:
    refused = authorized(req)
    if refused:
        return refused
    if not req.params["id"].isdigit():
        return Response(400, {"error": "agent id must be a number"})
    with DB.cursor("delete_agent") as cur:
        cur.execute("DELETE FROM agents WHERE id = %s", (int(req.params["id"]),))
        return Response(204 if cur.rowcount else 404, b"" if cur.rowcount else {"error": "no such agent"})


def enqueue_job(req: Request) -> Response:
    refused = authorized(req)
    if refused:
        return refused
    data = req.json() or {}
    if not isinstance(data, dict):
        return Response(400, {"error": "body must be a JSON object"})
    job = {"id": str(uuid.uuid4()), "kind": str(data.get("kind", "echo")), "agent_id": data.get("agent_id"),
           "payload": data.get("payload", {}), "enqueued_at": time.time()}
    try:
        REDIS.lpush(QUEUE, json.dumps(job))
    except Exception as exc:
        raise ServiceUnavailable(f"queue unavailable: {exc}") from exc
    JOBS_ENQUEUED.inc()
    return Response(202, {"id": job["id"], "status": "queued"})


def get_job(req: Request) -> Response:
    try:
        job_id = str(uuid.UUID(req.params["id"]))
    except ValueError:
        return Response(400, {"error": "job id must be a UUID"})
    with DB.cursor("job_status") as cur:
        cur.execute("SELECT status, result, finished_at FROM job_results WHERE job_id = %s", (job_id,))
        row = cur.fetchone()
    if row is None:
        return Response(200, {"id": job_id, "status": "queued"})
    body = {"id": job_id, "status": row["status"], "result": row["result"]}
    if VERSION != "1.0.0":
        body["finished_at"] = row["finished_at"]
    return Response(200, body)


def metrics_page(_req: Request) -> Response:
    return Response(200, metrics.exposition(), content_type="text/plain; version=0.0.4; charset=utf-8")


def _health_gauges() -> dict[tuple[str, ...], float]:
    ok, checks = check_health()
    values = {(name,): 1.0 if c["ok"] else 0.0 for name, c in checks.items()}
    values[("all",)] = 1.0 if ok else 0.0
    return values


def _queue_depth() -> dict[tuple[str, ...], float]:
    try:
        return {(): float(REDIS.llen(QUEUE))}
    except Exception:
        return {}


def observe(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.inc(method=method, route=route, status=str(status))
    LATENCY.observe(seconds, route=route)


def main() -> None:
    global DB, REDIS, API_TOKEN
    setup_logging("app")
    API_TOKEN = required("APP_API_TOKEN")
    DB = Database(database_dsn(), POOL_MAX)
    REDIS = redis_client()
    metrics.gauge("opsbook_app_info", "The running release.", ("version",), collect=lambda: {(VERSION,): 1.0})
    metrics.gauge("opsbook_health_check_ok", "1 when the check of /api/health passes (check=all: all of them).",
                  ("check",), collect=_health_gauges)
    metrics.gauge("opsbook_db_pool_connections", "Database pool connections by state.", ("state",),
                  collect=lambda: {("in_use",): float(DB.in_use), ("idle",): float(DB.idle()), ("max",): float(DB.maxconn)})
    metrics.gauge("opsbook_queue_depth", "Jobs waiting in the Redis queue.", collect=_queue_depth)

    router = Router()
    router.add("GET", "/api/health", health)
    router.add("GET", "/api/version", version)
    router.add("GET", "/api/agents", list_agents)
    router.add("POST", "/api/agents", create_agent)
    router.add("GET", "/api/agents/{id}", get_agent)
    router.add("DELETE", "/api/agents/{id}", delete_agent)
    router.add("POST", "/api/jobs", enqueue_job)
    router.add("GET", "/api/jobs/{id}", get_job)
    router.add("GET", "/metrics", metrics_page)
    log.info("app %s starting (%s)", VERSION, RELEASE["notes"])
    serve(router, int(os.environ.get("PORT", "8000")), observe=observe)


if __name__ == "__main__":
    main()
