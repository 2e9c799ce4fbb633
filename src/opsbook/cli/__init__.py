"""The `opsbook` command line: the only place that prints and maps errors to exit codes.

`main` (the group and `entry()`, the console script), `verify` and `sandbox` (their command
groups, imported when used), `console` (the theme and the step header), `live` (`opsbook run`
at the terminal) and `progress` (the display of long sandbox work).
"""
