"""``make demo`` end to end: the planted duplicates and bad lines land where they should;
and the demo with ``--ratio-unit bytes``: the floor holds on every shard's text."""

import contextlib
import io
import json
import re
from fractions import Fraction

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from pipelines import demo

MIN_REAL_FRACTION = "0.8"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo")
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert demo.main(["--workdir", str(workdir)]) == 0
    output = workdir / "output"
    return {
        "printed": printed.getvalue(),
        "certification": json.loads((output / "certification.json").read_text()),
        "output": output,
        "corpus": workdir / "corpus.jsonl",
        "planted": json.loads((workdir / "planted.json").read_text()),
        "manifest": json.loads((output / "manifest.json").read_text()),
        "data": ds.dataset(output / "data").to_table(),
        "rejected": ds.dataset(output / "rejected").to_table().to_pylist(),
        "duplicates": ds.dataset(output / "duplicates").to_table().to_pylist(),
        "not_selected": ds.dataset(output / "not_selected").to_table().to_pylist(),
    }


def test_every_planted_bad_line_is_rejected_for_its_reason(demo_run):
    planted = sorted(b["reason"] for b in demo_run["planted"]["bad_records"])
    assert sorted(r["reason"] for r in demo_run["rejected"]) == planted
    lines = {b["line"]: b["reason"] for b in demo_run["planted"]["bad_records"]}
    assert {r["source_index"]: r["reason"] for r in demo_run["rejected"]} == lines


def test_planted_duplicates_are_removed_and_point_at_their_cluster(demo_run):
    removed = {d["id"]: d for d in demo_run["duplicates"]}
    data = demo_run["data"]
    cluster_of = dict(zip(data.column("id").to_pylist(), data.column("cluster_id").to_pylist()))
    cluster_of.update({r["id"]: r["cluster_id"] for r in demo_run["not_selected"]})
    cluster_of.update({i: d["cluster_id"] for i, d in removed.items()})
    planted = demo_run["planted"]
    for item in planted["exact_duplicates"] + planted["near_duplicates"] + planted["chain"]:
        # One of a planted pair is removed, against a survivor that is kept and that it
        # matches; a chain's far end may stay (it is unlike the survivor).
        pair = (item["id"], item["duplicate_of"])
        for member in pair:
            if member in removed:
                survivor = removed[member]["duplicate_of"]
                assert survivor in cluster_of and survivor not in removed and cluster_of[survivor] == cluster_of[member]
                assert removed[member]["similarity"] >= 0.8
        if item.get("jaccard", 1.0) >= 0.85:
            assert any(member in removed for member in pair), item
    assert demo_run["manifest"]["counts"] == {"dedup.near.kept_unverified": 0}
    assert {d["kind"] for d in demo_run["duplicates"]} == {"exact", "near"}


def test_demo_accounting_balances(demo_run):
    accounting = demo_run["manifest"]["accounting"]
    assert accounting["balanced"]
    assert accounting["records_read"] == demo_run["planted"]["lines"]
    assert accounting["output"] == demo_run["data"].num_rows
    assert accounting["duplicate"] == len(demo_run["duplicates"])
    assert accounting["not_selected"] == len(demo_run["not_selected"])


def test_sampled_input_records_each_trace_to_exactly_one_fate(demo_run):
    from curation.provenance.trace import TraceStatus, trace_record

    output, corpus = demo_run["output"], demo_run["corpus"]
    lines = demo_run["planted"]["lines"]
    bad = {b["line"] for b in demo_run["planted"]["bad_records"]}
    sample = sorted(set(range(0, lines, 97)) | bad)  # every bad line and a spread of good ones
    fates = {}
    for line in sample:
        story = trace_record(str(output), location=f"{corpus}#{line}")
        assert story.status is TraceStatus.FOUND and len(story.sightings) == 1, (line, story.sightings)
        fates[story.sightings[0].table] = fates.get(story.sightings[0].table, 0) + 1
    assert fates["rejected"] == len(bad) and fates["data"] > 0 and fates["not_selected"] > 0


def test_card_states_the_achieved_ratio_and_croissant_validates(demo_run):
    import mlcroissant

    manifest, output = demo_run["manifest"], demo_run["output"]
    classes = {}
    for shard in manifest["tables"]["data"]["shards"]:
        for cls, n in shard["classes"].items():
            classes[cls] = classes.get(cls, 0) + n
    achieved = classes["real"] / sum(classes.values())
    card = (output / "README.md").read_text()
    assert f"{achieved:.2%}" in card and f"{manifest['accounting']['output']:,}" in card
    dataset = mlcroissant.Dataset(jsonld=str(output / "croissant.json"))
    assert sum(1 for _ in dataset.records("rejected")) == manifest["accounting"]["rejected"]


def test_demo_certifies_the_real_share_from_ground_truth_labels_and_prints_it(demo_run):
    certification = demo_run["certification"]
    assert certification["labelled"] == {"data": 300, "not_selected": 100, "data_draws": 300}
    assert certification["run_id"] == demo_run["manifest"]["run_id"]
    shown = re.search(r"real share: ([\d.]+)% of rows certified \(95% confidence, 300 labels\); ([\d.]+)% of rows "
                      r"as labelled, ([\d.]+)% of text; truly real \(the generator knows\): ([\d.]+)% of rows, "
                      r"[\d.]+% of text", demo_run["printed"])
    assert shown, demo_run["printed"]
    certified, truly_real = float(shown[1]), float(shown[4])
    assert certified == round(100 * certification["overall"]["certified_real_share"], 1)
    assert certified <= truly_real  # the bound holds on the demo's own corpus
    assert "## Certified real share" in (demo_run["output"] / "README.md").read_text()


@pytest.fixture(scope="module")
def demo_bytes_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo_bytes")
    with contextlib.redirect_stdout(io.StringIO()):
        argv = ["--workdir", str(workdir), "--ratio-unit", "bytes", "--min-real-fraction", MIN_REAL_FRACTION]
        assert demo.main(argv) == 0
    output = workdir / "output"
    return output, json.loads((output / "manifest.json").read_text())


def test_with_the_byte_unit_every_shard_holds_the_real_share_of_text_on_read_back(demo_bytes_run):
    output, manifest = demo_bytes_run
    assert manifest["sampling"]["ratio_unit"] == "bytes"
    shards = manifest["tables"]["data"]["shards"]
    assert len(shards) > 1
    for shard in shards:
        rows = pq.read_table(output / shard["path"], columns=["origin", "text"]).to_pylist()
        text = {o: sum(len(r["text"].encode("utf-8")) for r in rows if r["origin"] == o) for o in ("real", "synthetic")}
        assert text["real"] >= Fraction(MIN_REAL_FRACTION) * sum(text.values()), (shard["name"], text)
        assert shard["class_text_bytes"] == {o: n for o, n in text.items() if n}
    card = (output / "README.md").read_text()
    assert "Requested floor on the real share of the text of every shard: 80.00%" in card
