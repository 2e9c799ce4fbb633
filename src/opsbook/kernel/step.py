"""Run one step's bash in its own process group: stream capped output, interrupt, clean up.

The step is like a CI step: it ends when its bash ends. Background processes it left in its
process group are then sent SIGTERM, and SIGKILL after the grace period; the step's output
ends there too, even if a process that escaped the group (`setsid`, a daemon) still holds
the pipe. An interrupt sends SIGINT to the whole group (what Ctrl-C does in a terminal) and
SIGKILL after the grace period if bash is still running. An interrupted (or timed out) step
leaves nothing behind: once its group is gone, every process still carrying the step's
`OPSBOOK_STEP_ID` in its environment (`setsid`, `nohup`, daemons) is killed too. Only a
process that dropped its environment (`env -i`, `sudo` without -E) escapes that.

Output is read in chunks and handed on in batches (at most every 50 ms, or 64 KiB), never
line by line. Each stream shows at most `output_cap` bytes; the rest is read and counted, so
the command is never blocked on a full pipe, and a marker line says how much was left out.
"""

from __future__ import annotations

import codecs
import os
import secrets
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from opsbook.kernel.protocol import STEP_ID_VAR

FLUSH_INTERVAL = 0.05
"""Seconds output may wait before it is handed on."""

FLUSH_SIZE = 64 * 1024
"""Bytes of output that are handed on at once, without waiting."""

READ_SIZE = 64 * 1024

_ESCAPED_DRAIN = 0.2
"""Seconds to keep reading after the group is gone, for output of processes outside it."""

"""In the environment of every step (a new value each time): what marks a process as the step's."""

OutputSink = Callable[[str, str], None]
"""Receives (stream name, text) for each batch of output, in order."""


@dataclass(frozen=True)
class StepOutcome:
    """How a step's bash ended."""

    exit_status: int | None  # None when bash was ended by a signal
    signal: str | None  # e.g. "SIGINT", "SIGKILL"
    interrupted: bool
    killed: bool  # bash or its leftovers needed SIGKILL
    truncated: bool
    stdout_bytes: int  # everything the step wrote, shown or not
    stderr_bytes: int
    duration: float


def describe_size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1_000:
        return f"{n / 1_000:.1f} kB"
    return f"{n} bytes"


def truncation_marker(cap: int, hidden: int) -> str:
    return f"[opsbook: output truncated after {describe_size(cap)}; {hidden} more bytes not shown]\n"


class _CappedStream:
    """One output stream of a step: decoding, the cap, and the batch not yet handed on."""

    def __init__(self, name: str, cap: int) -> None:
        self.name = name
        self.cap = cap
        self.total = 0
        self.hidden = 0
        self.pending: list[str] = []
        self.pending_bytes = 0
        self.ends_with_newline = True
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> None:
        shown = self.total - self.hidden
        self.total += len(data)
        room = self.cap - shown
        if room <= 0:
            self.hidden += len(data)
            return
        if len(data) > room:
            self.hidden += len(data) - room
            data = data[:room]
            text = self._decoder.decode(data, final=True)
        else:
            text = self._decoder.decode(data)
        if text:
            self.pending.append(text)
            self.pending_bytes += len(data)
            self.ends_with_newline = text.endswith("\n")

    def take(self) -> str:
        text = "".join(self.pending)
        self.pending.clear()
        self.pending_bytes = 0
        return text

    def finish(self) -> None:
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self.pending.append(tail)
            self.ends_with_newline = tail.endswith("\n")
        if self.hidden:
            prefix = "" if self.ends_with_newline else "\n"
            self.pending.append(prefix + truncation_marker(self.cap, self.hidden))
            self.ends_with_newline = True


def _signal_group(pgid: int, signum: int) -> bool:
    """Signal a process group; False if no process is left in it."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        # A member changed its credentials (setuid); the group still exists.
        return True
    return True


def _group_has_live_members(pgid: int) -> bool:
    """True while a process of the group is alive; zombies do not count.

    Leftovers of a step are orphans: their parent is init (or a subreaper), which may be
    slow to reap them, and kill(-pgid, 0) still finds a zombie. Reading /proc is slower
    than kill(), so it is asked only when kill() finds someone.
    """
    if not _signal_group(pgid, 0):
        return False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] != b"Z":
            return True
    return False


def _processes_carrying(entry: bytes) -> list[int]:
    """Live processes whose environment holds ``entry`` (``NAME=value``), this one excluded."""
    found = []
    me = os.getpid()
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []
    for pid in pids:
        if pid == me:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read()
        except OSError:  # gone, or not ours to read
            continue
        if entry in environ.split(b"\0"):
            found.append(pid)
    return found


def _kill_escaped(step_id: str) -> None:
    """SIGKILL every process left that carries this step's id (it left the group on purpose)."""
    for pid in _processes_carrying(f"{STEP_ID_VAR}={step_id}".encode()):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class StepProcess:
    """One run of a step's bash. `interrupt()` may be called from a signal handler."""

    def __init__(
        self,
        argv: list[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        output_cap: int,
        kill_grace: float,
        sink: OutputSink,
    ) -> None:
        self._argv = argv
        self.step_id = secrets.token_hex(8)
        self._env = {**env, STEP_ID_VAR: self.step_id}
        self._cwd = cwd
        self._kill_grace = kill_grace
        self._sink = sink
        self._streams = {"stdout": _CappedStream("stdout", output_cap), "stderr": _CappedStream("stderr", output_cap)}
        self._last_stream: _CappedStream | None = None
        self._pgid: int | None = None
        self._interrupted_at: float | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    def interrupt(self) -> None:
        """Stop the step: SIGINT to its process group now, SIGKILL after the grace period."""
        if self._interrupted_at is None:
            self._interrupted_at = time.monotonic()
        if self._pgid is not None:
            _signal_group(self._pgid, signal.SIGINT)
        try:
            os.write(self._wake_w, b"\0")
        except (BlockingIOError, OSError):
            pass

    def kill(self) -> None:
        """Stop the step at once (the kernel is shutting down): SIGKILL to its process group."""
        if self._interrupted_at is None:
            self._interrupted_at = time.monotonic() - self._kill_grace
        if self._pgid is not None:
            _signal_group(self._pgid, signal.SIGKILL)
        try:
            os.write(self._wake_w, b"\0")
        except OSError:
            pass

    def run(self) -> StepOutcome:
        return self._run(time.monotonic())

    def __del__(self) -> None:
        # The wake pipe lives as long as this object, not as long as run(): interrupt() and
        # kill() may come from a signal handler or another thread just after the step ended.
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def _run(self, started: float) -> StepOutcome:
        child = _Child.spawn(self._argv, self._env, self._cwd)
        self._pgid = pgid = child.pid
        if self._interrupted_at is not None:  # interrupted while starting
            _signal_group(pgid, signal.SIGINT)
        selector = selectors.DefaultSelector()
        open_pipes = {child.stdout: self._streams["stdout"], child.stderr: self._streams["stderr"]}
        for fd in open_pipes:
            selector.register(fd, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        pidfd = _open_pidfd(child.pid)
        if pidfd is not None:
            selector.register(pidfd, selectors.EVENT_READ)

        killed = False
        returncode: int | None = None
        ended_at: float | None = None  # when bash ended; leftovers get SIGTERM then
        leftovers_termed = leftovers_killed = False
        drain_until = 0.0
        group_empty = False
        escaped_killed = False
        last_flush = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                timeout = 0.1 if pidfd is not None else 0.01
                if any(s.pending for s in self._streams.values()):
                    timeout = min(timeout, max(0.0, last_flush + FLUSH_INTERVAL - now))
                if self._interrupted_at is not None and returncode is None:
                    timeout = min(timeout, max(0.0, self._interrupted_at + self._kill_grace - now))
                if returncode is not None and not group_empty:
                    timeout = min(timeout, 0.01)
                if group_empty and open_pipes:
                    timeout = min(timeout, 0.02)
                for key, _ in selector.select(timeout):
                    fd = key.fd
                    if fd in open_pipes:
                        data = os.read(fd, READ_SIZE)
                        if data:
                            self._feed(open_pipes[fd], data)
                        else:
                            selector.unregister(fd)
                            del open_pipes[fd]
                    elif fd == self._wake_r:
                        os.read(self._wake_r, 512)
                    elif fd == pidfd:
                        selector.unregister(pidfd)
                        os.close(pidfd)
                        pidfd = None
                now = time.monotonic()
                if returncode is None:
                    returncode = child.poll()
                    if returncode is not None:
                        ended_at = now
                if returncode is None and self._interrupted_at is not None and not killed:
                    if now >= self._interrupted_at + self._kill_grace:
                        _signal_group(pgid, signal.SIGKILL)
                        killed = True
                if returncode is not None and not group_empty:
                    assert ended_at is not None
                    if not _group_has_live_members(pgid):
                        group_empty = True
                        drain_until = now + _ESCAPED_DRAIN
                    elif not leftovers_termed:
                        _signal_group(pgid, signal.SIGTERM)
                        leftovers_termed = True
                    elif not leftovers_killed and now >= ended_at + self._kill_grace:
                        _signal_group(pgid, signal.SIGKILL)
                        leftovers_killed = killed = True
                    elif leftovers_killed and now >= ended_at + self._kill_grace + 1.0:
                        group_empty = True  # only zombies nobody reaps are left
                        drain_until = now
                if pending_size(self._streams) >= FLUSH_SIZE or (
                    now - last_flush >= FLUSH_INTERVAL and any(s.pending for s in self._streams.values())
                ):
                    self._flush()
                    last_flush = now
                if group_empty and self._interrupted_at is not None and not escaped_killed:
                    _kill_escaped(self.step_id)
                    escaped_killed = True
                if group_empty and (not open_pipes or now >= drain_until):
                    break
        finally:
            selector.close()
            if pidfd is not None:
                os.close(pidfd)
            if returncode is None:  # the kernel itself is failing: leave nothing behind
                _signal_group(pgid, signal.SIGKILL)
                _kill_escaped(self.step_id)
                child.wait()
            os.close(child.stdout)
            os.close(child.stderr)
        self._pgid = None  # the group is gone; its number may be reused
        for stream in self._streams.values():
            stream.finish()
        self._flush()
        assert returncode is not None
        return StepOutcome(
            exit_status=returncode if returncode >= 0 else None,
            signal=signal.Signals(-returncode).name if returncode < 0 else None,
            interrupted=self._interrupted_at is not None,
            killed=killed,
            truncated=any(s.hidden for s in self._streams.values()),
            stdout_bytes=self._streams["stdout"].total,
            stderr_bytes=self._streams["stderr"].total,
            duration=time.monotonic() - started,
        )

    def _feed(self, stream: _CappedStream, data: bytes) -> None:
        # Hand on what the other stream holds first, so that the order of the batches
        # follows the order in which the step wrote.
        if self._last_stream is not None and self._last_stream is not stream and self._last_stream.pending:
            self._emit(self._last_stream)
        self._last_stream = stream
        stream.feed(data)

    def _flush(self) -> None:
        ordered = [s for s in self._streams.values() if s is not self._last_stream]
        if self._last_stream is not None:
            ordered.append(self._last_stream)
        for stream in ordered:
            if stream.pending:
                self._emit(stream)

    def _emit(self, stream: _CappedStream) -> None:
        text = stream.take()
        if text:
            self._sink(stream.name, text)


def pending_size(streams: Mapping[str, _CappedStream]) -> int:
    return sum(s.pending_bytes for s in streams.values())


# Signals the child gets back at their default action: Python ignores SIGPIPE (a pipeline
# like `seq 1 1000000 | head` depends on it), and the kernel may ignore or handle others.
_DEFAULT_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGPIPE", "SIGXFSZ", "SIGINT", "SIGQUIT", "SIGTERM", "SIGHUP", "SIGTSTP", "SIGTTIN", "SIGTTOU")
    if hasattr(signal, name)
)


class _Child:
    """The step's bash: leader of a new session and process group, stdin from /dev/null."""

    def __init__(self, pid: int, stdout: int, stderr: int, popen: subprocess.Popen[bytes] | None = None) -> None:
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
        self._popen = popen
        self.returncode: int | None = None

    @classmethod
    def spawn(cls, argv: list[str], env: Mapping[str, str], cwd: Path) -> _Child:
        # posix_spawn is about 1.5 ms cheaper than fork+exec from a Python process, which
        # matters at one bash per step. It cannot change directory; cwd is only needed by
        # the fallback, the step's bash enters the state's directory itself.
        if hasattr(os, "posix_spawn") and os.path.isabs(argv[0]):
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            try:
                pid = os.posix_spawn(
                    argv[0],
                    argv,
                    env,
                    file_actions=[
                        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                        (os.POSIX_SPAWN_DUP2, out_w, 1),
                        (os.POSIX_SPAWN_DUP2, err_w, 2),
                    ],
                    setsid=True,
                    setsigdef=_DEFAULT_SIGNALS,
                    setsigmask=(),
                )
            except NotImplementedError:
                for fd in (out_r, out_w, err_r, err_w):
                    os.close(fd)
            else:
                os.close(out_w)
                os.close(err_w)
                return cls(pid, out_r, err_r)
        popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            bufsize=0,
        )
        assert popen.stdout is not None and popen.stderr is not None
        stdout, stderr = os.dup(popen.stdout.fileno()), os.dup(popen.stderr.fileno())
        popen.stdout.close()
        popen.stderr.close()
        return cls(popen.pid, stdout, stderr, popen)

    def poll(self) -> int | None:
        """The returncode (negative: killed by that signal) once the process has ended."""
        if self.returncode is None:
            if self._popen is not None:
                self.returncode = self._popen.poll()
            else:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        while self.poll() is None:
            time.sleep(0.005)
        assert self.returncode is not None
        return self.returncode


def _open_pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when the process ends (Linux 5.3+), else None."""
    open_pidfd = getattr(os, "pidfd_open", None)
    if open_pidfd is None:
        return None
    try:
        fd: int = open_pidfd(pid)
    except OSError:
        return None
    return fd
