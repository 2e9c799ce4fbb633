"""Which prose belongs to which step: the Markdown between a step and the next heading (or the next
step) is that step's own `after`; the Markdown between a heading and the step below it is its `intro`."""

from __future__ import annotations

from pathlib import Path

from opsbook.runbook.model import Prose, Runbook
from opsbook.runbook.parse import failure_help, parse_runbook
from tests.support.runbooks import HEADER


def parse(body: str) -> Runbook:
    return parse_runbook(HEADER.format(title="T", extra="") + body, Path("rb.md"), "incidents/rb")


BODY = '''
Preface before any heading.

# Worker queue backed up

Why the first step.

```bash name="first"
echo first
```

Good output:

```text
# a comment in an example, not a heading

queue depth: 3
```

**If this step fails**, FIRST-FAILS.

## 2. Restart

Why the second step.

```bash name="second"
echo second
```
```bash name="third"
echo third
```

Third's own prose, and no heading before the fourth step.

```bash name="fourth"
echo fourth
```

Fourth's prose at the end of the file.
'''


def test_prose_after_a_step_up_to_the_next_heading_is_its_own() -> None:
    first, second, third, fourth = parse(BODY).steps
    assert first.after == ('Good output:\n\n```text\n# a comment in an example, not a heading\n\nqueue depth: 3\n```'
                           '\n\n**If this step fails**, FIRST-FAILS.')
    assert second.intro == "## 2. Restart\n\nWhy the second step."
    # A step followed directly by another step: nothing after it, nothing introducing the next one.
    assert second.after == "" and third.intro == ""
    # No heading between two steps: all of the prose is the upper step's.
    assert third.after == "Third's own prose, and no heading before the fourth step." and fourth.intro == ""
    # The last step: up to the end of the file.
    assert fourth.after == "Fourth's prose at the end of the file."


def test_prose_before_the_first_heading_introduces_the_first_step() -> None:
    first = parse(BODY).steps[0]
    assert first.intro == first.prose
    assert first.intro.startswith("Preface before any heading.\n\n# Worker queue backed up")
    assert first.intro.endswith("Why the first step.")


def test_prose_and_cells_stay_as_before() -> None:
    book = parse(BODY)
    first, second, third, fourth = book.steps
    # `prose` is still everything between the previous step and this one: the previous `after` and this intro.
    assert second.prose == first.after + "\n\n" + second.intro
    assert fourth.prose == third.after and third.prose == ""
    # One Prose cell between two steps (as jupytext has one Markdown cell), starting with the upper step's own.
    prose = [c for c in book.cells if isinstance(c, Prose)]
    assert [c.text.split("\n", 1)[0] for c in prose] == [
        "Preface before any heading.", "Good output:", "Third's own prose, and no heading before the fourth step.",
        "Fourth's prose at the end of the file."]
    assert prose[1].text == second.prose and prose[1].text.startswith(first.after)


def test_after_the_last_step_a_heading_ends_its_prose() -> None:
    (step,) = parse('\n```bash name="only"\ntrue\n```\n\nGood output: nothing.\n\n## Afterwards\n\nPost it.\n').steps
    assert step.after == "Good output: nothing."


def test_setext_headings_end_the_prose_but_rules_and_indented_hashes_do_not() -> None:
    first, second = parse('\n```bash name="a"\ntrue\n```\n\nA\'s prose.\n\n---\n\n    # indented code\n\n'
                          'Diagnosis\n---------\n\nWhy b.\n\n```bash name="b"\ntrue\n```\n').steps
    assert first.after == "A's prose.\n\n---\n\n    # indented code"
    assert second.intro == "Diagnosis\n---------\n\nWhy b."
    (step,) = parse('\n```bash name="a"\ntrue\n```\n\nA\'s.\n\n- a list item\n---\n\n#hashtag\n').steps
    assert step.after == "A's.\n\n- a list item\n---\n\n#hashtag", "a list is not a setext heading; #x is no heading"


def test_failure_help_is_the_if_this_step_fails_paragraphs() -> None:
    after = ("Good output: `3`.\n\n**If this step fails** with 3, restart:\n\n- the worker\n- the queue\n\n"
             "```text\nexample\n```\n\nA note about something else.\n\nIf this step fails twice, escalate.")
    assert failure_help(after) == ("**If this step fails** with 3, restart:\n\n- the worker\n- the queue\n\n"
                                   "```text\nexample\n```\n\nIf this step fails twice, escalate.")
    assert failure_help("Good.\n\nif this step fails, look at the logs.") == "if this step fails, look at the logs."
    assert failure_help("__If this step fails__: retry.") == "__If this step fails__: retry."
    # Without such a paragraph, all of the step's own prose is what there is to read when it fails.
    assert failure_help("Good output: `ok`.\n\nCheck the logs otherwise.") == "Good output: `ok`.\n\nCheck the logs otherwise."
    assert failure_help("A paragraph that says if this step fails in the middle.") == \
        "A paragraph that says if this step fails in the middle."
    assert failure_help("") == ""
