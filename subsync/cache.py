"""The media-analysis cache: what a run learned from a media file that does not depend on
the subtitle, kept under ``$SUBSYNC_HOME/media`` so the next run on the same file (a
second subtitle, a re-download, the watch service) skips decoding it; and, in a folder of
its own with its own bound (``states``), the encoder states of the windows heard.

One entry is one ``.npz`` file of named arrays, written whole to a temp file and renamed
into place (fileio.atomic_write_bytes): two processes writing the same entry at once
both leave a whole file, and a reader sees the old entry, the new one or none, never a
part.  Reading an entry touches its modification time; when the folder grows beyond its
bound, the entries least recently used are removed first.  A damaged or unreadable
entry is a miss (and is removed).  Nothing here knows what the arrays mean.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from .fileio import atomic_write_bytes
from .home import subsync_home

CACHE_ENV_VAR = "SUBSYNC_MEDIA_CACHE"  # the cache's folder, when not $SUBSYNC_HOME/media
MAX_CACHE_BYTES = 512 * 2**20  # the folder's bound: about 300 hours of media's analyses
# (1.5 MB per hour: benchmarks/README.md)
STATES_FOLDER = "encoder"  # the listener's encoder states of the windows it heard, beside the analyses
MAX_STATES_BYTES = 1024 * 2**20  # their bound: about 330 windows of the base model (3.1 MB
# each), the windows of 15-20 films (benchmarks/README.md)
_KEY_RE = re.compile(r"^[0-9A-Za-z_.-]{1,200}$")
SUFFIX = ".npz"


def default_folder() -> Path:
    """``$SUBSYNC_MEDIA_CACHE`` when set, else ``$SUBSYNC_HOME/media``."""
    env = os.environ.get(CACHE_ENV_VAR)
    return Path(env).expanduser() if env else subsync_home() / "media"


class MediaCache:
    """Named arrays by key in ``folder`` (default ``$SUBSYNC_MEDIA_CACHE``, else
    ``$SUBSYNC_HOME/media``), at most ``max_bytes`` in all."""

    def __init__(self, folder: str | os.PathLike | None = None, max_bytes: int = MAX_CACHE_BYTES) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()
        self.max_bytes = max_bytes

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or None (never stored, evicted, damaged)."""
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as entry:
                arrays = {name: entry[name] for name in entry.files}
        except OSError:
            return None  # (none, or the folder cannot be read: a miss)
        except (ValueError, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError):
            # (a damaged zip header can claim another compression method or encryption)
            with contextlib.suppress(OSError):
                path.unlink()  # damaged: a miss, rewritten by the caller's put
            return None
        with contextlib.suppress(OSError):  # (evicted by another process meanwhile: the arrays are read)
            os.utime(path)  # used now: the last to be evicted
        return arrays

    def put(self, key: str, arrays: dict[str, np.ndarray]) -> None:
        """Store ``arrays`` under ``key`` (replacing an entry), then evict down to the bound.
        OSError when the folder cannot be written (the caller decides whether that matters)."""
        data = io.BytesIO()
        np.savez(data, **arrays)  # type: ignore[arg-type]  # (numpy types the keywords as allow_pickle)
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self._path(key), data.getvalue())
        self.evict()

    def evict(self) -> list[Path]:
        """Remove the least recently used entries until the folder is within its bound;
        the entries removed."""
        entries = []
        for path in self.folder.glob(f"*{SUFFIX}"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # (another process evicted it)
            entries.append((stat.st_mtime_ns, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        removed = []
        for _, size, path in sorted(entries):  # least recently used first
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed.append(path)
        return removed

    def states(self) -> MediaCache:
        """The cache, in a folder of this one's, of the windows' encoder states (a second
        subtitle of the same film hears the same windows: whisper.listener.WhisperListener)."""
        return MediaCache(self.folder / STATES_FOLDER, MAX_STATES_BYTES)

    @property
    def size_bytes(self) -> int:
        """The bytes the entries take now."""
        return sum(path.stat().st_size for path in self.folder.glob(f"*{SUFFIX}") if path.exists())

    def _path(self, key: str) -> Path:
        if not _KEY_RE.match(key):
            raise ValueError(f"not a cache key: {key!r}")
        return self.folder / f"{key}{SUFFIX}"
