#!/bin/sh
# Render the Alertmanager config template from the environment (Alertmanager does not expand
# environment variables in its file): render-config.sh TEMPLATE OUTPUT
#
#   ${NAME}            the value of NAME; unset or empty stops the render, naming NAME
#   ${NAME:-default}   the value of NAME, or `default` when NAME is unset or empty
#
# A placeholder stands for a whole YAML value and is written as a double-quoted YAML string
# (backslash and quote escaped), so no value can add keys, lists or documents. A value with a
# control character (a newline, a tab) or with `{{` (Alertmanager would run it as a template)
# is refused. Lines that are comments are copied as they are. Secrets are not rendered: the
# config names their files (*_file, credentials_file), which Alertmanager reads when it sends.
# POSIX sh and awk only: Alertmanager images have no Python.
set -eu

if [ "$#" -ne 2 ]; then
  echo "usage: render-config.sh TEMPLATE OUTPUT" >&2
  exit 2
fi
template=$1
output=$2
[ -r "$template" ] || { echo "render-config: cannot read $template" >&2; exit 2; }

temporary="$output.tmp.$$"
trap 'rm -f "$temporary"' EXIT

awk -v source="$template" '
BEGIN {
  for (i = 1; i < 32; i++) CONTROL = CONTROL sprintf("%c", i)
  CONTROL = CONTROL sprintf("%c", 127)
  failed = 0
}

function problem(message) {
  printf "render-config: %s:%d: %s\n", source, NR, message > "/dev/stderr"
  failed = 1
}

function quoted(name, value,    out, i, c) {
  out = ""
  for (i = 1; i <= length(value); i++) {
    c = substr(value, i, 1)
    if (index(CONTROL, c)) { problem(name " holds a control character (newline, tab ...): one line of text expected"); return "\"\"" }
    if (c == "\\" || c == "\"") out = out "\\" c
    else out = out c
  }
  if (index(value, "{{")) { problem(name " holds \"{{\", which Alertmanager would run as a template"); return "\"\"" }
  return "\"" out "\""
}

/^[ \t]*#/ { print; next }

{
  line = $0
  out = ""
  while ((start = index(line, "${")) > 0) {
    out = out substr(line, 1, start - 1)
    rest = substr(line, start + 2)
    close_at = index(rest, "}")
    body = close_at ? substr(rest, 1, close_at - 1) : ""
    if (!close_at || body !~ /^[A-Za-z_][A-Za-z0-9_]*(:-.*)?$/) {
      problem("malformed placeholder " substr(line, start, close_at ? close_at + 2 : length(line)) " (use ${NAME} or ${NAME:-default})")
      out = out "\"\""
      line = close_at ? substr(rest, close_at + 1) : ""
      continue
    }
    split_at = index(body, ":-")
    name = split_at ? substr(body, 1, split_at - 1) : body
    value = (name in ENVIRON) ? ENVIRON[name] : ""
    if (value == "" && split_at) value = substr(body, split_at + 2)
    else if (value == "") { problem(name " is not set (see monitoring/.env.example)"); value = "" }
    out = out quoted(name, value)
    line = substr(rest, close_at + 1)
  }
  print out line
}

END { exit failed }
' "$template" > "$temporary" || { echo "render-config: $output not written" >&2; exit 1; }

chmod 0644 "$temporary"
mv "$temporary" "$output"
trap - EXIT
