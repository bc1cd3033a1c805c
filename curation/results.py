"""What a stage transform returns: a named tuple of its outputs, in the style of Beam's
``RunInferenceDLQ``, so ``read.documents`` is checked by name and ``documents,
rejected, files = read`` unpacks in order.

The main stream is ``documents`` in every result (the records that go on to the
next stage); each side stream is named by its :class:`~curation.schema.Fate` tag.
"""

from __future__ import annotations

from typing import Any


def output_by_name(result: tuple, key: Any) -> Any:
    """``result[name]`` (or a name in the result's ``_aliases``) as well as ``result[i]``:
    stage results were dicts of PCollections keyed by tag before, and callers still index them so."""
    if not isinstance(key, str):
        return tuple.__getitem__(result, key)
    name = getattr(result, "_aliases", {}).get(key, key)
    if name not in result._fields:
        raise KeyError(f"{type(result).__name__} has no output {key!r}; it has {', '.join(result._fields)}")
    return getattr(result, name)
