"""The word tokenizer shared by length buckets, topic features and tail metrics.

One definition, so "a word" means the same thing in a stratum key and in the
rare-vocabulary report: a maximal run of Unicode word characters (``\\w+``:
letters, digits, underscore), case-folded. Scripts written without spaces
(Chinese, Japanese, Thai) count one run as one word; that is a known coarseness.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")


def word_tokens(text: str) -> list[str]:
    """The case-folded words of ``text``, in order."""
    return _WORD.findall(text.casefold())
