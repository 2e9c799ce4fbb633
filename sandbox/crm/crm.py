"""A stand-in for the external CRM: POST /contacts upserts a contact by email (201), GET /contacts/{email}
reads one back, GET /health. Contacts live in memory; the crm-outage fault stops the container."""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from typing import Any
from urllib.parse import unquote

from sandboxlib.http import Request, Response, Router, serve, setup_logging

log = logging.getLogger("crm")
LOCK = threading.Lock()
CONTACTS: dict[str, dict[str, Any]] = {}
MAX_CONTACTS = 100_000
IDS = itertools.count(1)


def upsert_contact(req: Request) -> Response:
    data = req.json()
    email = str(data.get("email", "")).strip().lower() if isinstance(data, dict) else ""
    if "@" not in email:
        return Response(422, {"error": "a contact needs an email"})
    with LOCK:
        contact = CONTACTS.get(email)
        if contact is None:
            if len(CONTACTS) >= MAX_CONTACTS:
                CONTACTS.pop(next(iter(CONTACTS)))
            contact = CONTACTS[email] = {"id": f"crm-{next(IDS)}", "email": email,
                                         "created_at": time.time()}
        contact.update({k: v for k, v in data.items() if k not in ("id", "email", "created_at")},
                       updated_at=time.time())
        return Response(201, dict(contact))


def get_contact(req: Request) -> Response:
    with LOCK:
        contact = CONTACTS.get(unquote(req.params["email"]).lower())
    return Response(200, contact) if contact else Response(404, {"error": "no such contact"})


def main() -> None:
    setup_logging("crm")
    router = Router()
    router.add("POST", "/contacts", upsert_contact)
    router.add("GET", "/contacts/{email}", get_contact)
    router.add("GET", "/health", lambda _r: Response(200, {"status": "ok", "contacts": len(CONTACTS)}))
    serve(router, int(os.environ.get("PORT", "8090")))


if __name__ == "__main__":
    main()
