"""Where subsync keeps its own files: converted models, the media-analysis cache, the
watch service's state.  ``$SUBSYNC_HOME`` when set, else ``$XDG_CACHE_HOME/subsync``,
else ``~/.cache/subsync``."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV_VAR = "SUBSYNC_HOME"


def subsync_home() -> Path:
    """The folder subsync keeps its files in (not created here)."""
    env = os.environ.get(HOME_ENV_VAR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "subsync"
