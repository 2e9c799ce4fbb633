"""How `opsbook sandbox notifications` shows the sink's records: one table row per delivery.

Every value in a record comes from an alert (labels, annotations) or from a message the sink was
sent, so each one is printed through `content()`: never rich markup, never an escape sequence.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from opsbook.cli.console import content
from opsbook.text import format_time

STATUS_STYLE = {"firing": "step.failed", "resolved": "good"}


def _details(record: Mapping[str, Any]) -> Text:
    """What the receiver got: the email's subject and links, the Slack message's colour, title and
    buttons, or the pager call's alert count."""
    channel = record.get("channel")
    lines: list[Text] = []
    if channel == "email":
        mail = record.get("email") or {}
        lines.append(content(f"email to {', '.join(mail.get('to') or [])}", "meta"))
        lines.append(content(str(mail.get("subject") or "(no subject)"), "bold"))
        for label in ("runbook", "dashboard"):
            if mail.get(f"{label}_url"):
                lines.append(content(f"{label}: {mail[f'{label}_url']}"))
    elif channel == "slack":
        chat = record.get("slack") or {}
        lines.append(content(f"slack {chat.get('channel') or ''} colour {chat.get('color') or '-'}", "meta"))
        lines.append(content(str(chat.get("title") or ""), "bold"))
        for action in chat.get("actions") or []:
            lines.append(content(f"{str(action.get('text', '')).lower()}: {action.get('url', '')}"))
    elif channel == "pager":
        alerts = record.get("alerts") or []
        lines.append(content(f"pager call, {len(alerts)} alert{'s' if len(alerts) != 1 else ''}", "meta"))
        group = (record.get("pager") or {}).get("groupLabels") or {}
        if group:
            lines.append(content(", ".join(f"{k}={v}" for k, v in sorted(group.items()))))
    else:
        lines.append(content(str(channel or "unknown channel"), "meta"))
    return Text("\n").join(lines)


def notifications_table(records: Sequence[Mapping[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=True)
    for column in ("time", "receiver", "status", "alert", "what it got"):
        table.add_column(column, overflow="fold")
    for record in records:
        status = str(record.get("status") or "")
        table.add_row(content(format_time(str(record.get("time") or ""), clock_only=True)),
                      content(str(record.get("receiver") or "")),
                      content(status, STATUS_STYLE.get(status, "")),
                      content(" ".join(record.get("alertnames") or []) or "-"),
                      _details(record))
    return table


def print_notifications(console: Console, errors: Console, report: Mapping[str, Sequence[Mapping[str, Any]]], *,
                        project: str, receiver: str | None) -> None:
    records = report.get("notifications") or []
    scope = f"sandbox {project}" + (f", receiver {receiver}" if receiver else "")
    if records:
        console.print(notifications_table(records, f"notifications ({scope}): {len(records)}"))
    else:
        console.print(content(f"no notifications yet ({scope})", "meta"))
    rejected = report.get("rejected") or []
    if rejected:
        errors.print(Text.assemble(("warning:", "warning"), " ", content(
            f"the sink rejected {len(rejected)} deliver{'ies' if len(rejected) != 1 else 'y'} (wrong credentials?); "
            "the last: " + "; ".join(f"{r.get('channel')}: {r.get('reason')}" for r in rejected[-3:]))), soft_wrap=True)
