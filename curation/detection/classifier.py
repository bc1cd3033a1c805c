"""The fastText classifier: its labels, its training lines and deterministic training."""

from __future__ import annotations

import collections
import os
import tempfile
from typing import Sequence

import fasttext
import numpy as np

from curation.detection import preprocess
from curation.detection.labelled import LabelledDoc
from curation.detection.options import TrainConfig
from curation.hashing import seeded_hash64
from curation.schema import Origin

LABEL_PREFIX = "__label__"
SYNTHETIC_LABEL = LABEL_PREFIX + Origin.SYNTHETIC.value
REAL_LABEL = LABEL_PREFIX + Origin.REAL.value
# fastText 0.9.3 randomly initialises only thread/10 of its input matrix when
# thread < 10 (training then hits "Encountered NaN" at random), and with
# thread >= 10 its lock-free (Hogwild) SGD differs run to run. So training runs
# on one thread, word n-grams are explicit tokens (preprocess.features) instead of
# hashed buckets, and every row of the input matrix is a word whose vector is
# initialised here, seeded, through fastText's pretrainedVectors. (Hashed buckets
# on one thread were measured to hit "Encountered NaN" within one process.)
_TRAIN_THREADS = 1


def training_lines(docs: Sequence[LabelledDoc], config: TrainConfig, seed: int) -> list[str]:
    """fastText lines, one per window, with the minority class oversampled to balance.

    Every minority window is repeated the whole number of times the classes differ
    by; a seeded hash picks which get one copy more. Lines are then ordered by a
    seeded hash so SGD sees the classes interleaved.
    """
    by_label: dict[str, list[tuple[str, str]]] = {Origin.REAL.value: [], Origin.SYNTHETIC.value: []}
    for doc, words in zip(docs, preprocess.token_lists([doc.text for doc in docs])):
        for index, window in enumerate(preprocess.windows(words, config.window_tokens, config.word_ngrams)):
            by_label[doc.label].append((f"{doc.id}#{index}", f"{LABEL_PREFIX}{doc.label} {window}"))
    if not all(by_label.values()):
        raise ValueError("training needs both real and synthetic documents")
    minority, majority = sorted(by_label.values(), key=len)
    copies, remainder = divmod(len(majority), len(minority))
    ranked = sorted(minority, key=lambda item: seeded_hash64(item[0], seed, "detector-oversample"))
    extra = {key for key, _ in ranked[:remainder]}
    keyed = list(majority)
    for key, line in minority:
        keyed.extend((f"{key}~{copy}", line) for copy in range(copies + (key in extra)))
    keyed.sort(key=lambda item: (seeded_hash64(item[0], seed, "detector-train-order"), item[0]))
    return [line for _, line in keyed]


def write_seeded_word_vectors(lines: Sequence[str], dim: int, min_count: int, seed: int, path: str) -> None:
    """A .vec file giving every word fastText will keep (and its end-of-line token) a seeded random vector.

    Uniform in +-1/dim, fastText's own initialisation range; words in sorted order
    so the same lines and seed give the same file.
    """
    counts = collections.Counter(word for line in lines for word in line.split()[1:])
    vocabulary = sorted({word for word, count in counts.items() if count >= min_count} | {"</s>"})
    vectors = np.random.default_rng(seed).uniform(-1.0 / dim, 1.0 / dim, size=(len(vocabulary), dim))
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"{len(vocabulary)} {dim}\n")
        for word, row in zip(vocabulary, np.char.mod("%.6f", vectors)):
            out.write(f"{word} {' '.join(row)}\n")


def train_model(docs: Sequence[LabelledDoc], config: TrainConfig, seed: int) -> fasttext.FastText._FastText:
    """A fastText model trained on the docs' windows, classes balanced by oversampling.

    Deterministic: the same docs, config and seed give the same model.
    """
    lines = training_lines(docs, config, seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "train.txt")
        with open(path, "w", encoding="utf-8") as out:
            out.writelines(line + "\n" for line in lines)
        vectors_path = os.path.join(tmp, "init.vec")
        write_seeded_word_vectors(lines, config.dim, config.min_count, seed, vectors_path)
        return fasttext.train_supervised(
            input=path,
            pretrainedVectors=vectors_path,
            lr=config.lr,
            dim=config.dim,
            epoch=config.epoch,
            wordNgrams=1,
            minn=0,
            maxn=0,
            minCount=config.min_count,
            bucket=0,
            thread=_TRAIN_THREADS,
            loss="softmax",
            seed=seed,
            verbose=0,
        )
