"""Exit statuses, and the one map from the project's exceptions to a status and a one-line
message: ``subsync fix`` prints it, ``subsync batch`` records it per pair and goes on.

The messages here are the library's own (no command-line option named); the command line
words its advice about options with its own map (``subsync.render.failure``), passed to
:func:`attempt` as ``explain``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from .errors import RefusedError, SubsyncError, quoted

OK = 0  # written (or, with --dry-run, printed)
ERROR = 1  # bad input, an unreadable file, a broken model
USAGE = 2  # a missing argument, an unknown or contradictory option
REFUSED = RefusedError.exit_code  # 3: refused by the self-check, nothing written
INTERRUPTED = 130  # Ctrl-C
INTERRUPTED_MESSAGE = "interrupted; nothing was written"

T = TypeVar("T")


@dataclass(frozen=True)
class Failure:
    """Why a file was not written."""

    status: int  # REFUSED or ERROR
    reason: str  # the error's own line (a batch's per-pair message)
    message: str  # the whole line (the command line prints it after "subsync: error: ")

    @property
    def outcome(self) -> str:
        """ "refused" or "failed", as batch outcomes and --json records name it."""
        return "refused" if self.status == REFUSED else "failed"


def failure(exc: SubsyncError | OSError) -> Failure:
    """The status and one-line message of one of the project's errors."""
    if isinstance(exc, RefusedError):
        return Failure(REFUSED, str(exc), f"refused: {exc}; nothing written")
    if isinstance(exc, SubsyncError):
        return Failure(ERROR, str(exc), str(exc))
    name = quoted(exc.filename) if exc.filename else ""
    reason = f"{name}: {exc.strerror or exc}".lstrip(": ")
    return Failure(ERROR, reason, reason)


Explain = Callable[[SubsyncError | OSError], Failure]


def attempt(work: Callable[[], T], explain: Explain = failure) -> tuple[T, None] | tuple[None, Failure]:
    """``(work(), None)``, or ``(None, explain(error))`` when it raises one of the project's
    errors (any other exception is a bug and goes through).  Ctrl-C goes through too: it
    stops the caller, who says what was left undone (``INTERRUPTED``)."""
    try:
        return work(), None
    except (SubsyncError, OSError) as exc:
        return None, explain(exc)


def overall(statuses: Iterable[int]) -> int:
    """Several files' statuses as one: an error wins, then a refusal, else OK."""
    statuses = set(statuses)
    return ERROR if ERROR in statuses else max(statuses, default=OK)
