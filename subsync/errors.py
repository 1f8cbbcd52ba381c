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
    """A user-facing error: its message is one line, shown without a traceback.

    The library's errors say what failed, with the values, in plain words; they name no
    command-line option.  The subclasses below carry those values as attributes, so that
    a caller (the command line among them: ``subsync.render.reason``) can word its own
    advice."""

    def __reduce__(self):
        # (state kept: subclasses take other arguments than their one-line message)
        return _rebuilt, (type(self), self.args, self.__dict__)


def _rebuilt(cls: type[SubsyncError], args: tuple, state: dict) -> SubsyncError:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class SubtitleError(SubsyncError): ...


class MediaError(SubsyncError): ...


class ModelError(SubsyncError): ...


class AlignmentError(SubsyncError): ...


class EnglishOnlyModelError(ModelError):
    """An English-only model was asked to hear another language."""

    def __init__(self, model: str, language: str) -> None:
        super().__init__(
            f"model {model} is English-only; language {language!r} needs a multilingual model such as base"
        )
        self.model, self.language = model, language


class UnknownLanguageError(ModelError):
    """The model has no token for the language asked for."""

    def __init__(self, model: str, language: str | None) -> None:
        super().__init__(f"model {model} does not know language {language!r}")
        self.model, self.language = model, language


class ModelIsAFileError(ModelError):
    """The model given is a file: a model is a directory, a hub id or a bundled name."""

    def __init__(self, model: str, bundled: tuple[str, ...]) -> None:
        super().__init__(f"model {model} is a file; give a model directory, a hub id or one of: {', '.join(bundled)}")
        self.model, self.bundled = model, bundled


class NoCudaError(ModelError):
    """A CUDA device was asked for, and torch sees none."""

    def __init__(self, device: str) -> None:
        super().__init__(f"device {device!r} was asked for, but torch sees no CUDA GPU")
        self.device = device


class Int8NeedsCpuError(ModelError):
    """int8 linear layers were asked for on a device other than the CPU."""

    def __init__(self, device: str) -> None:
        super().__init__(f"int8 runs on the CPU only, not on {device}")
        self.device = device


class MissingExtraError(SubsyncError):
    """A feature needs an optional dependency that is not installed.

    ``feature``: the feature in words; ``extra``: the distribution's extra that installs
    it (``plot``, ``ray``); ``module``: what is missing."""

    DISTRIBUTION = "subsync-whisper"

    def __init__(self, feature: str, extra: str, module: str) -> None:
        super().__init__(f"{feature} needs {module}: {self.install_hint(extra)}")
        self.feature, self.extra, self.module = feature, extra, module

    @classmethod
    def install_hint(cls, extra: str) -> str:
        return f"pip install '{cls.DISTRIBUTION}[{extra}]'"

    @property
    def install(self) -> str:
        """The command that installs the extra."""
        return self.install_hint(self.extra)


class OffsetBeyondSearchError(AlignmentError):
    """The map was found at the edge of the offset search and no line was heard there:
    the true offset most likely lies beyond ``max_offset_s``."""

    def __init__(self, subs: str, media: str, max_offset_s: float) -> None:
        super().__init__(
            f"{subs}: no line is heard in {media} within the searched offsets "
            f"(+-{max_offset_s:g} s); the subtitles may be further off than that"
        )
        self.subs, self.media, self.max_offset_s = subs, media, max_offset_s


class RefusedError(SubsyncError):
    """The self-check refused the result (another episode, no speech, a hopeless match).

    ``result`` is the best guess (None when there is none); ``force`` returns it instead.
    ``detected_language``: the language the speech was taken for when it was detected, not
    given (the result's; None when given or when no listener heard it): text spoken in
    another language is not heard, so giving the right one may lift the refusal."""

    exit_code = 3

    def __init__(self, message: str, result=None) -> None:
        super().__init__(message)
        self.result = result

    @property
    def detected_language(self) -> str | None:
        return getattr(self.result, "detected_language", None)


class NoSpeechError(RefusedError):
    """The audio holds no speech to sync to.

    ``speaking_track``: another audio track of the media that has speech (its index among
    the audio streams, as ``SyncOptions.audio_track`` takes it), and its language tag
    ``speaking_language``; None when there is none (or it was not looked for)."""

    def __init__(
        self, message: str, result=None, *, speaking_track: int | None = None, speaking_language: str | None = None
    ) -> None:
        super().__init__(message, result)
        self.speaking_track, self.speaking_language = speaking_track, speaking_language
