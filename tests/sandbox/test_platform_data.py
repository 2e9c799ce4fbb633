"""The sandbox's seeded year of data (sandbox/app/seed/platform.sql) and the app's paginated
list over it: keyset pages cover an organisation's jobs exactly once, newest first, and a reset
brings the volume back however a test or a runbook changed it."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

from opsbook.sandbox import Sandbox

pytestmark = pytest.mark.sandbox


def sql(env: dict[str, str], query: str) -> str:
    return subprocess.run(["psql", env["DATABASE_ADMIN_URL"], "-XAtc", query],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def page(env: dict[str, str], slug: str, **query: str) -> tuple[int, dict]:
    url = f"{env['APP_URL']}/api/organisations/{slug}/jobs?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_keyset_pages_cover_an_organisations_jobs_once_and_a_reset_restores_the_volume(sandbox: Sandbox) -> None:
    env = sandbox.env()
    expected = int(sql(env, "select count(*) from jobs where organisation_id = (select id from organisations where slug = 'org-0042')"))
    assert expected >= 400, "the seed gives each organisation hundreds of jobs"
    seen: list[tuple[str, str]] = []
    cursor: str | None = None
    pages = 0
    while True:
        status, body = page(env, "org-0042", limit="120", **({"after": cursor} if cursor else {}))
        assert status == 200, body
        seen += [(job["created_at"], job["id"]) for job in body["jobs"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
        assert pages < 20, "pagination does not end"
    assert len(seen) == expected and len(set(seen)) == expected, "every job exactly once"
    assert seen == sorted(seen, reverse=True), "newest first, in (created_at, id) order across pages"
    assert pages == expected // 120 + 1, "a full page has a next cursor; the last page is short"
    assert page(env, "org-0042", limit="0")[0] == 400
    assert page(env, "org-0042", after="not-a-cursor")[0] == 400
    assert page(env, "no-such-org")[0] == 404

    before = sql(env, "select count(*) from jobs") + " " + sql(env, "select count(*) from crm_sync_log")
    sql(env, "delete from jobs where organisation_id <= 100; truncate crm_sync_log")
    sandbox.reset()
    assert sql(env, "select count(*) from jobs") + " " + sql(env, "select count(*) from crm_sync_log") == before
    assert page(env, "org-0042", limit="120")[1]["jobs"][0]["id"] == seen[0][1], "the same history after a reset"
