"""Exact integer quotas: per stratum, per origin, per output shard.

Everything here is integer (or exact-fraction) arithmetic on counts, so a plan
is the same on every machine and its sums are exact, never "about" right.

Per-stratum allocation of a budget ``B`` over sizes ``n_i`` (:func:`allocate`):
quotas are integers with ``0 <= q_i <= n_i`` and ``sum q_i == min(B, sum n_i)``.

* ``unimax`` (default): water-filling. Every stratum gets ``min(n_i, cap)``
  for the largest integer ``cap`` that fits the budget; the ``< #strata`` docs
  left over go one each to the strata above the cap, largest first (then by
  key), so a larger stratum never gets fewer than a smaller one and quotas only
  grow with the budget. Every stratum of at most ``cap`` documents is kept whole.
* ``proportional``: ``B * n_i / sum n`` exactly, rounded by the largest-remainder
  method (ties by stratum key). Like every largest-remainder rule it is not
  monotone in ``B`` (the Alabama paradox).
* ``temperature``: weights ``n_i ** (1/T)`` (``T = 1`` is proportional, large
  ``T`` tends to uniform), water-filled so no stratum exceeds ``n_i``, then
  rounded by largest remainder (ties by key).

Origin budgets (:func:`plan_origin_totals`, :func:`plan_budgets`), given
``R`` real and ``S`` synthetic documents available and a minimum real
fraction ``r``:

* the target total is ``sample_size`` (a hard target: met exactly or
  :class:`ImpossibleRequestError` before any work), or
  ``floor(sample_fraction * (R + S))`` (a soft target: as close as the ratio
  allows, never more), or everything (neither given);
* the target is first split between origins in proportion to what is available
  (the sample keeps the input's mix); if that split breaks the ratio, real
  documents replace synthetic ones, the fewest needed;
* the ratio is enforced per output shard, not only globally: with ``k`` shards
  of balanced sizes (differing by at most 1) every shard must hold at least
  ``ceil(r * size)`` real documents. :func:`max_synthetic_for_shards` is the
  largest synthetic count that allows it. Per-shard rounding can cost each
  shard less than ``1/r`` synthetic slots against the global bound
  ``floor(R * (1 - r) / r)`` (e.g. R=10, r=0.1, 3 shards: 81, not 90); shards
  of unequal sizes could hold more, but balanced shards are worth more.

Levels (:func:`allocate_levels`): a budget is first allocated across outer
strata (the user-named ones) by their total sizes, then within each across its
cells, by the same rule. Both levels are exact, so quotas still sum to the
budget, and an outer stratum below the first level's unimax cap is kept whole
however many cells it spreads over.

Bytes (``unit=RatioUnit.BYTES``): sizes, budgets and the floor count UTF-8 bytes
of text instead of documents. A shard then cannot be cut at an exact byte: the
writer splits each origin's bytes evenly over the shards (to within a byte) and
a shard boundary falls between documents, so a shard can lose up to one real
document's bytes and gain up to one synthetic document's bytes against its even
share. :func:`max_synthetic_bytes_for_shards` reserves exactly that much per
shard, so every shard still meets ``r`` exactly, with no tolerance.

``r`` and ``sample_fraction`` given as floats are read as the decimal the user
wrote (``0.1`` is exactly 1/10, not the nearest binary float), so ``r = 0.1``
allows exactly 9 synthetic per real document.
"""

from __future__ import annotations

import enum
import math
import operator
from fractions import Fraction
from typing import Callable, Mapping, NamedTuple

from curation.ratio import exact_fraction
from curation.schema import RatioUnit

DEFAULT_TEMPERATURE = 2.0


class AllocationMethod(str, enum.Enum):
    UNIMAX = "unimax"
    PROPORTIONAL = "proportional"
    TEMPERATURE = "temperature"


DEFAULT_METHOD = AllocationMethod.UNIMAX


class ImpossibleRequestError(ValueError):
    """The requested sample cannot be drawn from what is available."""


def _count(value: int, what: str) -> int:
    """A non-negative integer (numpy integers accepted), else ``ValueError``."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}") from None
    if number < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}")
    return number


def _checked_sizes(sizes: Mapping[str, int]) -> dict[str, int]:
    return {key: _count(n, f"size of stratum {key!r}") for key, n in sizes.items()}


def _largest_remainder(
    ideal: Mapping[str, Fraction | float], sizes: Mapping[str, int], total: int
) -> dict[str, int]:
    """Integer quotas within [0, n_i] summing to ``total``, closest to ``ideal``.

    Floors first, then +1 by largest fractional part (ties: key order). The
    loops also absorb float error in ``ideal`` (a sum slightly off ``total``).
    """
    quotas = {k: min(sizes[k], max(0, math.floor(ideal[k]))) for k in sizes}
    remainder = {k: ideal[k] - math.floor(ideal[k]) for k in sizes}
    short = total - sum(quotas.values())
    by_priority = sorted(sizes, key=lambda k: (-remainder[k], k))
    while short > 0:
        for k in by_priority:
            if short and quotas[k] < sizes[k]:
                quotas[k] += 1
                short -= 1
    while short < 0:
        for k in reversed(by_priority):
            if short and quotas[k] > 0:
                quotas[k] -= 1
                short += 1
    return quotas


def allocate_proportional(sizes: Mapping[str, int], budget: int) -> dict[str, int]:
    """Quotas proportional to size, exact rationals rounded by largest remainder."""
    sizes = _checked_sizes(sizes)
    available = sum(sizes.values())
    total = min(_count(budget, "budget"), available)
    if total == 0:
        return dict.fromkeys(sizes, 0)
    ideal = {k: Fraction(total * n, available) for k, n in sizes.items()}
    return _largest_remainder(ideal, sizes, total)


def allocate_temperature(
    sizes: Mapping[str, int], budget: int, temperature: float = DEFAULT_TEMPERATURE
) -> dict[str, int]:
    """Quotas proportional to ``n_i ** (1/T)``, capped at ``n_i`` with the excess redistributed."""
    if not temperature > 0:  # also rejects NaN
        raise ValueError(f"temperature must be > 0 (math.inf for uniform), got {temperature!r}")
    sizes = _checked_sizes(sizes)
    total = min(_count(budget, "budget"), sum(sizes.values()))
    if total == 0:
        return dict.fromkeys(sizes, 0)
    present = {k: n for k, n in sizes.items() if n > 0}
    # Log-weights: n ** (1/T) overflows (and tiny weights underflow) for small T.
    log_weight = {k: math.log(n) / temperature for k, n in present.items()}
    # Water-filling x_i = min(n_i, level * w_i): strata saturate in order of n_i / w_i,
    # and once one does not, none after it does.
    order = sorted(present, key=lambda k: (math.log(present[k]) - log_weight[k], k))
    # Suffix sums of the weights, each scaled by its suffix's largest weight to stay finite:
    # sum_{j >= i} w_j == suffix_sum[i] * exp(suffix_max[i]).
    suffix_max = [-math.inf] * (len(order) + 1)
    suffix_sum = [0.0] * (len(order) + 1)
    for i in reversed(range(len(order))):
        lw = log_weight[order[i]]
        suffix_max[i] = max(lw, suffix_max[i + 1])
        suffix_sum[i] = math.exp(lw - suffix_max[i]) + suffix_sum[i + 1] * math.exp(
            suffix_max[i + 1] - suffix_max[i]
        )
    ideal: dict[str, float] = dict.fromkeys(sizes, 0.0)
    left = total
    first_unsaturated = len(order)
    for i, k in enumerate(order):
        share = left * math.exp(log_weight[k] - suffix_max[i]) / suffix_sum[i]
        if present[k] > share:
            first_unsaturated = i
            break
        ideal[k] = float(present[k])
        left -= present[k]
    for k in order[first_unsaturated:]:
        ideal[k] = left * math.exp(log_weight[k] - suffix_max[first_unsaturated]) / suffix_sum[
            first_unsaturated
        ]
    return _largest_remainder(ideal, sizes, total)


def allocate_unimax(sizes: Mapping[str, int], budget: int) -> dict[str, int]:
    """Water-filling quotas ``min(n_i, cap)`` plus the leftover, largest strata first."""
    sizes = _checked_sizes(sizes)
    total = min(_count(budget, "budget"), sum(sizes.values()))
    cap = unimax_cap(sizes, total)
    quotas = {k: min(n, cap) for k, n in sizes.items()}
    leftover = total - sum(quotas.values())
    above_cap = sorted((k for k, n in sizes.items() if n > cap), key=lambda k: (-sizes[k], k))
    for k in above_cap[:leftover]:
        quotas[k] += 1
    return quotas


def unimax_cap(sizes: Mapping[str, int], budget: int) -> int:
    """The unimax water level: the largest integer ``cap`` with
    ``sum min(n_i, cap) <= min(budget, sum n_i)``, or the largest size if all fit."""
    sizes = _checked_sizes(sizes)
    ascending = sorted(sizes.values())
    total = min(_count(budget, "budget"), sum(ascending))
    kept_whole = 0  # documents in the strata below the cap examined so far
    for i, n in enumerate(ascending):
        remaining_strata = len(ascending) - i
        if kept_whole + n * remaining_strata >= total:
            return (total - kept_whole) // remaining_strata
        kept_whole += n
    return 0  # no strata (with any strata the loop returns)


def allocate(
    sizes: Mapping[str, int],
    budget: int,
    method: AllocationMethod | str = DEFAULT_METHOD,
    temperature: float = DEFAULT_TEMPERATURE,
) -> dict[str, int]:
    """Per-stratum quotas summing exactly to ``min(budget, sum(sizes))`` (see the module doc)."""
    method = AllocationMethod(method)
    if method is AllocationMethod.UNIMAX:
        return allocate_unimax(sizes, budget)
    if method is AllocationMethod.PROPORTIONAL:
        return allocate_proportional(sizes, budget)
    return allocate_temperature(sizes, budget, temperature)


def allocate_levels(
    strata: Mapping[str, Mapping[str, int]],
    budget: int,
    method: AllocationMethod | str = DEFAULT_METHOD,
    temperature: float = DEFAULT_TEMPERATURE,
) -> dict[str, dict[str, int]]:
    """Quotas in two levels: ``{outer: {cell: size}}`` -> ``{outer: {cell: quota}}``.

    The budget is allocated across the outer strata by their total sizes, then each
    outer stratum's quota across its cells (see the module doc).
    """
    checked = {outer: _checked_sizes(cells) for outer, cells in strata.items()}
    outer_quotas = allocate({outer: sum(cells.values()) for outer, cells in checked.items()}, budget, method, temperature)
    return {outer: allocate(cells, outer_quotas[outer], method, temperature) for outer, cells in checked.items()}


def _real_needed_in_shards(total: int, num_shards: int, min_real: Fraction) -> int:
    """Real documents needed so each of ``num_shards`` balanced shards meets the ratio."""
    size, larger = divmod(total, num_shards)
    return larger * math.ceil(min_real * (size + 1)) + (num_shards - larger) * math.ceil(
        min_real * size
    )


def max_synthetic_for_shards(
    real_total: int, num_shards: int, min_real_fraction: float | Fraction
) -> int:
    """The most synthetic documents that ``real_total`` real ones can carry so that
    every one of ``num_shards`` balanced shards keeps ``real / size >= r``."""
    real_total = _count(real_total, "real_total")
    num_shards = _checked_num_shards(num_shards)
    r = exact_fraction(min_real_fraction, "min_real_fraction")
    # Adding a document raises the real needed by at most one, so feasibility is
    # monotone in the synthetic count: binary search below the global bound.
    low, high = 0, math.floor(real_total * (1 - r) / r)
    while low < high:
        mid = (low + high + 1) // 2
        if _real_needed_in_shards(real_total + mid, num_shards, r) <= real_total:
            low = mid
        else:
            high = mid - 1
    return low


def max_synthetic_bytes_for_shards(
    real_bytes: int,
    num_shards: int,
    min_real_fraction: float | Fraction,
    longest_real: int,
    longest_synthetic: int,
) -> int:
    """The most synthetic text bytes that ``real_bytes`` of real text can carry so
    that every one of ``num_shards`` shards keeps ``real / total >= r`` in bytes.

    The writer gives shard ``j`` each origin's even share (floor or ceiling of
    ``total / k``), then cuts between documents: the real share can fall short by
    less than ``longest_real`` and the synthetic one overrun by less than
    ``longest_synthetic``. The guarantee per shard holds when
    ``(1 - r) * R - r * S >= (k - 1) + k * ((1 - r) * longest_real + r * longest_synthetic)``
    (the ``k - 1``: each share's rounding to whole bytes); one shard holds
    everything, so it needs no reserve.
    """
    real_bytes = _count(real_bytes, "real_bytes")
    num_shards = _checked_num_shards(num_shards)
    r = exact_fraction(min_real_fraction, "min_real_fraction")
    longest_real = _count(longest_real, "longest_real")
    longest_synthetic = _count(longest_synthetic, "longest_synthetic")
    reserve = 0
    if num_shards > 1:
        reserve = (num_shards - 1) + num_shards * ((1 - r) * longest_real + r * longest_synthetic)
    return max(0, math.floor(((1 - r) * real_bytes - reserve) / r))


def _checked_num_shards(num_shards: int) -> int:
    count = _count(num_shards, "num_shards")
    if count < 1:
        raise ValueError(f"num_shards must be at least 1, got {num_shards!r}")
    return count


def plan_shard_counts(
    real_total: int,
    synthetic_total: int,
    num_shards: int,
    min_real_fraction: float | Fraction | None = None,
) -> list[tuple[int, int]]:
    """``(real_j, synthetic_j)`` per shard: sizes differ by at most 1, real and
    synthetic are each spread as evenly as possible, and (given ``r``) every shard
    has ``real_j >= r * (real_j + synthetic_j)``.

    Shard ``j`` is larger (and holds the extra real document) for the lowest
    ``j``s. Raises :class:`ImpossibleRequestError` when the totals cannot be split
    that way: plan with :func:`max_synthetic_for_shards` to avoid it.
    """
    real_total = _count(real_total, "real_total")
    synthetic_total = _count(synthetic_total, "synthetic_total")
    num_shards = _checked_num_shards(num_shards)
    total = real_total + synthetic_total
    if min_real_fraction is not None:
        r = exact_fraction(min_real_fraction, "min_real_fraction")
        if _real_needed_in_shards(total, num_shards, r) > real_total:
            most = max_synthetic_for_shards(real_total, num_shards, r)
            raise ImpossibleRequestError(
                f"{real_total} real and {synthetic_total} synthetic documents cannot fill "
                f"{num_shards} shards with at least {float(r):g} real in each: "
                f"at most {most} synthetic documents fit"
            )
    # Giving the extra real documents to the same (first) shards that get the extra
    # slot meets every shard's ceil(r * size) whenever the totals allow it at all.
    size, larger = divmod(total, num_shards)
    real, more_real = divmod(real_total, num_shards)
    counts = []
    for j in range(num_shards):
        shard_size = size + (j < larger)
        shard_real = real + (j < more_real)
        counts.append((shard_real, shard_size - shard_real))
    return counts


class BudgetPlan(NamedTuple):
    """Per-stratum quotas for each origin (unpacks as ``real, synthetic``)."""

    real_quotas: dict[str, int]
    synthetic_quotas: dict[str, int]

    @property
    def real_total(self) -> int:
        return sum(self.real_quotas.values())

    @property
    def synthetic_total(self) -> int:
        return sum(self.synthetic_quotas.values())


def plan_origin_totals(
    real_available: int,
    synthetic_available: int,
    *,
    min_real_fraction: float | Fraction | None = None,
    sample_size: int | None = None,
    sample_fraction: float | Fraction | None = None,
    num_shards: int = 1,
    unit: RatioUnit | str = RatioUnit.ROWS,
    longest_documents: tuple[int, int] = (0, 0),
) -> tuple[int, int]:
    """How much real and synthetic to select (see the module doc for the rules).

    Everything is in ``unit``: documents, or UTF-8 bytes of text; with bytes,
    ``longest_documents`` is ``(longest real, longest synthetic)`` document in
    bytes, which sets the reserve each shard needs (:func:`max_synthetic_bytes_for_shards`).
    """
    unit = RatioUnit(unit)
    real_available = _count(real_available, "real_available")
    synthetic_available = _count(synthetic_available, "synthetic_available")
    num_shards = _checked_num_shards(num_shards)
    available = real_available + synthetic_available
    noun = "documents" if unit is RatioUnit.ROWS else "bytes of text"
    if sample_size is not None and sample_fraction is not None:
        raise ValueError("give sample_size or sample_fraction, not both")
    if sample_size is not None:
        target = _count(sample_size, "sample_size")
        if target > available:
            raise ImpossibleRequestError(
                f"asked for exactly {target} {noun} but only {available} are available "
                f"({real_available} real, {synthetic_available} synthetic)"
            )
    elif sample_fraction is not None:
        target = math.floor(exact_fraction(sample_fraction, "sample_fraction") * available)
    else:
        target = available

    mix = allocate_proportional({"real": real_available, "synthetic": synthetic_available}, target)
    if min_real_fraction is None:
        return mix["real"], mix["synthetic"]
    r = exact_fraction(min_real_fraction, "min_real_fraction")

    def synthetic_room(real: int) -> int:
        if unit is RatioUnit.ROWS:
            return min(synthetic_available, max_synthetic_for_shards(real, num_shards, r))
        return min(synthetic_available, max_synthetic_bytes_for_shards(real, num_shards, r, *longest_documents))

    most_real = min(real_available, target)
    if target - most_real > synthetic_room(most_real):
        if sample_size is not None:
            most = real_available + synthetic_room(real_available)
            reserve = (
                f" (each shard keeps a reserve of up to one longest document: {longest_documents[0]} real, "
                f"{longest_documents[1]} synthetic bytes)"
                if unit is RatioUnit.BYTES and num_shards > 1
                else ""
            )
            raise ImpossibleRequestError(
                f"asked for exactly {target} {noun} with at least {float(r):g} real"
                f"{f' in each of {num_shards} shards' if num_shards > 1 else ''}, but "
                f"{real_available} real and {synthetic_available} synthetic {noun} allow "
                f"at most {most}{reserve}: lower the sample size to {most} or less, lower the minimum "
                f"real fraction, or add real documents"
            )
        return most_real, synthetic_room(most_real)
    # Fewest real (starting from the input's mix) that carry the rest as
    # synthetic; feasibility only improves with more real, so binary search.
    low, high = mix["real"], most_real
    while low < high:
        mid = (low + high) // 2
        if target - mid <= synthetic_room(mid):
            high = mid
        else:
            low = mid + 1
    return low, target - low


def plan_budgets(
    real_sizes: Mapping[str, int],
    synthetic_sizes: Mapping[str, int],
    *,
    min_real_fraction: float | Fraction | None = None,
    sample_size: int | None = None,
    sample_fraction: float | Fraction | None = None,
    num_shards: int = 1,
    method: AllocationMethod | str = DEFAULT_METHOD,
    temperature: float = DEFAULT_TEMPERATURE,
    outer_of: Callable[[str], str] | None = None,
    unit: RatioUnit | str = RatioUnit.ROWS,
    longest_documents: tuple[int, int] = (0, 0),
) -> BudgetPlan:
    """Per-stratum quotas for each origin: :func:`plan_origin_totals`, then
    :func:`allocate_levels` (strata grouped by ``outer_of``; None: one level).

    ``num_shards`` must be the number of shards the output will be written to,
    because the real:synthetic ratio is guaranteed in every shard.
    """
    real_total, synthetic_total = plan_origin_totals(
        sum(_checked_sizes(real_sizes).values()),
        sum(_checked_sizes(synthetic_sizes).values()),
        min_real_fraction=min_real_fraction,
        sample_size=sample_size,
        sample_fraction=sample_fraction,
        num_shards=num_shards,
        unit=unit,
        longest_documents=longest_documents,
    )

    def in_levels(sizes: Mapping[str, int], budget: int) -> dict[str, int]:
        if outer_of is None:
            return allocate(sizes, budget, method, temperature)
        strata: dict[str, dict[str, int]] = {}
        for cell, n in sizes.items():
            strata.setdefault(outer_of(cell), {})[cell] = n
        quotas = allocate_levels(strata, budget, method, temperature)
        return {cell: quotas[outer_of(cell)][cell] for cell in sizes}

    return BudgetPlan(in_levels(real_sizes, real_total), in_levels(synthetic_sizes, synthetic_total))
