"""PgBouncer's pools as Prometheus metrics, under the community pgbouncer_exporter's names.

Debian's prometheus-pgbouncer-exporter (1.7) predates the column names of PgBouncer 1.18 and
stops at start, so the sandbox reads the admin console itself (SHOW POOLS, SHOW DATABASES) and
answers GET /metrics with the subset the alert rules and runbooks use; production runs
prometheus-community/pgbouncer_exporter, which speaks the same names:

  pgbouncer_up                                   1 if the admin console answered
  pgbouncer_pools_client_active_connections      clients linked to a server connection
  pgbouncer_pools_client_waiting_connections     clients that sent a query and wait for a server
  pgbouncer_pools_server_active_connections      server connections linked to a client
  pgbouncer_pools_server_idle_connections        server connections ready for a client
  pgbouncer_pools_client_maxwait_seconds         how long the oldest waiting client has waited
  pgbouncer_databases_pool_size                  the pool size each database is configured with

Labels: database and user (pools), database (databases). The admin console's own database
(pgbouncer) is left out. Connects as a stats user (PGBOUNCER_USER, password PGPASSWORD).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import psycopg2

from sandboxlib.http import Request, Response, Router, serve, setup_logging
from sandboxlib.metrics import Gauge, Registry

log = logging.getLogger("pgbouncer-exporter")
Sample = dict[tuple[str, ...], float]

POOL_COLUMNS = {
    "client_active_connections": ("cl_active", "Client connections linked to a server connection."),
    "client_waiting_connections": ("cl_waiting", "Client connections that sent a query and wait for a server connection."),
    "server_active_connections": ("sv_active", "Server connections linked to a client."),
    "server_idle_connections": ("sv_idle", "Server connections idle, ready for a client."),
}


class Console:
    """One connection to the admin console, opened again when it was lost."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: Any = None
        self.error = ""

    def show(self, what: str) -> list[dict[str, Any]]:
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg2.connect(self.dsn)
                self._conn.autocommit = True  # the console has no transactions
            with self._conn.cursor() as cur:
                cur.execute(f"SHOW {what}")
                names = [column.name for column in cur.description]
                rows = [dict(zip(names, row)) for row in cur.fetchall()]
            self.error = ""
            return rows
        except psycopg2.Error as exc:
            self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            raise


class PoolMetrics:
    """One reading of the console per scrape."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._lock = threading.Lock()
        self._pools: list[dict[str, Any]] = []
        self._databases: list[dict[str, Any]] = []
        self._up = 0.0
        self.registry = Registry()
        self.registry.add(Gauge("pgbouncer_up", "1 if PgBouncer's admin console answered.",
                                collect=lambda: {(): self._up}))
        for name, (column, help_text) in POOL_COLUMNS.items():
            self.registry.add(Gauge(f"pgbouncer_pools_{name}", help_text, ("database", "user"),
                                    collect=self._pool_column(column)))
        self.registry.add(Gauge("pgbouncer_pools_client_maxwait_seconds",
                                "How long the oldest waiting client of the pool has waited.", ("database", "user"),
                                collect=self._maxwait))
        self.registry.add(Gauge("pgbouncer_databases_pool_size", "Server connections a pool of the database may open.",
                                ("database",), collect=self._pool_sizes))

    def _pool_column(self, column: str):  # type: ignore[no-untyped-def]
        def collect() -> Sample:
            return {(p["database"], p["user"]): float(p[column]) for p in self._pools if column in p}
        return collect

    def _maxwait(self) -> Sample:
        return {(p["database"], p["user"]): float(p.get("maxwait", 0)) + float(p.get("maxwait_us", 0)) / 1e6
                for p in self._pools}

    def _pool_sizes(self) -> Sample:
        return {(d["name"],): float(d["pool_size"]) for d in self._databases if d.get("pool_size") is not None}

    def exposition(self) -> str:
        with self._lock:
            try:
                self._pools = [p for p in self.console.show("POOLS") if p.get("database") != "pgbouncer"]
                self._databases = [d for d in self.console.show("DATABASES") if d.get("name") != "pgbouncer"]
                self._up = 1.0
            except psycopg2.Error:
                log.warning("admin console: %s", self.console.error)
                self._pools, self._databases, self._up = [], [], 0.0
            return self.registry.exposition()


def main() -> None:
    setup_logging("pgbouncer-exporter")
    dsn = (f"host={os.environ.get('PGBOUNCER_HOST', 'pgbouncer')} port={os.environ.get('PGBOUNCER_PORT', '6432')} "
           f"dbname=pgbouncer user={os.environ.get('PGBOUNCER_USER', 'opsbook')} connect_timeout=3 "
           "application_name=pgbouncer-exporter")
    metrics = PoolMetrics(Console(dsn))

    def health(_req: Request) -> Response:
        metrics.exposition()
        if metrics.console.error:
            return Response(503, {"status": "unhealthy", "error": metrics.console.error})
        return Response(200, {"status": "ok"})

    router = Router()
    router.add("GET", "/metrics", lambda _r: Response(200, metrics.exposition(), "text/plain; version=0.0.4"))
    router.add("GET", "/health", health)
    serve(router, int(os.environ.get("PORT", "9127")))


if __name__ == "__main__":
    main()
