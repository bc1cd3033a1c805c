"""The demo corpus: determinism, planted items, real-side extraction."""
import json
import pathlib
import sys
import sysconfig

import pytest

from curation.demo.corpus import (
    BOILERPLATE_LINE,
    OVERSIZED_TEXT_BYTES,
    build_demo_corpus,
    normalized,
    shingle_jaccard,
    stdlib_python_files,
    write_demo_corpus,
)
from curation.schema import RejectReason

STDLIB = pathlib.Path(sysconfig.get_paths()["stdlib"])
# A package of the stdlib as a small stand-in for the whole, to build twice quickly.
SMALL_STDLIB = STDLIB / "email"


@pytest.fixture(scope="module")
def corpus():
    return build_demo_corpus(seed=0)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    small = dict(stdlib_dir=SMALL_STDLIB, oversized_text_bytes=2000)
    write_demo_corpus(tmp_path / "a.jsonl", 7, **small)
    write_demo_corpus(tmp_path / "b.jsonl", 7, manifest_path=tmp_path / "b.json", **small)
    write_demo_corpus(tmp_path / "c.jsonl", 8, **small)
    a = (tmp_path / "a.jsonl").read_bytes()
    assert a == (tmp_path / "b.jsonl").read_bytes()
    assert a != (tmp_path / "c.jsonl").read_bytes()
    assert json.loads((tmp_path / "b.json").read_text())["seed"] == 7


def test_parsing_the_stdlib_imports_none_of_it(corpus):
    # antigravity opens a browser and this prints on import: parsing must do neither.
    assert "antigravity" not in sys.modules and "this" not in sys.modules
    files = stdlib_python_files()
    parts = {part for f in files for part in f.relative_to(STDLIB).parts}
    assert not parts & {"test", "tests", "idlelib", "site-packages"}
    assert files == sorted(files)


def test_sides_sizes_and_fields(corpus):
    sides = corpus.manifest["sides"]
    assert 3000 <= sides["real"]["records"] <= 5000
    assert sides["synthetic"]["records"] == pytest.approx(0.4 * sides["real"]["records"], rel=0.02)
    for side in sides.values():
        assert side["origin_declared"] / side["records"] == pytest.approx(0.5, abs=0.05)
    for record in corpus.records:
        human = record["generator"] == "human"
        assert record.get("origin", "human" if human else "ai") == ("human" if human else "ai")
        assert list(record) == [k for k in ("id", "text", "module", "origin", "license", "generator") if k in record]
        assert record["license"] == "PSF-2.0"
    ids = [r["id"] for r in corpus.records]
    assert len(ids) == len(set(ids))
    assert corpus.manifest["lines"] == len(corpus.lines) == len(corpus.records) + len(corpus.manifest["bad_records"])


def test_source_sizes_are_heavy_tailed(corpus):
    sizes = sorted(corpus.manifest["real_docs_per_source"].values(), reverse=True)
    assert len(sizes) > 50
    assert sizes[0] >= 100 and sizes[-1] == 1
    assert sum(s <= 5 for s in sizes) > len(sizes) / 3  # many small strata


def test_planted_exact_duplicates(corpus):
    by_id = {r["id"]: r for r in corpus.records}
    texts = {}
    for r in corpus.records:
        texts.setdefault(normalized(r["text"]), []).append(r["id"])
    groups = sorted(sorted(ids) for ids in texts.values() if len(ids) > 1)
    planted = corpus.manifest["exact_duplicates"]
    assert groups == sorted(sorted([p["id"], p["duplicate_of"]]) for p in planted)
    for p in planted:
        copy, original = by_id[p["id"]]["text"], by_id[p["duplicate_of"]]["text"]
        assert (copy != original) == p["normalization_needed"]


def test_planted_near_duplicates_and_chain(corpus):
    by_id = {r["id"]: r["text"] for r in corpus.records}
    manifest = corpus.manifest
    for item in manifest["near_duplicates"] + manifest["chain"]:
        similarity = shingle_jaccard(by_id[item["id"]], by_id[item["duplicate_of"]])
        assert 0.85 <= similarity <= 0.95
        assert similarity == pytest.approx(item["jaccard"], abs=1e-4)
    assert by_id["near-2"].endswith(BOILERPLATE_LINE)
    assert manifest["chain_ends_jaccard"] < 0.85  # A and C are close only through B


def test_one_bad_line_per_reject_reason(corpus):
    bad = corpus.manifest["bad_records"]
    reasons = {b["reason"] for b in bad}
    assert reasons == {r.value for r in RejectReason} - {RejectReason.INVALID_ID.value, RejectReason.UNREADABLE_FILE.value}
    by_kind = {b["kind"]: corpus.lines[b["line"]] for b in bad}
    with pytest.raises(json.JSONDecodeError):
        json.loads(by_kind["invalid_json"])
    with pytest.raises(UnicodeDecodeError):
        by_kind["invalid_utf8"].decode("utf-8")
    assert isinstance(json.loads(by_kind["not_an_object"]), list)
    assert "text" not in json.loads(by_kind["missing_text"])
    assert json.loads(by_kind["whitespace_text"])["text"].strip() == ""
    assert json.loads(by_kind["nul_byte"])["text"].count("\x00") == 1
    with pytest.raises(UnicodeEncodeError):
        json.loads(by_kind["lone_surrogate"])["text"].encode("utf-8")
    assert json.loads(by_kind["unknown_origin"])["origin"] == "robot"
    assert len(json.loads(by_kind["too_large"])["text"].encode()) == OVERSIZED_TEXT_BYTES > 2**20
    duplicate = next(b for b in bad if b["kind"] == "duplicate_id")
    assert json.loads(corpus.lines[0])["id"] == duplicate["id"] and duplicate["line"] > 0


def test_every_line_is_one_line(corpus):
    assert not any(b"\n" in line for line in corpus.lines)
