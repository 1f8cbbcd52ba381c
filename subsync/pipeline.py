"""The pipeline: media + subtitles -> global time map -> per-line alignment -> new cue times.

1. Speech activity of the media and the cues' own on/off pattern give a global map
   (offset and framerate drift), robust to text that does not match the audio.
2. Consecutive lines placed by that map are grouped into windows of at most 30 s; the
   decoder reads their text over the window's audio and the alignment heads'
   cross-attention, followed by DTW, says where each line is heard.
3. Confident lines pin the map precisely (robust line fit); then each line either keeps
   its human timing (it agrees with where it is heard), is re-timed with the file's own
   lead-in and linger (it is clearly off), or keeps the map's time (low confidence).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from . import activity, align, timemap
from .errors import AlignmentError, ModelError, RefusedError
from .media import SAMPLE_RATE, load_audio, pick_audio_track
from .subtitles import Cue, SubtitleDocument, read_subtitles, render_subtitles, spoken_text, write_subtitles

if TYPE_CHECKING:
    from .model import ForcedAlignment, WhisperModel

PathLike = str | os.PathLike

EDGE_S = 1.0                  # a global offset this close to +-max_offset is at the search's edge
MIN_SPEECH_S = 0.2            # media with less detected speech than this is refused
MIN_WINDOW_S = 0.1            # windows with less audio than this are not aligned
MAX_TEXT_TOKENS = 440         # the decoder's context is 448 tokens, prompt included
WINDOW_S = 30.0               # Whisper's input window
PAD_S = 2.0                   # audio kept before a window's first line and after its last
LANGUAGE_WINDOWS = 3          # windows used to detect the spoken language
REALIGN_SHIFT_S = 1.0         # re-run the alignment when refining the map moves lines this far
                              # (windows have PAD_S of slack on each side)
MIN_GAP_S = 0.04              # re-timed lines end at least this long before the next starts
READING_CHARS_PER_S = 21.0    # readable minimum duration: this many characters per second ...
MIN_DURATION_S = 0.7          # ... but at least this long (or the line's own duration, if shorter)
MIN_VISIBLE_S = 0.1           # a line shown for less than this gets the readable minimum
DEFAULT_LEAD_IN_S = 0.0       # lead-in/linger when the file has too few consistent lines
DEFAULT_LINGER_S = 0.3
MIN_CONSISTENT_LINES = 5
MIN_STRETCH_S = 0.5           # a slip makes a line heard at least this much longer than shown
END_AGREEMENT_S = 0.5         # heard ends are rougher than starts (pauses, breaths)
JITTER_SIGMA_S = 0.18         # lines scattering this much around their heard starts are re-timed
GROSS_MISS_S = 0.6            # otherwise only lines off by more than this
MIN_DRIFT_SPAN_S = 20.0       # subtitles spanning less than this: only the common framerate ratios
VOICED_ENOUGH = 0.25          # a line heard over this share of speech frames is fully credible
VOICELESS_FACTOR = 0.2        # the confidence left to a line placed where no speech is detected
SCAN_BELOW = 0.5              # verification below this searches the lines' text in the audio ...
MAX_SCAN_S = 1200.0           # ... in media up to this long
SCAN_STEP_S = 10.0
SCAN_BLOCK_S = 15.0
FAST_WINDOWS = 12             # --fast fits the map on this many windows spread over the file
DECISIVE_MARGIN = 1.3         # an activity match this far ahead of the next is decisive (--fast
                              # then needs no model) ...
CLEAR_MARGIN = 1.08           # ... this far, clear (the model checks it on two windows only) ...
MIN_DECISIVE_SPAN_S = 300.0   # ... over subtitles spanning at least this long
MAP_AGREEMENT_S = 0.15        # an activity map that the heard lines confirm this closely stays
ACCEPT_SCORE = 0.5            # a clear match whose probes score this is taken as it is
FINALISTS = 3                 # candidates checked on a second, distant window
SHORT_SPAN_S = 120.0          # subtitles spanning less than this prefer no drift in verification
UNIT_SCALE_MARGIN = 0.05      # verification prefers no drift unless another scale scores this much better
TRUSTED_MARGIN = 1.2          # an activity match this far ahead of any other, over MIN_DECISIVE_SPAN_S,
                              # stands without the text (translated subtitles); another episode's
                              # subtitles score 1.0-1.1
REFERENCE_MARGIN = 1.1        # a reference whose cues match the subtitles' no better, over
                              # MIN_DECISIVE_SPAN_S, is refused (another episode: 1.00-1.03)
MIN_HEARD_SHARE = 0.2         # fewer of the spoken lines heard than this, and no trusted activity
                              # match: the subtitles are refused (another episode, no speech)

_NON_SPEECH_RE = re.compile(r"\[[^\]]*\]|\([^)]*\)|[#*]")
_LYRICS_RE = re.compile(r"[♪♫]")
_CREDITS_RE = re.compile(     # "Subtitles by", "English subtitles by", "Synced and corrected by", addresses
    r"^\W*(?:\w+\s+)?(?:subtitle[sd]?|caption(?:s|ed|ing)?|sync(?:ed|hroni[sz]ed)?|correct(?:ed|ions)|"
    r"transla(?:ted|tion)|transcri(?:bed|pt)|ripped|encoded|resync(?:ed)?)\s+(?:by|and|&)\b|https?://|\bwww\.|"
    r"\b[\w-]+\.(?:com|org|net|tv)\b|\bopensubtitles\b|\baddic7ed\b|\bpodnapisi\b|\bsubscene\b",
    re.IGNORECASE)
_SPEAKER_RE = re.compile(r"^[\s-]*[A-Z][A-Z0-9 .'-]{1,30}:\s*", re.MULTILINE)
_TAG_RE = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_ASS_BREAK_RE = re.compile(r"\\[Nn]")
_ASS_DRAWING_RE = re.compile(r"\{[^}]*\\p[1-9][^}]*\}[^{]*(?:\{[^}]*\\p0[^}]*\}|$)")   # {\p1}m 0 0 l ...{\p0}


@dataclass(frozen=True)
class SyncOptions:
    """Everything that steers a sync; every field has a sensible default."""

    model: str = "base"                 # bundled name, hub id, transformers or CTranslate2 directory
    language: str | None = None         # spoken language (ISO 639-1); None detects it
    device: str = "auto"                # auto, cpu, cuda, cuda:N
    audio_track: int | str | None = None  # index among the media's audio streams (from 0), or a
                                          # language tag ("eng", "de"); None: the first
    max_offset_s: float = 600.0         # search offsets within +- this
    keep_tolerance_s: float = 0.15      # in a sloppily timed file, a line within this of where it is
                                        # heard keeps its timing
    min_confidence: float = 0.35        # lines below this keep the global map's time
    threads: int | None = None          # CPU threads for torch (None: torch's default)
    int8: bool | None = None            # int8 encoder; None: on the CPU (twice as fast, same accuracy)
    fast: bool = False                  # fit the time map on a sample of the lines and move every
                                        # line by it (no per-line re-timing)
    subs_language: str | None = None    # the subtitles' language; one other than the spoken
                                        # language means their text cannot be heard: speech
                                        # activity alone places them
    cuts: bool = True                   # look for cuts (a piecewise map)
    force: bool = False                 # return a result the self-check would refuse


@dataclass(frozen=True)
class LineResult:
    """What happened to one cue; times in media seconds."""

    index: int                  # position in the file (0-based)
    start_s: float              # new start
    end_s: float                # new end
    mapped_start_s: float       # the original start through the final time map
    mapped_end_s: float
    heard_start_s: float | None  # where the line is heard (None: not aligned)
    heard_end_s: float | None
    confidence: float           # 0..1; 0 for lines that were not aligned
    action: str                 # "kept", "retimed", "mapped" (low confidence) or "unaligned" (no words)


@dataclass(frozen=True)
class SyncResult:
    """A synced subtitle file: new times for every cue, and how they were found."""

    document: SubtitleDocument
    lines: tuple[LineResult, ...]
    time_map: timemap.TimeMap       # refined map: media_s = scale * subtitle_s + offset_s (+ cuts)
    global_map: timemap.TimeMap     # the first, speech-activity map
    language: str
    model: str
    text_heard: bool = True         # False: the text was not heard (another language?); speech
                                    # activity alone placed the lines
    margin: float = float("inf")    # the activity match's score over its best rival's
    text_score: float | None = None  # how well the text is heard under the chosen map (the
                                     # best probed window's confidence; None: not probed)
    refusal: str = ""               # why the self-check would refuse this result ("" : it passes;
                                    # only returned this way with force)

    @property
    def cues(self) -> tuple[Cue, ...]:
        """The cues with their new times (text untouched)."""
        return tuple(replace(cue, start_s=line.start_s, end_s=line.end_s)
                     for cue, line in zip(self.document.cues, self.lines))

    @property
    def times_s(self) -> list[tuple[float, float]]:
        return [(line.start_s, line.end_s) for line in self.lines]

    @property
    def confidences(self) -> np.ndarray:
        return np.array([line.confidence for line in self.lines])

    def counts(self) -> dict[str, int]:
        actions = [line.action for line in self.lines]
        return {name: actions.count(name) for name in ("kept", "retimed", "mapped", "unaligned")}

    @property
    def mean_confidence(self) -> float:
        aligned = [line.confidence for line in self.lines if line.action != "unaligned"]
        return float(np.mean(aligned)) if aligned else 0.0

    def to_bytes(self, kind: str | None = None) -> bytes:
        """The synced file: the input's bytes, encoding and line endings with new timestamps;
        or converted to ``kind`` ("srt", "vtt", "ass") when that is another format."""
        return render_subtitles(self.document, self.times_s, kind)

    def save(self, path: PathLike, kind: str | None = None) -> None:
        """Write the synced file (see to_bytes) atomically to ``path``."""
        write_subtitles(self.document, self.times_s, path, kind)

    def report(self) -> dict:
        """A JSON-ready account: map, counts, per-line times and confidence."""
        return {
            "model": self.model,
            "language": self.language,
            "offset_s": round(self.time_map.offset_s, 4),
            "scale": round(self.time_map.scale, 7),
            "cuts": [{"subtitle_s": round(cut.at_s, 4), "media_s": round(self.time_map(cut.at_s), 4),
                      "offset_s": round(cut.offset_s, 4)} for cut in self.time_map.cuts],
            "global_map": {"offset_s": round(self.global_map.offset_s, 4),
                           "scale": round(self.global_map.scale, 7)},
            "text_heard": self.text_heard,
            "text_score": None if self.text_score is None else round(self.text_score, 4),
            "activity_margin": round(self.margin, 4) if np.isfinite(self.margin) else None,
            "refusal": self.refusal or None,
            "counts": self.counts(),
            "mean_confidence": round(self.mean_confidence, 4),
            "lines": [{"original_start_s": round(cue.start_s, 4), "original_end_s": round(cue.end_s, 4),
                       **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(line).items()}}
                      for cue, line in zip(self.document.cues, self.lines)],
        }

    def apply(self, other: PathLike | SubtitleDocument) -> SyncResult:
        """The found time map (offset, drift and cuts) applied to ``other``, a subtitle
        timed like the synced one (another language of the same release): every line of
        it moves by the map (per-line re-timing belongs to the synced file's own lines)."""
        document = other if isinstance(other, SubtitleDocument) else read_subtitles(other)
        texts, starts, ends = _lines(document)
        lines = decide(*_mapped(self.time_map, starts, ends), {}, texts, SyncOptions(), retime=False)
        return replace(self, document=document, lines=tuple(lines), text_heard=False, refusal="")


@dataclass(frozen=True)
class _Window:
    start_s: float                  # media time of the window's first sample
    end_s: float
    lines: tuple[int, ...]          # cue indices aligned here (their times are used)
    before: str                     # context text heard before the first line (times discarded)
    after: str                      # context text heard after the last line


@dataclass(frozen=True)
class _Heard:
    start_s: float
    end_s: float
    confidence: float


Progress = Callable[[str, int, int], None]   # (stage, done, total)


class Synchronizer:
    """Syncs many files with one model, loaded once (in the background, when first needed).

        >>> synchronizer = Synchronizer(language="en")                  # doctest: +SKIP
        >>> for video, subs in pairs:                                   # doctest: +SKIP
        ...     synchronizer.sync(video, subs).save(subs.with_suffix(".synced.srt"))
    """

    def __init__(self, options: SyncOptions | None = None, **overrides) -> None:
        self.options = replace(options or SyncOptions(), **overrides)
        self._model = _ModelLoader(self.options)

    def sync(self, media: PathLike, subs: PathLike | SubtitleDocument, *,
             progress: Progress | None = None, **overrides) -> SyncResult:
        """:func:`sync` with this synchronizer's model and options (``overrides`` of
        fields that do not change the model, e.g. ``language`` or ``fast``)."""
        return sync(media, subs, self.options, model=self._model, progress=progress, **overrides)

    def sync_to_reference(self, reference: PathLike | SubtitleDocument,
                          subs: PathLike | SubtitleDocument, **overrides) -> SyncResult:
        return sync_to_reference(reference, subs, self.options, **overrides)


class _ModelLoader:
    """The options' model, loaded once in a worker thread from the first ``start()``."""

    def __init__(self, options: SyncOptions) -> None:
        self.options = options
        self._future = None

    def start(self) -> _ModelLoader:
        if self._future is None:
            from concurrent.futures import ThreadPoolExecutor

            from .model import WhisperModel

            options = self.options
            pool = ThreadPoolExecutor(1, thread_name_prefix="subsync-model")
            self._future = pool.submit(WhisperModel, options.model, options.device, options.threads, options.int8)
            pool.shutdown(wait=False)
        return self

    def result(self) -> WhisperModel:
        return self.start()._future.result()


def sync(media: PathLike, subs: PathLike | SubtitleDocument, options: SyncOptions | None = None,
         *, model: WhisperModel | _ModelLoader | None = None, progress: Progress | None = None,
         **overrides) -> SyncResult:
    """Re-time the subtitles ``subs`` (SRT, WebVTT or ASS) to the speech in ``media``.

    ``options`` (or keyword overrides of its fields, e.g. ``language="en"``) steer the
    sync; pass a loaded ``model`` to reuse it across files (or use :class:`Synchronizer`).
    ``progress(stage, done, total)`` is called as work advances.  Raises
    :class:`SubsyncError` subclasses with one-line messages on bad input, and
    :class:`RefusedError` when the self-check refuses the result (unless ``force``).
    """

    options = replace(options or SyncOptions(), **overrides)
    report = progress or (lambda stage, done, total: None)
    document = subs if isinstance(subs, SubtitleDocument) else read_subtitles(subs)
    # The model loads while ffmpeg decodes (--fast may not need it).
    loading = model if isinstance(model, _ModelLoader) else (
        _ModelLoader(options) if model is None else None)
    if loading is not None:
        model = None
        if not options.fast:
            loading.start()
    report("decoding audio", 0, 1)
    track = pick_audio_track(media, options.audio_track)
    audio = load_audio(media, track)                                     # (n_samples,)
    speech = activity.speech_activity(audio)                             # (n_frames,) 10 ms
    if np.count_nonzero(speech >= align.SPEECH_THRESHOLD) * activity.FRAME_S < MIN_SPEECH_S:
        raise RefusedError(f"{os.fspath(media)}: no speech detected in the audio"
                         + (f" track {track}" if track is not None else "")
                         + "; nothing to sync to")
    texts, starts, ends = _lines(document)
    report("searching offset and drift", 0, 1)
    found, span_s = _search(speech, texts, starts, ends, options)
    candidates = found.maps
    # Over a long span, a match far ahead of any other is the answer (films, episodes);
    # one clearly ahead needs only a light check by the model.
    long_span = span_s >= MIN_DECISIVE_SPAN_S
    decisive = long_span and found.margin >= DECISIVE_MARGIN
    clear = long_span and found.margin >= CLEAR_MARGIN
    trusted = long_span and found.margin >= TRUSTED_MARGIN
    name = _name(subs)
    if options.fast and decisive:
        global_map = _with_cuts(speech, texts, starts, ends, candidates[0], options)
        lines = decide(*_mapped(global_map, starts, ends), {}, texts, options, retime=False)
        _check_found(global_map, lines, options, media, name)
        return SyncResult(document, tuple(lines), global_map, global_map, options.language or "", "",
                          margin=found.margin)
    if model is None:
        report("loading model", 0, 1)
        model = loading.result()
    aligner = _Aligner(model, audio, speech, texts, starts, ends, options, report)
    cut = _with_cuts(speech, texts, starts, ends, candidates[0], options)
    if cut.cuts:                         # verify the best map with its cuts (its far window may
        candidates = [cut, *candidates]  # lie beyond one); the plain map still competes
    foreign = options.subs_language is not None and options.subs_language != aligner.spoken_language()
    global_map, heard_score = (candidates[0], 0.0) if foreign else aligner.verify(candidates, clear, scan=not trusted)
    if not foreign and heard_score < options.min_confidence:
        # The probed windows may all lie where the map is wrong (a part the media lacks):
        # before deciding that the text is not heard, listen to a sample across the file.
        sampled = aligner.align(global_map, FAST_WINDOWS)
        if _heard_share(sampled, options) >= MIN_HEARD_SHARE:
            heard_score = max(h.confidence for h in sampled.values())
    if foreign or heard_score < options.min_confidence:
        # The text is not heard anywhere (another language, another episode): the speech
        # activity alone places the lines, if it is sure enough.
        global_map = cut
        lines = decide(*_mapped(global_map, starts, ends), {}, texts, options, retime=False)
        _check_found(global_map, lines, options, media, name)
        refusal = "" if trusted else (
            f"{name}: {'its language is not spoken' if foreign else 'no line of it is heard'} in "
            f"{os.fspath(media)} and the speech pattern matches no offset clearly "
            f"(activity margin {found.margin:.2f}): another episode, or no dialogue?")
        result = SyncResult(document, tuple(lines), global_map, global_map, aligner.language or "", model.spec,
                            text_heard=False, margin=found.margin, refusal=refusal,
                            text_score=None if foreign else heard_score)
        return _checked(result, options)
    if global_map != found.maps[0] and not global_map.cuts:   # (the best one's cuts were weighed above:
        global_map = _with_cuts(speech, texts, starts, ends, global_map, options)   # chosen plain, it stays so)
    sample = FAST_WINDOWS if options.fast else None
    heard = aligner.align(global_map, sample)
    time_map = _refine(global_map, starts, heard, options)
    shift = np.abs(time_map(starts) - global_map(starts))
    if heard and shift.max() > REALIGN_SHIFT_S:
        heard = aligner.align(time_map, sample)
        time_map = _refine(time_map, starts, heard, options)
    elif heard and shift.max() < MAP_AGREEMENT_S:
        # They agree: the speech-activity map rests on every line's whole interval as the
        # subtitler timed it; the anchors on heard starts, with the aligner's onset error.
        time_map = global_map
    lines = decide(*_mapped(time_map, starts, ends), heard, texts, options, retime=not options.fast)
    _check_found(global_map, lines, options, media, name)
    result = SyncResult(document, tuple(lines), time_map, global_map, aligner.language or "", model.spec,
                        margin=found.margin, text_score=heard_score)
    return _checked(result, options, heard_share=_heard_share(heard, options), trusted=trusted)


def _name(subs) -> str:
    return os.fspath(subs) if not isinstance(subs, SubtitleDocument) else "the subtitles"


def _mapped(time_map: timemap.TimeMap, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cue starts and ends through the map; an end takes its start's piece of a cut map."""
    return time_map(starts), time_map(ends, starts)


def _with_cuts(speech: np.ndarray, texts: Sequence[str], starts: np.ndarray, ends: np.ndarray,
               time_map: timemap.TimeMap, options: SyncOptions) -> timemap.TimeMap:
    """``time_map`` with the cuts the spoken cues' pattern shows (if options.cuts)."""
    if not options.cuts:
        return time_map
    return timemap.find_cuts(speech, *_spoken_cues(texts, starts, ends), time_map, options.max_offset_s)


def _heard_share(heard: dict[int, _Heard], options: SyncOptions) -> float:
    """Share of the aligned lines heard with confidence."""
    if not heard:
        return 0.0
    return float(np.mean([h.confidence >= options.min_confidence for h in heard.values()]))


def _checked(result: SyncResult, options: SyncOptions, heard_share: float = 1.0,
             trusted: bool = False) -> SyncResult:
    """The self-check: a result that would likely make the file worse raises RefusedError
    (carrying the result) unless options.force."""
    refusal = result.refusal
    if not refusal and heard_share < MIN_HEARD_SHARE and not trusted:
        refusal = (f"only {100 * heard_share:.0f} % of the lines are heard where the map puts them "
                   f"(activity margin {result.margin:.2f}): another episode, or another edit?")
        result = replace(result, refusal=refusal)
    if refusal and not options.force:
        raise RefusedError(refusal, result)
    return result


def sync_to_reference(reference: PathLike | SubtitleDocument, subs: PathLike | SubtitleDocument,
                      options: SyncOptions | None = None, **overrides) -> SyncResult:
    """Re-time ``subs`` to the timing of ``reference``, a correctly timed subtitle file of
    the same release (any language), without audio or model: the reference's cues stand
    in for the speech activity, and every line moves by the offset and drift found."""
    options = replace(options or SyncOptions(), **overrides)
    document = subs if isinstance(subs, SubtitleDocument) else read_subtitles(subs)
    good = reference if isinstance(reference, SubtitleDocument) else read_subtitles(reference)
    ref_starts, ref_ends = _spoken_cues(*_lines(good))
    n_frames = int(np.ceil((ref_ends.max() + 1.0) * activity.FRAMES_PER_S))
    speech = activity.cue_activity(ref_starts, ref_ends, n_frames)           # (n_frames,) 10 ms
    texts, starts, ends = _lines(document)
    found, span_s = _search(speech, texts, starts, ends, options)
    time_map = _with_cuts(speech, texts, starts, ends, found.maps[0], options)
    lines = decide(*_mapped(time_map, starts, ends), {}, texts, options, retime=False)
    # (over a short span, chance matches score as well as the true one: no verdict)
    refusal = "" if found.margin >= REFERENCE_MARGIN or span_s < MIN_DECISIVE_SPAN_S else (
        f"{_name(subs)}: its cues match the reference's at no offset clearly (margin {found.margin:.2f}): "
        "another episode or release?")
    return _checked(SyncResult(document, tuple(lines), time_map, time_map, "", "", margin=found.margin,
                               refusal=refusal), options)


def _lines(document: SubtitleDocument) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Each cue's spoken text, start and end: (n,) lists and arrays."""
    texts = [alignment_text(cue.text) for cue in document.cues]
    starts = np.array([cue.start_s for cue in document.cues])
    ends = np.array([cue.end_s for cue in document.cues])
    return texts, starts, ends


def _spoken_cues(texts: Sequence[str], starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the cues with words to hear (all cues when none has)."""
    spoken = np.array([bool(text) for text in texts], dtype=bool)
    return (starts[spoken], ends[spoken]) if spoken.any() else (starts, ends)


def _search(speech: np.ndarray, texts: Sequence[str], starts: np.ndarray, ends: np.ndarray,
            options: SyncOptions) -> tuple[timemap.Candidates, float]:
    """Candidate maps from the spoken cues' pattern against ``speech``, and the span of
    those cues (subtitle seconds)."""
    search_starts, search_ends = _spoken_cues(texts, starts, ends)
    # Over a short span the cue pattern cannot tell framerates apart: only the common ones.
    span_s = float(search_ends.max() - search_starts.min()) if search_starts.size else 0.0
    scales = timemap.FRAMERATE_RATIOS if span_s >= MIN_DRIFT_SPAN_S else timemap.COMMON_SCALES
    return timemap.candidate_maps(speech, search_starts, search_ends, options.max_offset_s, scales), span_s


def _check_found(global_map: timemap.TimeMap, lines: Sequence[LineResult], options: SyncOptions,
                 media: PathLike, name: str) -> None:
    """Refuse a map found at the edge of the offset search when no line was heard there:
    the true offset most likely lies beyond the search, and the result would be noise."""
    heard_any = any(line.action in ("kept", "retimed") for line in lines)
    at_edge = abs(global_map.offset_s) >= options.max_offset_s - EDGE_S
    if at_edge and not heard_any:
        raise AlignmentError(
            f"{name}: no line is heard in {os.fspath(media)} within the searched offsets "
            f"(+-{options.max_offset_s:g} s); if the subtitles are further off, raise --max-offset")


def alignment_text(cue_text: str) -> str:
    """The words a cue expects to be spoken: no tags, sound descriptions ([MUSIC],
    (laughs)), lyrics (lines with a note sign), speaker labels (JOHN:) or credits and
    adverts (Subtitles by..., web addresses); "" for a cue with none."""
    text = _TAG_RE.sub("", _ASS_BREAK_RE.sub("\n", _ASS_DRAWING_RE.sub("", cue_text)))
    if _CREDITS_RE.search(text):
        return ""
    text = "\n".join(line for line in text.splitlines() if not _LYRICS_RE.search(line))
    return spoken_text(_SPEAKER_RE.sub("", _NON_SPEECH_RE.sub(" ", text)))


class _Aligner:
    """Runs the model over windows of lines and reports where each line is heard."""

    def __init__(self, model: WhisperModel, audio: np.ndarray, speech: np.ndarray,
                 texts: Sequence[str], starts: np.ndarray, ends: np.ndarray,
                 options: SyncOptions, report: Progress) -> None:
        self.model, self.audio, self.speech, self.texts = model, audio, speech, texts
        self.starts, self.ends = starts, ends
        self.duration_s = audio.size / SAMPLE_RATE
        self.options, self.report = options, report
        if not model.multilingual and options.language not in (None, "en"):
            raise ModelError(f"model {model.spec} is English-only; --language {options.language} needs a "
                             "multilingual model such as base")
        self.language = options.language if model.multilingual else "en"
        if self.language and model.multilingual and self.language not in model.language_ids:
            raise ModelError(f"model {model.spec} does not know language {self.language!r}")

    def _windows(self, time_map: timemap.TimeMap) -> list[_Window]:
        return plan_windows(*_mapped(time_map, self.starts, self.ends), self.texts, self.duration_s)

    def spoken_language(self) -> str:
        """The spoken language (given, or detected from the audio)."""
        if self.language is None:
            self.language = self._detect_language()
        return self.language

    def verify(self, candidates: Sequence[timemap.TimeMap], clear: bool = False,
               scan: bool = True) -> tuple[timemap.TimeMap, float]:
        """The candidate map under which the lines' text is best heard where it places
        them, and how well it is heard there (the probed lines' mean confidence).

        A ``clear`` first candidate (speech activity put it well ahead) is taken when
        its lines are clearly heard in its fullest window and in one far from it.  Each
        candidate is scored by the confidence of the lines in its fullest window (the
        best few again on a second window, far from the first, to tell scales apart); the
        chosen map's text counts as heard as well as in its best probed window.
        If no candidate is heard at all (text not in the audio), the speech-activity
        best (the first) stays.  A window is read by the model once, however often it
        comes up.
        """
        self.spoken_language()
        probed: dict[_Window | None, float] = {}

        def probe(window: _Window | None) -> float:
            if window not in probed:
                probed[window] = self._probe(window)
            return probed[window]

        if clear or len(candidates) == 1:
            windows = self._windows(candidates[0])
            first = _fullest(windows)
            second = _far_window(windows, first)
            probes = [probe(first), *([probe(second)] if second is not None else [])]
            if len(candidates) == 1 or min(probes) >= ACCEPT_SCORE:
                return candidates[0], max(probes)
        scores = []
        for done, candidate in enumerate(candidates):
            self.report("verifying offset and drift", done, len(candidates))
            scores.append(probe(_fullest(self._windows(candidate))))
        # Tie-break towards no drift: a short window hears every ratio about equally well.
        scores = [score - self._drift_penalty(c) for score, c in zip(scores, candidates)]
        if scan and max(scores) < SCAN_BELOW and self.duration_s <= MAX_SCAN_S:
            # Speech activity gave no convincing candidate (speech everywhere, music...):
            # look for a block of lines' text across the whole audio.
            found = self._scan(candidates[0])
            candidates = [*candidates, *found]
            for candidate in found:
                scores.append(probe(_fullest(self._windows(candidate))) - self._drift_penalty(candidate))
        order = np.argsort(scores)[::-1]
        if scores[order[0]] < self.options.min_confidence:
            return candidates[0], float(scores[order[0]])
        finalists = order[:FINALISTS]
        totals, heard = [], []
        for k in finalists:
            windows = self._windows(candidates[k])
            far = _far_window(windows, _fullest(windows))
            second = probe(far) if far is not None else scores[k]
            totals.append(scores[k] + second)
            heard.append(max(scores[k], second))
        self.report("verifying offset and drift", len(candidates), len(candidates))
        best = int(np.argmax(totals))
        return candidates[finalists[best]], float(heard[best])

    def _drift_penalty(self, candidate: timemap.TimeMap) -> float:
        """Short subtitle spans cannot show drift: there, prefer no drift unless clearly better."""
        span_s = float(self.ends.max() - self.starts.min()) if self.starts.size else 0.0
        if span_s >= SHORT_SPAN_S or abs(candidate.scale - 1.0) < 1e-9:
            return 0.0
        return UNIT_SCALE_MARGIN

    def _scan(self, reference: timemap.TimeMap) -> list[timemap.TimeMap]:
        """Maps that put a block of lines where its text is heard best in the audio.

        The block is the fullest window's lines under ``reference``, cut to SCAN_BLOCK_S
        of subtitle time; it is read over 30 s windows every SCAN_STEP_S across the
        media, and the best window's heard starts give an offset for each common scale.
        """
        block = _fullest(self._windows(reference))
        if block is None:
            return []
        lines = [i for i in block.lines if self.starts[i] - self.starts[block.lines[0]] <= SCAN_BLOCK_S]
        best: tuple[float, dict[int, _Heard]] = (0.0, {})
        positions = np.arange(0.0, max(self.duration_s - SCAN_STEP_S, 0.0) + 1e-9, SCAN_STEP_S)
        for done, start in enumerate(positions):
            self.report("searching the text in the audio", done, len(positions))
            window = _Window(float(start), float(min(start + WINDOW_S, self.duration_s)), tuple(lines), "", "")
            heard = self._align_window(window)
            if heard:
                score = float(np.mean([h.confidence for h in heard.values()]))
                if score > best[0]:
                    best = (score, heard)
        if best[0] < self.options.min_confidence:
            return []
        sub = self.starts[list(best[1])]
        media = np.array([h.start_s for h in best[1].values()])
        weights = np.array([h.confidence for h in best[1].values()])
        return [timemap.TimeMap(float(scale), timemap.offset_at(float(scale), sub, media, weights))
                for scale in timemap.COMMON_SCALES]

    def _probe(self, window: _Window | None) -> float:
        if window is None:
            return 0.0
        heard = self._align_window(window)
        if not heard:
            return 0.0
        weights = [len(self.texts[i]) for i in heard]
        return float(np.average([h.confidence for h in heard.values()], weights=weights))

    def align(self, time_map: timemap.TimeMap, sample: int | None = None) -> dict[int, _Heard]:
        """Where the lines of every window (or of ``sample`` windows spread over the
        file) are heard, under ``time_map``."""
        windows = self._windows(time_map)
        if sample is not None and len(windows) > sample:
            windows = [windows[int(k)] for k in np.unique(np.linspace(0, len(windows) - 1, sample).round())]
        heard: dict[int, _Heard] = {}
        for done, window in enumerate(windows):
            self.report("aligning lines", done, len(windows))
            heard.update(self._align_window(window))
        self.report("aligning lines", len(windows), len(windows))
        return heard

    def _window_audio(self, window: _Window) -> np.ndarray:
        first = int(round(window.start_s * SAMPLE_RATE))
        return self.audio[first : first + int(round((window.end_s - window.start_s) * SAMPLE_RATE))]

    def _detect_language(self) -> str:
        """The language of the LANGUAGE_WINDOWS full 30 s windows of the audio with the most
        speech (not of where the subtitles' lines happen to be placed: a few seconds of
        speech are easily taken for another language)."""
        voiced = np.concatenate([[0], np.cumsum(self.speech >= align.SPEECH_THRESHOLD)])
        window = int(WINDOW_S * activity.FRAMES_PER_S)
        step = int(SCAN_STEP_S * activity.FRAMES_PER_S)
        firsts = np.arange(0, max(1, voiced.size - window), step)
        counts = voiced[np.minimum(firsts + window, voiced.size - 1)] - voiced[firsts]
        chosen: list[int] = []
        for first in firsts[np.argsort(-counts, kind="stable")]:
            if len(chosen) == LANGUAGE_WINDOWS:
                break
            if all(abs(int(first) - other) >= window for other in chosen):   # no overlap
                chosen.append(int(first))
        pieces = [self._window_audio(_Window(first * activity.FRAME_S,
                                             min(first * activity.FRAME_S + WINDOW_S, self.duration_s), (), "", ""))
                  for first in chosen]
        probs = self.model.detect_language(self.model.encode(self.model.log_mel(pieces)))
        return max(probs, key=probs.get)

    def _align_window(self, window: _Window) -> dict[int, _Heard]:
        samples = self._window_audio(window)
        if samples.size < MIN_WINDOW_S * SAMPLE_RATE:
            return {}
        words_per_line = [self.texts[i].split() for i in window.lines]
        before, after = window.before.split(), window.after.split()
        all_words = [*before, *[w for words in words_per_line for w in words], *after]
        first_frame = int(round(window.start_s * activity.FRAMES_PER_S))
        speech = self.speech[first_frame : first_frame + activity.n_frames_for(samples.size)]
        firsts = np.cumsum([len(before), *[len(w) for w in words_per_line[:-1]]]).astype(int)
        words = heard_words(self.model, samples, all_words, self.language, speech, line_starts=firsts)
        if words is None:
            return {}
        heard = {}
        word = len(before)
        for index, line_words in zip(window.lines, words_per_line):
            first_word, last_word = word, word + len(line_words) - 1
            word += len(line_words)
            start_s, end_s = float(words.spans.start_s[first_word]), float(words.spans.end_s[last_word])
            rows = slice(words.token_start[first_word], words.token_start[last_word + 1])
            likelihood = float(np.exp(words.forced.token_logprobs[rows].mean()))
            focus = align.span_mass(words.forced.attention, rows, start_s - words.start_bias_s[first_word],
                                    end_s - self.model.onset_bias_s, words.frame_s)
            voiced = _voiced_share(speech, start_s, end_s)
            heard[index] = _Heard(window.start_s + start_s, window.start_s + end_s,
                                  line_confidence(likelihood, focus, voiced))
        return heard


@dataclass(frozen=True)
class HeardWords:
    """Where each word of a text is heard in up to 30 s of audio."""

    spans: align.WordSpans          # seconds from the audio's start, onset-corrected, snapped to speech
    forced: "ForcedAlignment"       # the decoder's attention and token log-probabilities
    token_start: np.ndarray         # (n_words + 1,) each word's first token row, and the end
    frame_s: float                  # encoder frame length
    start_bias_s: np.ndarray        # (n_words,) the onset correction added to each start


def heard_words(model: WhisperModel, samples: np.ndarray, words: Sequence[str], language: str | None,
                speech: np.ndarray | None = None, line_starts: Sequence[int] = ()) -> HeardWords | None:
    """Teacher-force ``words`` over ``samples`` (16 kHz, at most 30 s) and read each word's
    start and end from the alignment heads (DTW, attention-rise onsets), corrected by the
    model's onset bias (its line-onset bias for the words at ``line_starts``, the first
    words of subtitle lines) and snapped to ``speech`` (10 ms activity of the same audio;
    computed when None).  None when the text is longer than the decoder's context."""
    from .model import FRAME_S

    tokens = model.tokenize_words(list(words))
    counts = [len(t) for t in tokens]
    flat = [t for ts in tokens for t in ts]
    if not flat or len(flat) > MAX_TEXT_TOKENS:
        return None
    n_frames = min(1500, int(np.ceil(samples.size / SAMPLE_RATE / FRAME_S)))
    forced = model.force_align(model.encode(model.log_mel([samples])), flat, language, n_frames)
    spans = align.word_spans(forced.attention, counts, FRAME_S)
    start_bias = np.full(len(counts), model.onset_bias_s)
    start_bias[np.asarray(line_starts, dtype=int)] = model.line_onset_bias_s
    spans = align.WordSpans(spans.start_s + start_bias, spans.end_s + model.onset_bias_s)
    if speech is None:
        speech = activity.speech_activity(samples)
    spans = align.snap_to_speech(spans, speech, activity.FRAME_S)
    return HeardWords(spans, forced, np.concatenate([[0], np.cumsum(counts)]).astype(int), FRAME_S, start_bias)


def _far_window(windows: Sequence[_Window], first: _Window | None) -> _Window | None:
    """A well-filled window as far as possible from ``first`` (at least one window away),
    where a wrong drift shows most."""
    if first is None:
        return None
    enough = max(1, len(first.lines) // 2)
    far = [w for w in windows if len(w.lines) >= enough and abs(w.start_s - first.start_s) >= WINDOW_S]
    return max(far, key=lambda w: abs(w.start_s - first.start_s), default=None)


def _fullest(windows: Sequence[_Window]) -> _Window | None:
    """The window with the most spoken lines (the earliest among equals)."""
    return max(windows, key=lambda w: len(w.lines), default=None)


def _voiced_share(speech: np.ndarray, start_s: float, end_s: float) -> float:
    """Share of speech-activity frames within [start_s, end_s] (window-relative)."""
    first = max(0, int(start_s * activity.FRAMES_PER_S))
    frames = speech[first : max(first + 1, int(np.ceil(end_s * activity.FRAMES_PER_S)))]
    return float(np.mean(frames >= align.SPEECH_THRESHOLD)) if frames.size else 0.0


def line_confidence(likelihood: float, focus: float, voiced: float = 1.0) -> float:
    """0..1 from the decoder's per-token likelihood of the text, the attention's focus and
    the speech heard where the line was placed.

    likelihood: geometric-mean token probability; text that is really spoken scores
    well above 0.1, text that is not is near 0.  focus: share of the line's attention on
    its aligned span.  voiced: share of speech-activity frames in that span; the decoder
    finds fluent text likely even over silence, so a span with little speech scales the
    confidence down (to at most VOICELESS_FACTOR when there is none).
    """
    text_score = float(np.clip(np.log10(max(likelihood, 1e-6)) + 2.0, 0.0, 1.5) / 1.5)
    voice = float(np.clip(voiced / VOICED_ENOUGH, VOICELESS_FACTOR, 1.0))
    return float(np.sqrt(text_score * np.clip(focus, 0.0, 1.0)) * voice)


def plan_windows(mapped_starts: np.ndarray, mapped_ends: np.ndarray, texts: Sequence[str],
                 duration_s: float) -> list[_Window]:
    """Group consecutive spoken lines into windows of at most WINDOW_S of audio.

    Each window spans its lines' mapped times plus PAD_S on each side; lines that only
    partly fall inside contribute the share of their words that does, as context.
    """
    order = [i for i in np.argsort(mapped_starts, kind="stable") if texts[i]
             and mapped_ends[i] > 0 and mapped_starts[i] < duration_s]
    windows: list[_Window] = []
    k = 0
    while k < len(order):
        first = k
        group = [order[k]]
        start = max(0.0, mapped_starts[order[k]] - PAD_S)
        k += 1
        while k < len(order) and mapped_ends[order[k]] + PAD_S - start <= WINDOW_S:
            group.append(order[k])
            k += 1
        end = min(duration_s, start + WINDOW_S, max(mapped_ends[i] for i in group) + PAD_S)
        previous = order[first - 1] if first > 0 else None
        following = order[k] if k < len(order) else None
        before = _context(previous, -1, start, end, mapped_starts, mapped_ends, texts)
        after = _context(following, +1, start, end, mapped_starts, mapped_ends, texts)
        windows.append(_Window(start, end, tuple(int(i) for i in group), before, after))
    return windows


def _context(line, direction, start, end, starts, ends, texts) -> str:
    """Words of the neighbouring ``line`` (None: none) that its mapped time puts inside
    [start, end]: its last words before a window (direction -1), its first after (+1)."""
    if line is None:
        return ""
    length = ends[line] - starts[line]
    if length <= 0:
        return ""
    inside = (min(end, ends[line]) - max(start, starts[line])) / length
    words = texts[line].split()
    n = int(round(np.clip(inside, 0.0, 1.0) * len(words)))
    if n == 0:
        return ""
    return " ".join(words[-n:] if direction < 0 else words[:n])


def _refine(prior: timemap.TimeMap, starts: np.ndarray, heard: dict[int, _Heard],
            options: SyncOptions) -> timemap.TimeMap:
    """Fit the map through confident lines' (subtitle start, heard start) pairs.

    A map with cuts is fitted as one line through the anchors with the cuts' jumps taken
    out (scale and first offset), then each piece heard in MIN_CONSISTENT_LINES lines or
    more moves by its anchors' median residual."""
    confident = [i for i, h in heard.items() if h.confidence >= options.min_confidence]
    if not confident:
        return prior
    sub = starts[confident]
    media = np.array([heard[i].start_s for i in confident])
    weights = np.array([heard[i].confidence for i in confident])
    jumps = prior.offsets_at(sub) - prior.offset_s                       # (n,) 0 before any cut
    fitted = timemap.fit_subtitle_anchors(sub, media - jumps, weights, prior.without_cuts())
    refined = prior.shifted(fitted.scale, fitted.offset_s - prior.offset_s)
    if not prior.cuts:
        return refined
    residual = media - refined(sub)
    piece = np.searchsorted([cut.at_s for cut in refined.cuts], sub, side="right")   # (n,) 0 = first
    offsets = [refined.offset_s, *(cut.offset_s for cut in refined.cuts)]
    for k in range(len(offsets)):
        members = (piece == k) & (np.abs(residual) <= timemap.ANCHOR_RESIDUAL_S)
        if members.sum() >= MIN_CONSISTENT_LINES:
            offsets[k] += timemap.weighted_median(residual[members], weights[members])
    cuts = tuple(timemap.Cut(cut.at_s, offset) for cut, offset in zip(refined.cuts, offsets[1:]))
    return timemap.TimeMap(refined.scale, offsets[0], cuts)


def decide(mapped_starts: np.ndarray, mapped_ends: np.ndarray, heard: dict[int, _Heard],
           texts: Sequence[str], options: SyncOptions, retime: bool = True) -> list[LineResult]:
    """Final times: keep agreeing human timing, re-time clear misses, map the uncertain
    (every line, when not ``retime``)."""
    n = mapped_starts.size
    confident = {i: h for i, h in heard.items() if retime and h.confidence >= options.min_confidence}
    tolerance = keep_tolerance(np.array([h.start_s - mapped_starts[i] for i, h in confident.items()]),
                               options.keep_tolerance_s)
    agree = {i for i, h in confident.items() if abs(h.start_s - mapped_starts[i]) <= tolerance}
    lead_in, linger = _conventions(mapped_starts, mapped_ends, confident, agree)
    starts, ends = mapped_starts.astype(float).copy(), mapped_ends.astype(float).copy()
    actions = ["unaligned" if not texts[i] else "mapped" for i in range(n)]
    for i in range(n):
        if i in agree:
            actions[i] = "kept"
        elif i in confident and _absorbed_onset(confident[i], mapped_starts[i], mapped_ends[i], tolerance):
            actions[i] = "mapped"
        elif (i in confident and tolerance > options.keep_tolerance_s
              and not _shifted_whole(confident[i], mapped_starts[i], mapped_ends[i])):
            # A sound file's line heard far away at one end only: an aligner slip.
            actions[i] = "mapped"
        elif i in confident:
            starts[i] = confident[i].start_s - lead_in
            ends[i] = confident[i].end_s + linger
            actions[i] = "retimed"
    retimed = np.array([a == "retimed" for a in actions])
    starts, ends = _tidy(starts, ends, mapped_starts, mapped_ends, retimed, texts)
    return [
        LineResult(i, float(starts[i]), float(ends[i]), float(mapped_starts[i]), float(mapped_ends[i]),
                   heard[i].start_s if i in heard else None, heard[i].end_s if i in heard else None,
                   heard[i].confidence if i in heard else 0.0, actions[i])
        for i in range(n)
    ]


def _absorbed_onset(heard: _Heard, mapped_start_s: float, mapped_end_s: float, tolerance_s: float) -> bool:
    """Heard early only because its first word swallowed a cough, breath or pause?

    A mistimed line is heard shifted as a whole; a line whose start alone is early,
    while it is heard ending where the subtitle ends, so that it is heard longer than it
    is shown by more than the tolerance, was stretched by the aligner.
    """
    early = heard.start_s < mapped_start_s - tolerance_s
    # Heard ends run late after pauses, so a line shifted as a whole can look stretched
    # by a few hundred ms; a slip stretches it by more.
    stretched = (heard.end_s - heard.start_s) - (mapped_end_s - mapped_start_s) > max(tolerance_s, MIN_STRETCH_S)
    ends_agree = abs(heard.end_s - mapped_end_s) <= max(tolerance_s, END_AGREEMENT_S)
    return early and stretched and ends_agree


def _shifted_whole(heard: _Heard, mapped_start_s: float, mapped_end_s: float) -> bool:
    """Is the line heard displaced as a whole (start and end moved the same way)?"""
    start_shift = heard.start_s - mapped_start_s
    end_shift = heard.end_s - mapped_end_s
    return start_shift * end_shift > 0 and abs(end_shift) >= 0.5 * abs(start_shift)


def keep_tolerance(deviations_s: np.ndarray, tolerance_s: float) -> float:
    """How far a line's start may be from where it is heard and still keep its timing.

    deviations_s: (n,) heard start minus mapped start of confident lines.  When they
    scatter like per-line timing errors (robust sigma >= JITTER_SIGMA_S), lines beyond
    ``tolerance_s`` are re-timed.  When they are tight, the file's timing is sound and
    only gross misses (beyond GROSS_MISS_S) are: a few hundred ms there is the
    subtitler's choice or the aligner's error, not a mistake to fix.
    """
    if deviations_s.size < MIN_CONSISTENT_LINES:
        return max(tolerance_s, GROSS_MISS_S)
    sigma = 1.4826 * np.median(np.abs(deviations_s - np.median(deviations_s)))
    return tolerance_s if sigma >= JITTER_SIGMA_S else max(tolerance_s, GROSS_MISS_S)


def _conventions(mapped_starts, mapped_ends, confident, agree) -> tuple[float, float]:
    """The file's own lead-in (start before voice) and linger (end after voice)."""
    if len(agree) < MIN_CONSISTENT_LINES:
        return DEFAULT_LEAD_IN_S, DEFAULT_LINGER_S
    lead = np.median([confident[i].start_s - mapped_starts[i] for i in agree])
    linger = np.median([mapped_ends[i] - confident[i].end_s for i in agree])
    return float(max(lead, 0.0)), float(np.clip(linger, 0.0, 1.5))


def _tidy(starts, ends, mapped_starts, mapped_ends, retimed, texts) -> tuple[np.ndarray, np.ndarray]:
    """No negative times, readable minimum durations, and re-timed lines that do not
    overlap their neighbours (lines that keep their timing keep their overlaps)."""
    starts = np.maximum(starts, 0.0)
    for i in np.flatnonzero(retimed):
        readable = max(MIN_DURATION_S, len(texts[i]) / READING_CHARS_PER_S)
        ends[i] = max(ends[i], starts[i] + min(readable, max(mapped_ends[i] - mapped_starts[i], 0.2)))
    # A line shown for (next to) no time at all cannot be read: give it the readable minimum.
    flashes = ~retimed & (ends - starts < MIN_VISIBLE_S)
    for i in np.flatnonzero(flashes):
        ends[i] = starts[i] + max(MIN_DURATION_S, len(texts[i]) / READING_CHARS_PER_S)
    adjusted = retimed | flashes
    order = np.argsort(mapped_starts, kind="stable")
    for a, b in zip(order[:-1], order[1:]):
        if (adjusted[a] or adjusted[b]) and ends[a] > starts[b] - MIN_GAP_S:
            if adjusted[b] and starts[b] < starts[a] + 0.2:
                starts[b] = max(starts[b], ends[a] + MIN_GAP_S)
                ends[b] = max(ends[b], starts[b] + 0.2)
            else:
                ends[a] = max(starts[a] + 0.2, starts[b] - MIN_GAP_S)
    ends = np.maximum(ends, starts + 0.001)
    return starts, ends
