"""Seeded, process-independent hashes.

Python's ``hash()`` is salted per process, so anything that must give the same
answer on every worker and every run (selection ranks, shard assignment, shuffles,
survivor tie-breaks) goes through these instead.
"""

from __future__ import annotations

import hashlib


def content_hash(text: str) -> str:
    """sha256 hex digest of the text's UTF-8 bytes: the record's ``content_hash``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_hex(data: bytes) -> str:
    """sha256 hex digest of bytes: a shard's checksum in the manifest."""
    return hashlib.sha256(data).hexdigest()


def seeded_hash64(value: str, seed: int | str, purpose: str = "") -> int:
    """A 64-bit hash of ``value`` keyed by ``seed`` and ``purpose``, as a signed int.

    Signed, because Beam's default integer coder carries only signed 64-bit values.

    ``purpose`` separates independent uses of one seed (for example ranking for
    selection vs shuffling within a shard), so they are not correlated.
    """
    key = f"{seed}\x1f{purpose}".encode("utf-8")
    digest = hashlib.blake2b(
        value.encode("utf-8", "surrogatepass"), digest_size=8, key=key[:64]
    ).digest()
    return int.from_bytes(digest, "big", signed=True)
