"""A step's own prose (good output, what to do if it fails) is on its card, not before the next one."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest
from mkdocs.config import load_config

from opsbook.runbook.parse import parse_runbook
from opsbook.site import render
from tests.support import REPO
from tests.support.render_samples import NOW
from tests.support.runbooks import HEADER

BODY = '''
# Restart the worker

Why: jobs pile up. ONE-INTRO.

```bash name="one"
echo one
```

Good output: ONE-GOOD.

```text
ONE-EXAMPLE
```

**If this step fails** ONE-FAILS: see [the next step](#step-two).

## 2. Check

TWO-INTRO before the second step.

```bash name="two"
echo two
```

TWO-AFTER, then straight to the third step.

```bash name="three"
echo three
```

THREE-AFTER at the end of its section.

## Afterwards

CLOSING text of the runbook.
'''


class _Cards(HTMLParser):
    """The text of each step card (by the id of its heading), and the text outside every card, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, str] = {}
        self.outside = ""
        self._depth = 0  # open <div>s inside the current card; 0: not in a card
        self._card = ""

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "div" and self._depth:
            self._depth += 1
        elif tag == "div" and "opsbook-step" in (attributes.get("class") or "").split():
            self._depth, self._card = 1, ""
        elif tag == "h3" and self._depth and not self._card:
            self._card = attributes.get("id") or ""
            self.cards[self._card] = ""

    def handle_endtag(self, tag):
        if tag == "div" and self._depth:
            self._depth -= 1

    def handle_data(self, data):
        if self._depth and self._card:
            self.cards[self._card] += data
        elif not self._depth:
            self.outside += data


@pytest.fixture(scope="module")
def site_markdown():
    config = load_config(str(REPO / "mkdocs.yml"))
    return lambda text: markdown.Markdown(extensions=config.markdown_extensions,
                                          extension_configs=config.mdx_configs).convert(text)


def test_prose_after_a_step_is_inside_its_card_and_the_next_intro_is_not(site_markdown):
    book = parse_runbook(HEADER.format(title="Restart the worker", extra="") + BODY, Path("x.md"), "incidents/x")
    page = render.runbook_page(book, render.RenderContext(now=NOW))
    cards = _Cards()
    cards.feed(site_markdown(page.split("---\n", 2)[2]))
    one, two, three = (cards.cards[f"step-{name}"] for name in ("one", "two", "three"))
    assert "ONE-GOOD" in one and "ONE-EXAMPLE" in one and "ONE-FAILS" in one
    assert "TWO-AFTER" in two and "THREE-AFTER" in three
    for text in ("ONE-GOOD", "ONE-FAILS", "TWO-AFTER", "THREE-AFTER"):
        assert text not in cards.outside, f"{text} is outside its card"
        assert sum(text in card for card in cards.cards.values()) == 1, f"{text} is on more than one card"
    # The prose below a heading introduces the step under it: outside the cards, between them.
    assert "TWO-INTRO" not in one + two + three
    assert cards.outside.index("ONE-INTRO") < cards.outside.index("TWO-INTRO") < cards.outside.index("CLOSING")
    # Written once, in the step's own prose block, with the link in it rewritten for the page.
    assert page.count("ONE-FAILS") == 1 and '<div class="opsbook-step__after" markdown>' in page
