"""The library's face: sync a subtitle file to media (or to a reference subtitle).

This layer reads files (media through ffmpeg, subtitles through the subtitles package),
loads the model (in a worker thread, while ffmpeg decodes), hands plain data to the pure
engine (``subsync.core.engine``) and wraps what comes back as a :class:`SyncResult`.

Options by lifetime: what fixes the model (:class:`ModelOptions`: model, device, threads,
int8) is given once to a :class:`Synchronizer`; what varies per file
(:class:`SyncOptions`: language, offsets, cuts, fast, force...) per call.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, fields, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .cache import MediaCache
from .core import engine
from .core.decisions import LineResult
from .core.hearing import Lines, Progress
from .core.inference import Action
from .core.listener import Listener
from .core.options import SyncOptions
from .core.timemap import TimeMap
from .core.triage import Listened
from .errors import NoSpeechError, RefusedError, quoted
from .subtitles import (
    Cue,
    SubtitleDocument,
    alignment_text,
    read_subtitles,
    render_subtitles,
    write_subtitles,
)

if TYPE_CHECKING:
    from .media import AudioTrack, SubtitleStream, TrackReason
    from .whisper.model import WhisperModel

__all__ = ["LineResult", "ModelOptions", "SyncOptions", "SyncResult", "Synchronizer", "sync", "sync_to_reference"]

PathLike = str | os.PathLike
MODEL_THREAD = "subsync-model"  # the thread that loads the model while ffmpeg decodes


@dataclass(frozen=True)
class ModelOptions:
    """What fixes the model: given once to a Synchronizer."""

    model: str = "base"  # bundled name, hub id, transformers or CTranslate2 directory
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    threads: int | None = None  # CPU threads for torch (None: torch's default)
    int8: bool | None = None  # int8 linear layers; None: on the CPU (twice as fast, same accuracy)


_MODEL_FIELDS = frozenset(f.name for f in fields(ModelOptions))


class LanguageSource(str, Enum):
    """Where the language an audio track was chosen for came from."""

    SPOKEN = "spoken"  # the spoken language, given (SyncOptions.language)
    SUBS = "subs"  # the subtitles' language, given (SyncOptions.subs_language)
    STREAM = "stream tag"  # the tag of the subtitle stream they were read from
    NAME = "file name"  # the subtitles' file name (Movie.fr.srt)
    TEXT = "text"  # identified from the subtitles' text


@dataclass(frozen=True)
class AudioChoice:
    """The audio track a sync used, and why."""

    index: int | None  # among the media's audio streams (None: its only one)
    language: str | None  # the track's tag
    reason: TrackReason
    wanted: str | None = None  # the language the choice looked for ...
    wanted_from: LanguageSource | None = None  # ... and where that came from

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "language": self.language,
            "why": self.reason.value,
            "wanted_language": self.wanted,
            "wanted_from": self.wanted_from.value if self.wanted_from else None,
        }


@dataclass(frozen=True)
class SyncResult:
    """A synced subtitle file: new times for every cue, and how they were found."""

    document: SubtitleDocument
    lines: tuple[LineResult, ...]
    time_map: TimeMap  # final map: media_s = scale * subtitle_s + offset_s (+ cuts)
    global_map: TimeMap  # the first, speech-activity (or verified) map
    language: str
    model: str
    text_heard: bool = True  # False: the text was not heard (another language?); speech
    # activity alone placed the lines
    margin: float = float("inf")  # the activity match's score over its best rival's
    text_score: float | None = None  # how well the text is heard under the chosen map (the
    # best probed window's confidence; None: not probed)
    refusal: str = ""  # why the self-check would refuse this result ("" : it passes;
    # only returned this way with force)
    media_s: float = float("inf")  # the media's length (inf: synced to a reference)
    listened: Listened | None = None  # windows the per-line pass heard, of how many, and why
    # (None: no per-line pass)
    audio: AudioChoice | None = None  # the audio track used and why (None: synced to a reference)
    detected_language: str | None = None  # the spoken language as detected, not given (None: given,
    # or no listener heard the lines)

    @property
    def outside(self) -> int:
        """How many lines start beyond the end of the media (a stray cue, another cut)."""
        return sum(line.start_s >= self.media_s for line in self.lines)

    @property
    def cues(self) -> tuple[Cue, ...]:
        """The cues with their new times (text untouched)."""
        return tuple(
            replace(cue, start_s=line.start_s, end_s=line.end_s) for cue, line in zip(self.document.cues, self.lines)
        )

    @property
    def times_s(self) -> list[tuple[float, float]]:
        return [(line.start_s, line.end_s) for line in self.lines]

    @property
    def confidences(self) -> np.ndarray:
        return np.array([line.confidence for line in self.lines])

    def counts(self) -> dict[str, int]:
        actions = [line.action for line in self.lines]
        return {action.value: actions.count(action) for action in Action}

    @property
    def mean_confidence(self) -> float:
        """The mean confidence of the lines heard (0 when none was)."""
        heard = [line.confidence for line in self.lines if line.heard_start_s is not None]
        return float(np.mean(heard)) if heard else 0.0

    def to_bytes(self, kind: str | None = None) -> bytes:
        """The synced file: the input's bytes, encoding and line endings with new timestamps;
        or converted to ``kind`` ("srt", "vtt", "ass") when that is another format."""
        return render_subtitles(self.document, self.times_s, kind)

    def save(self, path: PathLike, kind: str | None = None) -> None:
        """Write the synced file (see to_bytes) atomically to ``path``."""
        write_subtitles(self.document, self.times_s, path, kind)

    def report(self) -> dict:
        """A JSON-ready account: the header (map, counts), then per-line times and confidence."""
        return {
            **self.header(),
            "lines": [
                {
                    "original_start_s": round(cue.start_s, 4),
                    "original_end_s": round(cue.end_s, 4),
                    **{f.name: _rounded(getattr(line, f.name)) for f in fields(line)},
                }
                for cue, line in zip(self.document.cues, self.lines)
            ],
        }

    def header(self) -> dict:
        """The report without its lines: what ``--json`` and the batch report print."""
        return {
            "model": self.model,
            "language": self.language,
            "offset_s": round(self.time_map.offset_s, 4),
            "scale": round(self.time_map.scale, 7),
            "cuts": [
                {
                    "subtitle_s": round(cut.at_s, 4),
                    "media_s": round(self.time_map(cut.at_s), 4),
                    "offset_s": round(cut.offset_s, 4),
                }
                for cut in self.time_map.cuts
            ],
            "global_map": {"offset_s": round(self.global_map.offset_s, 4), "scale": round(self.global_map.scale, 7)},
            "text_heard": self.text_heard,
            "text_score": None if self.text_score is None else round(self.text_score, 4),
            "activity_margin": round(self.margin, 4) if np.isfinite(self.margin) else None,
            "refusal": self.refusal or None,
            "counts": self.counts(),
            "outside_media": self.outside,
            "mean_confidence": round(self.mean_confidence, 4),
            "windows": None
            if self.listened is None
            else {
                "heard": self.listened.heard,
                "total": self.listened.total,
                "why": self.listened.why,
                "passages": self.listened.passages,
            },
            "audio_track": None if self.audio is None else self.audio.to_dict(),
        }

    def apply(self, other: PathLike | SubtitleDocument) -> SyncResult:
        """The found time map (offset, drift and cuts) applied to ``other``, a subtitle
        timed like the synced one (another language of the same release): every line of
        it moves by the map (per-line re-timing belongs to the synced file's own lines)."""
        document = _document(other)
        return replace(
            self,
            document=document,
            lines=engine.map_lines(self.time_map, lines_of(document)),
            text_heard=False,
            refusal="",
        )


def _rounded(value):
    if isinstance(value, tuple):  # LineResult.words
        return [{f.name: _rounded(getattr(word, f.name)) for f in fields(word)} for word in value]
    return round(value, 4) if isinstance(value, float) else value


def lines_of(document: SubtitleDocument) -> Lines:
    """The cues as the engine sees them: the words to hear in each ("" for none) and times."""
    return Lines(
        tuple(alignment_text(cue.text) for cue in document.cues),
        np.array([cue.start_s for cue in document.cues]),
        np.array([cue.end_s for cue in document.cues]),
    )


def audio_choice(
    media: PathLike,
    subs: PathLike | SubtitleDocument,
    document: SubtitleDocument,
    options: SyncOptions,
    subs_tag: str | None = None,
) -> AudioChoice:
    """The audio track to sync ``subs`` against: ``options.audio_track`` when given; else
    the one tagged with the language wanted (the spoken one when given, else the
    subtitles': given, from their file name, or identified from their text), else the one
    marked default, else the first (media.choose_audio_track)."""
    from .media import TrackReason, audio_tracks, choose_audio_track, pick_audio_track

    tracks = audio_tracks(media)
    if options.audio_track is not None:
        index = pick_audio_track(media, options.audio_track, tracks)
        return AudioChoice(
            index, tracks[index].language if index is not None and index < len(tracks) else None, TrackReason.GIVEN
        )
    if len(tracks) <= 1:
        return AudioChoice(None, tracks[0].language if tracks else None, TrackReason.ONLY)
    wanted, source = _wanted_language(subs, document, options, subs_tag)
    track, reason = choose_audio_track(tracks, wanted)
    assert track is not None  # (there are two tracks or more)
    return AudioChoice(track.index, track.language, reason, wanted, source)


def _wanted_language(
    subs: PathLike | SubtitleDocument, document: SubtitleDocument, options: SyncOptions, subs_tag: str | None = None
) -> tuple[str | None, LanguageSource | None]:
    """The language the audio track should speak, and where it came from (None, None: unknown)."""
    from .languages import language_in_name
    from .subtitles.language import text_language

    if options.language:
        return options.language, LanguageSource.SPOKEN
    if options.subs_language:
        return options.subs_language, LanguageSource.SUBS
    if subs_tag:
        return subs_tag, LanguageSource.STREAM
    if not isinstance(subs, SubtitleDocument):
        named = language_in_name(Path(subs).name)
        if named:
            return named, LanguageSource.NAME
    identified = text_language([alignment_text(cue.text) for cue in document.cues])
    return (identified, LanguageSource.TEXT) if identified else (None, None)


def forced_by_full(forced: SubtitleDocument, full: SubtitleDocument, synced: SyncResult) -> SyncResult:
    """A forced subtitle moved by the map that synced the full subtitle of its release
    (``synced``, from ``full`` as it was): its lines are lines of the full one, timed from
    the same source, so that map places them; the forced file's own offset from the full
    one (the median over the lines whose text both hold, 0 when none does) is kept out of
    it.  Few and far between, the forced lines' own on/off pattern cannot place them: on a
    25 s recording with 3 forced lines of 10, reference mode put them 8 s off."""
    by_text: dict[str, list[float]] = {}
    for cue in full.cues:
        by_text.setdefault(alignment_text(cue.text), []).append(cue.start_s)
    deltas = [
        min(by_text[key], key=lambda start: abs(start - cue.start_s)) - cue.start_s
        for cue in forced.cues
        if (key := alignment_text(cue.text)) and key in by_text
    ]
    delta_s = float(np.median(deltas)) if deltas else 0.0  # full time = forced time + delta_s
    time_map = synced.time_map
    moved = replace(
        synced,
        time_map=TimeMap(
            time_map.scale,
            time_map.offset_s + time_map.scale * delta_s,
            tuple(
                replace(cut, at_s=cut.at_s - delta_s, offset_s=cut.offset_s + time_map.scale * delta_s)
                for cut in time_map.cuts
            ),
        ),
    )
    return replace(moved.apply(forced), text_heard=synced.text_heard)


def _full_stream(media: PathLike, forced: SubtitleStream) -> SubtitleStream | None:
    """The text subtitle stream of ``media`` that is not forced and has ``forced``'s language
    (the full track a forced one was cut from); None when there is none."""
    from .languages import normalized
    from .media import subtitle_streams

    return next(
        (
            stream
            for stream in subtitle_streams(media)
            if stream.is_text and not stream.forced and normalized(stream.language) == normalized(forced.language)
        ),
        None,
    )


def _other_tracks(media: PathLike, choice: AudioChoice) -> list[AudioTrack]:
    """The tracks to try when the chosen one's speech does not match the text: the others
    that may speak the language wanted (tagged with it, or untagged; all when it is unknown)."""
    from .languages import same_language
    from .media import TrackReason, audio_tracks

    if choice.reason in (TrackReason.GIVEN, TrackReason.ONLY, TrackReason.SPEECH):
        return []
    return [
        track
        for track in audio_tracks(media)
        if track.index != choice.index
        and (choice.wanted is None or track.language is None or same_language(track.language, choice.wanted))
    ]


def _speaking_track(media: PathLike, track: int | None, cache: MediaCache | None) -> AudioTrack | None:
    """Another audio track of ``media`` than ``track`` that has speech (when a commentary
    or music track was chosen by default, or given), else None."""
    from .analysis import analysed
    from .media import audio_tracks

    return next(
        (
            other
            for other in audio_tracks(media)
            if other.index != (track or 0) and engine.has_speech(analysed(media, other.index, cache).speech)
        ),
        None,
    )


def _no_speech(exc: NoSpeechError, media: PathLike, track: int | None, cache: MediaCache | None) -> NoSpeechError:
    """``exc`` naming the audio track of ``media`` that has speech, when another has."""
    other = _speaking_track(media, track, cache)
    if other is None:
        return exc
    tag = f" ({other.language})" if other.language else ""
    return NoSpeechError(
        f"{exc}; audio track {other.index}{tag} has speech",
        exc.result,
        speaking_track=other.index,
        speaking_language=other.language,
    )


class Synchronizer:
    """Syncs many files with one model, loaded once (in the background, when first needed).

    ``model``: a ModelOptions, a model spec ("base", "tiny.en", a hub id or a directory),
    or any :class:`~subsync.core.listener.Listener`.  Keyword ``overrides`` may set the
    ModelOptions fields (``device="cpu"``) and defaults for the SyncOptions fields
    (``language="en"``), which each ``sync`` call may override again.  ``cache``: where
    media analyses are kept between runs (True: ``$SUBSYNC_HOME/media``; a MediaCache;
    False or None: none, every media file decoded whole); outputs are the same bytes
    either way.

        >>> synchronizer = Synchronizer(language="en")                  # doctest: +SKIP
        >>> for video, subs in pairs:                                   # doctest: +SKIP
        ...     synchronizer.sync(video, subs).save(subs.with_suffix(".synced.srt"))
    """

    def __init__(
        self,
        model: ModelOptions | str | Listener | WhisperModel | None = None,
        options: SyncOptions | None = None,
        *,
        cache: MediaCache | bool | None = True,
        **overrides,
    ) -> None:
        self.cache = MediaCache() if cache is True else (cache or None)
        if isinstance(model, SyncOptions) and options is None:  # Synchronizer(SyncOptions(...)), as before
            model, options = None, model
        model = _as_model(model)
        model_overrides = {k: overrides.pop(k) for k in list(overrides) if k in _MODEL_FIELDS}
        self.options = replace(options or SyncOptions(), **overrides)
        if isinstance(model, Listener):
            if model_overrides:
                raise TypeError(f"{', '.join(model_overrides)}: the listener given is already loaded")
            self.model_options = None
            self._listener = _Loader(lambda: model)
        else:
            if isinstance(model, str):
                model_overrides.setdefault("model", model)
            self.model_options = replace(
                model if isinstance(model, ModelOptions) else ModelOptions(), **model_overrides
            )
            self._listener = _Loader(self._load)

    def _load(self) -> Listener:
        from .whisper.listener import load_listener

        options = self.model_options
        assert options is not None  # (set whenever a model is to be loaded)
        states = self.cache.states() if self.cache is not None else None
        return load_listener(options.model, options.device, options.threads, options.int8, states)

    def sync_stream(
        self,
        media: PathLike,
        stream: SubtitleStream,
        options: SyncOptions | None = None,
        *,
        progress: Progress | None = None,
        synced: dict[int, SyncResult] | None = None,
        **overrides,
    ) -> SyncResult:
        """Re-time text subtitle stream ``stream`` of ``media`` (media.subtitle_streams) to
        its speech; the container is only read.  A forced stream (a few dozen lines over a
        film: too few for their own pattern to place them) follows the release's full
        stream of the same language when there is one (forced_by_full); that stream is
        synced first, unless ``synced`` (stream index -> result) holds it already.
        Otherwise it is synced, like any other, by the audio."""
        from .media import extract_subtitle_document

        document = extract_subtitle_document(media, stream.index, stream.kind)
        full = _full_stream(media, stream) if stream.forced else None
        if full is None:
            return self.sync(media, document, options, progress=progress, subs_tag=stream.language, **overrides)
        done = (synced or {}).get(full.index) or self.sync_stream(media, full, options, progress=progress, **overrides)
        return forced_by_full(document, extract_subtitle_document(media, full.index, full.kind), done)

    def sync(
        self,
        media: PathLike,
        subs: PathLike | SubtitleDocument,
        options: SyncOptions | None = None,
        *,
        progress: Progress | None = None,
        subs_tag: str | None = None,
        **overrides,
    ) -> SyncResult:
        """Re-time ``subs`` (SRT, WebVTT or ASS) to the speech in ``media`` with this
        synchronizer's model; ``options`` or keyword ``overrides`` of SyncOptions fields
        steer this file (the model's options are fixed: passing one here is an error);
        ``subs_tag``: the subtitles' language tag where they came from a media file's stream."""
        from .media import TrackReason

        options = self._options(options, overrides)
        report = progress or _silent
        document = _document(subs)
        choice = audio_choice(media, subs, document, options, subs_tag)  # (a missing or silent media fails here)
        if not options.fast:  # the model loads while ffmpeg decodes
            self._listener.start()  # (--fast may not need it)
        try:
            placement = self._placed(media, subs, document, options, choice.index, report)
        except NoSpeechError as exc:
            placement, error = None, _no_speech(exc, media, choice.index, self.cache)
        if placement is None or placement.refusal or not placement.text_heard:
            for other in _other_tracks(media, choice):  # the text may be spoken on another track
                try:
                    tried = self._placed(media, subs, document, options, other.index, report)
                except NoSpeechError:
                    continue
                if tried.text_heard and not tried.refusal:
                    placement, choice = (
                        tried,
                        replace(choice, index=other.index, language=other.language, reason=TrackReason.SPEECH),
                    )
                    break
        if placement is None:
            raise error
        return _finish(document, placement, options, choice)

    def _placed(
        self,
        media: PathLike,
        subs: PathLike | SubtitleDocument,
        document: SubtitleDocument,
        options: SyncOptions,
        track: int | None,
        report: Progress,
    ) -> engine.Placement:
        """The engine's placement of ``document`` against audio track ``track`` of ``media``."""
        from .analysis import remembered_language, slot_of, sound_of

        report("decoding audio", 0, 1)
        labels = engine.Labels(
            quoted(media), _name(subs), "the audio" + (f" track {track}" if track is not None else "")
        )
        slot = slot_of(media, track, self.cache)  # (the media fingerprinted once)
        listener = self._listener.result
        if self.model_options is not None:  # (a model loaded here: its detections are kept)
            known, remember = remembered_language(slot, self.model_options.model)
            listener = functools.partial(_RememberingLanguage, self._listener.result, known, remember)
        with sound_of(media, track, slot) as sound:
            return engine.sync_sound(sound, lines_of(document), options, listener, report, labels)

    def sync_to_reference(
        self,
        reference: PathLike | SubtitleDocument,
        subs: PathLike | SubtitleDocument,
        options: SyncOptions | None = None,
        **overrides,
    ) -> SyncResult:
        """:func:`sync_to_reference` with this synchronizer's default options."""
        return sync_to_reference(reference, subs, self._options(options, overrides))

    def _options(self, options: SyncOptions | None, overrides: dict) -> SyncOptions:
        fixed = _MODEL_FIELDS.intersection(overrides)
        if fixed:
            raise TypeError(f"{', '.join(sorted(fixed))} fixes the model: give it to Synchronizer(), not to each sync")
        return replace(options or self.options, **overrides)


class _RememberingLanguage:
    """The loaded listener, answering detect_language with the language it detected in this
    media track before (``known``) and remembering a new detection; the rest is the listener's."""

    def __init__(self, load: Callable[[], Listener], known: str | None, remember: Callable[[str], None]) -> None:
        self._inner, self._known, self._remember = load(), known, remember

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def detect_language(self, pieces) -> str:
        if self._known is None:
            self._known = self._inner.detect_language(pieces)
            self._remember(self._known)
        return self._known


class _Loader:
    """Runs ``load`` once, in a worker thread, from the first ``start()``."""

    def __init__(self, load: Callable[[], Listener]) -> None:
        self._load = load
        self._future: Future | None = None

    def start(self) -> _Loader:
        if self._future is None:
            # A daemon thread: a run that fails before it needs the model (a truncated
            # media file) exits at once instead of waiting for torch to finish importing.
            self._future = Future()
            threading.Thread(target=self._run, name=MODEL_THREAD, daemon=True).start()
        return self

    def _run(self) -> None:
        future = self._future
        assert future is not None  # (started by start)
        try:
            future.set_result(self._load())
        except BaseException as exc:  # handed to whoever asks for the result
            future.set_exception(exc)

    def result(self) -> Listener:
        future = self.start()._future
        assert future is not None
        return future.result()


def sync(
    media: PathLike,
    subs: PathLike | SubtitleDocument,
    options: SyncOptions | None = None,
    *,
    model: ModelOptions | str | Listener | WhisperModel | None = None,
    progress: Progress | None = None,
    cache: MediaCache | bool | None = True,
    **overrides,
) -> SyncResult:
    """Re-time the subtitles ``subs`` (SRT, WebVTT or ASS) to the speech in ``media``.

    ``options`` (or keyword overrides of its fields, e.g. ``language="en"``) steer the
    sync; ``model`` (and overrides ``device``, ``threads``, ``int8``) choose the model,
    a loaded WhisperModel or a Listener may be passed to reuse it (or use
    :class:`Synchronizer`).  ``progress(stage, done, total)`` is called as work advances.
    ``cache``: where the media's analysis is kept between runs (see Synchronizer).
    Raises :class:`SubsyncError` subclasses with one-line messages on bad input, and
    :class:`RefusedError` when the self-check refuses the result (unless ``force``).
    """
    model_overrides = {k: overrides.pop(k) for k in list(overrides) if k in _MODEL_FIELDS}
    return Synchronizer(model, cache=cache, **model_overrides).sync(
        media, subs, options, progress=progress, **overrides
    )


def _as_model(model: object) -> ModelOptions | str | Listener | None:
    """``model`` as Synchronizer takes it: a loaded WhisperModel becomes its listener;
    anything that is neither a model's options or name nor a listener is an error."""
    if model is None or isinstance(model, (ModelOptions, str, Listener)):
        return model
    from .whisper.model import WhisperModel

    if isinstance(model, WhisperModel):
        from .whisper.listener import WhisperListener

        return WhisperListener(model)
    raise TypeError(
        f"model must be a model name, ModelOptions, a loaded WhisperModel or a listener "
        f"(name, window_s, language_for, detect_language, hear), not {type(model).__name__}"
    )


def sync_to_reference(
    reference: PathLike | SubtitleDocument,
    subs: PathLike | SubtitleDocument,
    options: SyncOptions | None = None,
    **overrides,
) -> SyncResult:
    """Re-time ``subs`` to the timing of ``reference``, a correctly timed subtitle file of
    the same release (any language), without audio or model: the reference's cues stand
    in for the speech activity, and every line moves by the offset and drift found."""
    options = replace(options or SyncOptions(), **overrides)
    document = _document(subs)
    placement = engine.sync_cues(
        lines_of(_document(reference)), lines_of(document), options, engine.Labels(subs=_name(subs))
    )
    return _finish(document, placement, options)


def _finish(
    document: SubtitleDocument, placement: engine.Placement, options: SyncOptions, audio: AudioChoice | None = None
) -> SyncResult:
    """The result; RefusedError (carrying it) when the self-check refuses, unless forced."""
    result = SyncResult(
        document=document, audio=audio, **{f.name: getattr(placement, f.name) for f in fields(placement)}
    )
    if result.refusal and not options.force:
        raise RefusedError(result.refusal, result)
    return result


def _document(subs: PathLike | SubtitleDocument) -> SubtitleDocument:
    return subs if isinstance(subs, SubtitleDocument) else read_subtitles(subs)


def _name(subs: PathLike | SubtitleDocument) -> str:
    return quoted(subs) if not isinstance(subs, SubtitleDocument) else "the subtitles"


def _silent(stage: str, done: int, total: int) -> None:
    """No progress reporting."""
