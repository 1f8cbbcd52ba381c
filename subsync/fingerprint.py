"""A file's identity by its content, cheaply: its size and a hash of sampled blocks.

Hashing a 20 GB film whole would take longer than syncing it, so the digest reads
``SAMPLED_BLOCKS`` blocks of ``BLOCK_BYTES`` spread evenly over the file (the first and
the last included) and the size: a copy of a file has its digest, and a file that was
re-encoded, re-muxed, cut, re-tagged or re-downloaded almost surely has another (any
change of length does; an edit of equal length that spares every sampled block is the
blind spot).  The modification time is kept beside it, to tell when a file must be
hashed again; it is not part of the digest, so ``cp`` without ``-p`` still hits.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

BLOCK_BYTES = 64 * 1024  # one sampled block
SAMPLED_BLOCKS = 32  # blocks read per file: 2 MiB, a few ms from a warm disk
DIGEST_BYTES = 16  # blake2b digest size (128 bits)


@dataclass(frozen=True)
class Fingerprint:
    """What a file was when it was looked at."""

    size: int  # bytes
    mtime_ns: int  # modification time (st_mtime_ns)
    digest: str  # hex: the size and the sampled blocks (not the time)

    def same_stat(self, path: str | os.PathLike) -> bool:
        """``path`` has this size and modification time (then its content is taken as unchanged)."""
        stat = os.stat(path)
        return stat.st_size == self.size and stat.st_mtime_ns == self.mtime_ns


def fingerprint(path: str | os.PathLike) -> Fingerprint:
    """``path``'s size, modification time and sampled-content digest; OSError when it cannot be read."""
    path = Path(path)
    with path.open("rb") as file:
        stat = os.fstat(file.fileno())
        digest = hashlib.blake2b(str(stat.st_size).encode(), digest_size=DIGEST_BYTES)
        for offset in _sample_offsets(stat.st_size):
            file.seek(offset)
            digest.update(file.read(BLOCK_BYTES))
    return Fingerprint(stat.st_size, stat.st_mtime_ns, digest.hexdigest())


def digest_of(data: bytes) -> str:
    """The digest :func:`fingerprint` gives a file holding ``data``: what a file about to be
    written will be known by."""
    digest = hashlib.blake2b(str(len(data)).encode(), digest_size=DIGEST_BYTES)
    for offset in _sample_offsets(len(data)):
        digest.update(data[offset : offset + BLOCK_BYTES])
    return digest.hexdigest()


def _sample_offsets(size: int) -> list[int]:
    """Where the sampled blocks start: every block of a small file, else SAMPLED_BLOCKS
    evenly spaced from the first byte to the last block."""
    if size <= SAMPLED_BLOCKS * BLOCK_BYTES:
        return list(range(0, size, BLOCK_BYTES))
    last = size - BLOCK_BYTES
    return [round(last * k / (SAMPLED_BLOCKS - 1)) for k in range(SAMPLED_BLOCKS)]
