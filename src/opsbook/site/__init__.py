"""The published site: runbooks and verification results rendered as mkdocs-material pages.

`plugin` (OpsbookPlugin, the `mkdocs.plugins` entry point; hooks/runbooks.py adapts it),
`config` (its typed settings), `pages` and `nav` (what is collected and generated), `render`
(pure: Runbook + status → Markdown), `alerts` (Prometheus rule files) and `anchors` (the
runbook_url check).
"""
