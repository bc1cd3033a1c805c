"""Fingerprints of what the curate job writes, for changes that promise the same bytes.

    python -m bench.output_digests [--root /tmp/curation-digests] [--out digests.json] [--check digests.json]

Runs the demo (rows and bytes floor) and a mixed corpus with every kind of bad
line through dedup and sampling, then hashes every table file and the manifest.
Run ids and source paths are stamped on rows, so every case runs under one fixed
directory (``--root``): digests taken in two checkouts compare only when both used
the same root. ``--check`` exits 1 and names each file whose bytes changed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import pathlib
import shutil
import sys

from pipelines import curate, demo

def _mixed_corpus(path: pathlib.Path) -> None:
    """Good records with one line of every bad kind, and a few exact and near duplicates."""
    lines = []
    for i in range(600):
        text = f"Record {i} is about subject {i % 11} and says {' '.join(str(i * k % 89) for k in range(1, 30))}."
        lines.append({"id": f"r{i}", "text": text, "origin": ["human", "ai"][i % 3 == 0], "lang": "en",
                      "domain": f"d{i % 5 if i % 40 else 9}"})
    lines += [dict(lines[i], id=f"copy{i}") for i in range(0, 60, 7)]
    lines += [dict(lines[i], id=f"near{i}", text=lines[i]["text"] + " Indeed.") for i in range(1, 60, 9)]
    raw = [json.dumps(r).encode() for r in lines]
    raw += [b'{"id": "bad-json", "text": "unterminated', b'["an", "array"]', b'{"id": "no-text", "body": "x"}',
            b'{"id": "r3", "text": "reuses an id"}', b'{"id": "robot", "text": "who?", "origin": "robot"}']
    path.write_bytes(b"\n".join(raw) + b"\n")


def _run_cases(root: pathlib.Path) -> dict[str, pathlib.Path]:
    if root.exists():
        shutil.rmtree(root)
    outputs = {}
    for unit in ("rows", "bytes"):
        work = root / f"demo-{unit}"
        with contextlib.redirect_stdout(io.StringIO()):
            if demo.main(["--workdir", str(work), "--ratio-unit", unit]):
                raise SystemExit(f"the demo failed with --ratio-unit {unit}")
        outputs[f"demo-{unit}"] = work / "output"
    mixed = root / "mixed"
    mixed.mkdir(parents=True)
    _mixed_corpus(mixed / "corpus.jsonl")
    for unit in ("rows", "bytes"):
        out = mixed / f"output-{unit}"
        with contextlib.redirect_stdout(io.StringIO()):
            curate.run([
                "--input", f"{mixed / 'corpus.jsonl'}:source=mixed", "--origin-field", "origin",
                "--origin-values", "human=real,ai=synthetic", "--strata-fields", "domain",
                "--min-real-fraction", "0.7", "--sample-fraction", "0.6", "--ratio-unit", unit,
                "--shard-rows", "64", "--output", str(out), "--seed", "3",
            ])
        outputs[f"mixed-{unit}"] = out
    return outputs


def digests(outputs: dict[str, pathlib.Path]) -> dict[str, dict[str, str]]:
    table = {}
    for case, out in outputs.items():
        files = sorted(p for p in out.rglob("*") if p.is_file())  # report.html too: its SVG plots are text
        table[case] = {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    return table


def compare(before: dict, after: dict) -> list[str]:
    changed = []
    for case in sorted(set(before) | set(after)):
        old, new = before.get(case, {}), after.get(case, {})
        changed += [f"{case}/{name}" for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.output_digests", description=__doc__.split("\n")[0])
    parser.add_argument("--root", default="/tmp/curation-digests", help="the one directory every case runs under")
    parser.add_argument("--out", help="write the digests here (JSON)")
    parser.add_argument("--check", help="compare with digests written earlier; exit 1 on any change")
    args = parser.parse_args(argv)
    table = digests(_run_cases(pathlib.Path(args.root)))
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    files = sum(len(v) for v in table.values())
    if args.check:
        changed = compare(json.loads(pathlib.Path(args.check).read_text()), table)
        for name in changed:
            print(f"changed: {name}")
        print(f"{files - len(changed)} of {files} files identical to {args.check}")
        return 1 if changed else 0
    print(f"{files} files hashed in {len(table)} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
