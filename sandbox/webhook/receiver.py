"""Alertmanager webhook receiver: POST /hook/{receiver} records; GET/DELETE /notifications reads/clears.

GET /notifications?alertname=X&status=firing filters; each record is
{"received_at", "receiver", "status", "alerts": [{"alertname", "status", "labels", "annotations", ...}]}.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any
from urllib.parse import parse_qs

from sandboxlib.http import Request, Response, Router, serve, setup_logging

log = logging.getLogger("webhook")
LOCK = threading.Lock()
RECORDS: list[dict[str, Any]] = []
MAX_RECORDS = 5000


def receive(req: Request) -> Response:
    payload = req.json()
    alerts = [{"alertname": a.get("labels", {}).get("alertname"), "status": a.get("status"),
               "labels": a.get("labels", {}), "annotations": a.get("annotations", {}),
               "startsAt": a.get("startsAt"), "endsAt": a.get("endsAt")} for a in payload.get("alerts", [])]
    record = {"received_at": time.time(), "receiver": req.params["receiver"], "status": payload.get("status"),
              "group_labels": payload.get("groupLabels", {}), "alerts": alerts}
    with LOCK:
        RECORDS.append(record)
        del RECORDS[:-MAX_RECORDS]
    for a in alerts:
        log.info("%s: %s %s", record["receiver"], a["status"], a["alertname"])
    return Response(200, {"recorded": len(alerts)})


def notifications(req: Request) -> Response:
    query = {k: v[0] for k, v in parse_qs(req.query).items()}
    with LOCK:
        records = list(RECORDS)
    if "alertname" in query or "status" in query:
        wanted_name, wanted_status = query.get("alertname"), query.get("status")
        records = [r for r in records
                   if any((wanted_name is None or a["alertname"] == wanted_name)
                          and (wanted_status is None or a["status"] == wanted_status) for a in r["alerts"])]
    return Response(200, {"notifications": records})


def clear(_req: Request) -> Response:
    with LOCK:
        count = len(RECORDS)
        RECORDS.clear()
    return Response(200, {"cleared": count})


def main() -> None:
    setup_logging("webhook")
    router = Router()
    router.add("POST", "/hook/{receiver}", receive)
    router.add("GET", "/notifications", notifications)
    router.add("DELETE", "/notifications", clear)
    router.add("GET", "/health", lambda _r: Response(200, {"status": "ok", "recorded": len(RECORDS)}))
    serve(router, int(os.environ.get("PORT", "9095")))


if __name__ == "__main__":
    main()
