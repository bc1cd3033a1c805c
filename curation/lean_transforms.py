"""Small-graph stand-ins for Beam's joins and reshuffles: the runner pays about 10 ms per transform.

Beam's ``CoGroupByKey`` of two inputs is seven transforms (a tag per input, a
flatten, the group, a regrouping map and two composites). ``group_tagged`` is
the same shuffle in ``len(inputs) + 2``: each input tagged, flattened, grouped;
its consumer splits the values by tag with :func:`by_tag`. Likewise
``spread`` for ``Reshuffle``. (A single element to start a step from is
``beam.Impulse()``, one transform, where ``beam.Create([None])`` is five.)
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

import apache_beam as beam


def group_tagged(inputs: Mapping[str, beam.PCollection], label: str) -> beam.PCollection:
    """``{tag: PCollection of (key, value)}`` -> ``(key, [(tag, value), ...])`` per key, one GroupByKey."""
    tagged = [
        pcoll | f"{label}Tag_{tag}" >> beam.MapTuple(lambda key, value, tag=tag: (key, (tag, value)))
        for tag, pcoll in inputs.items()
    ]
    return tagged | f"{label}Flatten" >> beam.Flatten() | label >> beam.GroupByKey()


def by_tag(tagged_values: Iterable[tuple[str, Any]], tags: Iterable[str]) -> dict[str, list]:
    """A group's ``(tag, value)`` pairs -> ``{tag: [values]}``, every tag listed (CoGroupByKey's shape)."""
    grouped: dict[str, list] = {tag: [] for tag in tags}
    for tag, value in tagged_values:
        grouped[tag].append(value)
    return grouped


class _RoundRobinKey(beam.DoFn):
    """Keys a bundle's elements 0, 1, 2, ...: neighbours go to different workers, with no randomness."""

    def start_bundle(self) -> None:
        self._next = 0

    def process(self, element: Any) -> Iterator[tuple[int, Any]]:
        yield self._next, element
        self._next += 1


def spread(pcoll: beam.PCollection, label: str) -> beam.PCollection:
    """The elements, redistributed over workers (a fusion break): Reshuffle's effect in three
    transforms, not seven. Meant for a few heavy elements (files, splits): one key each."""
    return (
        pcoll
        | f"{label}Key" >> beam.ParDo(_RoundRobinKey())
        | label >> beam.GroupByKey()
        | f"{label}Values" >> beam.FlatMapTuple(lambda _, elements: elements)
    )
