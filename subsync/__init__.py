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
__all__ = [
    "LineResult",
    "ModelOptions",
    "RefusedError",
    "SubsyncError",
    "SyncOptions",
    "SyncResult",
    "Synchronizer",
    "__version__",
    "sync",
    "sync_to_reference",
]
_API = frozenset(
    {"sync", "sync_to_reference", "Synchronizer", "ModelOptions", "SyncOptions", "SyncResult", "LineResult"}
)
_ERRORS = frozenset({"SubsyncError", "RefusedError"})

if TYPE_CHECKING:
    from .api import (
        LineResult,
        ModelOptions,
        Synchronizer,
        SyncOptions,
        SyncResult,
        sync,
        sync_to_reference,
    )
    from .errors import RefusedError, SubsyncError


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    if name in _ERRORS:
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'subsync' has no attribute {name!r}")
