"""Connection settings from the environment (set by compose from the generated env file)."""

from __future__ import annotations

import os


def required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"{name} must be set (compose passes it from the sandbox env file)")
    return value


def database_dsn(user_var: str = "APP_DB_USER", password_var: str = "APP_DB_PASSWORD") -> str:
    return (f"host={os.environ.get('PGHOST', 'postgres')} port={os.environ.get('PGPORT', '5432')} "
            f"dbname={os.environ.get('APP_DB_NAME', 'opsbook')} user={os.environ.get(user_var, 'opsbook')} "
            f"password={required(password_var)} connect_timeout=3 "
            f"application_name={os.environ.get('SERVICE_NAME', 'sandbox')}")


def redis_client():  # type: ignore[no-untyped-def]
    import redis

    return redis.Redis(host=os.environ.get("REDIS_HOST", "redis"), port=int(os.environ.get("REDIS_PORT", "6379")),
                       password=required("REDIS_PASSWORD"), socket_timeout=3, socket_connect_timeout=3,
                       decode_responses=True)
