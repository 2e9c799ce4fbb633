"""The variables a session's steps set, as the kernel reports them after each step (for `--state-from`),
and a state made of such values that a new session starts from."""

from __future__ import annotations

import os
import subprocess

import pytest

from opsbook.kernel.state import declared_value, split_declarations, variables_state

pytestmark = pytest.mark.kernel

AWKWARD = {
    "PLAIN": "1.0.0",
    "QUOTES": 'say "hi" and \'bye\'',
    "SHELLY": "$HOME `id` \\ back",
    "LINES": "one\ntwo\tthree",
    "UNICODE": "é ✓",
    "EMPTY": "",
}


def test_declare_p_output_reads_back_to_the_values_bash_holds() -> None:
    script = "".join(f"{name}={_quote(value)}\n" for name, value in AWKWARD.items())
    script += "declare -a ARRAY=(a b)\nexport EXPORTED=yes\ndeclare -p " + " ".join([*AWKWARD, "ARRAY", "EXPORTED"])
    for locale in ("C", "C.UTF-8"):
        out = subprocess.run(["bash", "--noprofile", "--norc", "-c", script], capture_output=True, text=True,
                             env={"LANG": locale, "LC_ALL": locale}, check=True).stdout
        values = {}
        for statement in split_declarations(out):
            name = statement.split(" ", 2)[2].split("=", 1)[0]
            values[name] = declared_value(statement)
        assert values.pop("ARRAY") is None, "arrays are not plain values"
        assert values.pop("EXPORTED") == ("yes", True)
        assert values == {name: (value, False) for name, value in AWKWARD.items()}, locale


def test_a_state_of_values_sets_exactly_those_values(tmp_path) -> None:
    state = tmp_path / "state.sh"
    state.write_text(variables_state({**{n: (v, False) for n, v in AWKWARD.items()}, "OUT": ("x", True)}))
    printed = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c",
         f". {state}; for n in {' '.join(AWKWARD)}; do printf '%s=[%s]\\n' \"$n\" \"${{!n}}\"; done; "
         "bash -c 'echo child sees $OUT'"],
        capture_output=True, text=True, check=True).stdout
    expected = "".join(f"{n}=[{v}]\n" for n, v in AWKWARD.items()) + "child sees x\n"
    assert printed == expected


def test_each_step_reports_the_variables_the_steps_changed(make_session) -> None:
    env = {**os.environ, "API_TOKEN": "from-env-secret", "UNCHANGED": "same"}
    session = make_session(env=env, secret_names=("API_TOKEN",))
    first = session.run("PREVIOUS_VERSION=1.0.0; export HEALTHY=yes; API_TOKEN=changed; declare -a A=(1)",
                        timeout=30)
    assert first.variables == {"PREVIOUS_VERSION": ("1.0.0", False), "HEALTHY": ("yes", True)}
    failed = session.run("LATER=2; exit 3", timeout=30)
    assert failed.exit_status == 3
    assert failed.variables is not None and failed.variables["LATER"] == ("2", False), \
        "a failing step's variables are reported too: a later run may start after it"


def _quote(value: str) -> str:
    return "$'" + "".join(f"\\x{b:02x}" for b in value.encode()) + "'"


def test_a_saved_state_leaves_out_a_variable_that_holds_a_secret(make_session, tmp_path) -> None:
    env = {**os.environ, "API_TOKEN": "from-env-secret"}
    session = make_session(env=env, secret_names=("API_TOKEN",))
    assert session.run('URL="https://user:$API_TOKEN@example.test"; KEPT=yes', timeout=30).exit_status == 0
    dest = tmp_path / "state.sh"
    session.save_state(dest)
    text = dest.read_text()
    assert "from-env-secret" not in text and "URL=" not in text
    assert 'KEPT="yes"' in text
