"""Read Prometheus alerting rules (name, severity, runbook_url, file and line) for the site.

Rule files are read as promtool reads them: UTF-8, or UTF-8 / UTF-16 after a byte-order mark;
YAML or JSON. A file holds a Prometheus rule file (`groups:`) or Kubernetes manifests, several to
a file separated by `---`: the `spec.groups` of each PrometheusRule is read, other kinds are
skipped. Every file below the rules folder whose name ends in .yml, .yaml or .json (in any case)
is read, hidden files and folders excepted.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from opsbook.errors import AlertRulesError
from opsbook.runbook.model import ALERT_NAME
from opsbook.site.annotations import readable_summary

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: about 10x faster on many rule files
RULE_SUFFIXES = (".yml", ".yaml", ".json")
_BYTE_ORDER_MARKS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_NULL = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class AlertRule:
    """One `alert:` rule; `line` is where its `alert:` key is in `file`."""

    name: str
    file: Path
    line: int
    severity: str = ""
    summary: str = ""
    runbook_url: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    """The rule's own `labels:` (as written, templates unexpanded)."""
    annotations: tuple[tuple[str, str], ...] = ()
    """The rule's `annotations:` (as written, templates unexpanded)."""
    for_: str = ""
    """The rule's `for:` duration as written ("" when it fires at once)."""

    def label(self, name: str) -> str:
        return dict(self.labels).get(name, "")

    def annotation(self, name: str) -> str:
        return dict(self.annotations).get(name, "")

    @property
    def anchor(self) -> str:
        return alert_anchor(self.name)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class RuleFiles:
    """What the rule files hold: their alerting rules, the files that failed, and what was skipped."""

    rules: list[AlertRule] = field(default_factory=list)
    errors: list[AlertRulesError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def alert_anchor(name: str) -> str:
    """The anchor of an alert on the alerts index; runbook pages prefix it with `alert-`.

    A Prometheus alert name is its own anchor in lower case (what runbook_urls link to). Any other
    name (a rule file can hold anything) becomes a slug plus a digest of the name: a safe id that
    is the same at every build and, having a `-`, never equal to the anchor of a Prometheus name.
    """
    if ALERT_NAME.match(name):
        return name.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{slug or 'alert'}-{digest}"


def rule_files(directory: Path) -> list[Path]:
    """Every .yml, .yaml and .json file below `directory` (any case), hidden files and folders left out."""
    if not directory.is_dir():
        return []
    found: list[Path] = []
    for folder, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(Path(folder) / name for name in names
                     if not name.startswith(".") and os.path.splitext(name)[1].lower() in RULE_SUFFIXES)
    return sorted(found)


def load_alert_rules(directory: Path) -> RuleFiles:
    """Every alerting rule in the rule files below `directory`, the files that failed, and notes."""
    result = RuleFiles()
    for path in rule_files(directory):
        try:
            result.rules.extend(read_rule_file(path, result.notes))
        except AlertRulesError as exc:
            result.errors.append(exc)
    return result


def read_rule_file(path: Path, notes: list[str] | None = None) -> list[AlertRule]:
    """The alerting rules of one file; what it skips (empty documents, other manifests) goes to `notes`."""
    notes = notes if notes is not None else []
    text = rule_text(path)
    if path.suffix.lower() == ".json":
        text = text.replace("\t", " ")  # tabs may separate JSON tokens, not YAML ones; in a JSON string they are escaped
    try:
        documents = list(yaml.compose_all(text, Loader=SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise AlertRulesError(f"{path}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    documents = [d for d in documents if not _is_empty(d)]  # `{}`, `null`, a `---` after the last manifest
    if not documents:
        notes.append(f"{path}:1: empty: no rules")
    rules: list[AlertRule] = []
    for document in documents:
        for groups in _rule_groups(path, document, notes):
            rules.extend(_alerting_rules(path, groups))
    return rules


def rule_text(path: Path) -> str:
    """A rule file's text: UTF-8, or whatever its byte-order mark says (UTF-8, UTF-16 LE or BE)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AlertRulesError(f"{path}:1: cannot read: {exc.strerror}") from exc
    codec, mark = "utf-8", b""
    for bom, name in _BYTE_ORDER_MARKS:
        if data.startswith(bom):
            codec, mark = name, bom
            break
    body = data[len(mark):]
    try:
        return body.decode(codec)
    except UnicodeDecodeError as exc:
        line = body[: exc.start].decode(codec, errors="replace").count("\n") + 1
        raise AlertRulesError(
            f"{path}:{line}: not {codec.upper()} text ({exc.reason} at byte {len(mark) + exc.start}): "
            "save it as UTF-8, or as UTF-16 with a byte-order mark"
        ) from exc


def _rule_groups(path: Path, document: yaml.Node, notes: list[str]) -> list[yaml.SequenceNode]:
    """The `groups:` lists of one YAML document: a rule file, a PrometheusRule, a List of them."""
    line = document.start_mark.line + 1
    groups = _get(document, "groups")
    if groups is not None:
        return _groups_list(path, groups, "`groups:`")
    if _get(document, "tests") is not None and _get(document, "rule_files") is not None:
        notes.append(f"{path}:{line}: a promtool unit-test file (`rule_files:` and `tests:`), not rules: skipped")
        return []
    kind = _scalar(_get(document, "kind"))
    if kind == "PrometheusRule":
        spec_groups = _get(_get(document, "spec"), "groups")
        if spec_groups is None:
            raise AlertRulesError(f"{path}:{line}: a PrometheusRule without `spec.groups:`, the list of rule groups")
        return _groups_list(path, spec_groups, "`spec.groups:`")
    items = _get(document, "items")
    if kind == "List" and isinstance(items, yaml.SequenceNode):  # `kubectl get prometheusrules -o yaml`
        return [groups for item in items.value for groups in _rule_groups(path, item, notes)]
    if kind and _get(document, "apiVersion") is not None:
        notes.append(f"{path}:{line}: a Kubernetes {kind}, not a PrometheusRule: skipped")
        return []
    raise AlertRulesError(
        f"{path}:{line}: expected a Prometheus rule file (a `groups:` list of rule groups) or a Kubernetes "
        f"PrometheusRule (apiVersion: monitoring.coreos.com/v1, kind: PrometheusRule, with the groups "
        f"under `spec.groups:`), not {_shape(document)}"
    )


def _groups_list(path: Path, node: yaml.Node, key: str) -> list[yaml.SequenceNode]:
    if _is_null(node):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise AlertRulesError(f"{path}:{node.start_mark.line + 1}: {key} must be a list of rule groups")
    return [node]


def _alerting_rules(path: Path, groups: yaml.SequenceNode) -> list[AlertRule]:
    rules: list[AlertRule] = []
    for group in groups.value:
        group_rules = _get(group, "rules")
        if not isinstance(group_rules, yaml.SequenceNode):
            continue
        for rule in group_rules.value:
            name_node = _get(rule, "alert")
            if not isinstance(name_node, yaml.ScalarNode):
                continue  # a recording rule
            labels = _get(rule, "labels")
            annotations = _get(rule, "annotations")
            rules.append(AlertRule(
                name=str(name_node.value),
                file=path,
                line=name_node.start_mark.line + 1,
                severity=_scalar(_get(labels, "severity")),
                summary=readable_summary(_scalar(_get(annotations, "summary"))),
                runbook_url=_scalar(_get(annotations, "runbook_url")).strip(),
                labels=_scalars(labels),
                annotations=_scalars(annotations),
                for_=_scalar(_get(rule, "for")),
            ))
    return rules


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL


def _is_empty(node: yaml.Node) -> bool:
    return _is_null(node) or (isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.value)


def _shape(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.ScalarNode):
        return "a single value"
    keys = [str(k.value) for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
    return "a mapping of " + ", ".join(f"`{k}`" for k in keys[:5]) + (", …" if len(keys) > 5 else "")


def _scalar(node: yaml.Node | None) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) and not _is_null(node) else ""


def _scalars(node: yaml.Node | None) -> tuple[tuple[str, str], ...]:
    if not isinstance(node, yaml.MappingNode):
        return ()
    return tuple((str(k.value), str(v.value)) for k, v in node.value
                 if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode))
