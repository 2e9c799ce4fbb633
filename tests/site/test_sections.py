"""The section of a runbook page that answers an alert: the first section whose prose names it."""

from __future__ import annotations

from pathlib import Path

import markdown

from opsbook.runbook.discover import load_runbook
from opsbook.site.sections import alert_sections
from tests.support.runbooks import write_runbook

BODY = """
# Monitoring

**You are here because** `ScrapeTargetDown`, `ConfigReloadFailed` or `RuleFails` fired.

## 1. Check the targets

```bash name="check"
echo "ConfigReloadFailed is in a step, not in prose"
```

Good output: `ScrapeTargetDown: resolved` (a quoted output, not an answer).

## Configuration and *rule* failures

```console
$ echo RuleFails only in an example
```

- **ConfigReloadFailed**: check the configuration, then reload.

### When a `rule` fails

RuleFails: the failing rule and its error.
"""


def test_an_alert_links_the_first_section_whose_prose_names_it(tmp_path: Path) -> None:
    path = write_runbook(tmp_path, "incidents/m", "alerts: [ScrapeTargetDown, ConfigReloadFailed, RuleFails]", BODY)
    sections = alert_sections(load_runbook(path, tmp_path / "runbooks"))
    assert sections == {
        "ConfigReloadFailed": ("Configuration and rule failures", "configuration-and-rule-failures"),
        "RuleFails": ("When a rule fails", "when-a-rule-fails"),
    }, "named only in the introduction, a quoted output, a step or an example: no section of its own"


def test_the_anchor_is_the_one_the_site_gives_the_heading() -> None:
    page = markdown.markdown("## Configuration and *rule* failures\n\n### When a `rule` fails\n", extensions=["toc"])
    assert 'id="configuration-and-rule-failures"' in page and 'id="when-a-rule-fails"' in page
