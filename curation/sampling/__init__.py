"""Tail-preserving stratified sampling: the pure core (no Beam).

* :mod:`.tokens`      the one word tokenizer the sampler's features share
* :mod:`.topics`      a seeded, serialisable k-means topic model
* :mod:`.strata`      stratum keys (user fields, length bucket, topic)
* :mod:`.allocation`  exact per-stratum quotas, origin budgets, shard counts
* :mod:`.tail_metrics` how much of the long tail the sample kept
"""
