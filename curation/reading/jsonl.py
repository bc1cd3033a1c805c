"""Reading JSONL, line by line.

Lines are read with a cap on their length, so one huge line cannot exhaust
memory; a bad line costs only itself. Blank lines are not records and are
skipped, but ``source_index`` still counts them so it is the file's true line
number.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import BinaryIO, Iterator

from curation.reading.options import MIB, ReadOptions
from curation.reading.records import RAW_EXCERPT_CHARS, classify, rejected_id, rejected_row
from curation.reading.specs import InputSpec
from curation.schema import Fate, RejectReason

READ_CHUNK = MIB
_OVERLONG_PREFIX_BYTES = 4 * RAW_EXCERPT_CHARS  # kept of an over-long line: its excerpt and, often, its id
_UTF8_BOM = b"\xef\xbb\xbf"


def iter_lines(stream: BinaryIO, max_line_bytes: int) -> Iterator[tuple[int, bytes, int, bool]]:
    """Yields ``(line_index, data, length, complete)``.

    ``data`` is the line (``complete``), or, for a line longer than the cap, only
    its first bytes (``_OVERLONG_PREFIX_BYTES``), so that its rejected row keeps an
    excerpt and, often, its id. Reads fixed-size chunks, so memory stays bounded by
    the cap whatever the input. The line excludes its newline (and a trailing ``\\r``).
    """
    index = 0
    pending = bytearray()
    prefix = b""  # the start of the current line, once it is over the cap
    overflow = 0  # bytes of the current line dropped for being over the cap
    while True:
        chunk = stream.read(READ_CHUNK)
        if not chunk:
            break
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            piece = chunk[start:] if newline < 0 else chunk[start:newline]
            if overflow or len(pending) + len(piece) > max_line_bytes:
                if not overflow:
                    prefix = bytes(pending[:_OVERLONG_PREFIX_BYTES])
                    prefix += piece[: _OVERLONG_PREFIX_BYTES - len(prefix)]
                overflow += len(pending) + len(piece)
                pending.clear()
            else:
                pending += piece
            if newline < 0:
                break
            yield _finish_line(index, pending, overflow, prefix)
            index += 1
            pending.clear()
            overflow = 0
            start = newline + 1
    if pending or overflow:
        yield _finish_line(index, pending, overflow, prefix)


def _finish_line(index: int, pending: bytearray, overflow: int, prefix: bytes) -> tuple[int, bytes, int, bool]:
    if overflow:
        return index, prefix, overflow, False
    line = bytes(pending)
    if line.endswith(b"\r"):
        line = line[:-1]
    return index, line, len(line), True


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _id_from_prefix(prefix: bytes, options: ReadOptions) -> str | None:
    """The id of an over-long JSON object line of which only ``prefix`` is kept.

    Walks the object's top-level members in order and stops at the first value the
    prefix cuts off (usually the huge text), so it finds the id when the id comes
    first and never mistakes a nested ``"id"`` for it.
    """
    if not options.id_field:
        return None
    text = prefix.decode("utf-8", "ignore")  # the cut may split a character
    decoder, space = json.JSONDecoder(), _JSON_SPACE
    position = space.match(text).end()
    if not text.startswith("{", position):
        return None
    position += 1
    try:
        while True:
            position = space.match(text, position).end()
            key, position = decoder.raw_decode(text, position)
            position = space.match(text, position).end()
            if not isinstance(key, str) or not text.startswith(":", position):
                return None
            position = space.match(text, position + 1).end()
            value, position = decoder.raw_decode(text, position)
            if key == options.id_field:
                return rejected_id({key: value}, options)
            position = space.match(text, position).end()
            if not text.startswith(",", position):
                return None
            position += 1
    except (ValueError, RecursionError):  # the value the prefix cuts off, or not JSON at all
        return None


def _line_end_hint(data: bytes) -> str:
    """Why a line may not parse when it holds carriage returns that end nothing."""
    returns = data.count(b"\r")
    if not returns:
        return ""
    return (
        f"; the line holds {returns} carriage return(s) (\\r): if the file ends its lines with \\r alone "
        "(classic Mac), convert them to \\n (JSONL lines end in \\n or \\r\\n; a lone \\r is JSON whitespace)"
    )


def read_jsonl(
    stream: BinaryIO, uri: str, spec: InputSpec, options: ReadOptions, first_index: int = 0, lines: int | None = None
) -> Iterator[tuple[str, dict]]:
    """Yields ``(Fate.OUTPUT.tag, record)`` or ``(Fate.REJECTED.tag, row)`` for each JSONL line.

    Reads from the stream's position: ``lines`` lines (None: to the end), the
    first being line ``first_index`` of the file. A UTF-8 byte-order mark at the
    file's start is not part of its first record.
    """
    for offset, line, length, complete in itertools.islice(iter_lines(stream, options.max_line_bytes()), lines):
        index = first_index + offset
        if index == 0 and line.startswith(_UTF8_BOM):
            line = line[len(_UTF8_BOM):]
        if not complete:
            yield Fate.REJECTED.tag, rejected_row(
                RejectReason.TOO_LARGE,
                f"line is {length} bytes, over the reader's cap of {options.max_line_bytes()}{_line_end_hint(line)}",
                spec.source_name(), uri, index, line, options.run_id, _id_from_prefix(line, options),
            )
            continue
        if not line.strip():
            continue
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError as err:
            yield Fate.REJECTED.tag, rejected_row(
                RejectReason.INVALID_UTF8, f"byte {err.start} is not UTF-8", spec.source_name(), uri, index, line,
                options.run_id,
            )
            continue
        try:
            fields = json.loads(decoded)
        except json.JSONDecodeError as err:
            yield Fate.REJECTED.tag, rejected_row(
                RejectReason.INVALID_JSON, f"{str(err)[:200]}{_line_end_hint(line)}", spec.source_name(), uri, index,
                line, options.run_id,
            )
            continue
        except (ValueError, RecursionError) as err:  # an integer over 4,300 digits; nesting too deep
            what = "nested too deeply" if isinstance(err, RecursionError) else "a value Python cannot hold"
            yield Fate.REJECTED.tag, rejected_row(
                RejectReason.INVALID_VALUE, f"valid JSON, but {what}: {str(err)[:200]}", spec.source_name(), uri,
                index, line, options.run_id,
            )
            continue
        yield classify(fields, spec, uri, index, options, line)

