"""Secret masking: replace secret values, and the forms they take in output, with ``***``.

Applied to every piece of output before any listener (terminal, transcript, notebook,
JUnit, site) sees it. Besides the plain value, a secret is recognised in the encodings
commands commonly print it in:

- base64, standard and URL-safe alphabets, with and without ``=`` padding;
- base64 of the value *inside* longer base64 text (a secret inside an encoded
  ``user:password`` header or a Kubernetes secret). Which characters encode the value there
  depends on the value's offset modulo 3, so each of the three alignments is masked, minus
  the edge characters that also carry bits of the neighbouring bytes;
- URL encoding (``quote`` with and without ``/`` safe, ``quote_plus``), upper- and
  lower-case hex escapes;
- each line of a multi-line secret on its own (a key printed with other line endings).

Values shorter than :data:`MIN_SECRET_LENGTH` characters are never masked (masking ``"ab"``
would blank out half the output) but are reported in :attr:`Masker.refused` so the caller
can warn that the value was refused as a secret.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import TypeVar
from urllib.parse import quote, quote_plus

from opsbook.run.events import (
    Event,
    RunFinished,
    RunStarted,
    ShellVariables,
    StepFinished,
    StepOutput,
    StepResult,
    StepStarted,
)

MASK = "***"
MIN_SECRET_LENGTH = 4
"""Secrets shorter than this are refused: masking them would hide ordinary output."""

_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def refusal_message(name: str) -> str:
    """The warning to show for a refused secret."""
    return (
        f"secret {name} is shorter than {MIN_SECRET_LENGTH} characters: "
        "refusing to use it as a secret"
    )


def _base64_forms(raw: bytes) -> set[str]:
    """Every text a base64 encoder could print for ``raw`` (alone or inside longer data)."""
    forms: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(raw).decode("ascii")
        forms.add(whole)  # alone, padded
        forms.add(whole.rstrip("="))  # alone, unpadded
        for shift in range(3):
            # Encode behind `shift` filler bytes, then keep only the characters whose six
            # bits all come from `raw`: with 1 filler byte the first 2 characters mix in the
            # filler, with 2 filler bytes the first 3; at the end, when the value does not
            # finish a 3-byte group, the last character mixes in whatever follows.
            encoded = encode(b"\0" * shift + raw).decode("ascii").rstrip("=")
            start = (0, 2, 3)[shift]
            end = len(encoded) - (1 if (shift + len(raw)) % 3 else 0)
            fragment = encoded[start:end]
            if len(fragment) >= MIN_SECRET_LENGTH:
                forms.add(fragment)
    return forms


def _url_forms(value: str) -> set[str]:
    forms = {quote(value, safe=""), quote(value), quote_plus(value), quote_plus(value, safe="/")}
    # Some clients print escapes in lower case (%2f); both mean the same bytes.
    forms |= {_PERCENT_ESCAPE.sub(lambda m: m.group(0).lower(), f) for f in forms}
    return forms


def secret_forms(value: str) -> tuple[str, ...]:
    """The texts that reveal ``value``: itself, its base64 and URL-encoded forms, longest first."""
    forms = {value} | _url_forms(value) | _base64_forms(value.encode("utf-8"))
    return tuple(sorted((f for f in forms if f), key=lambda f: (-len(f), f)))


class Masker:
    """Replaces every secret value (and its encoded forms) in a text with ``***``.

    ``secrets`` maps a name (param or target variable) to its value. Overlapping and
    adjacent occurrences are masked together, so no part of any occurrence survives.
    A masker with no usable secrets is a cheap no-op.
    """

    def __init__(self, secrets: Mapping[str, str]) -> None:
        self.refused: tuple[str, ...] = tuple(
            sorted(name for name, value in secrets.items() if len(value) < MIN_SECRET_LENGTH)
        )
        forms: set[str] = set()
        for value in secrets.values():
            if len(value) >= MIN_SECRET_LENGTH:
                forms.update(secret_forms(value))
                # A multi-line secret (a key file) is also masked line by line, as CI
                # systems do: output rarely shows it with exactly the same line endings.
                for line in value.splitlines():
                    if len(line.strip()) >= MIN_SECRET_LENGTH and line != value:
                        forms.update(secret_forms(line.strip()))
        self.patterns: tuple[str, ...] = tuple(sorted(forms, key=lambda f: (-len(f), f)))
        """Every text that is masked, longest first."""
        self.max_length = len(self.patterns[0]) if self.patterns else 0
        self._regex: re.Pattern[str] | None = None
        self._any: re.Pattern[str] | None = None
        if self.patterns:
            # A lookahead matches at every position, so overlapping occurrences are all
            # found; alternatives are tried longest first. It is slower than a plain
            # search, which is used first to skip text that holds no secret at all.
            alternatives = "|".join(re.escape(p) for p in self.patterns)
            self._regex = re.compile(f"(?=({alternatives}))", re.DOTALL)
            self._any = re.compile(alternatives, re.DOTALL)

    def __bool__(self) -> bool:
        """True if the masker masks anything at all."""
        return self._regex is not None

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Merged ``[start, end)`` spans of ``text`` that reveal a secret, in order."""
        if self._regex is None or self._any is None:
            return []
        first = self._any.search(text)
        if first is None:
            return []
        merged: list[tuple[int, int]] = []
        for match in self._regex.finditer(text, first.start()):
            start, end = match.start(), match.start() + len(match.group(1))
            if merged and start <= merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return merged

    def mask(self, text: str) -> str:
        """``text`` with every secret occurrence replaced by ``***``."""
        if self._regex is None or not text:
            return text
        return self._replace(text, self.spans(text))

    @staticmethod
    def _replace(text: str, spans: list[tuple[int, int]]) -> str:
        if not spans:
            return text
        pieces: list[str] = []
        last = 0
        for start, end in spans:
            pieces.append(text[last:start])
            pieces.append(MASK)
            last = end
        pieces.append(text[last:])
        return "".join(pieces)


def mask_secrets(text: str, secrets: Mapping[str, str]) -> str:
    """One-off masking of ``text``; build a :class:`Masker` once when masking many texts."""
    return Masker(secrets).mask(text)


class StreamMasker:
    """Masks one output stream that arrives in chunks, keeping it live line by line.

    A secret can be split across two chunks (``"hun"`` then ``"ter2"``), so :meth:`feed`
    holds back the shortest tail that could still become a secret occurrence and returns
    the rest, masked. Because no secret form contains a newline unless the secret itself
    does, the held tail never reaches back past a newline for ordinary secrets: every
    complete line is shown at once. Call :meth:`flush` when the stream ends (end of step).
    Use one StreamMasker per stream (stdout and stderr apart).
    """

    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self._pending = ""
        # Every proper prefix of every form: a tail equal to one of these may be the
        # beginning of a secret whose rest has not arrived yet.
        self._prefixes: frozenset[str] = frozenset(
            p[:n] for p in masker.patterns for n in range(1, len(p))
        )
        self._first_chars = frozenset(p[0] for p in masker.patterns)

    @property
    def pending(self) -> str:
        """Text held back so far (unmasked; never show it)."""
        return self._pending

    def feed(self, text: str) -> str:
        """Add a chunk; return the masked text that is safe to show now."""
        if not self.masker:
            return text
        buffer = self._pending + text
        hold = self._hold_from(buffer)
        spans = self.masker.spans(buffer)
        shown: list[tuple[int, int]] = []
        # A complete occurrence that runs into the held tail is held with it, so that it
        # is masked as one piece with whatever continues it.
        for start, end in spans:
            if start < hold < end:
                hold = start
            if start >= hold:
                break
            shown.append((start, end))
        self._pending = buffer[hold:]
        return Masker._replace(buffer[:hold], shown)

    def flush(self) -> str:
        """Return the masked held-back tail; the stream is over (or paused for good)."""
        rest, self._pending = self._pending, ""
        return self.masker.mask(rest)

    def _hold_from(self, buffer: str) -> int:
        """Index of the earliest tail of ``buffer`` that is a proper prefix of a form."""
        longest = self.masker.max_length - 1
        for start in range(max(0, len(buffer) - longest), len(buffer)):
            if buffer[start] in self._first_chars and buffer[start:] in self._prefixes:
                return start
        return len(buffer)


_E = TypeVar("_E", bound=Event)


def _mask_result(result: StepResult, masker: Masker) -> StepResult:
    return dataclasses.replace(
        result,
        command=masker.mask(result.command),
        stdout=masker.mask(result.stdout),
        stderr=masker.mask(result.stderr),
        reason=masker.mask(result.reason),
    )


def _mask_params(
    params: Iterable[tuple[str, str]], masker: Masker
) -> tuple[tuple[str, str], ...]:
    return tuple((name, masker.mask(value)) for name, value in params)


def _mask_state(state: ShellVariables | None, masker: Masker) -> ShellVariables | None:
    """A value masking would change holds a secret: it is withheld, never stored masked or in clear."""
    if state is None:
        return None
    kept = tuple((name, value) for name, value in state.values if masker.mask(value) == value)
    if len(kept) == len(state.values):
        return state
    names = {name for name, _ in kept}
    gone = tuple(name for name, _ in state.values if name not in names)
    return dataclasses.replace(state, values=kept, withheld=tuple(sorted({*state.withheld, *gone})),
                               exported=tuple(n for n in state.exported if n not in gone))


def mask_event(event: _E, masker: Masker) -> _E:
    """``event`` with every text a person could read masked (commands, output, reasons)."""
    if not masker:
        return event
    masked: Event
    if isinstance(event, StepOutput):
        masked = dataclasses.replace(event, text=masker.mask(event.text))
    elif isinstance(event, StepStarted):
        masked = dataclasses.replace(event, command=masker.mask(event.command))
    elif isinstance(event, StepFinished):
        masked = dataclasses.replace(event, result=_mask_result(event.result, masker),
                                     state=_mask_state(event.state, masker))
    elif isinstance(event, RunStarted):
        masked = dataclasses.replace(event, params=_mask_params(event.params, masker),
                                     notes=tuple(masker.mask(n) for n in event.notes))
    elif isinstance(event, RunFinished):
        result = event.result
        masked = RunFinished(
            dataclasses.replace(
                result,
                params=_mask_params(result.params, masker),
                steps=tuple(_mask_result(s, masker) for s in result.steps),
            )
        )
    else:
        return event
    return masked  # type: ignore[return-value]  # same class as `event`
