"""The runbook page shows how long each verification case's steps took against its `within:` limit."""

from __future__ import annotations

from opsbook.site import render
from opsbook.site.render import RenderContext
from opsbook.verify.status import status_from_document
from tests.support.render_samples import NOW, status_document


def test_the_page_shows_each_limited_case_time_and_limit_escaped(runbooks, ctx: RenderContext) -> None:
    document = status_document()
    good, broken = document["runbooks"]["deployment/deploy"]["cases"]
    good.update(steps_duration=38.2, within=120)
    broken.update(case="<script>alert(1)</script>", steps_duration=131.4, within=120)
    timed = RenderContext(now=NOW, stale_after_days=365, status=status_from_document(document), rules=ctx.rules)
    deploy = next(rb for rb in runbooks if rb.id == "deployment/deploy")
    page = render.runbook_page(deploy, timed)
    badges = page.split('<p class="opsbook-badges">', 1)[1].split("</p>", 1)[0]
    assert "good-version: 38 s (limit 120 s)</span>" in badges
    assert 'opsbook-badge--failed" title="the steps took longer' in badges
    assert "&#60;script&#62;alert(1)&#60;/script&#62;: 131 s (limit 120 s)" in badges
    assert "<script>" not in page
    assert "The steps took 38 s (limit 120 s)." in page
    assert "The steps took 131 s (limit 120 s, **over it**)." in page


def test_a_page_without_limits_shows_no_time_badge(runbooks, ctx: RenderContext) -> None:
    deploy = next(rb for rb in runbooks if rb.id == "deployment/deploy")
    assert "(limit " not in render.runbook_page(deploy, ctx)


def test_a_step_that_needs_earlier_state_says_how_to_give_it_when_started_there(runbooks, ctx: RenderContext) -> None:
    from dataclasses import replace

    deploy = next(rb for rb in runbooks if rb.id == "deployment/deploy")
    step = deploy.steps[0]
    needing = replace(step, options=replace(step.options, needs=("PREVIOUS_VERSION",)))
    import html

    card = html.unescape(render.step_card(deploy, needing, None, None))
    assert f"opsbook run deployment/deploy --from {step.name} --param PREVIOUS_VERSION=..." in card
    assert f"opsbook run deployment/deploy --step {step.name} --param PREVIOUS_VERSION=..." in card
    assert "needs $PREVIOUS_VERSION" in card
