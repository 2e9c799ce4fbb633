"""`opsbook sandbox ...`: the click group; argument parsing and output only, the work is in `Sandbox`.

Errors propagate to `opsbook.cli.main.entry`, which maps them to exit statuses like every command's.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from opsbook.cli.progress import progress_display
from opsbook.errors import SandboxError
from opsbook.sandbox.driver import Sandbox

F = TypeVar("F", bound=Callable[..., Any])


def find_root(start: Path) -> Path:
    """The repository root: the nearest folder upwards that holds sandbox/compose.yaml."""
    for folder in [start, *start.parents]:
        if (folder / "sandbox" / "compose.yaml").is_file():
            return folder
    raise SandboxError(f"no sandbox/compose.yaml in {start} or above: run this inside the opsbook repository "
                       "(or pass --root)")


def project_options(func: F) -> F:
    func = click.option("--project", "-p", envvar="OPSBOOK_SANDBOX_PROJECT", default=None, metavar="NAME",
                        help="Compose project name: each project is a separate sandbox with its own ports, "
                             "containers and volumes. [default: opsbook; env: OPSBOOK_SANDBOX_PROJECT]")(func)
    func = click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Repository root (holds sandbox/). [default: found from the current folder]")(func)
    return func


def _sandbox(root: Path | None, project: str | None) -> Sandbox:
    return Sandbox(root or find_root(Path.cwd()), project)


@click.group(name="sandbox")
def sandbox() -> None:
    """The docker compose sandbox: the platform in miniature that runbooks run against.

    \b
    Services: app (API), worker, postgres, redis, prometheus, alertmanager, the
    notification sink (SMTP, Slack API, pager webhook), exporters, and steady synthetic traffic.
    Ports bind to 127.0.0.1; credentials are generated into sandbox/.env.

    \b
    Examples:
      opsbook sandbox up                      # build what is missing, start, wait until healthy
      eval "$(opsbook sandbox env)"           # APP_URL, DATABASE_URL, COMPOSE ... in your shell
      curl -fsS "$APP_URL/api/health"
      opsbook sandbox fault worker-stuck      # break it; see `fault --list`
      opsbook sandbox heal                    # undo every injected fault
      opsbook sandbox notifications           # what Alertmanager's receivers delivered
      opsbook sandbox reset                   # clean state in seconds, no rebuild
      opsbook sandbox down                    # remove containers and volumes
    """


@sandbox.command()
@project_options
@click.option("--timeout", type=float, default=600, show_default=True, help="Seconds to wait for everything.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def up(root: Path | None, project: str | None, timeout: float, quiet: bool) -> None:
    """Build what is missing and start the sandbox; wait until every service is healthy.

    \b
    The first run builds debian:bookworm-slim from Debian's packages when no registry
    answers (debootstrap + docker import; needs root), then the service images.
    Later runs only start containers. Fails with the unhealthy service's last log lines.

    \b
    Examples:
      opsbook sandbox up
      opsbook sandbox up --project demo     # a second sandbox beside the first
      OPSBOOK_SANDBOX_PORT_BASE=25000 opsbook sandbox up
    """
    box = _sandbox(root, project)
    box.up(timeout=timeout, progress=None if quiet else progress_display)
    env = box.env()
    click.echo(f"sandbox {box.project} is up: app {env['APP_URL']}, prometheus {env['PROMETHEUS_URL']}")
    click.echo(f'use it from a shell: eval "$(opsbook sandbox env{_project_flag(box)})"')


def _project_flag(box: Sandbox) -> str:
    return "" if box.project == "opsbook" else f" --project {box.project}"


@sandbox.command()
@project_options
def down(root: Path | None, project: str | None) -> None:
    """Stop and remove the sandbox: containers, network and volumes (all data).

    \b
    The env file (sandbox/.env) stays, so the next `up` uses the same ports and credentials.
    Example:  opsbook sandbox down --project demo
    """
    box = _sandbox(root, project)
    box.down()
    click.echo(f"sandbox {box.project} removed (containers, network, volumes)")


@sandbox.command()
@project_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(root: Path | None, project: str | None, as_json: bool) -> None:
    """Show each service: state, health and published ports. Exit 1 if not all healthy.

    \b
    Example:  opsbook sandbox status
    """
    import json
    from dataclasses import asdict

    box = _sandbox(root, project)
    states = box.status()
    healthy = box.healthy()
    if as_json:
        click.echo(json.dumps({"project": box.project, "healthy": healthy,
                               "services": [asdict(s) for s in states]}, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"sandbox {box.project}: {'healthy' if healthy else 'NOT healthy'}", title_justify="left")
        for column in ("service", "state", "health", "ports"):
            table.add_column(column)
        for s in states:
            colour = "green" if s.ready or s.health == "exit 0" else ("yellow" if s.health == "starting" else "red")
            table.add_row(s.service, s.state, f"[{colour}]{s.health or '-'}[/]", "\n".join(s.ports))
        Console().print(table)
    if not healthy:
        sys.exit(1)


@sandbox.command()
@project_options
@click.argument("service", required=False)
@click.option("--tail", "-n", type=int, default=None, help="Only the last N lines of each service.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines (Ctrl-C to stop).")
def logs(root: Path | None, project: str | None, service: str | None, tail: int | None, follow: bool) -> None:
    """Print the logs of every service, or of SERVICE.

    \b
    Examples:
      opsbook sandbox logs app --tail 50
      opsbook sandbox logs worker -f
    """
    box = _sandbox(root, project)
    if service and service not in (box.compose_spec().get("services") or {}):
        raise click.BadParameter(f"no service {service!r} in compose.yaml", param_hint="SERVICE")
    sys.exit(box.logs(service, tail=tail, follow=follow))


@sandbox.command()
@project_options
def reset(root: Path | None, project: str | None) -> None:
    """Return a running sandbox to a clean state in seconds (no rebuild).

    \b
    Removes fault clients, heals every fault, deploys the default app version, starts
    stopped services, rebuilds the schema from the migrations (no data), empties the
    queue and the spool volume, forgets recorded notifications and restarts Alertmanager
    (so an alert that fires again is notified again).
    Example:  opsbook sandbox reset
    """
    import time

    box = _sandbox(root, project)
    started = time.monotonic()
    box.reset()
    click.echo(f"sandbox {box.project} reset in {time.monotonic() - started:.1f}s")


@sandbox.command()
@project_options
@click.option("--json", "as_json", is_flag=True, help="A JSON object instead of export lines.")
def env(root: Path | None, project: str | None, as_json: bool) -> None:
    """Print the sandbox target's variables as `export KEY='value'` lines.

    \b
    Runbook steps see exactly these. They include secrets: do not paste the output.
    Examples:
      eval "$(opsbook sandbox env)"
      psql "$DATABASE_URL" -c 'select count(*) from agents'
      redis-cli -u "$REDIS_URL" llen jobs
      $COMPOSE ps worker
    """
    import json

    values = _sandbox(root, project).env()
    if as_json:
        click.echo(json.dumps(values, indent=2, sort_keys=True))
        return
    for key in sorted(values):
        click.echo(f"export {key}={_single_quoted(values[key])}")


@sandbox.command()
@project_options
@click.option("--receiver", "-r", metavar="NAME", default=None,
              help="Only what this Alertmanager receiver got (see monitoring/alertmanager/alertmanager.yml).")
@click.option("--json", "as_json", is_flag=True, help="The sink's records as JSON, every field.")
def notifications(root: Path | None, project: str | None, receiver: str | None, as_json: bool) -> None:
    """Show what Alertmanager's receivers delivered to the sandbox's sinks, oldest first.

    \b
    One row per email, Slack message or pager call: time, receiver, status, alert, and
    for email the subject and the runbook and dashboard links of its HTML body, for Slack
    the channel, colour and button links. Deliveries the sink refused (a wrong SMTP
    password, Slack token or pager token) are reported on stderr.
    Exit 1 when the sandbox is not running; `opsbook sandbox reset` forgets the records.
    Examples:
      opsbook sandbox notifications
      opsbook sandbox notifications --receiver team-email
      opsbook sandbox notifications --json | jq -r '.notifications[].email.subject // empty'
    """
    import json

    from opsbook.cli.console import console, errors
    from opsbook.cli.notifications import print_notifications
    from opsbook.sandbox.alerts import receiver_names

    box = _sandbox(root, project)
    known = receiver_names(box.root / "monitoring" / "alertmanager" / "alertmanager.yml")
    if receiver is not None and receiver not in known:
        raise click.BadParameter(f"no receiver {receiver!r} in monitoring/alertmanager/alertmanager.yml; "
                                 f"one of: {', '.join(known)}", param_hint="--receiver")
    report = box.notification_report(receiver=receiver)
    if as_json:
        click.echo(json.dumps({"project": box.project, **report}, indent=2))
        return
    print_notifications(console, errors, report, project=box.project, receiver=receiver)


def _single_quoted(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


@sandbox.command()
@project_options
@click.argument("name", required=False)
@click.option("--list", "list_", is_flag=True, help="List the fault scenarios and exit.")
def fault(root: Path | None, project: str | None, name: str | None, list_: bool) -> None:
    """Inject the fault scenario NAME (see --list): the sandbox is broken until you heal it.

    \b
    Examples:
      opsbook sandbox fault --list
      opsbook sandbox fault worker-stuck
      opsbook sandbox heal worker-stuck
    """
    box = _sandbox(root, project)
    faults = box.faults()
    if list_ or not name:
        if not name and not list_:
            raise click.UsageError("give a fault NAME, or --list to see them")
        from rich.console import Console
        from rich.table import Table

        table = Table(show_lines=True)
        for column in ("fault", "what happens", "symptom", "alerts"):
            table.add_column(column, overflow="fold")
        for f in faults:
            table.add_row(f.name, f.summary, f.symptom, ", ".join(f.alerts))
        Console().print(table)
        return
    known = {f.name: f for f in faults}
    if name not in known:
        raise click.BadParameter(f"unknown fault {name!r}; one of: {', '.join(sorted(known))}", param_hint="NAME")
    output = box.inject(name)
    click.echo(output.rstrip())
    spec = known[name]
    click.echo(f"injected {name}: {spec.summary}")
    click.echo(f"symptom: {spec.symptom}")
    if spec.alerts:
        click.echo(f"alerts that will fire: {', '.join(spec.alerts)}")
    click.echo(f"heal with: opsbook sandbox heal {name}{_project_flag(box)}")


@sandbox.command()
@project_options
@click.argument("name", required=False)
def heal(root: Path | None, project: str | None, name: str | None) -> None:
    """Undo the fault NAME, or every fault injected with `opsbook sandbox fault`.

    \b
    Examples:
      opsbook sandbox heal worker-stuck
      opsbook sandbox heal
    For a full clean state (data too), use `opsbook sandbox reset`.
    """
    box = _sandbox(root, project)
    if name is not None and name not in {f.name for f in box.faults()}:
        raise click.BadParameter(f"unknown fault {name!r}; see `opsbook sandbox fault --list`", param_hint="NAME")
    active = [name] if name else box.active_faults()
    if not active:
        click.echo("no injected fault recorded; nothing to heal (`opsbook sandbox reset` cleans everything)")
        return
    output = box.heal(name)
    click.echo(output.rstrip())
    click.echo(f"healed: {', '.join(active)}")
