"""A runbook's prose on its page: links to other runbooks lead to their pages, raw HTML is text."""

from __future__ import annotations

from opsbook.site.prose import page_prose

PAGE = "runbooks/incidents/worker/index.md"
IDS = {"incidents/worker", "database/db-down", "incidents/app-down"}


def prose(text: str) -> str:
    return page_prose(text, "incidents/worker", PAGE, IDS)


def test_links_to_other_runbooks_lead_to_their_pages_with_their_anchor() -> None:
    assert prose("[db](../database/db-down.md)") == "[db](../../database/db-down/index.md)"
    assert prose("see [app](app-down.md#step-check-health).") == "see [app](../app-down/index.md#step-check-health)."
    assert prose('[db](../database/db-down.md "the db runbook")') == '[db](../../database/db-down/index.md "the db runbook")'
    assert prose("[db]: ../database/db-down.md") == "[db]: ../../database/db-down/index.md"
    # Link text wrapped onto a second line, as a paragraph reflowed at 100 columns has it.
    assert prose("the [database\nrunbook](../database/db-down.md), and [app](app-down.md)") == (
        "the [database\nrunbook](../../database/db-down/index.md), and [app](../app-down/index.md)")
    assert prose("a `code](../database/db-down.md)` span") == "a `code](../database/db-down.md)` span"


def test_links_to_the_guide_beside_the_runbooks_lead_to_its_pages() -> None:
    """docs/ is the site's root: from runbooks/incidents/worker.md the guide is ../../docs/x.md."""
    assert prose("[guide](../../docs/incident-response.md#sev1)") == "[guide](../../../incident-response.md#sev1)"
    assert prose("[cli](../../docs/reference/cli.md)") == "[cli](../../../reference/cli.md)"


def test_other_links_are_left_as_written() -> None:
    for text in ("[x](https://example.com/a.md)", "[x](../../guide.md)", "[x](#step-restart)",
                 "[x](/absolute/y.md)", "[x](missing.md)"):
        assert prose(text) == text


def test_raw_html_is_text_but_code_and_autolinks_are_kept() -> None:
    assert prose("<script>alert(1)</script>") == "&lt;script>alert(1)&lt;/script>"
    assert prose('<img src=x onerror="alert(2)">') == '&lt;img src=x onerror="alert(2)">'
    assert prose("<!-- hidden -->") == "&lt;!-- hidden -->"
    assert prose("a `<script>` code span and <https://example.com/x>") == "a `<script>` code span and <https://example.com/x>"
    assert prose("1 < 2 and x<y") == "1 < 2 and x&lt;y"


def test_fenced_blocks_are_left_alone() -> None:
    text = "before <b>\n```console\n$ echo '<script>'\n```\nafter <i>"
    assert prose(text) == "before &lt;b>\n```console\n$ echo '<script>'\n```\nafter &lt;i>"
