"""One kernel per run, driven through nbclient: start it, run a step, stream output, interrupt, stop.

`KernelSession.run()` sends one step to the kernel and blocks until the kernel answers,
calling `on_output(stream, text)` for every chunk of output as it arrives. A step that
outlives its timeout is interrupted like Ctrl-C would (the kernel signals the step's process
group, then kills it after the grace period) and comes back with `timed_out=True`; the
session stays usable. `interrupt()` may be called from a SIGINT handler or another thread
while `run()` blocks; every other method belongs to the thread that called `start()`.

The kernel runs in its own session (process group), so Ctrl-C at the terminal never reaches
it directly: the caller turns SIGINT into `interrupt()`. If nobody handles SIGINT (Python's
default handler is in place), `run()` itself turns Ctrl-C into `interrupt()` while it runs.
The kernel's own stdout and stderr go to a log file, never to the terminal; its last lines
are quoted when it dies.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from opsbook.errors import KernelDied, OpsbookError, UsageError
from opsbook.kernel import protocol
from opsbook.text import write_atomically

UNRESPONSIVE_AFTER = 15.0
"""Seconds past timeout + kill grace after which a kernel that has not answered is given up."""

RESIGNAL_EVERY = 1.0
"""Seconds between repeated interrupts while a stopped step has not ended (one may arrive
before the kernel has started the step)."""

OutputCallback = Callable[[str, str], None]

_BANNER = re.compile(r"To connect another client|--existing |jupyter <app> --existing|NOTE: When using the `ipython kernel`"
                     r"|Ctrl-C will not work|kernel-\d+\.json|connection file|^\s*$")


@dataclass(frozen=True)
class Execution:
    """What running one step gave."""

    exit_status: int | None  # None if no status (ended by a signal, killed, kernel died)
    stdout: str  # as captured (cap applied, marker included)
    stderr: str
    truncated: bool
    timed_out: bool
    interrupted: bool  # stopped by KernelSession.interrupt()
    duration: float  # seconds
    variables: dict[str, tuple[str, bool]] | None = None  # plain variables the steps changed: value, exported
    # (secrets left out; None: the kernel saved no state, or is not the opsbook kernel)


@dataclass
class _StepRecord:
    """Output of the running step as it arrives, with a cap as a guard for foreign kernels."""

    cap: int
    on_output: OutputCallback | None
    chunks: dict[str, list[str]] = field(default_factory=lambda: {"stdout": [], "stderr": []})
    size: dict[str, int] = field(default_factory=lambda: {"stdout": 0, "stderr": 0})
    dropped: dict[str, int] = field(default_factory=lambda: {"stdout": 0, "stderr": 0})

    def add(self, stream: str, text: str) -> None:
        if stream not in self.chunks:
            stream = "stdout"
        if self.size[stream] >= self.cap:
            self.dropped[stream] += len(text)
            return
        self.chunks[stream].append(text)
        self.size[stream] += len(text)
        if self.on_output is not None:
            self.on_output(stream, text)

    def text(self, stream: str) -> str:
        text = "".join(self.chunks[stream])
        if self.dropped[stream]:
            marker = f"[opsbook: output truncated; {self.dropped[stream]} more characters not shown]\n"
            text += ("" if text.endswith("\n") else "\n") + marker
        return text


def _reply_variables(value: Any) -> dict[str, tuple[str, bool]] | None:
    """The `variables` of an execute reply (see protocol.REPLY_VARIABLES); None if absent or malformed."""
    if not isinstance(value, dict):
        return None
    variables: dict[str, tuple[str, bool]] = {}
    for name, entry in value.items():
        if isinstance(name, str) and isinstance(entry, dict) and isinstance(entry.get("value"), str):
            variables[name] = (entry["value"], bool(entry.get("exported")))
    return variables


def _client_class() -> type:
    """nbclient's NotebookClient, reporting output as it arrives instead of storing it."""
    from nbclient import NotebookClient

    class StepClient(NotebookClient):  # type: ignore[misc]
        record: _StepRecord | None = None

        def output(self, outs: list[Any], msg: dict[str, Any], display_id: str | None, cell_index: int) -> None:
            # Only text streams are kept; the opsbook kernel sends nothing else. For other
            # kernels an error's traceback counts as stderr and text/plain results as stdout.
            record = self.record
            if record is None:
                return None
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                record.add(content.get("name", "stdout"), content.get("text", ""))
            elif kind == "error":
                record.add("stderr", "\n".join(content.get("traceback") or [content.get("evalue", "")]) + "\n")
            elif kind in ("execute_result", "display_data"):
                text = content.get("data", {}).get("text/plain")
                if text:
                    record.add("stdout", text if text.endswith("\n") else text + "\n")
            return None

    return StepClient


class KernelSession:
    """A kernel that runs one runbook's steps, one at a time, sharing their shell state."""

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        cwd: Path,
        kernel_name: str = protocol.KERNEL_NAME,
        output_cap: int | None = None,
        secret_names: Collection[str] = (),
        restore_state: Path | None = None,
        kill_grace: float | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.env = dict(env)
        self.cwd = Path(cwd)
        self.kernel_name = kernel_name
        self.output_cap = output_cap
        self.secret_names = tuple(secret_names)
        self.restore_state = restore_state
        self.kill_grace = kill_grace
        self.startup_timeout = startup_timeout
        self._client: Any = None
        self._log_dir: Path | None = None
        self._kernel_pid: int | None = None
        self._running = False
        self._interrupt_at: float | None = None
        self._portable_state: str | None = None  # from the last execute reply, secrets left out
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> KernelSession:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown()

    def kernel_env(self) -> dict[str, str]:
        """The environment the kernel starts with: `env` plus the OPSBOOK_* settings given here."""
        env = dict(self.env)
        if self.output_cap is not None:
            env[protocol.OUTPUT_CAP_VAR] = str(self.output_cap)
        if self.kill_grace is not None:
            env[protocol.KILL_GRACE_VAR] = str(self.kill_grace)
        if self.secret_names:
            env[protocol.SECRET_NAMES_VAR] = ",".join(self.secret_names)
        if self.restore_state is not None:
            env[protocol.RESTORE_STATE_VAR] = str(Path(self.restore_state).resolve())
        return env

    def start(self) -> None:
        """Start the kernel and wait until it answers."""
        if self._client is not None:
            return
        if self.restore_state is not None and not Path(self.restore_state).is_file():
            raise UsageError(f"cannot resume: no saved state at {self.restore_state}")
        from nbclient.util import run_sync
        from nbformat.v4 import new_notebook

        if self.kernel_name == protocol.KERNEL_NAME:
            from opsbook.kernel.install import ensure_kernelspec

            ensure_kernelspec()
        client = _client_class()(
            new_notebook(),
            kernel_name=self.kernel_name,
            allow_errors=True,
            timeout=None,
            record_timing=False,
            startup_timeout=int(self.startup_timeout),
        )
        self._log_dir = Path(tempfile.mkdtemp(prefix="opsbook-session-"))
        log_path = self._log_dir / "kernel.log"
        try:
            with open(log_path, "wb") as log:
                client.km = client.create_kernel_manager()
                # IPC sockets in the session's private folder (mode 0700), not TCP on loopback:
                # no other user of the machine can reach the kernel, or read outputs before
                # they are masked.
                client.km.transport = "ipc"
                client.km.ip = str(self._log_dir / "kernel")
                client.km.connection_file = str(self._log_dir / "connection.json")
                run_sync(client.async_start_new_kernel)(
                    env=self.kernel_env(), cwd=str(self.cwd), stdout=log, stderr=log
                )
            self._kernel_pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
            run_sync(client.async_start_new_kernel_client)()
        except Exception as e:
            self._client = client
            detail = self._kernel_log_tail()
            self.shutdown()
            raise KernelDied(f"kernel {self.kernel_name!r} did not start: {e}{detail}") from e
        self._client = client

    def shutdown(self) -> None:
        """Stop the kernel (and any step still running); safe to call more than once."""
        client, self._client = self._client, None
        self._kernel_pid = None
        if client is not None and client.km is not None:
            from nbclient.util import run_sync

            try:
                run_sync(client._async_cleanup_kernel)()
            except Exception:
                # Last resort: nothing of this session may outlive it.
                provisioner = getattr(client.km, "provisioner", None)
                pid = getattr(provisioner, "pid", None)
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None

    @property
    def alive(self) -> bool:
        client = self._client
        if client is None or client.km is None:
            return False
        from nbclient.util import run_sync

        async def is_alive() -> bool:
            from jupyter_core.utils import ensure_async

            return bool(await ensure_async(client.km.is_alive()))

        return bool(run_sync(is_alive)())

    # -- steps -------------------------------------------------------------------------

    def run(self, code: str, *, timeout: float, on_output: OutputCallback | None = None) -> Execution:
        """Run one step; block until it ends, is interrupted, or times out."""
        client = self._require_client()
        from nbclient.util import run_sync

        record = _StepRecord(cap=self._client_cap(), on_output=on_output)
        with self._lock:
            self._interrupt_at = None
            self._running = True
        restore_sigint = self._take_default_sigint()
        try:
            return run_sync(self._async_run)(client, code, timeout, record)
        except KernelDied:
            raise
        except BaseException:
            # KeyboardInterrupt from a caller's handler, or a failure of our own: the step
            # must not go on running unseen.
            self._signal_kernel()
            raise
        finally:
            with self._lock:
                self._running = False
            if restore_sigint is not None:
                signal.signal(signal.SIGINT, restore_sigint)

    def interrupt(self) -> None:
        """Stop the running step (SIGINT to its process group, SIGKILL after the grace period).

        Safe from a signal handler or another thread; does nothing between steps.
        """
        with_lock = self._lock.acquire(blocking=False)
        try:
            if not self._running:
                return
            if self._interrupt_at is None:
                self._interrupt_at = time.monotonic()
        finally:
            if with_lock:
                self._lock.release()
        self._signal_kernel()

    def save_state(self, dest: Path, withhold: Collection[str] = ()) -> None:
        """Write the portable shell state as of the last finished step (secrets left out, and the
        variables named in `withhold`: those whose values the caller knows to be secret)."""
        client = self._require_client()
        if self.kernel_name != protocol.KERNEL_NAME:
            raise OpsbookError(f"kernel {self.kernel_name!r} has no shell state to save")
        from nbclient.util import run_sync

        text = self._portable_state
        if text is None or withhold:  # the last reply carried no state, or too much: ask the kernel for it
            text = run_sync(self._async_request_state)(client, tuple(withhold))
        # No fsync: the rename survives opsbook being killed, which is what resume is for.
        write_atomically(Path(dest), text)

    # -- internals ---------------------------------------------------------------------

    def _require_client(self) -> Any:
        if self._client is None:
            raise KernelDied("the kernel session is not running")
        return self._client

    def _client_cap(self) -> int:
        # The kernel caps each stream in bytes and adds a marker; this guard only matters for
        # kernels that do not cap, and leaves room for the marker and multi-byte characters.
        cap = self.output_cap or int(self.env.get(protocol.OUTPUT_CAP_VAR, "0") or 0) or 1_000_000
        return cap + 4096

    def _take_default_sigint(self) -> Any:
        """While run() blocks, make an unhandled Ctrl-C interrupt the step instead of raising."""
        if threading.current_thread() is not threading.main_thread():
            return None
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return None

        def on_sigint(signum: int, frame: FrameType | None) -> None:
            self.interrupt()

        return signal.signal(signal.SIGINT, on_sigint)

    def _signal_kernel(self) -> None:
        pid = self._kernel_pid
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGINT)
        except OSError:
            pass

    def _kernel_log_tail(self, lines: int = 15) -> str:
        """The kernel's last own log lines (its start-up banner about connecting clients left out)."""
        if self._log_dir is None:
            return ""
        try:
            text = (self._log_dir / "kernel.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        tail = [line for line in text.splitlines() if line.strip() and not _BANNER.search(line)][-lines:]
        return ("\nkernel log:\n  " + "\n  ".join(tail)) if tail else ""

    def _kernel_died(self, why: str) -> KernelDied:
        detail = self._kernel_log_tail()
        self.shutdown()
        return KernelDied(f"{why}{detail}")

    async def _async_run(self, client: Any, code: str, timeout: float, record: _StepRecord) -> Execution:
        from nbclient.exceptions import DeadKernelError
        from nbformat.v4 import new_code_cell

        cell = new_code_cell(source=code)
        client.nb.cells = [cell]
        client.record = record
        replies: list[dict[str, Any]] = []

        def on_executed(cell: Any, cell_index: int, execute_reply: dict[str, Any]) -> None:
            replies.append(execute_reply)

        client.on_cell_executed = on_executed
        started = time.monotonic()
        step = asyncio.ensure_future(client.async_execute_cell(cell, 0, store_history=False))
        timed_out = False
        stop_sent: float | None = None  # when the step was first asked to stop
        last_signal = 0.0
        grace = self.kill_grace if self.kill_grace is not None else 3.0
        try:
            while True:
                done, _ = await asyncio.wait({step}, timeout=0.05)
                if done:
                    break
                now = time.monotonic()
                if stop_sent is None:
                    if self._interrupt_at is not None:
                        stop_sent = last_signal = now  # interrupt() has signalled already
                    elif now - started >= timeout:
                        timed_out = True
                        stop_sent = last_signal = now
                        self._signal_kernel()
                elif now - last_signal >= RESIGNAL_EVERY:
                    last_signal = now
                    self._signal_kernel()
                if stop_sent is not None and now - stop_sent > grace + UNRESPONSIVE_AFTER:
                    step.cancel()
                    raise self._kernel_died(
                        f"kernel did not answer {grace + UNRESPONSIVE_AFTER:.0f} s after the step was stopped"
                    )
            step.result()
        except DeadKernelError:
            raise self._kernel_died("the kernel died while running the step") from None
        finally:
            client.record = None
            client.on_cell_executed = None
            if not step.done():
                step.cancel()
        duration = time.monotonic() - started
        reply = replies[-1]["content"] if replies else {"status": "error"}
        info = reply.get(protocol.REPLY_KEY)
        variables: dict[str, tuple[str, bool]] | None = None
        if isinstance(info, dict):
            state = info.get(protocol.REPLY_STATE)
            self._portable_state = state if isinstance(state, str) else None
            variables = _reply_variables(info.get(protocol.REPLY_VARIABLES))
            exit_status = info.get(protocol.REPLY_EXIT_STATUS)
            stopped = bool(info.get(protocol.REPLY_INTERRUPTED))
            truncated = bool(info.get(protocol.REPLY_TRUNCATED))
        else:  # another kernel: no exit status of its own
            exit_status = 0 if reply.get("status") == "ok" else 1
            stopped = stop_sent is not None and reply.get("ename") == "KeyboardInterrupt"
            truncated = False
        truncated = truncated or any(record.dropped.values())
        user_interrupt = stopped and not timed_out
        return Execution(
            exit_status=exit_status if isinstance(exit_status, int) else None,
            stdout=record.text("stdout"),
            stderr=record.text("stderr"),
            truncated=truncated,
            timed_out=stopped and timed_out,
            interrupted=user_interrupt and self._interrupt_at is not None,
            duration=duration,
            variables=variables,
        )

    async def _async_request_state(self, client: Any, withhold: tuple[str, ...] = ()) -> str:
        from jupyter_core.utils import ensure_async

        kc = client.kc
        msg = kc.session.msg(protocol.STATE_REQUEST, {"secret_names": [*self.secret_names, *withhold]})
        kc.shell_channel.send(msg)
        deadline = time.monotonic() + 30
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._kernel_died("the kernel did not answer the request for its state")
            try:
                reply = await ensure_async(kc.shell_channel.get_msg(timeout=remaining))
            except Exception:
                if not await ensure_async(client.km.is_alive()):
                    raise self._kernel_died("the kernel died while saving its state") from None
                continue
            if reply.get("parent_header", {}).get("msg_id") != msg["header"]["msg_id"]:
                continue
            content = reply["content"]
            if content.get("status") != "ok":
                raise OpsbookError(f"could not save the shell state: {content.get('evalue', 'unknown error')}")
            return str(content["state"])
