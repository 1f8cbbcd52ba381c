"""The project's user-facing errors, and how their messages name files."""

from __future__ import annotations

import os

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "'": "\\'", "\\": "\\\\"}


def quoted(name: str | os.PathLike | None) -> str:
    """A file name as a one-line message shows it: as it is when every character of it
    prints, else in single quotes with the others escaped (``'a\\nb.srt'``), so a
    newline or a control character in a name never breaks a line or the terminal."""
    text = os.fsdecode(os.fspath(name)) if name is not None else ""
    if text.isprintable():
        return text
    return "'" + "".join(_ESCAPES.get(c) or (c if c.isprintable() else _escape(c)) for c in text) + "'"


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class SubsyncError(Exception):
    """A user-facing error: its message is one line, shown without a traceback."""
class SubtitleError(SubsyncError): ...
class MediaError(SubsyncError): ...
class ModelError(SubsyncError): ...
class AlignmentError(SubsyncError): ...


class RefusedError(SubsyncError):
    """The self-check refused the result (another episode, no speech, a hopeless match).

    ``result`` is the best guess (None when there is none); ``force`` returns it instead."""

    exit_code = 3

    def __init__(self, message: str, result=None) -> None:
        super().__init__(message)
        self.result = result


class NoSpeechError(RefusedError):
    """The audio holds no speech to sync to."""
