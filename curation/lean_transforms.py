"""Small-graph stand-ins for Beam's joins, combines and batching: the runner pays about 10 ms per transform.

Beam's ``CoGroupByKey`` of two inputs is seven transforms (a tag per input, a
flatten, the group, a regrouping map and two composites). ``group_together``
is the same shuffle in two, a flatten and the group, for inputs whose values
tell themselves apart by type (a record dict, a Decision, an id...): its
consumer sorts a key's values with :func:`by_type`. Likewise ``combine_per_key``
for ``CombinePerKey`` (four transforms, five with the Map that keys its input;
three here, keying included) and ``batched`` for ``BatchElements`` (two; one
here). (A single element to start a step from is ``beam.Impulse()``, one
transform, where ``beam.Create([None])`` is five.)
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Mapping

import apache_beam as beam
from apache_beam.utils.windowed_value import WindowedValue

from curation.bundling import BundleBuffer


def group_together(inputs: Iterable[beam.PCollection], label: str) -> beam.PCollection:
    """PCollections of ``(key, value)`` -> ``(key, [every input's values])`` per key: one Flatten
    and one GroupByKey. Each input's values must be of a type no other input's are (see by_type)."""
    return inputs | f"{label}Flatten" >> beam.Flatten() | label >> beam.GroupByKey()


def by_type(values: Iterable[Any], kinds: Mapping[str, type | tuple[type, ...]]) -> dict[str, list]:
    """A key's values from :func:`group_together` -> ``{kind: [its values]}``, every kind listed
    (CoGroupByKey's shape). ``kinds``: each kind's type(s), disjoint; any other value is a wiring bug."""
    grouped: dict[str, list] = {kind: [] for kind in kinds}
    for value in values:
        for kind, types in kinds.items():
            if isinstance(value, types):
                grouped[kind].append(value)
                break
        else:
            raise TypeError(f"a grouped value of type {type(value).__name__} is none of {sorted(kinds)}")
    return grouped


class _CombineInBundle(BundleBuffer):
    """Elements -> (key, accumulator) per key of the bundle: the combiner lifting a
    runner does before a CombinePerKey's shuffle, done here."""

    def __init__(self, combine_fn: beam.CombineFn, key_and_input: Callable[[Any], tuple[Any, Any]] | None,
                 max_keys: int):
        self._fn, self._key_and_input, self._max_keys = combine_fn, key_and_input, max_keys

    def setup(self) -> None:
        self._fn.setup()

    def empty(self) -> None:
        self._accumulators: dict = {}

    def add(self, element: Any) -> bool:
        key, value = self._key_and_input(element) if self._key_and_input else element
        accumulator = self._accumulators[key] if key in self._accumulators else self._fn.create_accumulator()
        self._accumulators[key] = self._fn.add_input(accumulator, value)
        return len(self._accumulators) >= self._max_keys

    def drain(self) -> Iterator[tuple[Any, Any]]:
        accumulators = self._accumulators
        self.empty()
        return ((key, self._fn.compact(acc)) for key, acc in accumulators.items())


class _MergeAccumulators(beam.DoFn):
    def __init__(self, combine_fn: beam.CombineFn, then: Callable[[Any, Any], Iterable[Any]] | None):
        self._fn, self._then = combine_fn, then

    def setup(self) -> None:
        self._fn.setup()

    def process(self, keyed: tuple[Any, Iterable[Any]]) -> Iterator[Any]:
        key, accumulators = keyed
        output = self._fn.extract_output(self._fn.merge_accumulators(accumulators))
        if self._then is None:
            yield key, output
        else:
            yield from self._then(key, output)


class _Batch(beam.DoFn):
    """Elements -> lists of ``size`` of them (the last of a bundle shorter), per window."""

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"a batch holds at least one element, got size {size}")
        self._size = size

    def start_bundle(self) -> None:
        self._batches: dict = {}

    def process(self, element: Any, window=beam.DoFn.WindowParam) -> Iterator[list]:
        batch = self._batches.setdefault(window, [])
        batch.append(element)
        if len(batch) == self._size:
            del self._batches[window]
            yield batch

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for window, batch in self._batches.items():
            yield WindowedValue(batch, window.max_timestamp(), (window,))
        self._batches = {}


def batched(pcoll: beam.PCollection, label: str, size: int) -> beam.PCollection:
    """Lists of ``size`` elements, as ``BatchElements(min_batch_size=size, max_batch_size=size)``
    gives them (never across windows; a bundle's last batch may be shorter), in one transform."""
    return pcoll | label >> beam.ParDo(_Batch(size))


def combine_per_key(
    pcoll: beam.PCollection,
    label: str,
    combine_fn: beam.CombineFn,
    key_and_input: Callable[[Any], tuple[Any, Any]] | None = None,
    then: Callable[[Any, Any], Iterable[Any]] | None = None,
    max_keys_per_bundle: int = 10_000,
) -> beam.PCollection:
    """``(key, input)`` elements (or any element, keyed by ``key_and_input``) -> ``(key, output)``
    per key: ``CombinePerKey(combine_fn)``'s result in three transforms. Each bundle folds its
    elements into one accumulator per key (at most ``max_keys_per_bundle`` held at once), so
    the shuffle carries a few accumulators per bundle, not one element per input.

    ``then``: a function of ``(key, output)`` returning the elements to emit instead (a
    filter, or the next step's work), run in the merge step rather than a step of its own.
    """
    return (
        pcoll
        | f"{label}InBundle" >> beam.ParDo(_CombineInBundle(combine_fn, key_and_input, max_keys_per_bundle))
        | label >> beam.GroupByKey()
        | f"{label}Merge" >> beam.ParDo(_MergeAccumulators(combine_fn, then))
    )
