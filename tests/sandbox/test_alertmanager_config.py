"""Alertmanager's config without docker: the renderer (render-config.sh), the template's variables,
and that neither monitoring/ nor sandbox/ holds a credential."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.alertmanager import RENDER, TEMPLATE, example_env, render

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")


def one_line_template(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "template.yml"
    path.write_text(text)
    return path


def test_the_example_env_renders_a_config_with_every_receiver(tmp_path: Path) -> None:
    done = render(TEMPLATE, tmp_path / "alertmanager.yml", example_env())
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load((tmp_path / "alertmanager.yml").read_text())
    assert config["global"]["smtp_smarthost"] == "smtp.example.com:587"
    assert config["route"]["group_wait"] == "30s"
    assert {r["name"] for r in config["receivers"]} == {"oncall-pager", "oncall-chat", "team-email",
                                                        "security-email", "product-email"}
    assert "${" not in (tmp_path / "alertmanager.yml").read_text().split("receivers:")[1]


def test_every_variable_of_the_template_is_documented_in_the_example() -> None:
    used = {name for name, _ in PLACEHOLDER.findall(
        "\n".join(line for line in TEMPLATE.read_text().splitlines() if not line.lstrip().startswith("#")))}
    assert used, "the template has no placeholder"
    assert used <= set(example_env()), sorted(used - set(example_env()))


def test_required_variables_missing_stop_the_render_naming_each(tmp_path: Path) -> None:
    env = example_env()
    del env["SMTP_SMARTHOST"]
    env["PAGER_URL"] = ""  # empty counts as missing, like ${VAR:?} in a shell
    output = tmp_path / "alertmanager.yml"
    done = render(TEMPLATE, output, env)
    assert done.returncode == 1
    assert "SMTP_SMARTHOST is not set" in done.stderr and "PAGER_URL is not set" in done.stderr
    assert f"{TEMPLATE}:" in done.stderr, "the error names the file and line"
    assert not output.exists(), "nothing half-rendered is left behind"


def test_defaults_apply_when_unset_or_empty(tmp_path: Path) -> None:
    env = {k: v for k, v in example_env().items() if not k.startswith("ALERTMANAGER_")}
    env["SMTP_HELLO"] = ""
    assert render(TEMPLATE, tmp_path / "out.yml", env).returncode == 0
    config = yaml.safe_load((tmp_path / "out.yml").read_text())
    assert (config["route"]["group_wait"], config["route"]["group_interval"], config["route"]["repeat_interval"]) \
        == ("30s", "5m", "4h")
    assert config["global"]["smtp_hello"] == "localhost"


@pytest.mark.parametrize("value", ['a"b', "a'b", "back\\slash", 'x", injected: "y', "}: {", "- [a, b]",
                                   "&anchor *alias !!python/object", "# not a comment", "ünïcode ✓"])
def test_a_value_is_one_yaml_string_whatever_it_holds(tmp_path: Path, value: str) -> None:
    template = one_line_template(tmp_path, "channel: ${CHANNEL}\nnext: ${NEXT:-kept}\n")
    done = render(template, tmp_path / "out.yml", {"CHANNEL": value})
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load((tmp_path / "out.yml").read_text()) == {"channel": value, "next": "kept"}


@pytest.mark.parametrize("value", ["first\n  injected: true", "tab\there", "cr\rhere", "bell\x07"])
def test_a_value_with_a_control_character_is_refused(tmp_path: Path, value: str) -> None:
    template = one_line_template(tmp_path, "channel: ${CHANNEL}\n")
    done = render(template, tmp_path / "out.yml", {"CHANNEL": value})
    assert done.returncode == 1
    assert "CHANNEL holds a control character" in done.stderr
    assert not (tmp_path / "out.yml").exists()


def test_a_value_alertmanager_would_run_as_a_template_is_refused(tmp_path: Path) -> None:
    template = one_line_template(tmp_path, "to: ${TO}\n")
    done = render(template, tmp_path / "out.yml", {"TO": '{{ template "x" . }}@example.com'})
    assert done.returncode == 1 and "TO holds \"{{\"" in done.stderr


@pytest.mark.parametrize("text", ["a: ${lower-case}\n", "a: ${NAME\n", "a: ${}\n", "a: ${NAME:?required}\n"])
def test_a_malformed_placeholder_is_an_error_with_its_line(tmp_path: Path, text: str) -> None:
    template = one_line_template(tmp_path, "# header ${IGNORED}\n" + text)
    done = render(template, tmp_path / "out.yml", {"NAME": "x"})
    assert done.returncode == 1
    assert f"{template}:2: malformed placeholder" in done.stderr


def test_comment_lines_are_copied_and_not_rendered(tmp_path: Path) -> None:
    template = one_line_template(tmp_path, "# uses ${NOT_SET} and ${ALSO:-x}\nkey: ${SET}  # trailing ${SET}\n")
    done = render(template, tmp_path / "out.yml", {"SET": "v"})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.yml").read_text() == '# uses ${NOT_SET} and ${ALSO:-x}\nkey: "v"  # trailing "v"\n'


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert subprocess.run(["sh", str(RENDER)], capture_output=True).returncode == 2
    assert subprocess.run(["sh", str(RENDER), str(tmp_path / "missing.yml"), str(tmp_path / "o")],
                          capture_output=True).returncode == 2


def test_the_config_names_secret_files_never_secrets() -> None:
    """Alertmanager's inline secret fields must not appear: only their *_file forms."""
    config = yaml.safe_load(TEMPLATE.read_text())
    text = TEMPLATE.read_text()
    for inline in ("smtp_auth_password:", "auth_password:", "slack_api_url:", "api_url:", "credentials:",
                   "bearer_token:", "password:", "auth_secret:"):
        assert not re.search(rf"^\s*{inline}", text, re.MULTILINE), inline
    pager = next(r for r in config["receivers"] if r["name"] == "oncall-pager")["webhook_configs"][0]
    assert pager["http_config"]["authorization"]["credentials_file"].startswith("${PAGER_TOKEN_FILE")
    assert config["global"]["smtp_auth_password_file"].startswith("${SMTP_AUTH_PASSWORD_FILE")
    assert config["global"]["slack_api_url_file"].startswith("${SLACK_API_URL_FILE")


# Shapes of real credentials: a Slack webhook with its token, a bearer token, a password value.
CREDENTIAL = re.compile(
    r"hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{16,}"
    r"|Bearer\s+[A-Za-z0-9._~+/-]{16,}"
    r"|(?:password|passwd|secret|token)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9+/_-]{12,}", re.IGNORECASE)


def test_no_credential_literal_in_monitoring_or_sandbox() -> None:
    """What `grep -rn` must not find: generated files (.env.*, .state/) are git-ignored and skipped."""
    found = []
    for folder in (ROOT / "monitoring", ROOT / "sandbox"):
        for path in folder.rglob("*"):
            relative = path.relative_to(ROOT)
            if (not path.is_file() or ".state" in relative.parts or "__pycache__" in relative.parts
                    or (path.name.startswith(".env") and path.name != ".env.example")):
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            found += [f"{relative}:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1)
                      if CREDENTIAL.search(line)]
    assert not found, "\n".join(found)
