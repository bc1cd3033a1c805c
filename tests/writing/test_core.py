import io

import pyarrow.parquet as pq
import pytest

from curation.schema import RECORD_SCHEMA
from curation.writing import core
from curation.shards import ShardTargets
from curation.writing.options import WriteOptions
from tests.factories import data_record


@pytest.mark.parametrize("counts,k", [({"real": 10, "synthetic": 3}, 4), ({"real": 0}, 3), ({"a": 7, "b": 7, "c": 1}, 5)])
def test_even_plan_is_exact_and_balanced(counts, k):
    plan = core.even_shard_plan(counts, k)
    assert len(plan) == k
    for cls, n in counts.items():
        assert sum(s[cls] for s in plan) == n
        assert max(s[cls] for s in plan) - min(s[cls] for s in plan) <= 1
    sizes = [sum(s.values()) for s in plan]
    assert max(sizes) - min(sizes) <= 1


def test_cumulative_ranks():
    plan = [{"real": 3}, {"real": 2}, {"real": 4}]
    assert core.cumulative_ranks(plan, "real") == [3, 5]
    assert core.cumulative_ranks(plan, "synthetic") == [0, 0]


def test_options_validate():
    with pytest.raises(ValueError, match="row_group_rows"):
        WriteOptions(output="/o", row_group_rows=0)
    with pytest.raises(ValueError, match="min_real_fraction"):
        WriteOptions(output="/o", min_real_fraction=1.5)
    with pytest.raises(TypeError, match="WriteOptions.shards takes a ShardTargets, got int"):
        WriteOptions(output="/o", shards=100)


def test_a_fixed_shard_count_fits_the_rows():
    core.check_fixed_shard_count(20, WriteOptions(output="/o", shards=ShardTargets(count=20)))
    core.check_fixed_shard_count(0, WriteOptions(output="/o", shards=ShardTargets(count=1)))  # an empty table keeps one shard
    core.check_fixed_shard_count(3, WriteOptions(output="/o"))
    with pytest.raises(ValueError, match="num_shards 10000 is more data shards than the 20 rows to write: give at most 20"):
        core.check_fixed_shard_count(20, WriteOptions(output="/o", shards=ShardTargets(count=10_000)))


def test_encoding_is_deterministic_and_checks_catch_mismatches():
    rows = [data_record(i, "real" if i % 3 else "synthetic") for i in range(30)]
    options = WriteOptions(output="/o")
    data = core.encode_parquet(rows, RECORD_SCHEMA, options)
    assert data == core.encode_parquet(rows, RECORD_SCHEMA, options)
    table = pq.read_table(io.BytesIO(data))
    classes = core.class_counts_of(table, "origin")
    assert classes == {"real": 20, "synthetic": 10}
    info = {"name": "p", "rows": 30, "class_column": "origin", "classes": {"real": 20, "synthetic": 10}}
    found = core.ShardContents(30, classes)
    assert core.check_shard(info, found, 0.6) == []
    assert "below the floor" in core.check_shard(info, found, 0.7)[0]
    assert "planned" in core.check_shard({**info, "rows": 31}, found, None)[0]


def test_the_byte_floor_is_checked_on_the_text_read_back_exactly():
    rows = [data_record(i, "real" if i % 3 else "synthetic") for i in range(30)]
    rows[0]["text"] = "é" * 50  # a long synthetic text: 100 UTF-8 bytes, 50 characters
    table = pq.read_table(io.BytesIO(core.encode_parquet(rows, RECORD_SCHEMA, WriteOptions(output="/o"))))
    text = core.class_text_bytes_of(table, "origin")
    written = {o: sum(len(r["text"].encode()) for r in rows if r["origin"] == o) for o in ("real", "synthetic")}
    assert text == written == {"real": 134, "synthetic": 160}
    info = {"name": "p", "rows": 30, "class_column": "origin", "classes": core.class_counts_of(table, "origin"),
            "class_text_bytes": written}
    found = core.ShardContents(30, info["classes"], text)
    # 2/3 of the rows are real but only 134/294 of the text.
    assert core.check_shard(info, found, 0.6) == []
    assert "real share of text 0.4558 is below the floor 0.5" in core.check_shard(info, found, 0.5, "bytes")[0]
    assert core.check_shard(info, found, 0.455, "bytes") == []  # 134 >= 0.455 * 294 = 133.77
    assert core.check_shard(info, found, 0.456, "bytes") != []  # 134 < 0.456 * 294 = 134.06
    assert core.check_shard(info, core.ShardContents(30, info["classes"], {"real": 294}), 0.4, "bytes") == [
        "p: text bytes per class {'real': 294}, written {'real': 134, 'synthetic': 160}"
    ]
