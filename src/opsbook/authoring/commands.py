"""What a shell command needs (a terminal) or does (changes something), and the words that name it.

`opsbook import` asks this before it gives a pasted command a role: a step under Diagnosis
must only read. The reading is deliberately eager: when in doubt a command counts as one that
changes something, so it is never offered as a read-only diagnosis (a false alarm costs a
typed confirmation).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from opsbook.authoring.shell import Context, kebab, scan


@dataclass(frozen=True)
class SimpleCommand:
    """One command of a line (`a | b && c` has three): its words, and whether stdin is fed to it."""

    words: tuple[str, ...]
    text: str
    fed: bool  # reads a pipe, a redirect or a here-document, not the terminal

    @property
    def program(self) -> str:
        return self.words[0].rsplit("/", 1)[-1] if self.words else ""

    @property
    def args(self) -> tuple[str, ...]:
        return self.words[1:]


_WRAPPERS = {"sudo", "time", "nohup", "env", "command", "builtin", "nice", "ionice", "timeout", "stdbuf"}


def simple_commands(text: str) -> list[SimpleCommand]:
    """The simple commands of shell text, comments left out (a reading, not a bash parser)."""
    contexts = scan(text).contexts
    pieces: list[tuple[str, bool]] = []
    current: list[str] = []
    fed = False
    i = 0
    while i < len(text):
        char = text[i]
        where = contexts[i] if i < len(contexts) else Context.PLAIN
        if where is Context.COMMENT:
            i += 1
            continue
        if where in (Context.HEREDOC, Context.HEREDOC_QUOTED):
            current.append(char)
            i += 1
            continue
        redirect = char == "&" and ((i > 0 and text[i - 1] in "<>") or text.startswith("&>", i))  # 2>&1, &>
        if where is Context.PLAIN and not redirect and (char in ";\n`|&()" or text.startswith("$(", i)):
            pieces.append(("".join(current), fed))
            step = 2 if text.startswith(("&&", "||", "$("), i) else 1
            fed = char == "|" and not text.startswith("||", i)
            current = []
            i += step
            continue
        current.append(char)
        i += 1
    pieces.append(("".join(current), fed))
    commands = []
    for piece, piped in pieces:
        if not piece.strip():
            continue
        try:
            words = shlex.split(piece, comments=False, posix=True)
        except ValueError:
            words = piece.split()
        words = _strip_wrappers(words)
        redirected = bool(re.search(r"(?<![<0-9])<(?![<(])|<<", piece))
        commands.append(SimpleCommand(tuple(words), piece.strip(), piped or redirected))
    return commands


def _strip_wrappers(words: list[str]) -> list[str]:
    """`FOO=1 sudo -u postgres psql -c ...` → `psql -c ...`: the program that does the work first."""
    while words:
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            words = words[1:]
            continue
        if words[0] not in _WRAPPERS:
            break
        wrapper, words = words[0], words[1:]
        while words and words[0].startswith("-"):
            option, words = words[0], words[1:]
            if wrapper == "sudo" and option in ("-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U") and words:
                words = words[1:]
        if wrapper == "timeout" and words:
            words = words[1:]  # the duration
    return words


EDITORS = {"vi", "vim", "nvim", "nano", "emacs", "pico", "joe", "mcedit", "visudo", "vipw"}
FULL_SCREEN = {"top", "htop", "atop", "iotop", "iftop", "nmon", "watch", "less", "more", "most", "tmux", "screen",
               "mc", "k9s", "nmtui", "ncdu"}
SHELLS = {"bash", "sh", "zsh", "fish", "ksh", "dash", "python", "python3", "ipython", "node", "irb", "mongo",
          "mongosh", "sqlite3"}
KUBE_LIKE = {"kubectl", "oc", "k"}
CONTAINER_CLI = {"docker", "podman", "nerdctl", "crictl"}


VALUE_OPTIONS = {"-n", "--namespace", "--context", "--kubeconfig", "--cluster", "--user", "-s", "--server",
                 "-c", "--container", "-l", "--selector", "-o", "--output", "-H", "--host", "-f", "--filename",
                 "--as", "--token", "-u", "--project", "-p", "--profile", "--region"}
"""Options that take the next word as their value (`kubectl -n NAMESPACE edit ...`)."""


def subcommand(args: tuple[str, ...]) -> str:
    """The first word of `args` that is neither an option nor an option's value."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in VALUE_OPTIONS
        else:
            return arg
    return ""


def _has_flag(args: tuple[str, ...], *flags: str) -> bool:
    """Whether `args` hold one of `flags`; single-letter flags also count inside a cluster (`-it`)."""
    for arg in args:
        if arg == "--":
            return False
        if arg in flags or any(f.startswith("--") and arg.startswith(f + "=") for f in flags):
            return True
        if re.match(r"^-[A-Za-z]{2,}$", arg) and any(len(f) == 2 and f[1] in arg[1:] for f in flags):
            return True
    return False


def _terminal_flags(args: tuple[str, ...]) -> bool:
    return (_has_flag(args, "-i", "--stdin") and _has_flag(args, "-t", "--tty")) or _has_flag(args, "-it", "-ti")


def interactive_reason(text: str) -> str | None:
    """Why the commands in `text` need a terminal or never end by themselves; None if they do not."""
    for cmd in simple_commands(text):
        program, args = cmd.program, cmd.args
        sub = subcommand(args)
        if program in EDITORS:
            return f"{program} opens an editor"
        if program in FULL_SCREEN:
            return f"{program} is a full-screen program that waits for keys"
        if program == "chroot" and len([a for a in args if not a.startswith("-")]) <= 1:
            return "chroot without a command starts a shell inside another root"
        if program == "nsenter" and not any(a == "--" for a in args):
            return "nsenter starts a shell"
        if program in ("su",) and not _has_flag(args, "-c", "--command"):
            return "su starts a shell"
        if program in KUBE_LIKE | CONTAINER_CLI:
            if sub == "edit":
                return f"{program} edit opens an editor"
            if sub in ("exec", "run", "debug", "attach") and (_terminal_flags(args) or sub == "attach"):
                return f"{program} {sub} {'-it' if sub != 'attach' else ''}".rstrip() + " needs a terminal"
            if sub == "debug" and program == "oc":
                return "oc debug starts a shell"
            if sub == "rsh":
                return f"{program} rsh starts a shell"
            if sub in ("port-forward", "proxy"):
                return f"{program} {sub} runs until it is stopped"
            if sub == "logs" and _has_flag(args, "-f", "--follow"):
                return f"{program} logs -f follows the log until it is stopped"
            if sub == "get" and _has_flag(args, "-w", "--watch"):
                return f"{program} get --watch runs until it is stopped"
        if program in ("tail", "journalctl") and _has_flag(args, "-f", "-F", "--follow"):
            return f"{program} -f follows until it is stopped"
        if program == "ssh" and (_has_flag(args, "-t") or len([a for a in args if not a.startswith("-")]) <= 1):
            return "ssh without a remote command opens a shell"
        if program == "crontab" and _has_flag(args, "-e"):
            return "crontab -e opens an editor"
        if program == "systemctl" and sub == "edit":
            return "systemctl edit opens an editor"
        if program == "read":
            return "read waits for input (steps run with stdin closed)"
        if cmd.fed:
            continue
        if program == "psql" and not _has_flag(args, "-c", "--command", "-f", "--file", "-l", "--list"):
            return "psql without -c or -f opens a prompt"
        if program == "mysql" and not _has_flag(args, "-e", "--execute"):
            return "mysql without -e opens a prompt"
        if program == "redis-cli" and all(a.startswith("-") or _is_option_value(args, a) for a in args):
            return "redis-cli without a command opens a prompt"
        if program in SHELLS and not [a for a in args if not a.startswith("-")] and not _has_flag(args, "-c"):
            return f"{program} without a script opens a prompt"
    return None


def _is_option_value(args: tuple[str, ...], value: str) -> bool:
    index = args.index(value)
    return index > 0 and args[index - 1].startswith("-") and "=" not in args[index - 1]


MUTATING_PROGRAMS = {
    "rm", "rmdir", "mv", "cp", "dd", "truncate", "shred", "kill", "pkill", "killall", "reboot", "shutdown", "halt",
    "poweroff", "chmod", "chown", "chgrp", "ln", "mkdir", "touch", "tee", "install", "useradd", "userdel",
    "usermod", "passwd", "mount", "umount", "swapoff", "swapon", "fdisk", "parted", "resize2fs", "xfs_growfs",
    "pg_restore", "dropdb", "createdb", "pg_ctl", "nodetool", "rsync", "scp", "patch",
}
MUTATING_WORDS = {
    "delete", "scale", "restart", "rollout", "patch", "edit", "apply", "replace", "create", "set", "label",
    "annotate", "taint", "drain", "cordon", "uncordon", "evict", "expose", "autoscale", "run", "exec", "debug",
    "cp", "rm", "rmi", "prune", "kill", "stop", "start", "reload", "enable", "disable", "mask", "upgrade",
    "install", "uninstall", "rollback", "destroy", "import", "push", "reset", "terminate", "reboot", "up", "down",
    "flushall", "flushdb", "del", "unlink", "expire", "drop", "insert", "update", "alter", "truncate", "grant",
    "revoke", "vacuum", "reindex", "pg_terminate_backend", "pg_cancel_backend", "failover", "promote", "remove",
    "purge", "resize", "attach", "detach", "rotate", "flush",
}
READ_ONLY_PROGRAMS = {
    "echo", "printf", "grep", "egrep", "fgrep", "zgrep", "rg", "ag", "awk", "jq", "yq", "cat", "head", "tail", "wc",
    "sort", "uniq", "cut", "tr", "column", "less", "more", "true", "false", "test", "[", "date", "sleep", "sed",
}
"""Programs whose arguments are data (`grep restart`), not subcommands; `sed -i` is caught on its own."""
WRITE_REDIRECT = re.compile(r"(?<![0-9&<>])(?:[0-9]?>>?|&>>?)\s*(?!&|/dev/(?:null|stdout|stderr|fd/))[^\s;|&]")


def changes_something(text: str) -> str | None:
    """What in `text` looks like it changes the system (a word such as `delete`), or None.

    Deliberately eager: a false alarm costs a typed confirmation; a miss would offer a change
    as a read-only diagnosis.
    """
    contexts = scan(text).contexts
    plain = "".join(c if (contexts[i] if i < len(contexts) else Context.PLAIN) is Context.PLAIN else " "
                    for i, c in enumerate(text))
    if WRITE_REDIRECT.search(plain):
        return "writes a file (`>`)"
    for cmd in simple_commands(text):
        program, args = cmd.program, cmd.args
        if program in MUTATING_PROGRAMS:
            return f"`{program}`"
        if program in ("sed", "perl") and _has_flag(args, "-i", "--in-place"):
            return f"`{program} -i`"
        if program == "crontab" and not _has_flag(args, "-l"):
            return "`crontab`"
        if program in ("iptables", "ip6tables", "nft") and not _has_flag(args, "-L", "-S", "--list", "list"):
            return f"`{program}`"
        if program in ("curl", "wget", "http", "https"):
            method = _http_method(program, args)
            if method:
                return f"`{program}` {method}"
            continue
        if program in READ_ONLY_PROGRAMS:
            continue
        # `--vacuum-size`, `--delete-emptydir-data`: a verb inside an option's name counts too
        words = [w.lower() for arg in args
                 for word in re.findall(r"[A-Za-z_][A-Za-z0-9_-]*", arg)
                 for w in (word.split("-") if arg.startswith("--") else [word]) if w]
        for index, word in enumerate(words):
            if word == "rollout" and index + 1 < len(words) and words[index + 1] in ("status", "history"):
                continue
            if word in MUTATING_WORDS:
                return f"`{word}`"
    return None


def _http_method(program: str, args: tuple[str, ...]) -> str | None:
    """The changing HTTP method a curl/wget/httpie call uses, if any."""
    if program in ("http", "https"):
        first = next((a for a in args if not a.startswith("-")), "")
        return first if first.upper() in ("POST", "PUT", "PATCH", "DELETE") else None
    for index, arg in enumerate(args):
        value = None
        if arg in ("-X", "--request", "--method") and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith("-X") and len(arg) > 2:
            value = arg[2:]
        elif arg.startswith(("--request=", "--method=")):
            value = arg.split("=", 1)[1]
        if value and value.upper() not in ("GET", "HEAD", "OPTIONS"):
            return value.upper()
        if arg in ("-d", "-F", "-T", "--form", "--upload-file", "--post-data", "--post-file") or \
                arg.startswith(("--data", "--json", "--form=", "--post-data=")):
            return "POST"
    return None


def command_words(command: str, limit: int = 3) -> list[str]:
    """The first words of a command that say what it does: `kubectl -n "$NS" get pods -o wide` →
    kubectl, get, pods (options, variables and values left out)."""
    for cmd in simple_commands(command):
        if not cmd.words or cmd.program in ("set", "cd", "export", "source", "."):
            continue
        words = [cmd.program]
        skip_value = False
        for arg in cmd.args:
            if len(words) >= limit:
                break
            if arg.startswith("-"):
                skip_value = "=" not in arg and len(arg) == 2  # `-n value`; `--flag` alone is often boolean
                continue
            if skip_value:
                skip_value = False
                continue
            if re.match(r"^[a-z][a-z0-9-]*$", arg):
                words.append(arg)
            else:
                break
        slug = [kebab(w) for w in words if kebab(w)]
        if slug:
            return slug
    return []
