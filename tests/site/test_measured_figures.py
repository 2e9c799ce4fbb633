"""What a verification measured (a case's figures in status.json) shows on the runbook's page,
the figure over its target in bold."""

from __future__ import annotations

import jsonschema

from opsbook.site import render
from opsbook.site.render import RenderContext
from opsbook.verify.figures import case_figures
from opsbook.verify.status import schema, status_from_document
from tests.support.render_samples import NOW, status_document

OUTPUT = "restored in 38.4 s\nfigure: RTO 41.7 s target 3600\nfigure: <b>x</b> 1 s\n"


def test_figures_round_trip_through_status_json_and_show_on_the_page(runbooks, ctx: RenderContext) -> None:
    document = status_document()
    case = document["runbooks"]["deployment/deploy"]["cases"][0]
    case["figures"] = [f.entry() for f in case_figures([("judge", OUTPUT), ("late", "figure: RPO 90000 s target 86400")])]
    jsonschema.validate(document, schema())
    status = status_from_document(document)
    read = status.runbooks["deployment/deploy"].cases[0].figures
    assert [(f.name, f.value, f.target) for f in read] == [("RTO", 41.7, 3600.0), ("RPO", 90000.0, 86400.0)]
    page = render.runbook_page(next(rb for rb in runbooks if rb.id == "deployment/deploy"),
                               RenderContext(now=NOW, stale_after_days=365, status=status, rules=ctx.rules))
    assert "Measured: RTO 41.7 s (target 3600 s), **RPO 90000 s (target 86400 s, over it)**." in page
