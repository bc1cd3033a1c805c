"""Options of the dedup transforms: frozen, validated on construction."""

from __future__ import annotations

import dataclasses

from curation.dedup.minhash import lsh_bands
from curation.dedup.normalize import TextNormalization
from curation.dedup.survivor import DEFAULT_SURVIVOR_POLICY, validate_policy

VERIFICATIONS = ("signature", "shingles")
# Members of one duplicate cluster decided on one worker at most: a larger cluster
# (a boilerplate text copied a million times) is split over several join keys.
MEMBERS_PER_KEY = 10_000


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _require_members_per_key(value: int, owner: str) -> None:
    _require(isinstance(value, int) and value >= 1, f"{owner}.members_per_key must be an integer >= 1, got {value!r}")


@dataclasses.dataclass(frozen=True)
class ExactDedupOptions:
    """Options of :class:`~curation.dedup.transforms.ExactDedup`.

    normalization: what is hashed: records whose normalised texts are equal are
        one cluster (so texts that normalise to "" are duplicates of each other).
    survivor_policy: criteria from ``survivor.SURVIVOR_CRITERIA``, in order.
    members_per_key: a cluster with more members is decided on several workers
        (see ``MEMBERS_PER_KEY``).
    """

    normalization: TextNormalization = TextNormalization()
    survivor_policy: tuple[str, ...] = DEFAULT_SURVIVOR_POLICY
    members_per_key: int = MEMBERS_PER_KEY

    def __post_init__(self) -> None:
        _require(
            isinstance(self.normalization, TextNormalization),
            "ExactDedupOptions.normalization must be a TextNormalization",
        )
        validate_policy(self.survivor_policy, "ExactDedupOptions")
        _require_members_per_key(self.members_per_key, "ExactDedupOptions")


@dataclasses.dataclass(frozen=True)
class NearDedupOptions:
    """Options of :class:`~curation.dedup.transforms.NearDedup` (MinHash LSH).

    threshold: Jaccard similarity of word ``ngram_size``-gram shingles at or
        above which two documents are duplicates.
    num_perm / seed: MinHash permutations, as in ``datasketch.MinHash``. 256 by
        measurement (``python -m bench.dedup_quality``, 4,000 planted docs):
        recall of pairs with Jaccard >= threshold + 0.05 was 0.9986 at 256 vs
        0.9973 at 128, with equal false merges; on a shared 2-core box the
        signature cost difference was within noise.
    false_positive_weight / false_negative_weight: datasketch's LSH ``weights``
        choosing (bands, rows). Recall-heavy by default because every candidate
        is verified, so a banding false positive costs only a comparison.
    verification: "shingles" (the default) computes exact Jaccard, carrying each
        document's shingle hashes (32-bit, 4 bytes per distinct shingle) through the
        shuffle, so a removal's similarity to its survivor really reaches
        ``threshold``; end to end it took 1.07x the time of "signature" (fastest of
        three alternating runs, ``bench.dedup_speed``'s corpus). "signature"
        compares full signatures (estimated Jaccard, standard error
        sqrt(J(1-J)/num_perm), 0.025 at 0.8 and 256 permutations) and ships no
        shingles: on ``bench.dedup_quality`` 3.0% of its removals were below
        threshold to their survivor (0% with "shingles"). Removing only when the
        estimate clears the threshold by z standard errors does not mend it: z=1
        left 1.1% of removals below it, z=2 kept both documents of 2.2% of the pairs
        at threshold + 0.05 or more (targets: 1% each).
    all_pairs_bucket_limit: a band bucket up to this size verifies every pair;
        a larger (hot) bucket links each member to its smallest id only (a star),
        so thousands of identical documents cost linear, not quadratic, work.
    band_shards: the LSH buckets are gathered in this many groups (by a hash of
        the band key), each bundle sending one list of entries per group. A
        group's worker holds about 1/band_shards of all band entries (about 360
        bytes each at its peak, measured; 22 per document at the defaults):
        4096 keeps it near 200 MB per 100 million documents. Raise it for
        larger corpora; results do not depend on it.
    component_rounds: Large-Star/Small-Star rounds run distributed, each two
        GroupByKeys by node. What they leave unmerged is a graph of the stars'
        centres, far smaller than the input (none at all on the test corpora
        after two); it is finished by union-find on one worker.
    max_unconverged_links: the most links between stars that worker takes
        (about 300 bytes each); past it the job fails loudly, naming both
        options. After two rounds a 3,000-document chain leaves 557 links in
        random id order and 2,995 in id order (the worst case: chains in id
        order barely shrink, each further round removes a few).
    survivor_rounds: a member is removed only if its similarity to the survivor
        it names reaches ``threshold`` (by ``verification``). Members of a
        connected component that do not match its survivor (the far end of a
        chain A~B~C) are clustered again among themselves, with a survivor of
        their own, up to this many rounds in all; members still undecided after
        the last round are kept and counted as ``kept_unverified``. The first
        round runs distributed (a cluster of any size, see ``members_per_key``);
        the later ones, on what the first left (the far ends of chains), run
        per component on one worker.
    max_members_in_memory: the most members a component's remainder may have
        for those later rounds; a larger remainder is kept unverified (and
        counted) rather than held on one worker.
    members_per_key: a cluster with more members is decided on several workers
        (see ``MEMBERS_PER_KEY``).
    """

    normalization: TextNormalization = TextNormalization()
    ngram_size: int = 5
    threshold: float = 0.8
    num_perm: int = 256
    seed: int = 1
    false_positive_weight: float = 0.1
    false_negative_weight: float = 0.9
    verification: str = "shingles"
    all_pairs_bucket_limit: int = 8
    band_shards: int = 4096
    component_rounds: int = 2
    max_unconverged_links: int = 5_000_000
    survivor_rounds: int = 4
    max_members_in_memory: int = MEMBERS_PER_KEY
    survivor_policy: tuple[str, ...] = DEFAULT_SURVIVOR_POLICY
    members_per_key: int = MEMBERS_PER_KEY

    def __post_init__(self) -> None:
        name = "NearDedupOptions"
        _require(
            isinstance(self.normalization, TextNormalization),
            f"{name}.normalization must be a TextNormalization",
        )
        _require(
            isinstance(self.ngram_size, int) and self.ngram_size >= 1,
            f"{name}.ngram_size must be an integer >= 1 (words per shingle), got {self.ngram_size!r}",
        )
        _require(
            0.0 < self.threshold < 1.0,
            f"{name}.threshold must be a Jaccard similarity strictly between 0 and 1, got {self.threshold!r}",
        )
        _require(
            isinstance(self.num_perm, int) and 16 <= self.num_perm <= 1024,
            f"{name}.num_perm must be an integer in [16, 1024]; 256 is the measured default, "
            f"got {self.num_perm!r}",
        )
        _require(
            isinstance(self.seed, int) and 0 <= self.seed < 2**32,
            f"{name}.seed must be an integer in [0, 2**32) (numpy RandomState), got {self.seed!r}",
        )
        _require(
            self.false_positive_weight >= 0 and self.false_negative_weight >= 0
            and self.false_positive_weight + self.false_negative_weight > 0,
            f"{name}: false_positive_weight and false_negative_weight must be >= 0 and not both 0",
        )
        _require(
            self.verification in VERIFICATIONS,
            f"{name}.verification must be one of {VERIFICATIONS}, got {self.verification!r}",
        )
        _require(
            isinstance(self.all_pairs_bucket_limit, int) and self.all_pairs_bucket_limit >= 2,
            f"{name}.all_pairs_bucket_limit must be an integer >= 2, got {self.all_pairs_bucket_limit!r}",
        )
        _require(
            isinstance(self.band_shards, int) and self.band_shards >= 1,
            f"{name}.band_shards must be an integer >= 1, got {self.band_shards!r}",
        )
        _require(
            isinstance(self.component_rounds, int) and self.component_rounds >= 0,
            f"{name}.component_rounds must be an integer >= 0, got {self.component_rounds!r}",
        )
        _require(
            isinstance(self.max_unconverged_links, int) and self.max_unconverged_links >= 0,
            f"{name}.max_unconverged_links must be an integer >= 0, got {self.max_unconverged_links!r}",
        )
        _require(
            isinstance(self.max_members_in_memory, int) and self.max_members_in_memory >= 2,
            f"{name}.max_members_in_memory must be an integer >= 2, got {self.max_members_in_memory!r}",
        )
        _require(
            isinstance(self.survivor_rounds, int) and self.survivor_rounds >= 1,
            f"{name}.survivor_rounds must be an integer >= 1, got {self.survivor_rounds!r}",
        )
        validate_policy(self.survivor_policy, name)
        _require_members_per_key(self.members_per_key, name)

    @property
    def bands_and_rows(self) -> tuple[int, int]:
        """(bands, rows) of the LSH index, from datasketch's optimiser."""
        return lsh_bands(
            self.threshold, self.num_perm, self.false_positive_weight, self.false_negative_weight
        )
