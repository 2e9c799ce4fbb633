"""The shell state carried from step to step: where it lives and the bash that saves and restores it.

Each step runs in a fresh `bash --noprofile --norc`. Before the step's code, bash sources the
state file; an EXIT handler dumps the state again when the step ends, however it ends
(success, failed command under errexit, `exit N`, interrupt): the state at the moment the
step stopped is what the next step sees. The state is:

* shell variables, plain and exported, with their attributes (`declare -p`), except bash's
  own special variables, readonly variables and opsbook's `__opsbook_*` names;
* the working directory (`pwd`);
* shell functions, and which of them are exported (`declare -f`, `declare -F`).

Not kept: shell options (`set`, `shopt`; every step starts with `set -eo pipefail`), aliases,
traps, umask, and background jobs (they are stopped when the step ends). A step replaced by
`exec`, or killed after the grace period, saves nothing: the next step sees the state the
step started with.

A step's own `trap ... EXIT` still runs: a small `trap` shim records it and the EXIT handler
runs it after saving the state.

Bash only dumps (builtins, no fork); the kernel filters the dump and writes the state file,
which is bash source made of a `cd`, `declare` lines and function definitions. A dump without
its end marker (bash killed while writing it) is discarded.

A *portable* state (for `opsbook run --resume`) is the same format reduced to what the steps
changed: variables as the kernel's starting environment had them are left out (the resumed
run brings its own environment), variables the steps unset are written as `unset -v`, and
secret names are never written, nor any variable whose value holds the value of a secret (a
step's `URL="postgres://app:$PGPASSWORD@db"` keeps the password in clear otherwise).

The *variables* of a state (for `opsbook run --state-from`) are its plain string variables that
the steps changed, name → (value, exported), read from their `declare` statements; arrays are
left out. `variables_state` turns such values back into a state file a session can start from.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from opsbook.errors import ShellStateError
from opsbook.kernel.protocol import STEP_ID_VAR

STATE_HEADER = "# opsbook shell state, format 1"
STATE_END = "# opsbook shell state: end"

SPECIAL_VARIABLES = frozenset(
    (
        "BASH BASHOPTS BASHPID BASH_ALIASES BASH_ARGC BASH_ARGV BASH_ARGV0 BASH_CMDS BASH_COMMAND"
        " BASH_EXECUTION_STRING BASH_LINENO BASH_MONOSECONDS BASH_REMATCH BASH_SOURCE"
        " BASH_SUBSHELL BASH_TRAPSIG BASH_VERSINFO BASH_VERSION BASH_XTRACEFD COMP_WORDBREAKS"
        " DIRSTACK EPOCHREALTIME EPOCHSECONDS EUID FUNCNAME GROUPS HISTCMD HOSTNAME HOSTTYPE"
        " LINENO MACHTYPE OPTARG OPTERR OPTIND OSTYPE PIPESTATUS PPID PWD RANDOM SECONDS"
        " SHELLOPTS SHLVL SRANDOM UID _"
    ).split()
)
"""Variables bash sets itself; restoring them is an error (readonly) or a lie (PPID, RANDOM)."""

BASH_OPTIONS = ("--noprofile", "--norc")

# Signals whose traps `trap -p` (no arguments) shows; EXIT is shown from the step's own action.
_LISTED_TRAPS = "HUP INT QUIT TERM USR1 USR2 PIPE ALRM CHLD ERR DEBUG RETURN"

# The dump: builtins only, written in one redirection. @CWD@ is the directory to record.
_DUMP = r"""{
  builtin unset -f trap __opsbook_enter __opsbook_status_is
  builtin printf '__opsbook_enter %q\n' @CWD@
  builtin declare -p
  builtin printf '%s\n' '@FUNCTIONS@'
  builtin declare -f
  builtin printf '%s\n' '@EXPORTED@'
  builtin declare -F
  builtin printf '%s\n' '@END@'
}"""

_EXIT_HANDLER = r"""__opsbook_status=$?
{ __opsbook_flags=$-; builtin set +eux; } 2>/dev/null
if [[ $BASHPID == "$__opsbook_main" && -n $__opsbook_restored ]]; then
  @DUMP@ >| "$__opsbook_dir/state.new"
fi
if [[ -n $__opsbook_exit_action ]]; then
  if [[ $__opsbook_flags == *x* ]]; then builtin set -x; fi
  __opsbook_status_is() { return "$1"; }
  __opsbook_status_is "$__opsbook_status"
  builtin eval -- "$__opsbook_exit_action"
fi"""

# A step's own `trap ... EXIT` must not replace the handler that saves the state: the shim
# records the step's action, and the handler runs it after saving.
_TRAP_SHIM = r"""trap() {
  local __opsbook_action __opsbook_s __opsbook_exit= __opsbook_rest=()
  if [[ ${1-} == -l ]]; then builtin trap "$@"; return; fi
  if [[ $# == 0 || ${1-} == -p ]]; then
    if [[ ${1-} == -p ]]; then builtin shift; fi
    if [[ $# == 0 ]]; then builtin set -- @LISTED_TRAPS@ EXIT; fi
    for __opsbook_s in "$@"; do
      case ${__opsbook_s^^} in
        EXIT|0|SIGEXIT)
          if [[ -n $__opsbook_exit_action ]]; then
            builtin printf 'trap -- %q EXIT\n' "$__opsbook_exit_action"
          fi ;;
        *) builtin trap -p "$__opsbook_s" || return ;;
      esac
    done
    return 0
  fi
  if [[ $1 == -- ]]; then builtin shift; fi
  if [[ $# == 1 ]]; then __opsbook_action=-; else __opsbook_action=$1; builtin shift; fi
  for __opsbook_s in "$@"; do
    case ${__opsbook_s^^} in
      EXIT|0|SIGEXIT) __opsbook_exit=1 ;;
      *) __opsbook_rest+=("$__opsbook_s") ;;
    esac
  done
  if [[ -n $__opsbook_exit ]]; then
    if [[ $__opsbook_action == - ]]; then __opsbook_exit_action=; else __opsbook_exit_action=$__opsbook_action; fi
    builtin trap -- "$__opsbook_handler" EXIT
  fi
  if (( ${#__opsbook_rest[@]} )); then builtin trap -- "$__opsbook_action" "${__opsbook_rest[@]}"; fi
}"""

_STEP = r"""__opsbook_main=$BASHPID
__opsbook_restored=
__opsbook_exit_action=
__opsbook_handler=@HANDLER@
@TRAP_SHIM@
__opsbook_enter() {
  if ! builtin cd -- "$1" 2>/dev/null; then
    builtin printf 'opsbook: the working directory of the previous step is gone: %s\n' "$1" >&2
    builtin exit 1
  fi
}
builtin trap -- "$__opsbook_handler" EXIT
builtin . "$__opsbook_dir/state.sh"
__opsbook_restored=1
builtin set -eo pipefail
builtin . "$__opsbook_dir/step.sh"
"""

_SEED = r"""__opsbook_enter() { __opsbook_cwd=$1; }
if [[ -n ${__opsbook_resume-} ]]; then builtin . "$__opsbook_resume" || builtin exit; fi
@DUMP@
"""

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_DECLARATION = re.compile(rf"declare -(?P<flags>[a-zA-Z-]+) (?P<name>{_NAME})(?:=|$)")
# Pieces of `declare -p` output: quoted strings (which may span lines in older bash),
# line ends, and everything else.
_PIECE = re.compile(r"""\$'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|'[^']*'|\n|[^\n"'$]+|\$""", re.S)


@dataclass(frozen=True)
class Snapshot:
    """One saved shell state: directory, variable declarations, functions."""

    enter: str  # `__opsbook_enter '/the/dir'`
    variables: dict[str, str]  # name -> its `declare` statement
    functions: str  # `declare -f` output
    exported_functions: tuple[str, ...]

    def render(self, variables: Mapping[str, str] | None = None, unset: Collection[str] = ()) -> str:
        lines = [STATE_HEADER, self.enter]
        lines += [f"unset -v -- {name}" for name in sorted(unset)]
        lines += (self.variables if variables is None else variables).values()
        text = "\n".join(lines) + "\n" + self.functions
        if text and not text.endswith("\n"):
            text += "\n"
        text += "".join(f"declare -fx -- {name}\n" for name in self.exported_functions)
        return text + STATE_END + "\n"


def split_declarations(text: str) -> list[str]:
    """Split `declare -p` output into statements; quoted values may contain newlines."""
    statements: list[str] = []
    current: list[str] = []
    for piece in _PIECE.findall(text):
        if piece == "\n":
            if current:
                statements.append("".join(current))
                current = []
        else:
            current.append(piece)
    if current:
        statements.append("".join(current))
    return statements


def kept_variables(declarations: str) -> dict[str, str]:
    """The declarations a state keeps: no bash specials, no readonly, no `__opsbook_*`, not
    the step's own id (each step gets a new one)."""
    kept: dict[str, str] = {}
    for statement in split_declarations(declarations):
        m = _DECLARATION.match(statement)
        if m is None:
            continue
        name, flags = m["name"], m["flags"]
        if "r" in flags or name in SPECIAL_VARIABLES or name.startswith("__opsbook_") or name == STEP_ID_VAR:
            continue
        kept[name] = statement
    return kept


class DumpMarkers:
    """Random section markers, so that no value or function body can fake one."""

    def __init__(self) -> None:
        token = secrets.token_hex(8)
        self.functions = f"# opsbook {token} functions"
        self.exported = f"# opsbook {token} exported"

    def dump_script(self, cwd_expression: str) -> str:
        return (
            _DUMP.replace("@CWD@", cwd_expression)
            .replace("@FUNCTIONS@", self.functions)
            .replace("@EXPORTED@", self.exported)
            .replace("@END@", STATE_END)
        )

    def parse(self, dump: str) -> Snapshot | None:
        """The snapshot in a dump, or None if the dump is incomplete."""
        if not dump.endswith(STATE_END + "\n"):
            return None
        head, sep, rest = dump.partition("\n" + self.functions + "\n")
        functions, sep2, exported = rest.rpartition("\n" + self.exported + "\n")
        if not sep or not sep2:
            # `declare -f` printed nothing: the exported marker follows the functions marker.
            functions, sep2, exported = "", *rest.partition(self.exported + "\n")[1:]
            if not sep or not sep2:
                return None
        enter, _, declarations = head.partition("\n")
        if not enter.startswith("__opsbook_enter "):
            return None
        exported_names = tuple(
            line.split(" ", 2)[2]
            for line in exported.splitlines()
            if line.startswith("declare -f") and "x" in line.split(" ", 2)[1]
        )
        return Snapshot(
            enter=enter,
            variables=kept_variables(declarations),
            functions=functions + ("\n" if functions else ""),
            exported_functions=exported_names,
        )


def _reveals(statement: str, secrets_: Collection[str]) -> bool:
    """Whether a `declare` statement holds one of these secret values (as written, or as
    `declare -p` quotes it)."""
    if not secrets_:
        return False
    value = declared_value(statement)
    text = value[0] if value is not None else statement
    return any(secret in text or secret in statement for secret in secrets_)


def is_variable_name(name: str) -> bool:
    """True if bash imports an environment entry of this name as a shell variable."""
    return re.fullmatch(_NAME, name) is not None


def _private_directory() -> Path:
    # Prefer memory-backed directories: the state is rewritten after every step.
    for base in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):
        if base and os.path.isdir(base) and os.access(base, os.W_OK | os.X_OK):
            try:
                return Path(tempfile.mkdtemp(prefix="opsbook-", dir=base))
            except OSError:
                pass
    return Path(tempfile.mkdtemp(prefix="opsbook-"))


class ShellState:
    """The state of one kernel's shell session, in a private directory (mode 0700).

    `environ` and `cwd` are the kernel's starting environment and directory: the first state
    is made from them. Steps then start bash with an environment holding only the entries
    bash cannot represent as variables, and get everything else from the state, so that a
    variable a step unsets stays unset.
    """

    def __init__(self, environ: Mapping[str, str], cwd: Path) -> None:
        self.environ = dict(environ)
        self.cwd = cwd
        self.bash = shutil.which("bash", path=self.environ.get("PATH")) or shutil.which("bash") or "/bin/bash"
        self.directory = _private_directory()
        self._markers = DumpMarkers()
        prelude = f"__opsbook_dir={shlex.quote(str(self.directory))}\n"
        handler = _EXIT_HANDLER.replace("@DUMP@", self._markers.dump_script('"$PWD"'))
        self._step_script = prelude + (
            _STEP.replace("@HANDLER@", shlex.quote(handler)).replace(
                "@TRAP_SHIM@", _TRAP_SHIM.replace("@LISTED_TRAPS@", _LISTED_TRAPS)
            )
        )
        self._seed_script = prelude + _SEED.replace(
            "@DUMP@", self._markers.dump_script('"${__opsbook_cwd:-$PWD}"')
        )
        self.step_environ = {
            k: v for k, v in self.environ.items() if not is_variable_name(k) and not k.startswith("BASH_FUNC_")
        }
        self._baseline: Snapshot | None = None  # the starting environment, for portable states
        self.current: Snapshot | None = None

    @property
    def state_file(self) -> Path:
        return self.directory / "state.sh"

    @property
    def dump_file(self) -> Path:
        return self.directory / "state.new"

    @property
    def step_file(self) -> Path:
        return self.directory / "step.sh"

    def seed(self, resume_from: Path | None = None) -> None:
        """Write the first state: the starting environment, plus a portable state if given."""
        self._baseline = self._run_seed(None)
        if resume_from is not None:
            try:
                text = resume_from.read_text(encoding="utf-8")
            except OSError as e:
                raise ShellStateError(f"cannot read the state to resume from: {e}") from None
            if not text.startswith(STATE_HEADER):
                raise ShellStateError(f"{resume_from}: not an opsbook shell state file")
            self.current = self._run_seed(resume_from)
        else:
            self.current = self._baseline
        self.state_file.write_text(self.current.render(), encoding="utf-8")

    def _run_seed(self, resume_from: Path | None) -> Snapshot:
        env = dict(self.environ)
        if resume_from is not None:
            env["__opsbook_resume"] = str(resume_from)
        done = subprocess.run(
            [self.bash, *BASH_OPTIONS, "-c", self._seed_script, "bash"],
            env=env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            start_new_session=True,
        )
        snapshot = self._markers.parse(done.stdout) if done.returncode == 0 else None
        if snapshot is None:
            where = f" from {resume_from}" if resume_from else ""
            raise ShellStateError(f"could not set up the shell state{where}: {done.stderr.strip()}")
        return snapshot

    def step_command(self, code: str) -> list[str]:
        """Write the step's code; return the argv that restores the state and runs it."""
        self.dump_file.unlink(missing_ok=True)
        self.step_file.write_text(code if code.endswith("\n") else code + "\n", encoding="utf-8")
        return [self.bash, *BASH_OPTIONS, "-c", self._step_script, "bash"]

    def commit(self) -> bool:
        """Take the state the step dumped, if it dumped it completely; False if it did not."""
        try:
            dump = self.dump_file.read_text(encoding="utf-8", errors="surrogateescape")
        except FileNotFoundError:
            return False
        self.dump_file.unlink(missing_ok=True)
        snapshot = self._markers.parse(dump)
        if snapshot is None:
            return False
        self.current = snapshot
        self.state_file.write_text(snapshot.render(), encoding="utf-8", errors="surrogateescape")
        return True

    def export(self, secret_names: Collection[str]) -> str:
        """The portable state: what the steps changed, without the named secrets."""
        if self.current is None or self._baseline is None:
            raise ShellStateError("the shell state was not set up")
        base = self._baseline.variables
        secrets_ = self._secret_values(secret_names)
        changed = {
            name: statement
            for name, statement in self.current.variables.items()
            if name not in secret_names and base.get(name) != statement and not _reveals(statement, secrets_)
        }
        gone = [name for name in base if name not in self.current.variables]
        return self.current.render(changed, unset=gone)

    def changed_variables(self, secret_names: Collection[str]) -> dict[str, tuple[str, bool]]:
        """The plain variables the steps changed, name → (value, exported); the named secrets
        left out. A value that holds a secret is there: the runner, which knows every form a
        secret takes, withholds it from what it stores (and from the portable state)."""
        if self.current is None or self._baseline is None:
            raise ShellStateError("the shell state was not set up")
        base = self._baseline.variables
        changed: dict[str, tuple[str, bool]] = {}
        for name, statement in self.current.variables.items():
            if name in secret_names or base.get(name) == statement:
                continue
            parsed = declared_value(statement)
            if parsed is not None:
                changed[name] = parsed
        return changed

    def _secret_values(self, secret_names: Collection[str]) -> tuple[str, ...]:
        """The values of the named secrets as the session started (4 characters or more, like masking)."""
        values = {self.environ.get(name, "") for name in secret_names}
        return tuple(v for v in values if len(v) >= 4)

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


_ANSI_C = re.compile(r"\\(?:x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|[0-7]{1,3}|c.|.)", re.S)
_ANSI_C_SIMPLE = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
                  "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}


def declared_value(statement: str) -> tuple[str, bool] | None:
    """(value, exported) of a scalar `declare` statement as `declare -p` prints it; None for an
    array, a variable without a value, or a form this reader does not know."""
    m = _DECLARATION.match(statement)
    if m is None or "a" in m["flags"] or "A" in m["flags"] or not statement[m.end() - 1:m.end()] == "=":
        return None
    exported = "x" in m["flags"]
    quoted = statement[m.end():]
    if len(quoted) >= 2 and quoted[0] == '"' and quoted[-1] == '"':
        return re.sub(r'\\([$`"\\\n])', r"\1", quoted[1:-1]), exported
    if len(quoted) >= 3 and quoted.startswith("$'") and quoted[-1] == "'":
        return _ansi_c_text(quoted[2:-1]), exported
    if len(quoted) >= 2 and quoted[0] == "'" and quoted[-1] == "'" and "'" not in quoted[1:-1]:
        return quoted[1:-1], exported
    return None


def _ansi_c_text(body: str) -> str:
    """The text of a `$'...'` string: octal and \\x escapes are bytes (of UTF-8 text, as bash
    writes them in the C locale), \\u and \\U are characters."""
    out = bytearray()
    last = 0
    for m in _ANSI_C.finditer(body):
        out += body[last:m.start()].encode("utf-8", "surrogateescape")
        last = m.end()
        text = m.group(0)[1:]
        if text[0] == "x":
            out.append(int(text[1:], 16))
        elif text[0] in "01234567":
            out.append(int(text, 8) & 0xFF)
        elif text[0] in "uU":
            out += chr(int(text[1:], 16)).encode("utf-8", "surrogatepass")
        elif text[0] == "c":
            out.append(ord(text[1].upper()) ^ 0x40)
        else:
            out += _ANSI_C_SIMPLE.get(text, "\\" + text).encode("utf-8")
    out += body[last:].encode("utf-8", "surrogateescape")
    return out.decode("utf-8", "surrogateescape")


def variables_state(variables: Mapping[str, tuple[str, bool]]) -> str:
    """A state file (for `seed`) that sets these variables and changes nothing else."""
    lines = [STATE_HEADER]
    for name, (value, exported) in sorted(variables.items()):
        if not is_variable_name(name) or name in SPECIAL_VARIABLES or name.startswith("__opsbook_"):
            continue
        lines.append(f"declare -{'x' if exported else '-'} {name}={shlex.quote(value)}")
    return "\n".join(lines) + "\n" + STATE_END + "\n"
