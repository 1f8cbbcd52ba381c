"""``--plot``: what a sync did, in one picture (matplotlib, an optional dependency)."""

from __future__ import annotations

import io
import os

import numpy as np

from .core.inference import Action
from .errors import MissingExtraError


def check_available() -> None:
    """Raise MissingExtraError (with the install hint) unless matplotlib can be imported:
    called before any work, so that --plot never fails after a long sync."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise _missing()


def _missing() -> MissingExtraError:
    return MissingExtraError("drawing a plot", "plot", "matplotlib")


def plot(result, path: str | os.PathLike) -> None:
    """:func:`plot_bytes` written atomically to ``path``, in the format its suffix names."""
    from .fileio import atomic_write_bytes

    atomic_write_bytes(path, plot_bytes(result, os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"))


def plot_bytes(result, image_format: str = "png") -> bytes:
    """Each line's correction (new start minus old start) against media time, coloured by
    confidence; the time map's correction as a line, cuts as vertical lines, lines moved
    only by the map in grey: the picture's bytes as PNG (or any format matplotlib knows)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise _missing() from None

    old = np.array([cue.start_s for cue in result.document.cues])
    new = np.array([line.start_s for line in result.lines])
    confidence = np.array([line.confidence for line in result.lines])
    heard = np.array([line.action in (Action.KEPT, Action.RETIMED) for line in result.lines])
    span = np.linspace(old.min(), old.max(), 2000) if old.size else np.zeros(0)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(result.time_map(span), result.time_map(span) - span, color="black", lw=1, label="time map")
    for cut in result.time_map.cuts:
        ax.axvline(result.time_map(cut.at_s), color="tab:red", lw=0.8, ls="--")
    if (~heard).any():
        ax.scatter(new[~heard], (new - old)[~heard], s=8, color="0.6", label="moved by the map")
    if heard.any():
        points = ax.scatter(
            new[heard],
            (new - old)[heard],
            s=10,
            c=confidence[heard],
            cmap="viridis",
            vmin=0,
            vmax=1,
            label="heard (kept or re-timed)",
        )
        fig.colorbar(points, ax=ax, label="confidence")
    cuts = f", {len(result.time_map.cuts)} cut(s) (dashed)" if result.time_map.cuts else ""
    ax.set(
        xlabel="media time (s)",
        ylabel="correction (s)",
        title=f"offset {result.time_map.offset_s:+.3f} s, scale {result.time_map.scale:.5f}{cuts}",
    )
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=image_format, dpi=100)
    plt.close(fig)
    return buffer.getvalue()
