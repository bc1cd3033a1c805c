"""Argument checks shared by the composite transforms."""

from __future__ import annotations


def expect_options(transform: object, options: object, expected: type) -> None:
    """Fails when a transform is built, not on a worker, if given the wrong options object."""
    if not isinstance(options, expected):
        raise TypeError(
            f"{type(transform).__name__} takes a {expected.__name__}, got {type(options).__name__}"
        )
