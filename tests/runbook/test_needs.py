"""`needs=["NAME"]`: read and written like every step option, and what lint says about cross-step variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

from opsbook.errors import RunbookFormatError
from opsbook.runbook.discover import load_runbook
from opsbook.runbook.lint import SHELL_VARIABLES, TARGET_VARIABLES, lint_warnings
from opsbook.runbook.options import badge_facts, step_metadata
from opsbook.runbook.parse import parse_runbook
from opsbook.runbook.variables import step_variables
from tests.support.runbooks import HEADER

OPSBOOK = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()"]
TOP = HEADER.format(title="Needs", extra="")  # the header is 10 lines: the body starts on line 11
PARAMS = HEADER.format(title="Needs", extra="  params:\n    VERSION: {default: \"1.1.0\"}\n")


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_runbook(text, Path("rb.md"), "t/rb")


def problems(text: str) -> list[tuple[int, str]]:
    with pytest.raises(RunbookFormatError) as caught:
        parse(text)
    return [(p.line, p.message) for p in caught.value.problems]


# --- the option --------------------------------------------------------------------------------


def test_needs_is_read_written_and_shown() -> None:
    rb = parse(TOP + '\n```bash name="roll-back" role="rollback" needs=["PREVIOUS_VERSION","DEPLOY_HEALTHY"]\n'
               'echo "$PREVIOUS_VERSION"\n```\n')
    (step,) = rb.steps
    assert step.options.needs == ("PREVIOUS_VERSION", "DEPLOY_HEALTHY")
    assert step_metadata(step.options, step.name)["needs"] == ["PREVIOUS_VERSION", "DEPLOY_HEALTHY"]
    (needs,) = [b for b in badge_facts(step, 300) if b.kind == "needs"]
    assert needs.label == "needs $PREVIOUS_VERSION, $DEPLOY_HEALTHY" and "--state-from" in needs.title


def test_needs_round_trips_through_jupytext_ipynb() -> None:
    text = TOP + '\n```bash name="a" needs=["X_1", "_Y"] timeout=5\necho "$X_1 $_Y"\n```\n'
    back = jupytext.writes(jupytext.reads(jupytext.writes(jupytext.reads(text, fmt="md"), fmt="ipynb"),
                                          fmt="ipynb"), fmt="md")
    assert parse(back).steps[0].options == parse(text).steps[0].options
    assert parse(back).steps[0].options.needs == ("X_1", "_Y")


@pytest.mark.parametrize("value", ['"PREVIOUS_VERSION"', '["1ABC"]', '["has-dash"]', "[1]", '{"a": 1}', "[true]",
                                   '["$X"]'])
def test_needs_that_is_not_a_list_of_variable_names_is_an_error_on_the_fence_line(value: str) -> None:
    found = problems(TOP + f'\n```bash name="a" needs={value}\ntrue\n```\n')
    assert any(line == 12 and "`needs` must be a list of shell variable names" in message
               for line, message in found), found


def test_a_bare_needs_is_an_error_too() -> None:
    found = problems(TOP + '\n```bash name="a" needs\ntrue\n```\n')
    assert any("`needs` must be a list" in message for _, message in found), found


# --- the static scan ---------------------------------------------------------------------------


def test_what_a_step_sets() -> None:
    scan = step_variables('''\
PREVIOUS_VERSION=$(curl -s "$APP_URL/api/version")
export DEPLOY_HEALTHY=no READY=1
declare -x TAGGED="a b"
readonly FROZEN=1
read -r -p "prompt: " ANSWER OTHER
while IFS= read -r line; do :; done < /dev/null
for host in a b; do :; done
mapfile -t LINES < /dev/null
printf -v STAMP '%s' now
APP_VERSION="$VERSION" $COMPOSE up -d app
f() { local tmp=1; }
curl -d name=value --data key=1 "$APP_URL"
echo 'QUOTED=1' "ALSO=2" # COMMENT=3
export ONLY_EXPORTED
cat <<EOF
HEREDOC=1
EOF
''')
    assert set(scan.sets) == {"PREVIOUS_VERSION", "DEPLOY_HEALTHY", "READY", "TAGGED", "FROZEN", "ANSWER", "OTHER",
                              "IFS", "line", "host", "LINES", "STAMP", "APP_VERSION"}
    assert scan.local == {"tmp"}


def test_what_a_step_reads_from_before_it() -> None:
    scan = step_variables('''\
echo "$FROM_BEFORE ${BRACED} ${#LENGTH} ${REQUIRED:?set it}" '$SINGLE_QUOTED' # $COMMENTED
echo "${DEFAULTED:-x} ${ALTERNATE:+y} $1 $? $# $@ $$"
OWN=1; echo "$OWN"
for item in a; do echo "$item"; done
f() { local mine=1; echo "$mine"; }
cat <<'EOF'
$QUOTED_HEREDOC
EOF
cat <<EOF
$OPEN_HEREDOC \\$ESCAPED
EOF
echo "$LATE"; LATE=2
''')
    uses = scan.needs_from_before()
    assert [u.name for u in uses] == ["FROM_BEFORE", "BRACED", "LENGTH", "REQUIRED", "OPEN_HEREDOC", "LATE"]
    assert [u.line for u in uses] == [1, 1, 1, 1, 10, 12]


# --- lint -------------------------------------------------------------------------------------

CROSS_STEP = '''
```bash name="remember"
PREVIOUS_VERSION=$(curl -fsS "$APP_URL/api/version")
SCRATCH=/tmp/x
```

```bash name="roll-back"{needs}
echo "rolling back to $PREVIOUS_VERSION"
echo "$SCRATCH"
SCRATCH=again
echo "{param}"
```
'''


def write(path: Path, header: str, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + body, encoding="utf-8")
    return path


def needs_warnings(path: Path) -> list[tuple[int, str, str]]:
    found = lint_warnings(path.read_text(encoding="utf-8"), load_runbook(path))
    return [(w.line, w.message, w.hint) for w in found if "does not say it needs" in w.message]


def test_lint_warns_about_a_variable_only_an_earlier_step_sets(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", TOP, CROSS_STEP.format(needs="", param="$VERSION"))
    (warning,) = needs_warnings(path)
    line, message, hint = warning
    assert line == 17, "the warning points at the fence, where needs= goes"
    assert "step `roll-back` uses $PREVIOUS_VERSION (line 18, set by step `remember`); $SCRATCH (line 19" in message
    assert "VERSION" not in message.replace("PREVIOUS_VERSION", ""), "nothing sets $VERSION: not a cross-step use"
    assert 'needs=["PREVIOUS_VERSION", "SCRATCH"]' in hint


def test_lint_is_quiet_when_the_step_declares_it_or_it_is_a_param_or_the_targets(tmp_path: Path) -> None:
    declared = write(tmp_path / "declared.md", TOP,
                     CROSS_STEP.format(needs=' needs=["PREVIOUS_VERSION", "SCRATCH"]', param=""))
    assert needs_warnings(declared) == []
    param = write(tmp_path / "param.md", PARAMS, '''
```bash name="first"
VERSION=1.2.3
APP_URL=http://elsewhere
HOME=/tmp
```

```bash name="second"
echo "$VERSION $APP_URL $HOME ${UNSET_IS_FINE:-default}"
```
''')
    assert needs_warnings(param) == []


def test_lint_warnings_leave_the_exit_status_zero(tmp_path: Path) -> None:
    write(tmp_path / "runbooks" / "cross.md", TOP, CROSS_STEP.format(needs="", param=""))
    env = {**os.environ, "OPSBOOK_ROOT": str(tmp_path)}
    plain = subprocess.run([*OPSBOOK, "lint"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert plain.returncode == 0, plain.stderr
    assert "cross.md:17: warning: step `roll-back` uses $PREVIOUS_VERSION" in plain.stderr
    strict = subprocess.run([*OPSBOOK, "lint", "--strict"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    assert strict.returncode == 1


def test_the_target_variables_lint_knows_are_the_sandboxs() -> None:
    from opsbook.sandbox.settings import SandboxSettings, target_env

    env = target_env(SandboxSettings.generate("p", 20000), compose_file=Path("c"), compose_command="c",
                     sandbox_dir=Path("d"))
    unknown = {name for name in env if name not in TARGET_VARIABLES and name not in SHELL_VARIABLES
               and not (name.startswith("SANDBOX_") and name.endswith("_PORT"))}
    assert not unknown, f"add to opsbook.runbook.lint.TARGET_VARIABLES: {sorted(unknown)}"

