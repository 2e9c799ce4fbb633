"""Prometheus text exposition for the sandbox services: counters, gauges, histograms.

Hand-rolled (about a hundred lines) because the sandbox installs Debian packages only and
needs no more than the text format.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterable

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labels: Iterable[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.label_names = tuple(labels)
        self._lock = threading.Lock()

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def render(self) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError


class Counter(Metric):
    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Iterable[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[tuple[str, ...], float] = {}
        if not self.label_names:
            self._values[()] = 0.0

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(str(labels[n]) for n in self.label_names)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return self.header() + [f"{self.name}{_labels(self.label_names, k)} {_num(v)}" for k, v in items]


class Gauge(Metric):
    """A gauge set directly, or computed at scrape time by a callback."""

    kind = "gauge"

    def __init__(self, name: str, help_text: str, labels: Iterable[str] = (),
                 collect: Callable[[], dict[tuple[str, ...], float]] | None = None) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[tuple[str, ...], float] = {}
        self._collect = collect

    def set(self, value: float, **labels: str) -> None:
        key = tuple(str(labels[n]) for n in self.label_names)
        with self._lock:
            self._values[key] = value

    def render(self) -> list[str]:
        if self._collect is not None:
            items = sorted(self._collect().items())
        else:
            with self._lock:
                items = sorted(self._values.items())
        return self.header() + [f"{self.name}{_labels(self.label_names, k)} {_num(v)}" for k, v in items]


class Histogram(Metric):
    kind = "histogram"

    def __init__(self, name: str, help_text: str, labels: Iterable[str] = (),
                 buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        super().__init__(name, help_text, labels)
        self.buckets = tuple(sorted(buckets)) + (float("inf"),)
        self._series: dict[tuple[str, ...], list[float]] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(str(labels[n]) for n in self.label_names)
        with self._lock:
            series = self._series.setdefault(key, [0.0] * (len(self.buckets) + 2))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    series[i] += 1
            series[-2] += value
            series[-1] += 1

    def render(self) -> list[str]:
        lines = self.header()
        with self._lock:
            items = sorted((k, list(v)) for k, v in self._series.items())
        for key, series in items:
            for i, bound in enumerate(self.buckets):
                le = f'le="{_num(bound)}"'
                lines.append(f"{self.name}_bucket{_labels(self.label_names, key, le)} {_num(series[i])}")
            lines.append(f"{self.name}_sum{_labels(self.label_names, key)} {series[-2]!r}")
            lines.append(f"{self.name}_count{_labels(self.label_names, key)} {_num(series[-1])}")
        return lines


class Registry:
    def __init__(self) -> None:
        self._metrics: list[Metric] = []

    def add(self, metric: Metric) -> Metric:
        self._metrics.append(metric)
        return metric

    def counter(self, name: str, help_text: str, labels: Iterable[str] = ()) -> Counter:
        return self.add(Counter(name, help_text, labels))  # type: ignore[return-value]

    def gauge(self, name: str, help_text: str, labels: Iterable[str] = (),
              collect: Callable[[], dict[tuple[str, ...], float]] | None = None) -> Gauge:
        return self.add(Gauge(name, help_text, labels, collect))  # type: ignore[return-value]

    def histogram(self, name: str, help_text: str, labels: Iterable[str] = (),
                  buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> Histogram:
        return self.add(Histogram(name, help_text, labels, buckets))  # type: ignore[return-value]

    def exposition(self) -> str:
        lines: list[str] = []
        for metric in self._metrics:
            try:
                lines.extend(metric.render())
            except Exception as exc:  # a failing collector must not hide the others
                lines.append(f"# {metric.name}: collection failed: {exc!r}".replace("\n", " "))
        return "\n".join(lines) + "\n"
