"""Records and corpora shared by the dedup pipeline tests."""

import random

from curation.schema import new_record

VOCABULARY = [f"w{i}" for i in range(3000)]


def words(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(VOCABULARY) for _ in range(count)]


def make_record(rid: str, text: str, origin=None, index=0) -> dict:
    return new_record(id=rid, text=text, source="test", source_uri="mem://test", source_index=index, run_id="run-1",
                      declared_origin=origin)


def window_docs(prefix: str, seed: int, offsets, length=200):
    base = words(seed, max(offsets) + length)
    return [make_record(f"{prefix}{k}", " ".join(base[o:o + length]), index=k) for k, o in enumerate(offsets)]


def corpus_for_determinism():
    records = window_docs("c", 3, [0, 10, 20, 30, 45]) + window_docs("d", 4, [0, 6, 60])
    records += [make_record(f"r{i}", " ".join(words(200 + i, 80)), origin=["real", "synthetic", None][i % 3])
                for i in range(30)]
    records += [make_record(f"x{i}", "the same boilerplate footer text appears here", "synthetic")
                for i in range(20)]
    return records
