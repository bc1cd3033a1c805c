"""Exact and near-duplicate removal.

Pure modules (no Beam import, unit-tested without a pipeline):

* :mod:`.normalize`  text normalisation shared by exact and near dedup
* :mod:`.shingles`   word n-gram shingles and their documented 32-bit hash
* :mod:`.minhash`    datasketch-compatible MinHash signatures, LSH bands, Jaccard
* :mod:`.sketch`     a document's sketch, pair similarity, candidate pairs of a band
* :mod:`.components` connected components: union-find reference and the star steps
* :mod:`.survivor`   survivor policy and per-cluster decisions
* :mod:`.options`    ``ExactDedupOptions`` / ``NearDedupOptions``

:mod:`.transforms` holds the Beam wrappers ``ExactDedup`` and ``NearDedup`` and their
typed results (``DedupResult``, ``NearDedupResult``); they compose the Beam steps of
:mod:`.cluster_transforms` (cluster summaries, survivor rounds, routing by decision) and
:mod:`.candidate_transforms` (LSH band entries, pair verification, connected components).
This package deliberately does not import them, so the pure modules stay Beam-free.
"""
