"""subsync: re-time subtitle files to the speech in a video, line by line.

    >>> import subsync
    >>> result = subsync.sync("episode.mkv", "episode.srt")      # doctest: +SKIP
    >>> result.time_map, result.counts()                          # doctest: +SKIP
    >>> result.save("episode.synced.srt")                         # doctest: +SKIP
    >>> synchronizer = subsync.Synchronizer(language="en")        # one model for many files

Heavy modules (torch, transformers) load only when a sync runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["sync", "sync_to_reference", "Synchronizer", "SyncOptions", "SyncResult", "LineResult", "SubsyncError",
           "RefusedError", "__version__"]

if TYPE_CHECKING:
    from .errors import RefusedError, SubsyncError
    from .pipeline import LineResult, SyncOptions, SyncResult, Synchronizer, sync, sync_to_reference


def __getattr__(name: str):
    if name in ("sync", "sync_to_reference", "Synchronizer", "SyncOptions", "SyncResult", "LineResult"):
        from . import pipeline as _sync

        return getattr(_sync, name)
    if name in ("SubsyncError", "RefusedError"):
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'subsync' has no attribute {name!r}")
