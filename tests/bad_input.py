"""A JSONL corpus mixing good records with one record of every bad-input kind."""

from __future__ import annotations

import json

from curation.schema import RejectReason

# One raw line per reject reason that a single JSONL line can trigger.
BAD_LINES: dict[RejectReason, bytes] = {
    RejectReason.INVALID_JSON: b'{"id": "bad-json", "text": "unterminated',
    RejectReason.INVALID_UTF8: b'{"id": "bad-utf8", "text": "caf\xe9 au lait"}',
    RejectReason.INVALID_UNICODE: b'{"id": "bad-unicode", "text": "lone \\ud800 surrogate"}',
    RejectReason.NOT_AN_OBJECT: b'["an", "array"]',
    RejectReason.MISSING_TEXT: b'{"id": "no-text", "body": "text under another name"}',
    RejectReason.NON_STRING_TEXT: b'{"id": "number-text", "text": 42}',
    RejectReason.EMPTY_TEXT: b'{"id": "blank-text", "text": "  \\n\\t "}',
    RejectReason.NUL_BYTE: b'{"id": "nul-text", "text": "before\\u0000after"}',
    RejectReason.TOO_LARGE: json.dumps({"id": "huge", "text": "x" * 5000}).encode(),
    RejectReason.INVALID_ID: b'{"id": 3.5, "text": "a float is not an id"}',
    RejectReason.UNKNOWN_ORIGIN_VALUE: b'{"id": "robot", "text": "who wrote this?", "origin": "robot"}',
    RejectReason.DUPLICATE_ID: b'{"id": "good-0", "text": "reuses the id of the first good record"}',
}
MAX_TEXT_BYTES = 4096  # the TOO_LARGE line exceeds it; good records stay well below

# More lines that each must cost only themselves (not in write_mixed_corpus, whose
# rejected rows the end-to-end tests count): syntactically valid JSON that Python
# cannot hold, which once escaped to the whole-file handler.
MORE_BAD_LINES: list[tuple[RejectReason, bytes]] = [
    (RejectReason.INVALID_VALUE, b'{"id": "big-int", "text": "t", "n": ' + b"9" * 5000 + b"}"),
    (RejectReason.INVALID_VALUE, b'{"id": "deep", "text": "t", "m": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
]


def good_record(i: int) -> dict:
    return {
        "id": f"good-{i}",
        "text": f"Document {i} talks about topic {i % 7} in plain words, number {i * 31 % 97}.",
        "origin": ["human", "ai"][i % 2],
        "lang": "en",
    }


def write_mixed_corpus(path, n_good: int = 1000) -> dict[str, RejectReason]:
    """Writes good records with the bad lines interleaved; returns {bad line's id-ish: reason}."""
    lines = [json.dumps(good_record(i)).encode() for i in range(n_good)]
    for k, (reason, raw) in enumerate(sorted(BAD_LINES.items(), key=lambda kv: kv[0].value)):
        lines.insert((k * 97 + 13) % len(lines) + 1, raw)  # after good-0, so good-0 keeps its id
    lines.insert(500, b"")  # a blank line: not a record
    path.write_bytes(b"\n".join(lines) + b"\n")
    return {reason.value: raw for reason, raw in BAD_LINES.items()}
