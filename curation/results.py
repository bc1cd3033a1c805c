"""What a stage transform returns: a named tuple of its outputs, in the style of Beam's
``RunInferenceDLQ``, so ``read.documents`` is checked by name and ``documents,
rejected, files = read`` unpacks in order.

The main stream is ``documents`` in every result (the records that go on to the
next stage); each side stream is named by its :class:`~curation.schema.Fate` tag.
"""

from __future__ import annotations

from typing import Any


def output_by_name(result: tuple, key: Any) -> Any:
    """``result[name]`` as well as ``result[i]``: a stage result reads like the dict of
    PCollections keyed by tag that Beam's multi-output ParDo gives."""
    if not isinstance(key, str):
        return tuple.__getitem__(result, key)
    if key not in result._fields:
        raise KeyError(f"{type(result).__name__} has no output {key!r}; it has {', '.join(result._fields)}")
    return getattr(result, key)
