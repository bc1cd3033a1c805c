"""Shard size targets and the one shard-count formula the sampler and the writer share."""

import pytest

from curation.shards import MAX_SHARDS, ShardTargets


def test_the_shard_count_takes_the_larger_target():
    targets = ShardTargets(rows=100, text_bytes=1000)
    assert targets.data_shard_count(0, 0) == 1
    assert targets.data_shard_count(250, 10) == 3
    assert targets.data_shard_count(10, 4500) == 5
    assert targets.data_shard_count(10.5, 999.5) == 1  # estimates (the sampler's) round up like counts
    assert ShardTargets(count=2).data_shard_count(10**6, 0) == 2


def test_side_tables_are_sized_by_rows_only():
    assert ShardTargets(rows=100, text_bytes=1).side_table_shard_count(250) == 3
    assert ShardTargets(rows=100).side_table_shard_count(0) == 1


def test_targets_validate():
    with pytest.raises(ValueError, match="shard rows target must be positive, got 0"):
        ShardTargets(rows=0)
    with pytest.raises(ValueError, match="shard text_bytes target must be positive"):
        ShardTargets(text_bytes=-1)
    assert ShardTargets(count=MAX_SHARDS).count == 100_000
    with pytest.raises(ValueError, match="num_shards must be between 1 and 100,000, got 1000000000"):
        ShardTargets(count=10**9)
