"""The sandbox's notification sinks: where Alertmanager's receivers deliver, and what tests read.

- SMTP on :2525 (aiosmtpd): STARTTLS required (a self-signed certificate made at start, whose
  certificate Alertmanager trusts through SMTP_CA_FILE), then AUTH with the username in
  SMTP_AUTH_USERNAME and the password in the secret file smtp-auth-password.
- HTTP on :9095:
    POST /slack/services/<team>/<bot>/<token>   Slack's incoming-webhook API: JSON in, `ok` out;
                                                the path must be the one in the secret file
                                                slack-webhook-url, else 403 `invalid_token`
    POST /pager/v1/events                       Alertmanager's webhook JSON; `Authorization: Bearer`
                                                must be the token in the secret file pager-token
    GET /notifications[?receiver=&alertname=&status=&channel=]   normalized records, oldest first
                                                (notification_records.py), and the rejected deliveries
    DELETE /notifications                       forget both
    GET /health

A wrong secret fails the delivery (and is listed under "rejected"), so a notification that
arrives proves the secret reached Alertmanager. Secrets are read from NOTIFICATION_SECRETS_DIR
(mounted read-only from sandbox/.state/<project>/notification-secrets) on every delivery.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from notification_records import FILTERS, email_record, matches, now, pager_record, slack_record
from sandboxlib.http import Request, Response, Router, serve, setup_logging

log = logging.getLogger("notification-sink")

SECRETS = Path(os.environ.get("NOTIFICATION_SECRETS_DIR", "/run/secrets/notifications"))
TLS_DIR = Path(os.environ.get("SMTP_TLS_DIR", "/run/notification-sink/tls"))
PRIVATE_KEY = Path("/run/notification-sink-key.pem")
SMTP_NAME = os.environ.get("SMTP_SERVER_NAME", "notification-sink")
SMTP_PORT = int(os.environ.get("SMTP_PORT", "2525"))
HTTP_PORT = int(os.environ.get("PORT", "9095"))
MAX_RECORDS = 5000

LOCK = threading.Lock()
RECORDS: list[dict[str, Any]] = []
REJECTED: list[dict[str, Any]] = []
NEXT_ID = [1]
SMTP_READY = threading.Event()


class MissingSecret(Exception):
    pass


class HideSlackToken(logging.Filter):
    """The Slack webhook's path is its secret: request log lines show /slack/services/… instead."""

    PATH = re.compile(r"/slack/services/[^\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.PATH.sub("/slack/services/…", str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(self.PATH.sub("/slack/services/…", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


def secret(name: str) -> str:
    try:
        value = (SECRETS / name).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise MissingSecret(f"missing secret file {SECRETS / name}: run `opsbook sandbox up`, which writes "
                            "sandbox/.state/<project>/notification-secrets/ from the generated env file") from None
    if not value:
        raise MissingSecret(f"secret file {SECRETS / name} is empty")
    return value


def same(given: str | bytes, expected: str) -> bool:
    given_bytes = given if isinstance(given, bytes) else given.encode()
    return hmac.compare_digest(given_bytes, expected.encode())


def keep(record: dict[str, Any]) -> None:
    with LOCK:
        record["id"] = NEXT_ID[0]
        NEXT_ID[0] += 1
        RECORDS.append(record)
        del RECORDS[:-MAX_RECORDS]
    log.info("%s to %s: %s %s", record["channel"], record["receiver"], record["status"] or "(no status)",
             " ".join(record["alertnames"]) or "(no alert name)")


def reject(channel: str, reason: str) -> None:
    with LOCK:
        REJECTED.append({"time": now(), "channel": channel, "reason": reason})
        del REJECTED[:-MAX_RECORDS]
    log.warning("rejected %s delivery: %s", channel, reason)


# --- SMTP ------------------------------------------------------------------------------------


class MailHandler:
    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        keep(email_record(envelope.original_content or envelope.content, envelope.mail_from or "",
                          list(envelope.rcpt_tos)))
        return "250 2.0.0 Message accepted"


def authenticate(_server: Any, _session: Any, _envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    if not isinstance(auth_data, LoginPassword):
        reject("email", f"SMTP AUTH {mechanism}: no username and password")
        return AuthResult(success=False, handled=False)
    username = os.environ.get("SMTP_AUTH_USERNAME", "")
    ok = same(auth_data.login, username) and same(auth_data.password, secret("smtp-auth-password"))
    if not ok:
        reject("email", f"SMTP AUTH {mechanism} failed for user {auth_data.login.decode(errors='replace')!r}")
    return AuthResult(success=ok, handled=False)


def tls_context() -> ssl.SSLContext:
    """A fresh self-signed certificate for STARTTLS; its certificate goes to TLS_DIR/ca.pem, the
    file Alertmanager trusts (SMTP_CA_FILE), the key stays in this container."""
    TLS_DIR.mkdir(parents=True, exist_ok=True)
    certificate = TLS_DIR / "ca.pem"
    staged = TLS_DIR / ".ca.pem.tmp"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "30", "-subj", f"/CN={SMTP_NAME}",
                    "-addext", f"subjectAltName=DNS:{SMTP_NAME}",
                    "-keyout", str(PRIVATE_KEY), "-out", str(staged)],
                   check=True, capture_output=True, timeout=60)
    staged.chmod(0o644)
    staged.replace(certificate)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate), str(PRIVATE_KEY))
    return context


def start_smtp() -> Controller:
    # AUTH PLAIN only: aiosmtpd's LOGIN challenges ("User Name\0") are not the "Username:" that
    # Alertmanager's LOGIN client expects, and PLAIN after STARTTLS is what relays offer anyway.
    controller = Controller(MailHandler(), hostname="0.0.0.0", port=SMTP_PORT, server_hostname=SMTP_NAME,
                            tls_context=tls_context(), require_starttls=True, auth_required=True,
                            auth_require_tls=True, auth_exclude_mechanism=["LOGIN"], authenticator=authenticate)
    controller.start()
    SMTP_READY.set()
    log.info("SMTP listening on :%d (STARTTLS, AUTH required)", SMTP_PORT)
    return controller


# --- HTTP: Slack, pager, the API -------------------------------------------------------------


def slack(req: Request) -> Response:
    expected = urlparse(secret("slack-webhook-url")).path
    if not same(req.path, expected):
        reject("slack", f"POST {req.path.rsplit('/', 1)[0]}/…: not the webhook in slack-webhook-url")
        return Response(403, "invalid_token")
    try:
        payload = req.json()
    except ValueError:
        return Response(400, "invalid_payload")
    if not isinstance(payload, dict) or not (payload.get("text") or payload.get("attachments")):
        return Response(400, "no_text")
    keep(slack_record(payload))
    return Response(200, "ok")


def pager(req: Request) -> Response:
    given = req.headers.get("Authorization", "")
    scheme, _, token = given.partition(" ")
    if scheme.lower() != "bearer" or not same(token.strip(), secret("pager-token")):
        reject("pager", "missing or wrong bearer token" if given else "no Authorization header")
        return Response(401, {"error": "unauthorized"})
    payload = req.json()
    if not isinstance(payload, dict) or "alerts" not in payload:
        return Response(400, {"error": "expected Alertmanager's webhook JSON"})
    keep(pager_record(payload))
    return Response(202, {"status": "accepted"})


def notifications(req: Request) -> Response:
    query = {k: v[0] for k, v in parse_qs(req.query).items() if k in FILTERS}
    with LOCK:
        records = [r for r in RECORDS if matches(r, query)]
        rejected = list(REJECTED)
    return Response(200, {"notifications": records, "rejected": rejected})


def clear(_req: Request) -> Response:
    with LOCK:
        count = len(RECORDS)
        RECORDS.clear()
        REJECTED.clear()
    return Response(200, {"cleared": count})


def health(_req: Request) -> Response:
    ready = SMTP_READY.is_set()
    return Response(200 if ready else 503, {"status": "ok" if ready else "starting", "recorded": len(RECORDS)})


def main() -> None:
    setup_logging("notification-sink")
    mail_log = logging.getLogger("mail.log")
    mail_log.setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
    # ... and warns at every AUTH about an attribute it sets itself (aiosmtpd 1.4).
    mail_log.addFilter(lambda record: "login_data is deprecated" not in str(record.msg))
    logging.getLogger("http").addFilter(HideSlackToken())
    for name in ("smtp-auth-password", "slack-webhook-url", "pager-token"):
        secret(name)  # fail at start, naming the file, rather than at the first delivery
    smtp = start_smtp()
    router = Router()
    router.add("POST", "/slack/services/{team}/{bot}/{token}", slack)
    router.add("POST", "/pager/v1/events", pager)
    router.add("GET", "/notifications", notifications)
    router.add("DELETE", "/notifications", clear)
    router.add("GET", "/health", health)
    try:
        serve(router, HTTP_PORT)
    finally:
        smtp.stop()


if __name__ == "__main__":
    try:
        main()
    except MissingSecret as exc:
        raise SystemExit(f"notification-sink: {exc}") from None
