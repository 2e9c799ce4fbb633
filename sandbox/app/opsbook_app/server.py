"""The app's HTTP API: health, agents CRUD and signups (PostgreSQL), jobs (Redis queue), admin
routes, per-client rate limits, Prometheus metrics."""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import logging
import os
import random
import re
import threading
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, Iterator

import psycopg2
import psycopg2.errors
import psycopg2.extras

from opsbook_app.blocklist import Blocklist
from opsbook_app.ratelimit import RateLimiter, client_address, client_key, retry_after
from opsbook_app.tokens import ApiTokens
from sandboxlib.http import Handler, Request, Response, Router, serve, setup_logging
from sandboxlib.metrics import Registry
from sandboxlib.settings import database_dsn, redis_client, required

log = logging.getLogger("app")
QUEUE = "jobs"
POOL_MAX = int(os.environ.get("DB_POOL_MAX", "10"))
# A query waiting on a lock fails after this long instead of holding its connection forever.
STATEMENT_TIMEOUT_MS = int(os.environ.get("DB_STATEMENT_TIMEOUT_MS", "5000"))
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
RELEASE = json.loads((Path(__file__).resolve().parent.parent / "release.json").read_text())
VERSION = os.environ.get("APP_VERSION", RELEASE["version"])
# Which slot behind the proxy this process is (blue or green): in /api/health, for deploys.
SLOT = os.environ.get("APP_SLOT", "")
# Where a release keeps its signed-up users: 2.0.0 renamed the table (its migration 0005).
USERS_TABLE = RELEASE.get("users_table", "users")
# A release may be slower than the others (the `slow` release: every API call waits this long).
EXTRA_LATENCY = float(RELEASE.get("extra_latency_ms", 0)) / 1000
# ... or fail a share of its requests (the `faulty` release).
ERROR_RATIO = float(RELEASE.get("error_ratio", 0))
# Organisation job lists carry each job's results from 1.2.0 on: loaded one query per job in 1.2.0
# (an N+1), one query per page in 1.2.1; absent before.
RESULTS_LOADING = RELEASE.get("job_results_loading", "")

metrics = Registry()
REQUESTS = metrics.counter("opsbook_http_requests_total", "HTTP requests answered, by method, route and status.",
                           ("method", "route", "status"))
# Buckets past the alert thresholds (1 s per route, 2 s overall) and the 5 s statement timeout.
LATENCY = metrics.histogram("opsbook_http_request_duration_seconds", "HTTP request latency by route.", ("route",),
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0))
QUERY_LATENCY = metrics.histogram("opsbook_db_query_duration_seconds", "Database query latency by query name.",
                                  ("query",), buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                       1.0, 2.5, 5.0, 10.0))
AUTH_FAILURES = metrics.counter("opsbook_auth_failures_total", "Requests refused for a missing or wrong API token.",
                                ("reason",))
ACCESS_DENIED = metrics.counter("opsbook_access_denied_total",
                                "Requests refused with 403: a valid API token on a route that needs the admin token.",
                                ("route",))
RATE_LIMITED = metrics.counter("opsbook_rate_limited_total", "Requests refused with 429: the client's budget is spent.",
                               ("route",))
BLOCKED = metrics.counter("opsbook_blocked_requests_total",
                          "Requests refused with 403 because an operator blocked the client's address.", ("route",))
SIGNUPS = metrics.counter("opsbook_signups_total", "Users who signed up (POST /api/signups answered 201).")
AGENTS_CREATED = metrics.counter("opsbook_agents_created_total", "Agents created (POST /api/agents answered 201).")
JOBS_ENQUEUED = metrics.counter("opsbook_jobs_enqueued_total", "Jobs pushed onto the Redis queue.")
DB_ERRORS = metrics.counter("opsbook_db_errors_total", "Database errors seen by the app, by kind.", ("kind",))


def connect(dsn: str) -> Any:
    return psycopg2.connect(dsn)


def limit_statements(cur: Any, statement_timeout_ms: int) -> None:
    """The statement timeout for the transaction `cur` is in. SET LOCAL, not a connection option
    or a session SET: through PgBouncer in transaction mode, the next transaction on this
    connection may run on another server connection, and a session setting would stay behind
    on this one for another client."""
    cur.execute("SET LOCAL statement_timeout = %s", (statement_timeout_ms,))


class Database:
    """A small thread-safe pool: at most `maxconn` connections, opened on demand, kept idle
    for reuse, thrown away when the server closed them (restart, pg_terminate_backend).
    Every statement runs under `statement_timeout_ms`."""

    def __init__(self, dsn: str, maxconn: int, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS) -> None:
        self.dsn = dsn
        self.statement_timeout_ms = statement_timeout_ms
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
                conn = connect(self.dsn)
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
                limit_statements(cur, self.statement_timeout_ms)
                yield cur
            conn.commit()
        except psycopg2.errors.QueryCanceled as exc:
            # statement_timeout (or pg_cancel_backend): the connection is fine, the query is not.
            DB_ERRORS.inc(kind="timeout")
            with contextlib.suppress(psycopg2.Error):
                conn.rollback()
            raise QueryTimeout(f"query {query} cancelled after {time.monotonic() - started:.1f}s: "
                               f"{str(exc).strip().splitlines()[0]}") from exc
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


class QueryTimeout(ServiceUnavailable):
    """A query ran into statement_timeout: answered 503, the client may retry."""


class HealthProbe:
    """The health check's own connection, outside the pool: /api/health and /metrics tell whether
    the database answers even while every pool connection is busy (a saturated pool is a metric,
    opsbook_db_pool_connections, not a dead database)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: Any = None
        self._lock = threading.Lock()

    def missing_tables(self, tables: list[str]) -> list[str]:
        if not self._lock.acquire(timeout=2):
            raise ServiceUnavailable("another health check has been waiting on the database for 2 s")
        started = time.monotonic()
        try:
            try:
                return self._query(tables)
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                # A connection the server dropped while idle (restart, terminate): one fresh try,
                # so a database that is back does not read as down until the next check.
                self._close()
                return self._query(tables)
        except psycopg2.Error:
            self._close()
            raise
        finally:
            QUERY_LATENCY.observe(time.monotonic() - started, query="health")
            self._lock.release()

    def _query(self, tables: list[str]) -> list[str]:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.dsn)
        try:
            with self._conn.cursor() as cur:
                limit_statements(cur, 2000)
                cur.execute("SELECT t FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NULL", (tables,))
                missing = [row[0] for row in cur.fetchall()]
            self._conn.commit()
            return missing
        except psycopg2.Error:
            with contextlib.suppress(psycopg2.Error):
                self._conn.rollback()
            raise

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None


DB: Database
HEALTH: HealthProbe
REDIS: Any
API_TOKEN = ""
ADMIN_TOKEN = ""
LIMITER: RateLimiter
BLOCKLIST: Blocklist
CREDENTIALS: ApiTokens


def check_health() -> tuple[bool, dict[str, Any]]:
    """database: can we query it; schema: are the tables this release needs there; redis: ping."""
    checks: dict[str, Any] = {}
    started = time.monotonic()
    missing: list[str] = []
    try:
        missing = HEALTH.missing_tables(list(RELEASE["requires_tables"]))
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
    return Response(200 if ok else 503, {"status": "ok" if ok else "unhealthy", "version": VERSION, "slot": SLOT,
                                         "checks": checks})


def version(_req: Request) -> Response:
    return Response(200, {"version": VERSION, "notes": RELEASE["notes"]})


def _bearer(req: Request) -> str | None:
    header = req.headers.get("Authorization", "")
    return header[len("Bearer "):] if header.startswith("Bearer ") else None


def _is(token: str, expected: str) -> bool:
    return hmac.compare_digest(token.encode(), expected.encode())


def authorized(req: Request) -> Response | None:
    """None when the request carries a valid API token (tokens.py) or the admin token, else the 401 to answer."""
    token = _bearer(req)
    if token is None:
        AUTH_FAILURES.inc(reason="missing")
        log.warning("auth failed: missing token from %s", req.headers.get("X-Forwarded-For", req.peer or "client"))
        return Response(401, {"error": "missing bearer token"})
    if not (CREDENTIALS.accepts(token) or _is(token, ADMIN_TOKEN)):
        AUTH_FAILURES.inc(reason="invalid")
        log.warning("auth failed: invalid token from %s", client_address(req.headers, req.peer))
        return Response(401, {"error": "invalid token"})
    return None


def admin_only(route: str, handler: Handler) -> Handler:
    """Admin routes need the admin token: the API token is valid but not enough (403)."""

    def guarded(req: Request) -> Response:
        refused = authorized(req)
        if refused:
            return refused
        if not _is(_bearer(req) or "", ADMIN_TOKEN):
            ACCESS_DENIED.inc(route=route)
            log.warning("access denied: API token on admin route %s %s from %s", req.method, req.path,
                        req.headers.get("X-Forwarded-For", req.peer or "client"))
            return Response(403, {"error": "this route needs the admin token"})
        return handler(req)

    return guarded


def unless_blocked(route: str, handler: Handler) -> Handler:
    """Refuse a blocked client (see blocklist.py) before anything else is spent on it."""

    def checked(req: Request) -> Response:
        reason = BLOCKLIST.reason(client_address(req.headers, req.peer))
        if reason is not None:
            BLOCKED.inc(route=route)
            return Response(403, {"error": "this client is blocked", "reason": reason})
        return handler(req)

    return checked


def degraded(handler: Handler) -> Handler:
    """The release's own faults before every API call: extra latency (the `slow` release), a
    share of requests failing with 500 (`faulty`). Neither in a good release."""
    if not EXTRA_LATENCY and not ERROR_RATIO:
        return handler

    def worse(req: Request) -> Response:
        time.sleep(EXTRA_LATENCY)
        if ERROR_RATIO and random.random() < ERROR_RATIO:
            log.error("%s %s failed: internal error (release %s)", req.method, req.path, VERSION)
            return Response(500, {"error": "internal error"})
        return handler(req)
    return worse


def rate_limited(route: str, handler: Handler) -> Handler:
    """Spend one token of the client's bucket, or answer 429 with Retry-After."""

    def limited(req: Request) -> Response:
        wait = LIMITER.acquire(client_key(req.headers, req.peer))
        if wait:
            RATE_LIMITED.inc(route=route)
            log.info("rate limited: %s %s from %s", req.method, req.path, client_address(req.headers, req.peer))
            return Response(429, {"error": "rate limit exceeded", "retry_after_seconds": round(wait, 3)},
                            headers={"Retry-After": retry_after(wait)})
        return handler(req)

    return limited


def list_agents(_req: Request) -> Response:
    # last_job_at: one lookup per listed agent, through job_results_agent_id_idx (the slow-queries
    # fault drops it: then each lookup is a sequential scan of job_results).
    with DB.cursor("list_agents") as cur:
        cur.execute("SELECT a.id, a.name, a.owner, a.status, a.created_at,"
                    " (SELECT max(r.finished_at) FROM job_results r WHERE r.agent_id = a.id) AS last_job_at"
                    " FROM agents a ORDER BY a.id DESC LIMIT 100")
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
        agent = cur.fetchone()
    AGENTS_CREATED.inc()
    return Response(201, agent)


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


def signup(req: Request) -> Response:
    """A new user (public: the website's signup form). The user is pushed to the CRM by a crm_sync job."""
    data = req.json()
    email = str(data.get("email", "")).strip().lower() if isinstance(data, dict) else ""
    if not EMAIL.fullmatch(email):
        return Response(400, {"error": "body must be a JSON object with a valid email"})
    with DB.cursor("create_user") as cur:
        cur.execute(f"INSERT INTO {USERS_TABLE} (email) VALUES (%s) ON CONFLICT (email) DO NOTHING"
                    " RETURNING id, email, created_at", (email,))
        user = cur.fetchone()
    if user is None:
        return Response(409, {"error": "this email has already signed up"})
    SIGNUPS.inc()
    try:
        push_job("crm_sync", {"user_id": user["id"], "email": email, "event": "signup"})
    except ServiceUnavailable as exc:  # the signup stands; the CRM catches up with the next sync
        log.warning("signup %s: CRM sync not queued: %s", user["id"], exc)
    return Response(201, user)


def push_job(kind: str, payload: Any, agent_id: Any = None) -> str:
    job = {"id": str(uuid.uuid4()), "kind": kind, "agent_id": agent_id, "payload": payload,
           "enqueued_at": time.time()}
    try:
        REDIS.lpush(QUEUE, json.dumps(job))
    except Exception as exc:
        raise ServiceUnavailable(f"queue unavailable: {exc}") from exc
    JOBS_ENQUEUED.inc()
    return str(job["id"])


def admin_users(_req: Request) -> Response:
    with DB.cursor("admin_users") as cur:
        cur.execute(f"SELECT id, email, created_at FROM {USERS_TABLE} ORDER BY id DESC LIMIT 100")
        return Response(200, {"users": cur.fetchall()})


def admin_delete_user(req: Request) -> Response:
    if not req.params["id"].isdigit():
        return Response(400, {"error": "user id must be a number"})
    with DB.cursor("admin_delete_user") as cur:
        cur.execute(f"DELETE FROM {USERS_TABLE} WHERE id = %s", (int(req.params["id"]),))
        return Response(204 if cur.rowcount else 404, b"" if cur.rowcount else {"error": "no such user"})


def enqueue_job(req: Request) -> Response:
    refused = authorized(req)
    if refused:
        return refused
    data = req.json() or {}
    if not isinstance(data, dict):
        return Response(400, {"error": "body must be a JSON object"})
    job_id = push_job(str(data.get("kind", "echo")), data.get("payload", {}), data.get("agent_id"))
    return Response(202, {"id": job_id, "status": "queued"})


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


PAGE_SIZE = 50
PAGE_SIZE_MAX = 200


def _page_size(query: dict[str, list[str]]) -> int | None:
    text = query.get("limit", [str(PAGE_SIZE)])[0]
    return min(int(text), PAGE_SIZE_MAX) if text.isdigit() and int(text) > 0 else None


def _cursor(created_at: Any, job_id: Any) -> str:
    """The position after a page's last row, opaque to clients: (created_at, id)."""
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{job_id}".encode()).decode().rstrip("=")


def _after(token: str) -> tuple[str, str]:
    created_at, job_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split("|")
    return created_at, str(uuid.UUID(job_id))


def organisation_jobs(req: Request) -> Response:
    """An organisation's jobs, newest first, one page at a time: keyset pagination on
    (created_at, id) over jobs_organisation_created_idx, so page 1,000 costs what page 1 does
    (OFFSET would read and drop every row before it). `next` is the cursor of the next page."""
    query = urllib.parse.parse_qs(req.query)
    limit = _page_size(query)
    if limit is None:
        return Response(400, {"error": f"limit must be a number from 1 to {PAGE_SIZE_MAX}"})
    after = query.get("after", [""])[0]
    try:
        position = _after(after) if after else None
    except (ValueError, UnicodeDecodeError):
        return Response(400, {"error": "after must be the `next` cursor of an earlier page"})
    with DB.cursor("organisation_jobs") as cur:
        cur.execute("SELECT id FROM organisations WHERE slug = %s", (req.params["slug"],))
        organisation = cur.fetchone()
        if organisation is None:
            return Response(404, {"error": "no such organisation"})
        if position is None:
            cur.execute("SELECT id, agent_id, kind, status, created_at, finished_at FROM jobs"
                        " WHERE organisation_id = %s ORDER BY created_at DESC, id DESC LIMIT %s",
                        (organisation["id"], limit))
        else:
            cur.execute("SELECT id, agent_id, kind, status, created_at, finished_at FROM jobs"
                        " WHERE organisation_id = %s AND (created_at, id) < (%s::timestamptz, %s::uuid)"
                        " ORDER BY created_at DESC, id DESC LIMIT %s",
                        (organisation["id"], *position, limit))
        jobs = cur.fetchall()
        if RESULTS_LOADING:
            _attach_results(cur, jobs)
    last = jobs[-1] if len(jobs) == limit else None
    return Response(200, {"jobs": jobs, "next": _cursor(last["created_at"], last["id"]) if last else None})


def _attach_results(cur: Any, jobs: list[dict[str, Any]]) -> None:
    """Each job's results, oldest first, as `results`: one query per job in 1.2.0 (the N+1 the
    database runbooks detect), one for the whole page in 1.2.1."""
    columns = "SELECT job_id, status, finished_at FROM job_results"
    if RESULTS_LOADING == "per-job":
        for job in jobs:
            cur.execute(f"{columns} WHERE job_id = %s ORDER BY finished_at", (job["id"],))
            job["results"] = [{"status": row["status"], "finished_at": row["finished_at"]} for row in cur.fetchall()]
        return
    by_job: dict[str, list[dict[str, Any]]] = {str(job["id"]): [] for job in jobs}
    cur.execute(f"{columns} WHERE job_id = ANY(%s::uuid[]) ORDER BY finished_at", (list(by_job),))
    for row in cur.fetchall():
        by_job[str(row["job_id"])].append({"status": row["status"], "finished_at": row["finished_at"]})
    for job in jobs:
        job["results"] = by_job[str(job["id"])]


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
    global DB, HEALTH, REDIS, API_TOKEN, ADMIN_TOKEN, LIMITER, BLOCKLIST, CREDENTIALS
    setup_logging("app")
    for name in RELEASE.get("requires_settings", ()):  # a release may need settings older ones did not
        required(name)
    API_TOKEN = required("APP_API_TOKEN")
    ADMIN_TOKEN = required("APP_ADMIN_TOKEN")
    DB = Database(database_dsn(), POOL_MAX)
    HEALTH = HealthProbe(database_dsn())
    REDIS = redis_client()
    BLOCKLIST = Blocklist(REDIS)
    CREDENTIALS = ApiTokens(REDIS, API_TOKEN)
    LIMITER = RateLimiter(float(os.environ.get("RATE_LIMIT_PER_SECOND", "20")),
                          float(os.environ.get("RATE_LIMIT_BURST", "40")))
    metrics.gauge("opsbook_app_info", "The running release.", ("version",), collect=lambda: {(VERSION,): 1.0})
    metrics.gauge("opsbook_health_check_ok", "1 when the check of /api/health passes (check=all: all of them).",
                  ("check",), collect=_health_gauges)
    metrics.gauge("opsbook_db_pool_connections", "Database pool connections by state.", ("state",),
                  collect=lambda: {("in_use",): float(DB.in_use), ("idle",): float(DB.idle()), ("max",): float(DB.maxconn)})
    metrics.gauge("opsbook_queue_depth", "Jobs waiting in the Redis queue.", collect=_queue_depth)

    router = Router()

    def api(method: str, route: str, handler: Handler, admin: bool = False) -> None:
        guarded = admin_only(route, handler) if admin else handler
        router.add(method, route, unless_blocked(route, rate_limited(route, degraded(guarded))))

    # Health and metrics are not rate limited: probes and scrapes must always get through.
    router.add("GET", "/api/health", health)
    router.add("GET", "/metrics", metrics_page)
    api("GET", "/api/version", version)
    api("GET", "/api/agents", list_agents)
    api("POST", "/api/agents", create_agent)
    api("GET", "/api/agents/{id}", get_agent)
    api("DELETE", "/api/agents/{id}", delete_agent)
    api("POST", "/api/signups", signup)
    api("POST", "/api/jobs", enqueue_job)
    api("GET", "/api/jobs/{id}", get_job)
    api("GET", "/api/organisations/{slug}/jobs", organisation_jobs)
    api("GET", "/api/admin/users", admin_users, admin=True)
    api("DELETE", "/api/admin/users/{id}", admin_delete_user, admin=True)
    log.info("app %s starting in slot %s (%s); rate limit %g/s per client, burst %g; statement timeout %d ms",
             VERSION, SLOT or "-", RELEASE["notes"], LIMITER.rate, LIMITER.burst, STATEMENT_TIMEOUT_MS)
    serve(router, int(os.environ.get("PORT", "8000")), observe=observe)


if __name__ == "__main__":
    main()
