"""The kernel as any Jupyter client sees it: kernelspec, replies, only stream messages."""

from __future__ import annotations

import json
import sys

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from opsbook.kernel.install import ensure_kernelspec

pytestmark = pytest.mark.kernel


def test_kernelspec_is_installed_once_in_the_active_environment() -> None:
    folder = ensure_kernelspec()
    spec = json.loads((folder / "kernel.json").read_text())
    assert folder.name == "opsbook-bash"
    assert str(folder).startswith(sys.prefix)
    assert spec["argv"] == [sys.executable, "-m", "opsbook.kernel", "-f", "{connection_file}"]
    assert (spec["display_name"], spec["language"]) == ("opsbook (bash)", "bash")
    mtime = (folder / "kernel.json").stat().st_mtime_ns
    assert ensure_kernelspec() == folder
    assert (folder / "kernel.json").stat().st_mtime_ns == mtime


def test_the_cli_installs_it_and_says_where() -> None:
    """`opsbook kernel install`, as `make setup` runs it."""
    import subprocess

    done = subprocess.run([sys.executable, "-c", "from opsbook.cli.main import entry; entry()", "kernel", "install"],
                          capture_output=True, text=True, timeout=60, env={"COLUMNS": "300", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    folder = ensure_kernelspec()
    assert f"kernelspec opsbook-bash installed in {folder}" in " ".join(done.stdout.split())


def _execute(cells: list[str]) -> tuple[list, list[dict]]:
    ensure_kernelspec()
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    replies: list[dict] = []
    client = NotebookClient(
        nb,
        kernel_name="opsbook-bash",
        allow_errors=True,
        timeout=60,
        on_cell_executed=lambda cell, cell_index, execute_reply: replies.append(execute_reply["content"]),
    )
    client.execute()
    return nb.cells, replies


def test_replies_carry_the_exit_status_and_outputs_are_only_streams() -> None:
    cells, replies = _execute(
        [
            "echo '<b>bold</b>'; echo warn >&2",
            "exit 3",
            "false | true",
        ]
    )
    assert replies[0]["status"] == "ok" and replies[0]["opsbook"]["exit_status"] == 0
    assert replies[1]["status"] == "error"
    assert (replies[1]["ename"], replies[1]["evalue"]) == ("StepFailed", "exit status 3")
    assert replies[1]["opsbook"]["exit_status"] == 3
    assert replies[2]["opsbook"]["exit_status"] == 1
    outputs = [o for c in cells for o in c.outputs]
    assert outputs and all(o.output_type == "stream" for o in outputs)
    assert [(o.name, o.text) for o in cells[0].outputs] == [("stdout", "<b>bold</b>\n"), ("stderr", "warn\n")]


def test_twenty_thousand_lines_arrive_complete_through_nbclient() -> None:
    cells, _ = _execute(["seq 1 20000"])
    text = "".join(o.text for o in cells[0].outputs if o.name == "stdout")
    assert text == "".join(f"{i}\n" for i in range(1, 20001))


def test_the_kernel_listens_on_owner_only_ipc_sockets_not_tcp(session: KernelSession) -> None:
    """No other user of a shared host can connect to a run's kernel and read outputs before masking."""
    import os
    import stat

    km = session._client.km
    assert km.transport == "ipc"
    folder = os.path.dirname(km.ip)
    assert stat.S_IMODE(os.stat(folder).st_mode) & 0o077 == 0, "the sockets' folder is the owner's alone"
    sockets = [name for name in os.listdir(folder) if stat.S_ISSOCK(os.stat(os.path.join(folder, name)).st_mode)]
    assert len(sockets) == 5  # shell, iopub, stdin, control, heartbeat
    pid = session._kernel_pid
    listening = open("/proc/net/tcp").read() + open("/proc/net/tcp6").read()
    inodes = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    tcp_inodes = {f"socket:[{line.split()[9]}]" for line in listening.splitlines()[1:] if line.split()[3] == "0A"}
    assert not inodes & tcp_inodes, "the kernel listens on no TCP port"
    assert session.run("echo ok", timeout=10).stdout == "ok\n"
