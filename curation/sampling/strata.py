"""Stratum keys: which bucket of the corpus a record belongs to for sampling.

A key joins ``name=value`` parts with ``|``, in this order:

1. the user-named fields, in the order given, e.g. ``source=email``. A field is
   read from the record's own column when it has one (``source``, ...), else from
   its ``metadata`` JSON object; a missing or null value is :data:`MISSING`.
   Strings are used as they are, other JSON values as their JSON text
   (``true``, ``3``, ``["a"]``);
2. ``len=<lo>-<hi>``: the word-count bucket (:func:`word_count_bucket`);
3. ``topic=<NN>``: the topic-model cluster, zero-padded to a fixed width.

Example: ``source=email|lang=en|len=256-511|topic=07``. In values, ``%``, ``|``,
``=`` and line breaks are percent-encoded (``%25``, ``%7C``, ``%3D``, ``%0A``...)
so a key always splits back into its parts.

The user-named parts alone (``source=email|lang=en``) are the record's *user
stratum* (:func:`user_stratum`): the level the sampler allocates first, and
protects, before it refines by length and topic.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Mapping, Sequence

from curation.sampling.tail_metrics import by_vocabulary_shard
from curation.sampling.tokens import word_tokens
from curation.sampling.topics import TopicModel

# The value of a named field the record does not have (or has as null). A
# literal "(none)" value reads the same; the sampler treats both alike.
MISSING = "(none)"
# The one user stratum when no field is named (a named part always holds "=").
ALL_RECORDS = "(all)"
LENGTH_PART = "len"
TOPIC_PART = "topic"

# Word counts below 2**4 share one bucket (short texts are too noisy to split
# further); from there buckets double: 16-31, 32-63, ..., 32768-65535, then 65536+.
LENGTH_BUCKET_MIN_EXPONENT = 4
LENGTH_BUCKET_MAX_EXPONENT = 16

_ESCAPES = {"%": "%25", "|": "%7C", "=": "%3D", "\n": "%0A", "\r": "%0D", "\t": "%09"}
_ESCAPE_TABLE = str.maketrans(_ESCAPES)


def validate_stratum_fields(fields: Sequence[str]) -> None:
    """Raises ``ValueError`` for field names that would make keys ambiguous."""
    seen: set[str] = set()
    for name in fields:
        if not isinstance(name, str) or not name or name != name.strip():
            raise ValueError(f"stratum field names must be non-empty, unpadded strings: {name!r}")
        if any(c in name for c in _ESCAPES):
            raise ValueError(f"stratum field name {name!r} may not contain % | = or line breaks")
        if name in (LENGTH_PART, TOPIC_PART):
            raise ValueError(f"stratum field name {name!r} is reserved for the built-in part")
        if name in seen:
            raise ValueError(f"stratum field {name!r} is named twice")
        seen.add(name)


def word_count_bucket(word_count: int) -> str:
    """The word-count bucket label: ``0-15``, ``16-31``, ..., ``32768-65535``, ``65536+``."""
    if word_count < 2**LENGTH_BUCKET_MIN_EXPONENT:
        return f"0-{2**LENGTH_BUCKET_MIN_EXPONENT - 1}"
    if word_count >= 2**LENGTH_BUCKET_MAX_EXPONENT:
        return f"{2**LENGTH_BUCKET_MAX_EXPONENT}+"
    low = 1 << (word_count.bit_length() - 1)  # the largest power of two <= word_count
    return f"{low}-{2 * low - 1}"


def topic_label(topic: int, num_topics: int) -> str:
    """Zero-padded topic index (at least two digits) so keys sort and align."""
    return str(topic).zfill(max(2, len(str(num_topics - 1))))


def _format_value(value: Any) -> str:
    if value is None:
        return MISSING
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text.translate(_ESCAPE_TABLE)


def _metadata(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """The record's metadata object; anything unparsable counts as empty (fields then MISSING)."""
    raw = record.get("metadata")
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def stratum_keys(
    records: Sequence[Mapping[str, Any]],
    fields: Sequence[str],
    length_bucket: bool = True,
    topic_model: TopicModel | None = None,
    tokens: Sequence[list[str]] | None = None,
) -> list[str]:
    """The stratum key of each record dict (see the module docstring for the format).

    A batch at a time: each text is tokenised once for its length and topic, and
    the topic model labels the whole batch in one vectorised call. ``tokens``:
    each record's ``word_tokens``, when the caller has them (SelectSample
    shares them with the rare-vocabulary counts).
    """
    if tokens is None and (length_bucket or topic_model is not None):
        tokens = [word_tokens(r["text"]) for r in records]
    topics = topic_model.assign_tokens(tokens) if topic_model is not None else []
    keys = []
    for i, record in enumerate(records):
        parts = []
        metadata = None  # parsed only if some field is not a column
        for name in fields:
            if name in record:
                value = record[name]
            else:
                metadata = _metadata(record) if metadata is None else metadata
                value = metadata.get(name)
            parts.append(f"{name}={_format_value(value)}")
        if length_bucket:
            parts.append(f"{LENGTH_PART}={word_count_bucket(len(tokens[i]))}")
        if topic_model is not None:
            parts.append(f"{TOPIC_PART}={topic_label(topics[i], topic_model.num_topics)}")
        keys.append("|".join(parts))
    return keys


def user_stratum(key: str, num_fields: int) -> str:
    """The user-named part of a stratum key (its first ``num_fields`` parts), or
    :data:`ALL_RECORDS` when no field is named."""
    return "|".join(key.split("|")[:num_fields]) if num_fields else ALL_RECORDS


def keys_and_word_counts(
    records: Sequence[Mapping[str, Any]],
    fields: Sequence[str],
    length_bucket: bool = True,
    topic_model: TopicModel | None = None,
) -> tuple[list[str], dict[int, dict[str, int]]]:
    """The records' stratum keys and their words' counts per vocabulary shard (the
    input side of the rare-vocabulary metric), from one tokenisation of each text."""
    tokens = [word_tokens(r["text"]) for r in records]
    counts: Counter[str] = Counter()
    for words in tokens:
        counts.update(words)
    return stratum_keys(records, fields, length_bucket, topic_model, tokens), by_vocabulary_shard(counts)
