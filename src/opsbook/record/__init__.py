"""The run record: events → events.jsonl, transcript.md and executed.ipynb (pure writers).

What other wings use: `writer` (RecordWriter, a run listener; load_record, render_record,
default_record_dir), `transcript` (render_transcript), `notebook` (build_notebook) and
`eventlog` (read_events, fold_sessions).
"""
