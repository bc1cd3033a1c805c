"""The demo's default corpus: stdlib docstrings (real) and n-gram imitations (synthetic).

Pure Python (no Beam): :func:`build_demo_corpus` / :func:`write_demo_corpus`
make it, :class:`NgramModel` writes its synthetic side.
"""

from curation.demo.corpus import DemoCorpus, build_demo_corpus, write_demo_corpus
from curation.demo.ngram import NgramModel

__all__ = ["DemoCorpus", "NgramModel", "build_demo_corpus", "write_demo_corpus"]
