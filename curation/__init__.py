"""curation: Beam transforms that assemble LLM training corpora against model collapse."""

__version__ = "0.1.0"
