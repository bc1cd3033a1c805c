"""MinHash signature speed vs datasketch, and end-to-end dedup throughput in Beam.

1. Per core, same process, same ~5 KB documents: our vectorised signatures
   (normalise, hash shingles, sign) vs ``datasketch.MinHash.update_batch`` on
   the same normalised shingles (its default sha1 hashfunc, as users call it).
   Reported as docs/s, MB/s and the ratio, for the signature stage alone
   (from normalised text) and from raw text.
2. ExactDedup then NearDedup on the FnApiRunner with 2 local worker processes.

    python -m bench.dedup_speed [--quick]
"""

from __future__ import annotations

import argparse
import tempfile

import apache_beam as beam
import datasketch
from apache_beam.options.pipeline_options import PipelineOptions

from bench.common import print_table, synthetic_documents, timed, write_results
from curation.dedup.minhash import signature
from curation.dedup.normalize import normalize_text
from curation.dedup.options import ExactDedupOptions, NearDedupOptions
from curation.dedup.shingles import shingle_hashes, shingles
from curation.dedup.transforms import ExactDedup, NearDedup
from curation.schema import new_record


def signature_speed(texts: list[str], num_perm: int) -> dict:
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    normalized = [normalize_text(t) for t in texts]

    def ours_from_normalized():
        for text in normalized:
            signature(shingle_hashes(text, 5), num_perm, 1)

    def ours_from_raw():
        for text in texts:
            signature(shingle_hashes(normalize_text(text), 5), num_perm, 1)

    def datasketch_from_normalized():
        for text in normalized:
            minhash = datasketch.MinHash(num_perm=num_perm, seed=1)
            minhash.update_batch([s.encode("utf-8") for s in shingles(text, 5)])

    def datasketch_from_raw():
        for text in texts:
            minhash = datasketch.MinHash(num_perm=num_perm, seed=1)
            minhash.update_batch([s.encode("utf-8") for s in shingles(normalize_text(text), 5)])

    ours_from_normalized()  # warm caches (permutations, imports)
    row = {"num_perm": num_perm, "docs": len(texts), "mb": round(megabytes, 2)}
    for stage, ours, theirs in (("signature", ours_from_normalized, datasketch_from_normalized),
                                ("from_raw_text", ours_from_raw, datasketch_from_raw)):
        ours_seconds, _ = timed(ours)
        theirs_seconds, _ = timed(theirs)
        row[f"{stage}_ours_docs_per_s"] = round(len(texts) / ours_seconds)
        row[f"{stage}_ours_mb_per_s"] = round(megabytes / ours_seconds, 2)
        row[f"{stage}_datasketch_docs_per_s"] = round(len(texts) / theirs_seconds)
        row[f"{stage}_ratio"] = round(theirs_seconds / ours_seconds, 2)
    return row


def beam_throughput(texts: list[str]) -> dict:
    records = [
        new_record(id=f"{i:07d}", text=t, source="bench", source_uri="mem://bench", source_index=i, run_id="bench")
        for i, t in enumerate(texts)
    ]
    flags = ["--runner=FnApiRunner", "--direct_num_workers=2", "--direct_running_mode=multi_processing"]

    def run_pipeline():
        with tempfile.TemporaryDirectory() as out, beam.Pipeline(options=PipelineOptions(flags)) as pipeline:
            exact = pipeline | beam.Create(records) | "Exact" >> ExactDedup(ExactDedupOptions())
            near = exact.documents | "Near" >> NearDedup(NearDedupOptions())
            for name, pcoll in (("survivors", near.documents), ("exact_dups", exact.duplicates),
                                ("near_dups", near.duplicates)):
                _ = pcoll | f"Count{name}" >> beam.combiners.Count.Globally() | f"Write{name}" >> beam.io.WriteToText(
                    f"{out}/{name}")

    seconds, _ = timed(run_pipeline)
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    return {"docs": len(texts), "seconds": round(seconds, 1), "docs_per_s": round(len(texts) / seconds),
            "mb_per_s": round(megabytes / seconds, 2), "workers": 2}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small runs (seconds)")
    args = parser.parse_args(argv)
    texts = synthetic_documents(200 if args.quick else 1000, words_per_doc=850, seed=5)
    rows = [signature_speed(texts, num_perm) for num_perm in (128, 256)]
    print_table(["num_perm", "stage", "ours docs/s", "ours MB/s", "datasketch docs/s", "ratio"],
                [[r["num_perm"], stage, r[f"{stage}_ours_docs_per_s"], r[f"{stage}_ours_mb_per_s"],
                  r[f"{stage}_datasketch_docs_per_s"], r[f"{stage}_ratio"]]
                 for r in rows for stage in ("signature", "from_raw_text")])
    beam_docs = synthetic_documents(500 if args.quick else 5000, words_per_doc=850, seed=6)
    beam_docs += beam_docs[: len(beam_docs) // 10]  # 10% exact copies, so dedup has work
    end_to_end = beam_throughput(beam_docs)
    print(f"\nExactDedup + NearDedup, FnApiRunner, 2 workers: {end_to_end}")
    path = write_results(f"dedup_speed{'_quick' if args.quick else ''}",
                         {"signatures": rows, "beam_end_to_end": end_to_end})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
