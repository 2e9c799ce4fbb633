"""The Jupyter side of the shell kernel: execute requests in, stream messages and replies out.

Only `stream` messages are ever published (no display_data, HTML or JavaScript), and
nothing a command prints makes the kernel read a file. The execute reply carries what a
runner needs in `content["opsbook"]`: exit_status (null when bash was ended by a signal),
signal, interrupted, killed, truncated, state_saved, duration, state (the portable state) and
variables (the plain variables the steps changed, for a later run's `--state-from`). A failed step replies with
status "error", ename "StepFailed" (or "StepInterrupted") and evalue "exit status N".

SIGINT never stops the kernel: it interrupts the running step (jupyter_client's interrupt,
in "signal" and in "message" mode, arrives as SIGINT) and is ignored between steps.
A custom shell message, `opsbook_state_request` (content: {"secret_names": [...]}) is
answered with `opsbook_state_reply` (content: {"status": "ok", "state": TEXT}), the
portable state of the session as of the last finished step.
"""

from __future__ import annotations

import os
import signal
import subprocess
import types
from collections.abc import Collection
from pathlib import Path
from typing import Any

from ipykernel.kernelbase import Kernel
from ipykernel._version import kernel_protocol_version

from opsbook import __version__
from opsbook.kernel.settings import KernelSettings
from opsbook.errors import ShellStateError
from opsbook.kernel import protocol
from opsbook.kernel.state import ShellState
from opsbook.kernel.step import StepOutcome, StepProcess

# Set by jupyter_client for the kernel process itself; the steps have no use for them.
_PLUMBING_VARIABLES = ("JPY_PARENT_PID", "JPY_SESSION_NAME", "JPY_INTERRUPT_EVENT")


class OpsbookKernel(Kernel):
    """Runs each cell as a step in a fresh bash that restores, then saves, the session state."""

    implementation = "opsbook"
    implementation_version = __version__
    language = protocol.LANGUAGE
    language_version = ""
    language_info = {
        "name": protocol.LANGUAGE,
        "mimetype": "text/x-sh",
        "file_extension": ".sh",
        "codemirror_mode": "shell",
        "pygments_lexer": "bash",
    }
    banner = "opsbook (bash): each cell is a step run by a fresh bash -eo pipefail; state carries over"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = KernelSettings.from_environ(os.environ)
        environ = {k: v for k, v in os.environ.items() if k not in _PLUMBING_VARIABLES}
        self.shell_state = ShellState(environ, Path.cwd())
        try:
            self.shell_state.seed(self.settings.restore_state)
        except ShellStateError:
            self.shell_state.remove()
            raise
        self.language_version = _bash_version(self.shell_state.bash)
        self._step: StepProcess | None = None
        self.shell_handlers[protocol.STATE_REQUEST] = self.opsbook_state_request
        signal.signal(signal.SIGINT, self._on_sigint)
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    @property
    def kernel_info(self) -> dict[str, Any]:
        # The base class imports debugpy here (slow, and noisy on stderr) to advertise a
        # debugger; this kernel has none, nor subshells (steps share one shell state).
        return {
            "protocol_version": kernel_protocol_version,
            "implementation": self.implementation,
            "implementation_version": self.implementation_version,
            "language_info": self.language_info,
            "banner": self.banner,
            "help_links": self.help_links,
            "supported_features": [],
        }

    # ipykernel installs Python's default SIGINT handler (KeyboardInterrupt) around every
    # request; this kernel keeps its own handler for its whole life instead.
    def pre_handler_hook(self) -> None:
        pass

    def post_handler_hook(self) -> None:
        pass

    def _on_sigint(self, signum: int, frame: types.FrameType | None) -> None:
        step = self._step
        if step is not None:
            step.interrupt()

    async def do_execute(  # type: ignore[override]
        self,
        code: str,
        silent: bool,
        store_history: bool = True,
        user_expressions: dict[str, Any] | None = None,
        allow_stdin: bool = False,
    ) -> dict[str, Any]:
        def publish(name: str, text: str) -> None:
            if not silent:
                self.send_response(self.iopub_socket, "stream", {"name": name, "text": text})

        step = StepProcess(
            self.shell_state.step_command(code),
            env=self.shell_state.step_environ,
            cwd=self.shell_state.cwd,
            output_cap=self.settings.output_cap,
            kill_grace=self.settings.kill_grace,
            sink=publish,
        )
        self._step = step
        try:
            # Blocking on purpose: steps run one at a time, IOPub is sent from its own
            # thread, and the SIGINT handler runs in this thread between reads.
            outcome = step.run()
        finally:
            self._step = None
        try:
            saved = self.shell_state.commit()
        except OSError:
            saved = False
        state = None
        variables = None
        if saved:
            try:
                state = self._portable_state()
                variables = self._changed_variables()
            except ShellStateError:
                state = None  # the runner asks again with opsbook_state_request, and sees the error
        return _reply(outcome, saved, self.execution_count, state, variables)

    def _changed_variables(self) -> dict[str, dict[str, Any]]:
        """The plain variables the steps changed (secrets left out), as the reply carries them."""
        changed = self.shell_state.changed_variables(set(self.settings.secret_names))
        return {
            name: {"value": value.encode("utf-8", "surrogateescape").decode("utf-8", "replace"), "exported": exported}
            for name, (value, exported) in changed.items()
        }

    def _portable_state(self, requested: Collection[str] = ()) -> str:
        """The state a resumed run starts from; secrets (OPSBOOK_SECRET_NAMES, `requested`) left out.

        Sent with every execute reply, so the runner can save it after a passed step
        without another round trip to the kernel.
        """
        text = self.shell_state.export(set(self.settings.secret_names) | {str(n) for n in requested})
        # Non-UTF-8 bytes in a value cannot travel in JSON; they become U+FFFD.
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

    async def opsbook_state_request(self, stream: Any, ident: Any, parent: dict[str, Any]) -> None:
        """Answer with the portable state; secrets named here or in OPSBOOK_SECRET_NAMES are left out."""
        requested = parent.get("content", {}).get("secret_names") or []
        content: dict[str, Any]
        try:
            content = {"status": "ok", "state": self._portable_state(requested)}
        except ShellStateError as e:
            content = {"status": "error", "ename": "StateError", "evalue": str(e), "traceback": []}
        if self.session is not None:
            self.session.send(stream, protocol.STATE_REPLY, content, parent, ident=ident)

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:  # type: ignore[override]
        step = self._step
        if step is not None:
            step.kill()
        self.shell_state.remove()
        return {"status": "ok", "restart": restart}


def _reply(outcome: StepOutcome, state_saved: bool, execution_count: int, state: str | None,
           variables: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        protocol.REPLY_EXIT_STATUS: outcome.exit_status,
        protocol.REPLY_SIGNAL: outcome.signal,
        protocol.REPLY_INTERRUPTED: outcome.interrupted,
        protocol.REPLY_KILLED: outcome.killed,
        protocol.REPLY_TRUNCATED: outcome.truncated,
        protocol.REPLY_STATE_SAVED: state_saved,
        protocol.REPLY_DURATION: round(outcome.duration, 6),
        protocol.REPLY_STATE: state,
        protocol.REPLY_VARIABLES: variables,
    }
    if outcome.exit_status == 0 and not outcome.interrupted:
        return {
            "status": "ok",
            "execution_count": execution_count,
            "payload": [],
            "user_expressions": {},
            protocol.REPLY_KEY: info,
        }
    if outcome.exit_status is not None:
        evalue = f"exit status {outcome.exit_status}"
    else:
        evalue = f"ended by {outcome.signal}"
    if outcome.interrupted:
        evalue = f"interrupted; {evalue}"
    return {
        "status": "error",
        "execution_count": execution_count,
        "ename": "StepInterrupted" if outcome.interrupted else "StepFailed",
        "evalue": evalue,
        "traceback": [f"{'StepInterrupted' if outcome.interrupted else 'StepFailed'}: {evalue}"],
        protocol.REPLY_KEY: info,
    }


def _bash_version(bash: str) -> str:
    try:
        done = subprocess.run(
            [bash, "--noprofile", "--norc", "-c", 'builtin printf %s "$BASH_VERSION"'],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env={},
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()
