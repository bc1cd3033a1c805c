"""The demo corpus: Python standard library docstrings plus n-gram imitations.

Generated offline on any machine, nothing vendored. The real side is the
docstrings of the stdlib ``.py`` files of the running Python, read with
:mod:`ast` only (importing stdlib modules has side effects: ``antigravity``
opens a browser). Its ``module`` is the top-level module family ("email",
"asyncio", ...), which gives naturally heavy-tailed strata. The synthetic side
is written by an :class:`~curation.demo.ngram.NgramModel` fitted on the real side.

On top, known items are planted for the pipeline to find: exact and
near-duplicates, a near-duplicate chain A~B~C, and one bad line per way an
input line can be rejected. :attr:`DemoCorpus.manifest` lists them.

Same seed and same Python installation give the same bytes.

JSONL fields of a good line, in this order: ``id``, ``text``, ``module``,
``origin`` ("human" or "ai"; the key is absent on a seeded half of each side),
``license`` and ``generator`` ("human" or "ngram-3"). A reader maps origin with
``human=real,ai=synthetic``.
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
import random
import re
import sysconfig
from dataclasses import dataclass
from typing import Any

from curation.demo.ngram import NgramModel, count_words
from curation.schema import RejectReason

MIN_WORDS = 30
MAX_DOCS_PER_SOURCE = 250
SYNTHETIC_FRACTION = 0.4
# Just over the reader's default limit of 1 MiB (ReadOptions.max_text_bytes).
OVERSIZED_TEXT_BYTES = int(1.1 * 2**20)
REAL_LICENSE = "PSF-2.0"
# Synthetic text is derived from PSF-licensed docstrings, so it keeps their license.
SYNTHETIC_LICENSE = "PSF-2.0"
BAD_SOURCE = "planted-bad"
NGRAM_ORDER = 3
BOILERPLATE_LINE = (
    "This text is part of the curation demo corpus; "
    "see the project README for where it comes from."
)

# Directories that are not library documentation or are not parseable as
# Python 3 (lib2to3 test data), or are generated (pydoc_data, encodings).
_SKIPPED_DIRS = frozenset(
    {"test", "tests", "idlelib", "turtledemo", "pydoc_data", "encodings", "__pycache__"}
)
_DOCUMENTED_NODES = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
_WORD_WITH_SPACE = re.compile(r"(\S+)(\s*)")
_SHINGLE_WORDS = 5


@dataclass(frozen=True)
class DemoCorpus:
    """The corpus as written: ``lines`` are the file's lines (bytes, no newline),
    some deliberately not JSON or not UTF-8; ``records`` are the good lines
    parsed, in file order; ``manifest`` says what was planted (see
    :func:`build_demo_corpus`)."""

    lines: list[bytes]
    records: list[dict[str, Any]]
    manifest: dict[str, Any]


# ----------------------------------------------------------------- real side


def stdlib_python_files(stdlib_dir: str | os.PathLike | None = None) -> list[pathlib.Path]:
    """The stdlib's documentation-bearing ``.py`` files, sorted.

    Only directories named like importable packages are walked, which leaves
    out site-packages, lib-dynload and config-*; tests, IDLE and generated
    data are skipped too.
    """
    root = pathlib.Path(stdlib_dir or sysconfig.get_paths()["stdlib"])
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d.isidentifier() and d not in _SKIPPED_DIRS)
        files += [pathlib.Path(dirpath, f) for f in filenames if f.endswith(".py")]
    return sorted(files)


def source_family(path: pathlib.Path, stdlib_dir: pathlib.Path) -> str:
    """The top-level package or module a file belongs to: ``email/mime/text.py`` ->
    ``email``, ``_pydecimal.py`` -> ``pydecimal``."""
    top = path.relative_to(stdlib_dir).parts[0]
    return top.removesuffix(".py").strip("_")


def file_docstrings(path: pathlib.Path) -> list[str]:
    """The module, class and function docstrings of one file, in source order,
    cleaned (dedented, trimmed). The file is parsed, never imported."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError):  # a file of another Python version
        return []
    nodes = [n for n in ast.walk(tree) if isinstance(n, _DOCUMENTED_NODES)]
    nodes.sort(key=lambda n: getattr(n, "lineno", 0))
    docstrings = (ast.get_docstring(n, clean=True) for n in nodes)
    return [d for d in docstrings if d]


def _merge_short(docstrings: list[str], min_words: int) -> list[str]:
    """Long docstrings stay whole; runs of short ones (3+ words) are joined by
    blank lines until the run reaches ``min_words``; a too-short tail is dropped."""
    documents, run, run_words = [], [], 0
    for docstring in docstrings:
        words = count_words(docstring)
        if words >= min_words:
            documents.append(docstring)
        elif words >= 3:
            run.append(docstring)
            run_words += words
            if run_words >= min_words:
                documents.append("\n\n".join(run))
                run, run_words = [], 0
    return documents


def normalized(text: str) -> str:
    """Lower case, whitespace collapsed: what makes two texts the same document."""
    return " ".join(text.lower().split())


def real_documents(
    stdlib_dir: str | os.PathLike | None = None,
    min_words: int = MIN_WORDS,
    max_docs_per_source: int = MAX_DOCS_PER_SOURCE,
) -> list[dict[str, str]]:
    """``{"id", "text", "module"}`` per stdlib docstring document, in file order.

    Texts that normalise alike are kept once (the stdlib repeats docstrings,
    e.g. ``_pyio`` and ``io``), so that the only exact duplicates in the corpus
    are the planted ones. The first ``max_docs_per_source`` of a source are kept:
    the largest sources are capped, the skew stays.
    """
    root = pathlib.Path(stdlib_dir or sysconfig.get_paths()["stdlib"])
    seen_texts: set[str] = set()
    per_source: dict[str, int] = {}
    documents = []
    for path in stdlib_python_files(root):
        source = source_family(path, root)
        for text in _merge_short(file_docstrings(path), min_words):
            key = normalized(text)
            n = per_source.get(source, 0)
            if key in seen_texts or n >= max_docs_per_source:
                continue
            seen_texts.add(key)
            per_source[source] = n + 1
            documents.append({"id": f"real-{source}-{n}", "text": text, "module": source})
    return documents


# ------------------------------------------------------------ synthetic side


def synthetic_documents(
    real: list[dict[str, str]], count: int, rng: random.Random, order: int = NGRAM_ORDER
) -> list[dict[str, str]]:
    """``count`` texts from an n-gram model fitted on all of ``real``.

    Each imitates a real document drawn at random: its source and its word
    count (so lengths and source sizes follow the real side; the words come
    from the whole corpus). A sample that normalises like a real text is
    redrawn, so no synthetic text duplicates a real one by accident.
    """
    model = NgramModel(order).fit(d["text"] for d in real)
    taken = {normalized(d["text"]) for d in real}
    documents = []
    while len(documents) < count:
        template = real[rng.randrange(len(real))]
        text = model.sample(count_words(template["text"]), rng)
        if normalized(text) in taken:
            continue
        taken.add(normalized(text))
        documents.append({"id": f"syn-{len(documents)}", "text": text, "module": template["module"]})
    return documents


# ----------------------------------------------------------------- planting


def shingle_jaccard(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' sets of lower-cased word 5-grams."""

    def shingles(text: str) -> set[tuple[str, ...]]:
        words = text.lower().split()
        return {tuple(words[i : i + _SHINGLE_WORDS]) for i in range(len(words) - _SHINGLE_WORDS + 1)}

    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


def _edit_until(text: str, edit: str, rng: random.Random, max_jaccard: float) -> str:
    """Applies one-word edits (``delete``, ``insert`` or ``substitute``) at random
    places, keeping the text's other whitespace, until the shingle Jaccard to
    ``text`` drops to ``max_jaccard``."""
    pieces = [list(m) for m in _WORD_WITH_SPACE.findall(text)]
    vocabulary = sorted({word for word, _ in pieces})
    edited = text
    while shingle_jaccard(text, edited) > max_jaccard:
        i = rng.randrange(1, len(pieces) - 1)
        if edit == "delete":
            del pieces[i]
        elif edit == "insert":
            pieces.insert(i, [rng.choice(vocabulary), " "])
        else:
            pieces[i][0] = rng.choice(vocabulary)
        edited = "".join(word + space for word, space in pieces)
    return edited


def _bad_lines(duplicate_of_id: str, oversized_text_bytes: int) -> list[tuple[str, str, str | None, bytes]]:
    """(kind, RejectReason value, id or None, raw line) for each way a line is bad."""

    def line(record_id: str, **fields: Any) -> bytes:
        record = {"id": record_id, **fields, "module": BAD_SOURCE}
        # ASCII escapes keep a lone surrogate writable; the reader decodes it back.
        return json.dumps(record, ensure_ascii=True).encode("ascii")

    filler = "This sentence repeats to make one record too large to keep. "
    oversized = (filler * (oversized_text_bytes // len(filler) + 1))[:oversized_text_bytes]
    text = "A well-formed text that a record with a bad field carries along."
    return [
        ("invalid_json", RejectReason.INVALID_JSON.value, None, b'{"id": "bad-invalid-json", "text": "unterminated'),
        ("invalid_utf8", RejectReason.INVALID_UTF8.value, None,
         b'{"id": "bad-invalid-utf8", "text": "caf\xe9 in Latin-1, not UTF-8", "module": "planted-bad"}'),
        ("not_an_object", RejectReason.NOT_AN_OBJECT.value, None, b'["bad-not-an-object", "a JSON array"]'),
        # Valid JSON that Python will not parse: an integer of more digits than int() accepts.
        ("invalid_value", RejectReason.INVALID_VALUE.value, None,
         b'{"id": "bad-invalid-value", "text": "' + text.encode("ascii") + b'", "count": ' + b"9" * 5000 + b"}"),
        ("missing_text", RejectReason.MISSING_TEXT.value, "bad-missing-text", line("bad-missing-text", body=text)),
        ("empty_text", RejectReason.EMPTY_TEXT.value, "bad-empty-text", line("bad-empty-text", text="")),
        ("whitespace_text", RejectReason.EMPTY_TEXT.value, "bad-whitespace-text",
         line("bad-whitespace-text", text=" \n\t  ")),
        ("non_string_text", RejectReason.NON_STRING_TEXT.value, "bad-non-string-text",
         line("bad-non-string-text", text=42)),
        ("nul_byte", RejectReason.NUL_BYTE.value, "bad-nul-byte", line("bad-nul-byte", text="before\x00after")),
        ("lone_surrogate", RejectReason.INVALID_UNICODE.value, "bad-lone-surrogate",
         line("bad-lone-surrogate", text="half a pair: \ud800")),
        ("duplicate_id", RejectReason.DUPLICATE_ID.value, duplicate_of_id, line(duplicate_of_id, text=text)),
        ("too_large", RejectReason.TOO_LARGE.value, "bad-too-large", line("bad-too-large", text=oversized)),
        ("unknown_origin", RejectReason.UNKNOWN_ORIGIN_VALUE.value, "bad-unknown-origin",
         line("bad-unknown-origin", text=text, origin="robot")),
    ]


def _with_metadata(document: dict[str, str], human: bool, rng: random.Random) -> dict[str, Any]:
    record = dict(document)
    if rng.random() < 0.5:  # declared on about half of each side, withheld on the rest
        record["origin"] = "human" if human else "ai"
    record["license"] = REAL_LICENSE if human else SYNTHETIC_LICENSE
    record["generator"] = "human" if human else f"ngram-{NGRAM_ORDER}"
    return record


def build_demo_corpus(
    seed: int = 0,
    *,
    synthetic_fraction: float = SYNTHETIC_FRACTION,
    max_docs_per_source: int = MAX_DOCS_PER_SOURCE,
    oversized_text_bytes: int = OVERSIZED_TEXT_BYTES,
    stdlib_dir: str | os.PathLike | None = None,
) -> DemoCorpus:
    """Builds the demo corpus; see the module docstring for the line format.

    The manifest (JSON-serialisable)::

        {"seed": 0, "lines": <file lines>, "good_records": <parseable good lines>,
         "sides": {"real": {"records": n, "origin_declared": n}, "synthetic": {...}},
         "real_docs_per_source": {"email": n, ...},
         "exact_duplicates": [{"id", "duplicate_of", "normalization_needed": bool}],
         "near_duplicates": [{"id", "duplicate_of", "edit", "jaccard"}],
         "chain": [{"id", "duplicate_of", "jaccard"} for B~A and C~B],
         "chain_ends_jaccard": J(A, C),
         "bad_records": [{"kind", "reason" (a RejectReason value), "id", "line"}],
         "oversized_text_bytes": n}

    Planted copies count in ``sides`` with the side of their original. ``line``
    is the 0-based line number in the file.
    """
    if not 0 <= synthetic_fraction <= 10:
        raise ValueError(f"synthetic_fraction must be in [0, 10], got {synthetic_fraction}")
    # One stream per purpose, so changing one part leaves the others' draws alone.
    streams = {p: random.Random(f"{seed}:{p}") for p in ("synthetic", "origin", "plant", "order")}
    real = real_documents(stdlib_dir, max_docs_per_source=max_docs_per_source)
    synthetic = synthetic_documents(real, round(synthetic_fraction * len(real)), streams["synthetic"])
    records = [_with_metadata(d, True, streams["origin"]) for d in real]
    records += [_with_metadata(d, False, streams["origin"]) for d in synthetic]
    by_id = {r["id"]: r for r in records}

    plant_rng = streams["plant"]
    # Originals with 150-400 words: long enough that one edit moves Jaccard by
    # a few points, short enough that a boilerplate line moves it enough.
    candidates = [d["id"] for d in real if 150 <= count_words(d["text"]) <= 400]
    originals = iter(plant_rng.sample(candidates, 7))

    def copy_of(original_id: str, new_id: str, text: str) -> dict[str, Any]:
        return {**by_id[original_id], "id": new_id, "text": text}

    planted, exact, near, chain = [], [], [], []
    for new_id, original_id, needs_normalization in [
        ("dup-exact-0", next(originals), False),
        ("dup-exact-1", next(originals), False),
        ("dup-exact-2", synthetic[plant_rng.randrange(len(synthetic))]["id"], False),
        ("dup-normalized-0", next(originals), True),
    ]:
        text = by_id[original_id]["text"]
        if needs_normalization:
            text = "  ".join(text.upper().split())
        planted.append(copy_of(original_id, new_id, text))
        exact.append({"id": new_id, "duplicate_of": original_id, "normalization_needed": needs_normalization})

    for n, edit in enumerate(["delete", "substitute", "boilerplate"]):
        original_id = next(originals)
        original = by_id[original_id]["text"]
        if edit == "boilerplate":
            text = f"{original}\n\n{BOILERPLATE_LINE}"
        else:
            text = _edit_until(original, edit, plant_rng, max_jaccard=0.92)
        new_id = f"near-{n}"
        planted.append(copy_of(original_id, new_id, text))
        near.append({"id": new_id, "duplicate_of": original_id, "edit": edit,
                     "jaccard": round(shingle_jaccard(original, text), 4)})

    chain_a = next(originals)
    text_a = by_id[chain_a]["text"]
    text_b = _edit_until(text_a, "insert", plant_rng, max_jaccard=0.9)
    text_c = _edit_until(text_b, "substitute", plant_rng, max_jaccard=0.9)
    planted += [copy_of(chain_a, "chain-b", text_b), copy_of(chain_a, "chain-c", text_c)]
    chain = [
        {"id": "chain-b", "duplicate_of": chain_a, "jaccard": round(shingle_jaccard(text_a, text_b), 4)},
        {"id": "chain-c", "duplicate_of": "chain-b", "jaccard": round(shingle_jaccard(text_b, text_c), 4)},
    ]

    records += planted
    streams["order"].shuffle(records)
    lines = [json.dumps(r, ensure_ascii=False).encode("utf-8") for r in records]
    # Bad lines go in at random places after the first line, whose id the
    # duplicate-id line reuses (the later use of an id is the rejected one).
    bad = _bad_lines(records[0]["id"], oversized_text_bytes)
    positions = sorted(streams["order"].sample(range(1, len(lines) + 1), len(bad)))
    bad_records = []
    for already_inserted, (position, (kind, reason, record_id, raw)) in enumerate(zip(positions, bad)):
        line_number = position + already_inserted
        lines.insert(line_number, raw)
        bad_records.append({"kind": kind, "reason": reason, "id": record_id, "line": line_number})

    def side_stats(human: bool) -> dict[str, int]:
        side = [r for r in records if (r["generator"] == "human") == human]
        return {"records": len(side), "origin_declared": sum("origin" in r for r in side)}

    per_source: dict[str, int] = {}
    for d in real:
        per_source[d["module"]] = per_source.get(d["module"], 0) + 1
    manifest = {
        "seed": seed,
        "lines": len(lines),
        "good_records": len(records),
        "sides": {"real": side_stats(True), "synthetic": side_stats(False)},
        "real_docs_per_source": dict(sorted(per_source.items(), key=lambda kv: (-kv[1], kv[0]))),
        "exact_duplicates": exact,
        "near_duplicates": near,
        "chain": chain,
        "chain_ends_jaccard": round(shingle_jaccard(text_a, text_c), 4),
        "bad_records": bad_records,
        "oversized_text_bytes": oversized_text_bytes,
    }
    return DemoCorpus(lines=lines, records=records, manifest=manifest)


def write_demo_corpus(
    path: str | os.PathLike,
    seed: int = 0,
    manifest_path: str | os.PathLike | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Writes the corpus as JSONL to ``path`` (and the manifest as JSON to
    ``manifest_path`` if given); returns the manifest. ``options`` go to
    :func:`build_demo_corpus`."""
    corpus = build_demo_corpus(seed, **options)
    pathlib.Path(path).write_bytes(b"".join(line + b"\n" for line in corpus.lines))
    if manifest_path is not None:
        pathlib.Path(manifest_path).write_text(json.dumps(corpus.manifest, indent=2, sort_keys=True) + "\n")
    return corpus.manifest


def label_from_generator(records: list[dict[str, Any]], sample_ids: list[str]) -> list[dict[str, str]]:
    """Labels an audit sample from who really wrote each document (its ``generator``).

    The demo's labeller is the corpus generator itself, which knows every author;
    on real data a person reads each sampled text and labels it.
    """
    author = authors(records)
    return [{"id": record_id, "label": author[record_id]} for record_id in sample_ids]


def authors(records: list[dict[str, Any]]) -> dict[str, str]:
    """``{id: "real" | "synthetic"}``: who wrote each good record, declared or not."""
    return {r["id"]: "real" if r["generator"] == "human" else "synthetic" for r in records}
