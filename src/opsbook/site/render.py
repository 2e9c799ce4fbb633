"""Pure rendering: Runbook model + verification status → the Markdown of each site page.

Nothing here knows about mkdocs; the site plugin feeds these functions and adds their output as
pages. Nothing a runbook, a rule file or a command's output says becomes markup: text that comes
from a command's output is turned into HTML entities before it is placed in a raw `<pre>` block,
so neither Markdown, nor HTML, nor a template engine can interpret it; author text in the page
body goes through `inline`; and what mkdocs' templates print (front matter, nav titles) goes
through `page_text`, because mkdocs' Jinja environment does not autoescape.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import yaml

from opsbook.run.targets import SANDBOX
from opsbook.runbook.model import SEVERITIES, Prose, Runbook, Step
from opsbook.runbook.options import badge_facts
from opsbook.site.alerts import AlertRule, alert_anchor
from opsbook.site.anchors import runbook_elsewhere
from opsbook.site.prose import page_prose
from opsbook.site.sections import alert_sections
from opsbook.site.annotations import TEMPLATE
from opsbook.text import fenced, format_duration, format_time, terminal_text
from opsbook.verify.figures import describe
from opsbook.verify.result import limit_text, seconds
from opsbook.verify.status import (
    CaseRecord,
    Freshness,
    StepRecord,
    Verification,
    VerificationStatus,
    freshness,
)

ALERTS_PAGE = "alerts/index.md"
SERVICES_PAGE = "services/index.md"
QUICK_START_PAGE = "quick-start/index.md"
EMERGENCY_TAG = "emergency"  # runbooks listed first on the quick-start page
RUNBOOKS_PAGE = "runbooks/index.md"
TAGS_PAGE = "tags/index.md"


def runbook_page_path(runbook_id: str) -> str:
    """Each runbook is `runbooks/<id>/index.md`, so it is served at `runbooks/<id>/`."""
    return f"runbooks/{runbook_id}/index.md"


def area_of(runbook_id: str) -> str:
    return runbook_id.split("/", 1)[0] if "/" in runbook_id else ""


def area_page_path(area: str) -> str:
    return f"runbooks/{area}/index.md"


def area_title(area: str) -> str:
    return area.replace("-", " ").replace("_", " ").capitalize() if area else "Other"


def step_anchor(name: str) -> str:
    return f"step-{name}"


def runbook_alert_anchor(alert: str) -> str:
    return f"alert-{alert_anchor(alert)}"


def service_anchor(service: str) -> str:
    return "service-" + re.sub(r"[^a-z0-9]+", "-", service.lower()).strip("-")


@dataclass(frozen=True)
class AlertProofs:
    """How the sandbox proves each alert: the faults that fire it live, or why it is unit-tested only."""

    fired_by: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unit_tested_only: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderContext:
    """Everything a page may show besides the runbooks themselves."""

    now: datetime
    stale_after_days: int = 7
    status: VerificationStatus | None = None
    rules: tuple[AlertRule, ...] = ()
    rules_label: str = "monitoring/prometheus/alerts"
    runbooks_label: str = "runbooks"
    runbooks_elsewhere: tuple[str, ...] = ()
    runbook_ids: frozenset[str] = frozenset()  # every runbook of the site: links to them lead to their pages
    proofs: AlertProofs | None = None  # None: no sandbox faults, no "proved by" column
    """URL prefixes of other runbook sites (setting `external_runbook_prefixes`)."""

    def verification(self, runbook_id: str) -> Verification | None:
        return self.status.get(runbook_id) if self.status else None

    def freshness(self, runbook_id: str) -> Freshness:
        return freshness(self.verification(runbook_id), self.now, self.stale_after_days)

    def rules_for(self, alert: str) -> list[AlertRule]:
        return [r for r in self.rules if r.name == alert]


# --- escaping --------------------------------------------------------------------------------

_INLINE_ENTITIES = {c: f"&#{ord(c)};" for c in "\\`*_[]{}|<>&#!~\""}
# HTML needs & < > (and quotes); Markdown preprocessors that see raw HTML blocks need the fence
# characters ` and ~; braces keep template syntax inert. Inline Markdown does not run in raw HTML.
_PRE_ENTITIES = {c: f"&#{ord(c)};" for c in "&<>\"'`~{}\\"}


def code(text: str) -> str:
    """Author text shown as inline code (a Markdown code span would show the entities)."""
    return f"<code>{inline(text)}</code>"


def inline(text: str) -> str:
    """Author text (titles, names) safe inside a Markdown line, a table cell or an HTML element."""
    return "".join(_INLINE_ENTITIES.get(c, c) for c in text.replace("\n", " "))


def page_text(text: str) -> str:
    """Author text for what mkdocs' templates print as it is: front matter values (`<title>`,
    `<meta name="description" content="...">`, the header, tags) and nav titles. mkdocs renders
    them without autoescaping and treats a page title as HTML (as it does a title taken from the
    page's H1), so the text is HTML-escaped, quotes included."""
    return html.escape(" ".join(text.split()), quote=True)


def pre_html(text: str) -> str:
    """Recorded output as the inside of `<pre><code>`: every character that any Markdown,
    HTML or template syntax could use is an entity, so the text can only ever be text."""
    return "".join(_PRE_ENTITIES.get(c, c) for c in terminal_text(text))


def fence(source: str, language: str) -> str:
    """A fenced code block that the source cannot close early (no newline after it)."""
    return fenced(source.rstrip("\n"), language).rstrip("\n")


def link(from_page: str, to_page: str, anchor: str = "") -> str:
    """Relative link between two generated pages (mkdocs checks and rewrites it)."""
    target = posixpath.relpath(to_page, posixpath.dirname(from_page) or ".")
    return f"{target}#{anchor}" if anchor else target


def front_matter(meta: dict[str, str | list[str]]) -> str:
    """YAML front matter; every text value goes through `page_text` (templates print it unescaped)."""
    safe = {key: page_text(value) if isinstance(value, str) else [page_text(v) for v in value]
            for key, value in meta.items()}
    return "---\n" + yaml.safe_dump(safe, sort_keys=False, allow_unicode=True) + "---\n"


def day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def short_commit(commit: str | None) -> str:
    return commit[:10] if commit else ""


def badge(kind: str, text: str, title: str = "") -> str:
    tip = f' title="{inline(title)}"' if title else ""
    return f'<span class="opsbook-badge opsbook-badge--{kind}"{tip}>{inline(text)}</span>'


def severity_badge(severity: str) -> str:
    return badge(severity.lower(), severity, "severity")


_FRESHNESS_KIND = {
    Freshness.VERIFIED: "verified",
    Freshness.FAILED: "failed",
    Freshness.STALE: "stale",
    Freshness.NEVER: "never",
}


def freshness_badge(state: Freshness, verification: Verification | None) -> str:
    text = state.value
    if verification is not None:
        text = f"{text} {day(verification.verified_at)}"
    return badge(_FRESHNESS_KIND[state], text, "last verification in CI")


# --- runbook page ----------------------------------------------------------------------------


def run_command(runbook: Runbook) -> str:
    target = SANDBOX if not runbook.targets or SANDBOX in runbook.targets else runbook.targets[0]
    parts = ["opsbook", "run", runbook.id, "--target", target]
    for param in runbook.params:
        if param.default is None:
            parts += ["--param", f"{param.name}=..."]
    return " ".join(parts)


def runbook_page(runbook: Runbook, ctx: RenderContext) -> str:
    """The page of one runbook: header facts, verification, how to run it, then every cell."""
    page = runbook_page_path(runbook.id)
    verification = ctx.verification(runbook.id)
    state = ctx.freshness(runbook.id)
    meta: dict[str, str | list[str]] = {"title": runbook.title}
    if runbook.summary:
        meta["description"] = runbook.summary
    if runbook.tags:
        meta["tags"] = list(runbook.tags)
    out: list[str] = [front_matter(meta)]
    out.append(f"# {inline(runbook.title)}\n")
    out.append(
        '<p class="opsbook-badges">'
        + " ".join([severity_badge(runbook.severity), freshness_badge(state, verification),
                    *time_limit_badges(verification)])
        + "</p>\n"
    )
    if runbook.summary:
        out.append(f'<p class="opsbook-summary">{inline(runbook.summary)}</p>\n')
    out.append(_facts(runbook, page, ctx))
    out.append(_verification_note(runbook, state, verification, ctx))
    out.append(_how_to_run(runbook))
    out.append("## Procedure { #procedure }\n")
    case = verification.first_case if verification else None
    cells = list(runbook.cells)
    has_prose = any(isinstance(c, Prose) for c in cells)
    previous: Step | None = None
    for position, cell in enumerate(cells):
        if isinstance(cell, Prose):
            text = _drop_title(cell.text, runbook.title) if position == 0 else cell.text
            if previous is not None and previous.after and text.startswith(previous.after):
                text = text[len(previous.after):]  # the step's own prose: already in its card
            if text.strip():
                out.append(page_prose(text.strip("\n"), runbook.id, page, ctx.runbook_ids) + "\n")
            previous = None
        else:
            if not has_prose and cell.prose.strip():
                out.append(page_prose(cell.prose.strip("\n"), runbook.id, page, ctx.runbook_ids) + "\n")
            after = page_prose(cell.after.strip("\n"), runbook.id, page, ctx.runbook_ids) if cell.after.strip() else ""
            out.append(step_card(runbook, cell, case, verification, after=after))
            previous = cell
    return "\n".join(out)


def _drop_title(text: str, title: str) -> str:
    """The page already shows the title as its only H1; a leading `# Title` would repeat it."""
    lines = text.lstrip("\n").split("\n")
    if lines and re.match(r"#\s+\S", lines[0]):
        return "\n".join(lines[1:])
    return text


def _facts(runbook: Runbook, page: str, ctx: RenderContext) -> str:
    rows: list[str] = []
    rows.append(f"- **Severity:** {inline(runbook.severity)}")
    if runbook.owner:
        rows.append(f"- **Owner:** {inline(runbook.owner)}")
    if runbook.services:
        services = ", ".join(
            f"[{inline(s)}]({link(page, SERVICES_PAGE, service_anchor(s))})" for s in runbook.services
        )
        rows.append(f"- **Services:** {services}")
    if runbook.alerts:
        rows.append("- **Alerts it answers:**")
        sections = alert_sections(runbook)
        for alert in runbook.alerts:
            anchor = runbook_alert_anchor(alert)
            rules = ctx.rules_for(alert)
            details = [f"[alerts index]({link(page, ALERTS_PAGE, alert_anchor(alert))})"]
            if alert in sections:
                heading, section = sections[alert]
                details.insert(0, f"answered in [{inline(heading)}](#{section})")
            if rules and rules[0].severity:
                details.insert(0, f"severity {inline(rules[0].severity)}")
            if rules and rules[0].summary:
                details.append(inline(rules[0].summary))
            rows.append(
                f'    - <a id="{anchor}" class="opsbook-alert" href="#{anchor}">{inline(alert)}</a>'
                f" — {' · '.join(details)}"
            )
    if runbook.scenario:
        rows.append(f"- **Verified against sandbox fault:** {code(runbook.scenario)}")
    return "\n".join(rows) + "\n"


def _verification_note(
    runbook: Runbook, state: Freshness, verification: Verification | None, ctx: RenderContext
) -> str:
    verify_cmd = code(f"opsbook verify {ctx.runbooks_label}/{runbook.id}.md")
    if verification is None:
        return (
            '!!! warning "Never verified"\n\n'
            "    There is no verification result for this runbook yet: nothing on this page has been\n"
            f"    proved against the sandbox. {verify_cmd} runs every step against it.\n"
        )
    commit = short_commit(verification.commit)
    at = f"on {format_time(verification.verified_at)}" + (f" at commit {code(commit)}" if commit else "")
    lines: list[str] = []
    if state is Freshness.FAILED:
        lines.append(f'!!! failure "Verification failed {at}"\n')
        if verification.message:
            lines.append(f"    {inline(verification.message)}\n")
    elif state is Freshness.STALE:
        age = (ctx.now - verification.verified_at).days
        lines.append(f'!!! warning "Stale: last verified {age} days ago"\n')
        lines.append(
            f"    It passed {at}, but results older than {ctx.stale_after_days} days may no longer hold. "
            f"Run {verify_cmd} again.\n"
        )
    else:
        lines.append(f'!!! success "Verified {at}"\n')
    for case in verification.cases:
        lines.append("    " + _case_line(case, runbook, verification.message) + "\n")
    lines.append(f"    Verification took {format_duration(verification.duration)}.\n")
    return "\n".join(lines)


def time_limit_badges(verification: Verification | None) -> list[str]:
    """Per case with a `within:` limit: how long its steps took in the last verification, and the limit."""
    if verification is None:
        return []
    badges = []
    for case in verification.cases:
        if case.within is None or case.steps_duration is None:
            continue
        text = f"{case.name}: {seconds(case.steps_duration)} (limit {limit_text(case.within)})"
        title = ("the steps took longer than the case's within: limit" if case.over_limit
                 else "how long the steps took, first start to last end, against the case's within: limit")
        badges.append(badge("failed" if case.over_limit else "within", text, title))
    return badges


def _case_line(case: CaseRecord, runbook: Runbook, shown: str) -> str:
    passed = sum(1 for s in case.steps if s.status == "passed")
    text = f"Case **{inline(case.name)}**: {inline(case.result)}, {passed} of {len(runbook.steps)} steps passed"
    if case.scenario:
        text += f" against fault {code(case.scenario)}"
    text += "."
    if case.steps_duration is not None:
        limit = ""
        if case.within is not None:
            limit = f" (limit {limit_text(case.within)}{', **over it**' if case.over_limit else ''})"
        text += f" The steps took {seconds(case.steps_duration)}{limit}."
    if case.figures:
        text += " Measured: " + ", ".join(
            (f"**{inline(describe(f))}**" if f.over_target else inline(describe(f))) for f in case.figures) + "."
    for alert in case.alerts:
        fired = "fired" if alert.fired else "did **not** fire"
        resolved = "resolved" if alert.resolved else "did **not** resolve"
        text += f" Alert {inline(alert.name)} {fired} and {resolved}."
    if case.message and case.result != "passed" and case.message != shown:
        text += f" {inline(case.message)}"
    return text


def _how_to_run(runbook: Runbook) -> str:
    out = ["## Step through it { #step-through-it }\n", fence(run_command(runbook), "bash") + "\n"]
    targets = ", ".join(code(t) for t in runbook.targets) if runbook.targets else "any target"
    out.append(
        "One step at a time: read it, confirm, run, see the output; skip, retry or quit and resume later. "
        f"Every action is recorded in a transcript. Runs on: {targets}. "
        f"Default step timeout: {runbook.timeout} s.\n"
    )
    if runbook.params:
        out.append("| Parameter | Default | Meaning |\n| --- | --- | --- |")
        for p in runbook.params:
            default = "*required*" if p.default is None else f"{code(p.default)}" if p.default else '`""`'
            if p.secret:
                default += " (secret, masked)"
            out.append(f"| {code(p.name)} | {default} | {inline(p.help)} |")
        out.append("")
    return "\n".join(out)


def step_badges(runbook: Runbook, step: Step, record: StepRecord | None) -> list[str]:
    """The step's option badges, then what CI saw of it."""
    badges = [badge(b.kind, b.label, b.title) for b in badge_facts(step, runbook.step_timeout(step))]
    if record is not None:
        badges.append(badge(f"ci-{record.status}", f"CI: {record.status.replace('_', ' ')}"))
    return badges


def _checks(step: Step) -> str:
    opts = step.options
    checks: list[str] = []
    if opts.output:
        checks.append(f"output must match {code(opts.output)}")
    if opts.not_output:
        checks.append(f"output must not match {code(opts.not_output)}")
    return ("Checks: " + "; ".join(checks) + ".\n") if checks else ""


def step_card(runbook: Runbook, step: Step, case: CaseRecord | None, verification: Verification | None,
              after: str = "") -> str:
    """One step: number, name with its anchor, badges, the command, its own prose (`after`, the
    step's after-prose as it goes on the page: good output, what to do if it fails), and what CI saw."""
    record = case.step(step.name) if case else None
    parts = [
        f'<div class="opsbook-step" markdown>\n',
        f"### {step.index}. {inline(step.name)} {{ #{step_anchor(step.name)} }}\n",
        '<p class="opsbook-badges">' + " ".join(step_badges(runbook, step, record)) + "</p>\n",
    ]
    checks = _checks(step)
    if checks:
        parts.append(checks)
    parts.append(fence(step.source, step.language) + "\n")
    # Started here, the step has no earlier step to set what it needs: the command says to give it.
    given = "".join(f" --param {name}=..." for name in step.options.needs)
    parts.append(
        f'<p class="opsbook-from" data-search-exclude>Start here: '
        f'{code(f"opsbook run {runbook.id} --from {step.name}{given}")}'
        f' · only this step: {code(f"opsbook run {runbook.id} --step {step.name}{given}")}</p>\n'
    )
    if after:
        parts.append(f'<div class="opsbook-step__after" markdown>\n\n{after}\n\n</div>\n')
    if record is not None and verification is not None:
        parts.append(ci_output(record, verification))
    parts.append("</div>\n")
    return "\n".join(parts)


def ci_output(record: StepRecord, verification: Verification) -> str:
    """The collapsible block with what the step printed in CI, escaped to plain text."""
    facts = [record.status.replace("_", " ")]
    if record.exit_status is not None:
        facts.append(f"exit {record.exit_status}")
    if record.status not in ("skipped", "not_run"):
        facts.append(format_duration(record.duration))
    if record.attempts > 1:
        facts.append(f"{record.attempts} attempts")
    summary = f"Output in CI on {format_time(verification.verified_at)} · " + " · ".join(facts)
    is_open = " open" if record.status in ("failed", "timed_out", "interrupted") else ""
    body = pre_html(record.output) if record.output else ""
    reason = (
        f'<p class="opsbook-output__reason">{pre_html(record.reason)}</p>' if record.reason else ""
    )
    if not body:
        body = "(no output)" if record.status not in ("skipped", "not_run") else "(did not run)"
    return (
        f'<details class="opsbook-output opsbook-output--{record.status}"{is_open} data-search-exclude>'
        f"<summary>{html.escape(summary)}</summary>{reason}"
        f'<pre class="opsbook-output__text"><code>{body}</code></pre></details>\n'
    )


# --- index pages -----------------------------------------------------------------------------


def _severity_key(runbook: Runbook) -> tuple[int, str]:
    rank = SEVERITIES.index(runbook.severity) if runbook.severity in SEVERITIES else len(SEVERITIES)
    return rank, runbook.title.lower()


def _last_verified(runbook: Runbook, ctx: RenderContext) -> str:
    return freshness_badge(ctx.freshness(runbook.id), ctx.verification(runbook.id))


def _runbook_link(from_page: str, runbook: Runbook, anchor: str = "") -> str:
    return f"[{inline(runbook.title)}]({link(from_page, runbook_page_path(runbook.id), anchor)})"


def alerts_page(runbooks: Sequence[Runbook], ctx: RenderContext) -> str:
    """Every alert of the rule files (and every alert a runbook names) → its runbooks."""
    page = ALERTS_PAGE
    by_alert: dict[str, list[Runbook]] = {}
    for rb in runbooks:
        for alert in rb.alerts:
            by_alert.setdefault(alert, []).append(rb)
    names = sorted({r.name for r in ctx.rules} | set(by_alert), key=str.lower)
    missing = [n for n in names if n not in by_alert]
    out = [front_matter({"title": "Alerts"}), "# Alerts → runbooks\n"]
    out.append(
        f"Every alert defined in {code(ctx.rules_label)}, the runbook that answers it, and when CI "
        f"last proved that runbook. {len(names)} alerts"
        + (f", **{len(missing)} without a runbook yet**." if missing else ", each with a runbook.")
        + " An alert's `runbook_url` points to its runbook or to its row here.\n"
    )
    proofs = ctx.proofs
    if proofs is not None:
        live = sorted(n for n in names if n in proofs.fired_by)
        out.append(f"Fired live in the sandbox: {len(live)} of {len(names)}, each by a fault that creates the real "
                   "symptom, and resolved when it is healed; the others are proved by their promtool unit tests.\n")
    header = ["Alert", "Category", "Severity", "Threshold", *(["Proved by"] if proofs else []), "Runbook", "Last verified"]
    out.append("| " + " | ".join(header) + " |\n|" + " --- |" * len(header))
    for name in names:
        anchor = alert_anchor(name)
        rules = ctx.rules_for(name)
        severity = ", ".join(sorted({r.severity for r in rules if r.severity})) or "—"
        cell = f'<a id="{anchor}" class="opsbook-alert" href="#{anchor}">{inline(name)}</a>'
        if not rules:
            cell += " " + badge("norule", "no rule", f"no alert rule in {ctx.rules_label}")
        elif rules[0].summary:
            cell += f"<br><small>{inline(rules[0].summary)}</small>"
        category = ", ".join(sorted({r.label("category") or r.file.name.split(".")[0] for r in rules})) or "—"
        answering = by_alert.get(name, [])
        elsewhere = sorted({r.runbook_url for r in rules if runbook_elsewhere(r.runbook_url, ctx.runbooks_elsewhere)})
        if answering:
            books = "<br>".join(
                f"{_runbook_link(page, rb, runbook_alert_anchor(name))} {severity_badge(rb.severity)}"
                for rb in answering
            )
            verified = "<br>".join(_last_verified(rb, ctx) for rb in answering)
        elif elsewhere:
            books = badge("elsewhere", "runbook elsewhere", "on another runbook site") + "<br>" + "<br>".join(
                external_link(url) for url in elsewhere
            )
            verified = "—"
        else:
            books = badge("norunbook", "no runbook yet")
            verified = "—"
        row = [cell, inline(category), inline(severity), _threshold(rules)]
        if proofs is not None:
            row.append(_proof(name, proofs))
        out.append("| " + " | ".join([*row, books, verified]) + " |")
    return "\n".join(out) + "\n"


def _threshold(rules: Sequence[AlertRule]) -> str:
    """The rule's threshold in words (its `threshold` annotation) and its `for:`."""
    if not rules:
        return "—"
    rule = rules[0]
    words = inline(rule.annotation("threshold")) or "—"
    waits = f"for: {rule.for_}" if rule.for_ else "fires at once"
    return f"{words}<br><small>{inline(waits)}</small>"


def _proof(name: str, proofs: AlertProofs) -> str:
    faults = proofs.fired_by.get(name, ())
    if faults:
        return badge("live", "fired live", "a sandbox fault fires it and healing resolves it") + "<br>" + ", ".join(
            f"fault {code(f)}" for f in faults)
    reason = proofs.unit_tested_only.get(name)
    if reason:
        return badge("unitonly", "unit-tested only") + f"<br><small>{inline(reason)}</small>"
    return badge("unproved", "not proved", "no fault fires it and it is not listed as unit-tested only")


def external_link(url: str) -> str:
    """A link to another site's runbook; a URL Prometheus still has to expand is shown, not linked."""
    if TEMPLATE.search(url) or not url.startswith(("https://", "http://")):
        return code(url)
    return f'<a class="opsbook-elsewhere" href="{inline(url)}">{inline(url)}</a>'


def services_page(runbooks: Sequence[Runbook], ctx: RenderContext) -> str:
    page = SERVICES_PAGE
    by_service: dict[str, list[Runbook]] = {}
    for rb in runbooks:
        for service in rb.services:
            by_service.setdefault(service, []).append(rb)
    out = [front_matter({"title": "Services"}), "# Services → runbooks\n"]
    out.append("The runbooks that touch each service, most severe first.\n")
    if not by_service:
        out.append("No runbook names a service yet.\n")
    for service in sorted(by_service, key=str.lower):
        out.append(f"## {inline(service)} {{ #{service_anchor(service)} }}\n")
        for rb in sorted(by_service[service], key=_severity_key):
            out.append(f"- {_runbook_link(page, rb)} {severity_badge(rb.severity)} {_last_verified(rb, ctx)}")
        out.append("")
    return "\n".join(out)


def runbooks_table(page: str, runbooks: Iterable[Runbook], ctx: RenderContext) -> str:
    rows = ["| Runbook | Severity | Alerts | Owner | Last verified |", "| --- | --- | --- | --- | --- |"]
    for rb in sorted(runbooks, key=_severity_key):
        alerts = ", ".join(inline(a) for a in rb.alerts) or "—"
        summary = f"<br><small>{inline(rb.summary)}</small>" if rb.summary else ""
        rows.append(
            f"| {_runbook_link(page, rb)}{summary} | {severity_badge(rb.severity)} | {alerts} "
            f"| {inline(rb.owner) or '—'} | {_last_verified(rb, ctx)} |"
        )
    return "\n".join(rows) + "\n"


def runbooks_page(runbooks: Sequence[Runbook], ctx: RenderContext) -> str:
    out = [front_matter({"title": "All runbooks"}), "# All runbooks\n"]
    areas = sorted({area_of(rb.id) for rb in runbooks if area_of(rb.id)})
    if areas:
        out.append("By area: " + " · ".join(f"[{inline(area_title(a))}]({a}/index.md)" for a in areas) + "\n")
    out.append(runbooks_table(RUNBOOKS_PAGE, runbooks, ctx))
    return "\n".join(out)


def area_page(area: str, runbooks: Sequence[Runbook], ctx: RenderContext) -> str:
    page = area_page_path(area)
    mine = [rb for rb in runbooks if area_of(rb.id) == area]
    out = [front_matter({"title": area_title(area)}), f"# {inline(area_title(area))}\n"]
    out.append(f"{len(mine)} runbook{'s' if len(mine) != 1 else ''} in {code(f'runbooks/{area}/')}.\n")
    out.append(runbooks_table(page, mine, ctx))
    return "\n".join(out)


INCIDENT_GUIDE_PAGE = "incident-response.md"
"""The site's incident response guide (severity levels, roles, escalation, templates), when it has one."""


def quick_start_page(runbooks: Sequence[Runbook], ctx: RenderContext, incident_guide: str | None = None) -> str:
    """What to do when paged, then every runbook by severity. `incident_guide` is the page of the
    site's incident response guide (e.g. INCIDENT_GUIDE_PAGE), linked when the site has one."""
    page = QUICK_START_PAGE
    out = [front_matter({"title": "Incident quick start"}), "# Incident quick start\n"]
    # Runbooks tagged `emergency` (the emergency rollback) come before everything else: when a
    # deploy just went out, going back is faster than any diagnosis.
    for rb in sorted((rb for rb in runbooks if EMERGENCY_TAG in rb.tags), key=_severity_key):
        out.append(f"**First, if it started with a change: {_runbook_link(page, rb)}** {_last_verified(rb, ctx)}"
                   + (f"<br>{inline(rb.summary)}" if rb.summary else "") + "\n")
        out.append(f"```bash\nopsbook run {rb.id} --target production\n```\n")
    items = [
        f"""**See what is firing: `opsbook alerts`.** It lists the alerts firing now on the target, each
    with the runbook that answers it. Step through that runbook from a terminal instead of pasting
    commands:

    ```bash
    opsbook alerts --target production             # what is firing, and the runbook for each
    opsbook run --alert NAME --target production   # step through the runbook that answers alert NAME
    ```

    No terminal at hand? Look the alert up in the [alerts index]({link(page, ALERTS_PAGE)}): every
    alert links to the runbook that answers it. Otherwise press ++slash++ and search for a symptom,
    a service, a command or an alert name; `opsbook run <runbook-id> --target production` steps
    through what you found. This site works offline, opened from disk.""",
        """**Keep the transcript.** Each step is shown, confirmed, run with live output, and recorded
    (commands, output, exit status, who and when) in `.opsbook/runs/<UTC time>-<runbook>/transcript.md`,
    rewritten after every step: attach it to the post-mortem. If you stop or a step fails, continue
    later with `opsbook run <runbook-id> --resume <record dir>`. Destructive steps ask you to type
    the target's name; secrets are masked.""",
    ]
    if incident_guide:
        items.append(
            f"""**Declare and communicate.** Set the severity, name an incident commander and post updates
    on time: the [incident response guide]({link(page, incident_guide)}) has the severity levels,
    the roles, whom to call and when, and the messages to post."""
        )
    items += [
        """**Check the badge.** A green badge means CI ran every step against the sandbox recently; a
    stale, failed or never-verified runbook still helps, but read each step before you confirm it.""",
        "**Escalate** to the runbook's owner when a step fails or the runbook does not fit.",
    ]
    # Python-Markdown reads a "2. ..." line right after an item's indented paragraph as more of that
    # paragraph, not as the next item: a blank line between the items keeps them apart.
    out.append("\n\n".join(f"{n}. {item}" for n, item in enumerate(items, 1)) + "\n")
    for severity in SEVERITIES:
        group = sorted((rb for rb in runbooks if rb.severity == severity), key=_severity_key)
        if not group:
            continue
        out.append(f"## {severity} runbooks {{ #{severity.lower()} }}\n")
        for rb in group:
            alerts = f" — alerts: {', '.join(inline(a) for a in rb.alerts)}" if rb.alerts else ""
            summary = f"<br>{inline(rb.summary)}" if rb.summary else ""
            out.append(f"- {_runbook_link(page, rb)} {_last_verified(rb, ctx)}{alerts}{summary}")
        out.append("")
    others = [rb for rb in runbooks if rb.severity not in SEVERITIES]
    if others:
        out.append("## Other runbooks\n")
        out.extend(f"- {_runbook_link(page, rb)}" for rb in sorted(others, key=_severity_key))
        out.append("")
    return "\n".join(out)


def tags_page() -> str:
    return front_matter({"title": "Tags"}) + "# Tags\n\n<!-- material/tags -->\n"
