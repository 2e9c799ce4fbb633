"""Post-mortem drafts: the template of docs/incident-response.md filled from run records and a drill report.

`timeline` (records and a report → timeline entries; pure), `draft` (the Markdown draft; pure).
"""
