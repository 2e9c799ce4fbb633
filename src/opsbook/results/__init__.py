"""Pure writers of run records: transcript, events, notebook, JUnit XML and status.json."""
