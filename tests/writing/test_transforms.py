import os

import apache_beam as beam
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from curation import storage
from curation.shards import ShardTargets
from curation.writing.options import WriteOptions
from curation.writing.transforms import WriteShards
from tests.factories import data_record, snapshot, write_output


def _write(make_pipeline, tmp_path, rows, shard_rows=ShardTargets.rows, num_shards=None, **kw):
    options = WriteOptions(output=str(tmp_path / "out"), shards=ShardTargets(rows=shard_rows, count=num_shards), **kw)
    with make_pipeline() as p:
        _ = p | beam.Create(rows) | WriteShards(options)
    return tmp_path / "out"


def test_shards_are_balanced_and_every_shard_gets_its_share(make_pipeline, tmp_path):
    rows = [data_record(i, "real" if i % 4 else "synthetic") for i in range(103)]
    out = _write(make_pipeline, tmp_path, rows, shard_rows=25)
    names = sorted(os.listdir(out / "data"))
    assert names == [f"part-{j:05d}-of-00005.parquet" for j in range(5)]
    sizes, reals = [], []
    for name in names:
        t = ds.dataset(out / "data" / name).to_table()
        sizes.append(t.num_rows)
        reals.append(t.column("origin").to_pylist().count("real"))
    assert sum(sizes) == 103 and max(sizes) - min(sizes) <= 1
    assert max(reals) - min(reals) <= 1
    assert not (out / "_temporary").exists()


def test_same_seed_same_bytes_other_seed_other_order(make_pipeline, tmp_path):
    rows = [data_record(i, "real") for i in range(40)]
    a = _write(make_pipeline, tmp_path / "a", rows, shard_rows=15, seed=1)
    b = _write(make_pipeline, tmp_path / "b", list(reversed(rows)), shard_rows=15, seed=1)
    c = _write(make_pipeline, tmp_path / "c", rows, shard_rows=15, seed=2)
    for name in os.listdir(a / "data"):
        assert (a / "data" / name).read_bytes() == (b / "data" / name).read_bytes()
    assert any((a / "data" / n).read_bytes() != (c / "data" / n).read_bytes() for n in os.listdir(a / "data"))


def test_in_bytes_every_class_spreads_its_text_evenly_and_the_floor_is_on_text(make_pipeline, tmp_path):
    rows = [data_record(i, "real" if i % 3 else "synthetic") for i in range(90)]
    for i, row in enumerate(rows):
        row["text"] = "w" * (5 + i * 37 % 200)
    out = _write(make_pipeline, tmp_path, rows, num_shards=3, ratio_unit="bytes")
    shards = [pq.read_table(out / "data" / name).to_pylist() for name in sorted(os.listdir(out / "data"))]
    for origin in ("real", "synthetic"):
        share = sum(len(r["text"]) for r in rows if r["origin"] == origin) / 3
        longest = max(len(r["text"]) for r in rows if r["origin"] == origin)
        for shard in shards:
            assert abs(sum(len(r["text"]) for r in shard if r["origin"] == origin) - share) < longest
    with pytest.raises(Exception, match="real share of text .* is below the floor 0.8"):
        _write(make_pipeline, tmp_path / "again", rows, num_shards=3, ratio_unit="bytes", min_real_fraction=0.8)


def test_empty_input_still_writes_one_shard_with_the_schema(make_pipeline, tmp_path):
    out = _write(make_pipeline, tmp_path, [])
    assert ds.dataset(out / "data").to_table().num_rows == 0


def test_failed_verification_leaves_no_shard_under_a_final_name(make_pipeline, tmp_path):
    rows = [data_record(i, "real" if i % 2 else "synthetic") for i in range(20)]
    with pytest.raises(Exception, match="below the floor"):
        _write(make_pipeline, tmp_path, rows, shard_rows=5, min_real_fraction=0.8)
    assert os.listdir(tmp_path / "out") == []  # no shard, no staging area, no lock


def test_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty"):
        WriteShards(WriteOptions(output=str(tmp_path / "out")))
    with pytest.raises(FileExistsError, match="holds no manifest.json"):
        WriteShards(WriteOptions(output=str(tmp_path / "out"), overwrite=True))
    assert (tmp_path / "out" / "precious.txt").exists()


def test_overwrite_never_clears_a_directory_holding_someone_elses_manifest(tmp_path):
    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "manifest.json").write_text('{"name": "my-app"}')
    (app / "src" / "app.js").write_text("console.log(1)")
    with pytest.raises(FileExistsError, match="not a curation manifest"):
        WriteShards(WriteOptions(output=str(app), overwrite=True))
    assert sorted(snapshot(app)) == ["manifest.json", "src/app.js"]


def test_a_failed_rerun_leaves_the_earlier_output_intact_and_a_good_one_replaces_it(make_pipeline, tmp_path):
    write_output(tmp_path / "out")
    before = snapshot(tmp_path / "out")
    rows = [data_record(i, "real" if i % 2 else "synthetic") for i in range(20)]
    with pytest.raises(Exception, match="below the floor"):
        _write(make_pipeline, tmp_path, rows, shard_rows=5, min_real_fraction=0.8, overwrite=True)
    assert snapshot(tmp_path / "out") == before
    _write(make_pipeline, tmp_path, rows, shard_rows=10, overwrite=True)
    assert sorted(snapshot(tmp_path / "out")) == [f"data/part-0000{j}-of-00002.parquet" for j in range(2)]


def test_more_fixed_shards_than_rows_fails_before_writing(make_pipeline, tmp_path):
    options = WriteOptions(output=str(tmp_path / "out"), shards=ShardTargets(count=10))
    with pytest.raises(ValueError, match="num_shards 10 is more data shards than the 5 rows"):
        # A pipeline of one's own holds the claim like this, so a failure anywhere releases it.
        with storage.claim_output(options.output, options.overwrite) as attempt, make_pipeline() as p:
            _ = p | beam.Create([data_record(i, "real") for i in range(5)]) | WriteShards(options, attempt=attempt)
    assert os.listdir(tmp_path / "out") == []
