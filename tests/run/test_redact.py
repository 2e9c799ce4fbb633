"""Secret masking: what an operator or a post-mortem reader must never see."""

from __future__ import annotations

import base64
import random
import re
from urllib.parse import quote, quote_plus

import pytest

from opsbook.run.events import StepFinished, StepResult, StepStatus
from opsbook.run.redact import (
    MASK,
    Masker,
    StreamMasker,
    mask_event,
    mask_secrets,
    refusal_message,
)

PASSWORD = "s3cr3t>>>??"  # its base64 has "+" (urlsafe "-") and "=" padding
TOKEN = "pa55>?word~"  # its base64 has "/" (urlsafe "_")


def collapse(text: str) -> str:
    """Adjacent masks read the same as one."""
    return re.sub(r"(\*\*\*)+", MASK, text)


def test_plain_value_is_masked_everywhere_it_appears() -> None:
    masker = Masker({"DB_PASSWORD": PASSWORD})
    text = f"connecting with {PASSWORD}\npassword={PASSWORD};retry={PASSWORD}\n"
    assert masker.mask(text) == "connecting with ***\npassword=***;retry=***\n"


def test_longer_secret_wins_over_its_own_prefix() -> None:
    masker = Masker({"SHORT": "abcd", "LONG": "abcdefgh"})
    assert masker.mask("key abcdefgh end") == "key *** end"
    assert masker.mask("key abcdxy") == "key ***xy"


def test_overlapping_secrets_leave_no_part_of_either() -> None:
    masker = Masker({"A": "xabc", "B": "abcdef"})
    assert masker.mask("..xabcdef..") == "..***.."


@pytest.mark.parametrize("value", [PASSWORD, TOKEN])
@pytest.mark.parametrize(
    "encode", [base64.b64encode, base64.urlsafe_b64encode], ids=["standard", "urlsafe"]
)
@pytest.mark.parametrize("padded", [True, False], ids=["padded", "unpadded"])
def test_base64_of_the_value_is_masked(value: str, encode, padded: bool) -> None:  # type: ignore[no-untyped-def]
    encoded = encode(value.encode()).decode()
    if not padded:
        encoded = encoded.rstrip("=")
    masker = Masker({"SECRET": value})
    assert masker.mask(f"data: {encoded}\n") == "data: ***\n"


@pytest.mark.parametrize("prefix_length", range(6))
@pytest.mark.parametrize("suffix_length", range(4))
@pytest.mark.parametrize(
    "encode", [base64.b64encode, base64.urlsafe_b64encode], ids=["standard", "urlsafe"]
)
def test_value_inside_longer_base64_shows_no_character_made_only_of_secret_bits(
    prefix_length: int, suffix_length: int, encode  # type: ignore[no-untyped-def]
) -> None:
    # e.g. a Kubernetes secret or an HTTP basic auth header: base64("user:" + password + ...)
    prefix, suffix = b"u" * prefix_length, b"!" * suffix_length
    encoded = encode(prefix + TOKEN.encode() + suffix).decode()
    masker = Masker({"TOKEN": TOKEN})
    # Character i of base64 carries bits 6i..6i+5; those inside the secret's bytes must be hidden.
    first_bit, end_bit = 8 * prefix_length, 8 * (prefix_length + len(TOKEN))
    secret_only = [i for i in range(len(encoded)) if 6 * i >= first_bit and 6 * i + 6 <= end_bit]
    spans = masker.spans(encoded)
    hidden = {i for start, end in spans for i in range(start, end)}
    assert set(secret_only) <= hidden
    assert MASK in masker.mask(encoded)


def test_basic_auth_header_does_not_reveal_the_password() -> None:
    header = "Authorization: Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    masked = Masker({"PW": PASSWORD}).mask(header)
    visible = masked.split("Basic ", 1)[1].replace(MASK, "")
    assert MASK in masked
    assert len(visible) <= 8  # "admin:" and at most one character mixing in its bits


@pytest.mark.parametrize(
    "encoded",
    [quote("p@ss/w0rd +&=", safe=""), quote("p@ss/w0rd +&="), quote_plus("p@ss/w0rd +&=")],
    ids=["quote-all", "quote", "quote_plus"],
)
def test_url_encoded_value_is_masked(encoded: str) -> None:
    masker = Masker({"PW": "p@ss/w0rd +&="})
    assert masker.mask(f"postgres://app:{encoded}@db:5432/app") == "postgres://app:***@db:5432/app"


def test_url_encoding_with_lower_case_escapes_is_masked() -> None:
    masker = Masker({"PW": "p@ss/w0rd"})
    assert masker.mask("https://u:p%40ss%2fw0rd@host") == "https://u:***@host"


def test_non_ascii_secret_is_masked_plain_and_encoded() -> None:
    masker = Masker({"PW": "pässwörd"})
    assert masker.mask("pässwörd " + quote("pässwörd")) == "*** ***"


def test_short_values_are_refused_not_masked() -> None:
    masker = Masker({"PIN": "123", "EMPTY": "", "TOKEN": "s3cr3t"})
    assert masker.refused == ("EMPTY", "PIN")
    assert masker.mask("pin 123 token s3cr3t") == "pin 123 token ***"
    assert refusal_message("PIN") == (
        "secret PIN is shorter than 4 characters: refusing to use it as a secret"
    )


def test_four_characters_is_long_enough() -> None:
    masker = Masker({"PIN": "1234"})
    assert masker.refused == ()
    assert masker.mask("pin=1234") == "pin=***"


def test_empty_masker_returns_text_unchanged() -> None:
    masker = Masker({})
    text = "nothing to hide ***\n" * 3
    assert not masker
    assert masker.mask(text) is text
    assert StreamMasker(masker).feed("abc") == "abc"


def test_mask_secrets_one_off() -> None:
    assert mask_secrets(f"pw {PASSWORD}", {"PW": PASSWORD}) == "pw ***"


def test_mask_event_masks_output_and_reason() -> None:
    result = StepResult(
        1, "login", "login", StepStatus.FAILED, stdout=f"token {TOKEN}\n",
        reason=f"output contains {TOKEN}",
    )
    masked = mask_event(StepFinished(result), Masker({"T": TOKEN}))
    assert masked.result.stdout == "token ***\n"
    assert masked.result.reason == "output contains ***"


# --- live output in chunks -----------------------------------------------------------


def stream(masker: Masker, chunks: list[str]) -> tuple[list[str], str]:
    live = StreamMasker(masker)
    pieces = [live.feed(c) for c in chunks]
    pieces.append(live.flush())
    return pieces, "".join(pieces)


def test_secret_split_across_two_chunks_is_masked() -> None:
    masker = Masker({"PW": "hunter2"})
    pieces, shown = stream(masker, ["password: hun", "ter2\nnext line\n"])
    assert pieces[0] == "password: "  # "hun" is held back: it may be the start of the secret
    assert shown == "password: ***\nnext line\n"


@pytest.mark.parametrize("split", range(1, 20))
def test_secret_split_at_every_position_never_leaks(split: int) -> None:
    masker = Masker({"PW": PASSWORD})
    text = f"pw={PASSWORD} b64={base64.b64encode(PASSWORD.encode()).decode()}\n"
    pieces, shown = stream(masker, [text[:split], text[split:]])
    assert shown == masker.mask(text) == "pw=*** b64=***\n"
    assert all(PASSWORD[:5] not in p for p in pieces)


def test_one_character_at_a_time_never_leaks() -> None:
    masker = Masker({"PW": PASSWORD, "TOKEN": TOKEN})
    text = f"{PASSWORD}{TOKEN} and {quote(TOKEN, safe='')} and {PASSWORD[:4]}x\n"
    pieces, shown = stream(masker, list(text))
    assert collapse(shown) == collapse(masker.mask(text))
    assert PASSWORD not in shown and TOKEN not in shown


def test_random_chunking_gives_what_masking_the_whole_gives() -> None:
    rng = random.Random(4)
    secrets = {"PW": PASSWORD, "TOKEN": TOKEN, "KEY": "AKIAEXAMPLEKEY"}
    masker = Masker(secrets)
    words = list(secrets.values()) + [
        base64.b64encode(b"x:" + PASSWORD.encode()).decode(),
        quote_plus(TOKEN),
        "s3c", "pa5", "AKIA", "ok", "\n", " ", "===", "+/",
    ]
    for _ in range(200):
        text = "".join(rng.choice(words) for _ in range(30))
        cuts = sorted(rng.sample(range(1, len(text)), 6))
        chunks = [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)])]
        _, shown = stream(masker, chunks)
        assert collapse(shown) == collapse(masker.mask(text))


def test_complete_lines_are_shown_at_once() -> None:
    masker = Masker({"PW": "hunter2"})
    live = StreamMasker(masker)
    # Each line ends with the start of the secret; the newline shows it was not the secret.
    assert live.feed("building hun") == "building "
    assert live.feed("\nstep 2 h") == "hun\nstep 2 "
    assert "\n" not in live.pending


def test_secret_containing_a_newline_is_held_across_the_newline() -> None:
    key = "-----BEGIN KEY-----\nMIIEabc\n-----END KEY-----"
    masker = Masker({"KEY": key})
    pieces, shown = stream(masker, ["cat key.pem\n-----BEGIN KEY-----\n", "MIIEabc\n-----END KEY-----\ndone\n"])
    assert shown == "cat key.pem\n***\ndone\n"
    assert "BEGIN" not in pieces[0]


def test_secret_overlapping_the_start_of_another_split_across_chunks() -> None:
    # "abcd" is complete in the first chunk, but its end may begin "cdefgh": neither part
    # of "abcd" may be shown before we know.
    masker = Masker({"A": "abcd", "B": "cdefgh"})
    pieces, shown = stream(masker, ["xx abcd", "efgh yy\n"])
    assert pieces[0] == "xx "
    assert shown == "xx *** yy\n"


def test_multi_line_secret_is_masked_line_by_line_too() -> None:
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----\n"
    masker = Masker({"KEY": key})
    # Printed with CRLF line endings, the whole value never matches; its lines still do.
    shown = masker.mask(key.replace("\n", "\r\n"))
    assert "MIIEvQIBADANBg" not in shown and "BEGIN KEY" not in shown
    assert masker.mask("token abcd\n") == "token abcd\n"  # short lines are not secrets
