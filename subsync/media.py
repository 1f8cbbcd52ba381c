"""Media decoding: the only module that runs ffmpeg.

Audio is decoded to 16 kHz mono float32 via an ffmpeg subprocess (command built
with ffmpeg-python), placed on the player's clock (:func:`load_audio`).  Stream listing
parses the stderr of ``ffmpeg -i FILE``, so no ffprobe is needed (the imageio-ffmpeg
wheel ships none).

The player's clock: time 0 is the container's start, the earliest timestamp of any
stream, as mpv, ffplay and ffmpeg itself rebase it (and as subtitle editors show it).
An audio stream that starts later (a delay in the container: an mkv block offset, an
mp4 edit list) begins after that much silence; samples before 0 (codec delay, AAC
priming, a negative start from a stream-copy cut) are dropped, as players drop them.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import IO

import ffmpeg

try:
    import fcntl
except ImportError:  # (Windows)
    fcntl = None  # type: ignore[assignment]
import numpy as np

from . import languages
from .core.activity import SAMPLE_RATE_HZ  # what every consumer gets
from .core.sound import sample_range
from .errors import MediaError, quoted
from .fileio import regular_file

SAMPLE_DTYPE = np.dtype("<i2")  # what ffmpeg writes (s16le)
BYTES_PER_SAMPLE = SAMPLE_DTYPE.itemsize
INT16_FULL_SCALE = 32768.0
MIN_AUDIO_S = 0.1  # less decoded audio than this is an error
MIN_AUDIO_SAMPLES = round(MIN_AUDIO_S * SAMPLE_RATE_HZ)
FIRST_BUFFER_S = 4 * 3600.0  # the decode buffer starts at most this long, then grows
READ_CHUNK_BYTES = 1 << 20  # ~33 s of audio per pipe read
PUMP_READS_AHEAD = 16  # reads queued ahead of their consumer (~9 minutes of audio, 16 MB)
PUMP_WAIT_S = 0.1  # a reader thread whose queue is full looks this often whether it is still wanted
PROBE_TIMEOUT_S = 120.0
EXTRACT_TIMEOUT_S = 600.0  # reading a subtitle stream demuxes the whole file
TRUNCATION_MIN_S = 2.0  # audio this much shorter than the container declares ...
TRUNCATION_FRACTION = 0.05  # ... and by this share of it means a truncated file
FFMPEG_ENV_VAR = "SUBSYNC_FFMPEG"

# "  Stream #0:1(eng): Audio: aac (LC) ..." / "  Stream #0:1[0x2](eng): Audio: ..."
_AUDIO_STREAM_RE = re.compile(
    r"^\s*Stream #0:(?P<stream>\d+)(?:\[[^\]]*\])?(?:\((?P<lang>[^)]*)\))?: Audio: (?P<codec>.*)$"
)
_INPUT_OPENED_RE = re.compile(r"^Input #0, ")
_DURATION_RE = re.compile(r"^\s*Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_START_RE = re.compile(r"^\s*Duration: .*, start: (-?\d+(?:\.\d+)?)")
# "  Stream #0:0: Video: h264 ..."; cover art ("(attached pic)") is one still, no timeline
_VIDEO_STREAM_RE = re.compile(r"^\s*Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: Video: (?!.*\(attached pic\))")
_OUT_TIME_RE = re.compile(r"^out_time_us=(\d+)$")
_FIRST_PTS_RE = re.compile(r"\] n:\s*0 pts:\s*-?\d+ pts_time:\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)")
_LOG_CONTEXT_RE = re.compile(r"^\[[^\]]* @ 0x[0-9a-fA-F]+\]\s*")  # "[mp3 @ 0x55b9...] "
_SUBTITLE_STREAM_RE = re.compile(
    r"^\s*Stream #0:\d+(?:\[[^\]]*\])?(?:\((?P<lang>[^)]*)\))?: Subtitle: (?P<codec>[A-Za-z0-9_]+)(?P<rest>.*)$"
)
_DEFAULT_RE = re.compile(r"\(default\)")  # a disposition ffmpeg prints after the stream


@dataclass(frozen=True)
class AudioTrack:
    index: int  # position among the file's audio streams (0 = first), as in --audio-track
    language: str | None  # ISO 639 tag from the container, None when absent or "und"
    codec: str  # ffmpeg's description, e.g. "aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp"
    default: bool = False  # marked as the default track (players' first choice)


# ffmpeg's names of the subtitle codecs that hold text; the others (hdmv_pgs_subtitle,
# dvd_subtitle, dvb_subtitle, xsub...) are pictures of text.
TEXT_SUBTITLE_CODECS = frozenset({"subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text"})


@dataclass(frozen=True)
class SubtitleStream:
    index: int  # position among the file's subtitle streams (0 = first), as in --stream
    language: str | None  # ISO 639 tag from the container, None when absent or "und"
    codec: str  # ffmpeg's codec name: subrip, ass, webvtt, mov_text, hdmv_pgs_subtitle...
    default: bool = False
    forced: bool = False  # only the lines in another language than the film's (signs, foreign speech)
    hearing_impaired: bool = False

    @property
    def is_text(self) -> bool:
        return self.codec in TEXT_SUBTITLE_CODECS

    @property
    def kind(self) -> str:
        """The subtitle format it is written in: "ass" (ASS/SSA), "vtt" (WebVTT) or "srt" (the rest)."""
        return {"ass": "ass", "ssa": "ass", "webvtt": "vtt"}.get(self.codec, "srt")


class TrackReason(str, Enum):
    """Why an audio track was used."""

    GIVEN = "given"  # --audio-track
    ONLY = "only"  # the file has one audio track (or none listed)
    LANGUAGE = "language"  # tagged with the subtitles' language
    DEFAULT = "default"  # no track has their language: the one marked default
    FIRST = "first"  # ... and none is marked: the first
    SPEECH = "speech"  # the first choice's speech did not match the text, this one's did


# ---------------------------------------------------------------- binary lookup


def ffmpeg_binary() -> str:
    """Path of the ffmpeg executable: $SUBSYNC_FFMPEG, else `ffmpeg` on PATH, else imageio-ffmpeg's."""
    override = os.environ.get(FFMPEG_ENV_VAR)
    if override:
        return _checked_override(override)
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    return _imageio_ffmpeg_binary()


def _checked_override(override: str) -> str:
    resolved = shutil.which(override)
    if resolved is None:
        raise MediaError(f"{FFMPEG_ENV_VAR}={override!r} is not an executable file")
    return resolved


def _imageio_ffmpeg_binary() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # ImportError, RuntimeError when the wheel has no binary
        raise MediaError(
            "ffmpeg not found: install ffmpeg (or the imageio-ffmpeg package), "
            f"or set {FFMPEG_ENV_VAR} to its path ({_one_line(str(exc))})"
        ) from None


# ---------------------------------------------------------------- stream listing


def audio_tracks(path: str | os.PathLike) -> list[AudioTrack]:
    """The audio streams of `path` in order; MediaError if it is missing or not a media file."""
    return _parse_audio_tracks(_opened(path, "could not decode audio from"))


def _opened(path: str | os.PathLike, failure: str) -> list[str]:
    """``ffmpeg -i``'s lines on `path`; MediaError (``failure`` and ffmpeg's reason) when it
    is missing or ffmpeg cannot open it as media."""
    media = _existing_file(path)
    stderr_lines = _probe_stderr(media)
    if not _input_opened(stderr_lines):
        raise MediaError(f"{failure} {quoted(path)}: {_last_message(stderr_lines, media)}")
    return stderr_lines


def _probe_stderr(media: Path) -> list[str]:
    """stderr lines of `ffmpeg -i media` (which exits non-zero: it has no output)."""
    command = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-i", str(media)]
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=PROBE_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MediaError(f"could not run ffmpeg on {quoted(media)}: {_one_line(str(exc))}") from None
    return _ffmpeg_lines(done.stderr, media)


def _ffmpeg_lines(stderr: bytes, media: Path) -> list[str]:
    """ffmpeg's stderr as lines, the media's name in them as messages show it (a newline
    in the name would otherwise split ffmpeg's lines); replaced in the raw bytes, before
    any undecodable byte of the name is lost."""
    if not os.fsdecode(os.fspath(media)).isprintable():
        stderr = stderr.replace(os.fsencode(media), quoted(media).encode("utf-8", errors="backslashreplace"))
    return stderr.decode("utf-8", errors="replace").splitlines()


def _input_opened(stderr_lines: list[str]) -> bool:
    return any(_INPUT_OPENED_RE.match(line) for line in stderr_lines)


def _parse_audio_tracks(stderr_lines: list[str]) -> list[AudioTrack]:
    tracks: list[AudioTrack] = []
    for line in stderr_lines:
        match = _AUDIO_STREAM_RE.match(line)
        if match:
            tracks.append(
                AudioTrack(
                    len(tracks),
                    _language(match["lang"]),
                    match["codec"].strip(),
                    default=bool(_DEFAULT_RE.search(match["codec"])),
                )
            )
    return tracks


def subtitle_streams(path: str | os.PathLike) -> list[SubtitleStream]:
    """The subtitle streams of `path` in order; MediaError if it is missing or not a media file."""
    return parse_subtitle_streams(_opened(path, "could not read"))


def parse_subtitle_streams(stderr_lines: list[str]) -> list[SubtitleStream]:
    """The subtitle streams that ffmpeg's stream listing (its stderr lines, as ``ffmpeg -i``
    prints them) names, in order, with their language, codec and dispositions."""
    streams: list[SubtitleStream] = []
    for line in stderr_lines:
        match = _SUBTITLE_STREAM_RE.match(line)
        if match:
            rest = match["rest"]
            streams.append(
                SubtitleStream(
                    len(streams),
                    _language(match["lang"]),
                    match["codec"],
                    default="(default)" in rest,
                    forced="(forced)" in rest,
                    hearing_impaired="(hearing impaired)" in rest,
                )
            )
    return streams


def pick_audio_track(
    path: str | os.PathLike, wanted: int | str | None, tracks: list[AudioTrack] | None = None
) -> int | None:
    """The index (among audio streams) of ``wanted``: an index (int or digits) as it is, or
    a language tag (``eng``, ``en``, ``ger``, ``de``...) matched against the container's
    tags (``tracks``, listed from ``path`` when not given), the first matching track;
    MediaError when no track has it."""
    if wanted is None or isinstance(wanted, int):
        return wanted
    text = wanted.strip().lower()
    if text.isdigit():
        return int(text)
    tracks = audio_tracks(path) if tracks is None else tracks
    for track in tracks:
        if track.language and (track.language.lower() == text or languages.same_language(track.language, text)):
            return track.index
    listed = ", ".join(f"{t.index} {t.language or 'untagged'}" for t in tracks) or "none"
    raise MediaError(f"no audio track of {quoted(path)} is tagged {wanted!r} (audio tracks: {listed})")


def choose_audio_track(tracks: list[AudioTrack], language: str | None) -> tuple[AudioTrack | None, TrackReason]:
    """The track a sync uses when none is given: the first tagged with ``language`` (the
    subtitles'), else the one marked default, else the first.  (None, ONLY) when there is
    no choice to make."""
    if len(tracks) <= 1:
        return (tracks[0] if tracks else None), TrackReason.ONLY
    for track in tracks:
        if languages.same_language(track.language, language):
            return track, TrackReason.LANGUAGE
    for track in tracks:
        if track.default:
            return track, TrackReason.DEFAULT
    return tracks[0], TrackReason.FIRST


def _language(tag: str | None) -> str | None:
    if tag is None or tag.strip().lower() in languages.UNDEFINED:
        return None
    return tag.strip()


_MUXERS = {"srt": ["-f", "srt"], "vtt": ["-f", "webvtt"], "ass": ["-c:s", "copy", "-f", "ass"]}


def extract_subtitles(path: str | os.PathLike, stream: int, kind: str = "srt") -> bytes:
    """Subtitle stream ``stream`` of ``path`` (counting its subtitle streams from 0), in
    format ``kind`` ("srt", converted by ffmpeg; "vtt"; "ass", an ASS stream as it is),
    timed on the player's clock as the audio is (load_audio); MediaError when there is
    none or it is not text."""
    media = _existing_file(path)
    if stream < 0:
        raise MediaError(f"subtitle stream must be 0 or more, not {stream}")
    origin_s = max(0.0, _container_start_s(_probe_stderr(media)))
    command = [
        ffmpeg_binary(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-copyts",
        "-i",
        str(media),
        "-map",
        f"0:s:{stream}",
        "-output_ts_offset",
        f"{-origin_s:.6f}",
        *_MUXERS[kind],
        "pipe:",
    ]
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=EXTRACT_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MediaError(f"could not run ffmpeg on {quoted(media)}: {_one_line(str(exc))}") from None
    if done.returncode != 0 or not done.stdout.strip():
        lines = _ffmpeg_lines(done.stderr, media)
        reason = _last_message(lines, media) if lines else "it has no text cues"
        raise MediaError(f"could not read subtitle stream {stream} of {quoted(path)}: {reason}")
    return done.stdout


def extract_subtitle_document(path: str | os.PathLike, stream: int, kind: str = "srt"):
    """Subtitle stream ``stream`` of ``path`` (:func:`extract_subtitles`) as a
    ``SubtitleDocument``, e.g. a reference to sync to; MediaError or SubtitleError."""
    from .subtitles import parse_subtitle_bytes  # lazily: this module stays ffmpeg-only

    return parse_subtitle_bytes(extract_subtitles(path, stream, kind), f"{path} subtitle stream {stream}")


# ---------------------------------------------------------------- decoding


def load_audio(path: str | os.PathLike, audio_track: int | None = None) -> np.ndarray:
    """Decode one audio stream of `path` to float32 mono 16 kHz in [-1, 1] on the player's
    clock (sample k plays at k / SAMPLE_RATE_HZ seconds, as the subtitles are timed; see
    the module's docstring); shape (n_samples,).

    `audio_track` counts audio streams only (0 = first; None = first).  An audio stream
    that starts late or ends before the video is no damage; a file whose data ends well
    before its container declares is truncated: MediaError.
    Memory: the float32 result (sized from the declared duration) and one pipe read.
    """
    buffer = _Buffer()
    stream_audio(path, audio_track, buffer.append, buffer.size_for)
    return buffer.samples()


@dataclass(frozen=True)
class Decoded:
    """What decoding a whole audio stream found (stream_audio)."""

    n_samples: int  # samples on the player's clock, the silence before the first decoded one included
    lead: int  # samples of silence before the first decoded one (negative: that many dropped)
    origin_s: float = 0.0  # the container's time stamp of the player's time 0 (its start, or 0)


def stream_audio(
    path: str | os.PathLike,
    audio_track: int | None,
    consume: Callable[[np.ndarray], None],
    expect: Callable[[float | None], None] | None = None,
) -> Decoded:
    """Decode one audio stream of `path` as load_audio does, handing the samples to
    ``consume`` read by read ((m,) float32 each, in order, the lead's silence first)
    instead of keeping them: a 2-hour film's audio never in memory at once.  ``expect``
    gets the duration the container declares (seconds, None: none) before any sample.
    The same MediaErrors as load_audio, once the stream has ended."""
    probed = _probed(path, audio_track)
    if expect is not None:
        expect(probed.declared_s)
    return _stream_probed(probed, consume)


@dataclass(frozen=True)
class _Probed:
    """What decoding a track needs to know first: the file, the track, ``ffmpeg -i``'s
    lines, the declared duration (None: none), the player's time 0 on the container's
    clock, and the samples of silence before the first decoded one (negative: dropped)."""

    path: str | os.PathLike
    media: Path
    track: int
    probe_lines: list[str]
    declared_s: float | None
    origin_s: float
    lead: int


def _probed(path: str | os.PathLike, audio_track: int | None) -> _Probed:
    media = _existing_file(path)
    track = 0 if audio_track is None else audio_track
    if track < 0:
        raise MediaError(f"audio track must be 0 or more, not {track}")
    probe_lines = _probe_stderr(media)
    first_s = _first_sample_s(media, track)
    origin_s = max(0.0, _container_start_s(probe_lines))
    lead_s = 0.0 if first_s is None else first_s - origin_s
    lead = round(lead_s * SAMPLE_RATE_HZ)  # samples of silence before the first
    return _Probed(path, media, track, probe_lines, _declared_duration_s(probe_lines), origin_s, lead)


def _stream_probed(probed: _Probed, consume: Callable[[np.ndarray], None]) -> Decoded:
    """stream_audio of a probed track."""
    path, media, track, lead = probed.path, probed.media, probed.track, probed.lead
    n_samples, stderr_lines = _decode(media, track, consume, lead)  # on the player's clock
    if n_samples - max(0, lead) < MIN_AUDIO_SAMPLES:
        raise _decode_failure(path, media, track, stderr_lines, n_samples)
    _check_complete(path, media, n_samples / SAMPLE_RATE_HZ, probed.declared_s, probed.probe_lines)
    return Decoded(n_samples, lead, probed.origin_s)


# ---------------------------------------------------------------- a long track decoded in parts

# Seeks (a part of a long track, a clip) decode from a little before where they start:
CLIP_SLACK_S = 0.1  # a clip's decode asks for this much more than it needs (ffmpeg's -t is in
# its own time base), the rest cut off
CLIP_PREROLL_S = 0.5  # and starts this much earlier, dropped: a decoder (mp3's overlapping frames,
# AAC's) and the resampler then give the samples a whole decode gives (measured: an mp3 clip
# without it differs in its first 80 ms)
CLIP_PREROLL_SAMPLES = round(CLIP_PREROLL_S * SAMPLE_RATE_HZ)
PART_MIN_S = 600.0  # a track is decoded in parts of at least this long ...
MAX_PARTS = 4  # ... and at most this many, each by its own ffmpeg (which decodes a stream on one
# core), as many at once as there are cores: a 2-hour film's AAC in 4.0 s instead of 7.7 s on 2
PART_OVERLAP_S = 1.0  # each part decodes this much beyond its seams; where two parts meet,
# both decoded the same 2 s, which must agree:
PART_OVERLAP_SAMPLES = round(PART_OVERLAP_S * SAMPLE_RATE_HZ)
SEAM_MAX_LAG_SAMPLES = 16  # the same sound within this shift (1 ms: a container's millisecond
# time stamps) ...
SEAM_MIN_CORRELATION = 0.9  # ... at this normalised correlation ...
SEAM_MARGIN = 0.05  # ... this much above its correlation at any other shift (tried up to half
# the stretch: a steady tone agrees with itself a period away) ...
SEAM_GUARD_SAMPLES = 80  # (5 ms: shifts nearer than this are the same placement)
SEAM_SILENT_RMS = 1e-4  # ... and louder than -80 dBFS (a silent seam proves nothing: one decode)
INDEXED_FORMATS = ("matroska", "mov")  # demuxers (ffmpeg's names) whose seeks follow an index;
# another file (an mp3 seeks by its bitrate's estimate) is decoded whole, in one part
_SHAPING = (PART_MIN_S, MAX_PARTS, PART_OVERLAP_S, SEAM_MAX_LAG_SAMPLES, SEAM_MIN_CORRELATION, SEAM_MARGIN)
PARTS_LAYOUT = "/".join(  # what shapes the parts and their samples (an analysis made from them names it)
    map(str, [*_SHAPING, SEAM_GUARD_SAMPLES, SEAM_SILENT_RMS, INDEXED_FORMATS, CLIP_PREROLL_S, CLIP_SLACK_S])
)
_INPUT_FORMAT_RE = re.compile(r"^Input #0, (?P<formats>[^ ]+), from ")


@dataclass(frozen=True)
class Part:
    """A stretch of an audio track decoded by one ffmpeg: the player's samples [first, stop)
    (stop None: to the end).  Its consumer is handed the samples from ``origin`` (first,
    less PART_OVERLAP_S where first > 0) to ``stop`` plus PART_OVERLAP_S (the end for the last)."""

    first: int
    stop: int | None
    origin: int


WHOLE = Part(0, None, 0)  # a track decoded in one part


def stream_audio_parts(
    path: str | os.PathLike,
    audio_track: int | None,
    start: Callable[[Sequence[Part]], Sequence[Callable[[np.ndarray], None]]],
    align_s: float,
) -> Decoded:
    """Decode one audio stream of `path` as stream_audio does, in parts decoded at once:
    ``start(parts)`` gives each part's consumer, which is handed its samples read by read
    (float32, in order).  A track of at least 2 x PART_MIN_S in an indexed container is cut
    into up to MAX_PARTS parts at multiples of ``align_s`` seconds; any other, one part.
    Where two parts meet, both decode the same stretch; if the two do not agree (a seek that
    missed, or silence: nothing to tell), or a part ends early, the track is decoded again in
    one part: ``start`` is then called again, with WHOLE, and what the consumers of the
    first call were handed is to be dropped.  The same MediaErrors as stream_audio.

    The parts' samples join without a gap, but a seek in a container whose time stamps
    are in milliseconds may place a part up to SEAM_MAX_LAG_SAMPLES from where one decode
    of the whole would (as it places a clip: Clips)."""
    if align_s <= 0:
        raise ValueError(f"parts are aligned to a positive length, not {align_s} s")
    probed = _probed(path, audio_track)
    parts = _parts(probed, align_s)
    if len(parts) > 1:
        n_samples = _decode_parts(probed, parts, start(parts))
        if n_samples is not None:
            _check_complete(
                probed.path, probed.media, n_samples / SAMPLE_RATE_HZ, probed.declared_s, probed.probe_lines
            )
            return Decoded(n_samples, probed.lead, probed.origin_s)
    (consume,) = start([WHOLE])
    return _stream_probed(probed, consume)


def _parts(probed: _Probed, align_s: float) -> list[Part]:
    """Where a track is cut (stream_audio_parts); [WHOLE] when it is not."""
    lines, declared_s = probed.probe_lines, probed.declared_s
    match = next(filter(None, map(_INPUT_FORMAT_RE.match, lines)), None)
    if declared_s is None or match is None or not set(match["formats"].split(",")) & set(INDEXED_FORMATS):
        return [WHOLE]
    if probed.track >= len(_parse_audio_tracks(lines)):
        return [WHOLE]  # (no such track: the one decode says so)
    length_s = declared_s - probed.origin_s
    count = min(MAX_PARTS, int(length_s // PART_MIN_S))
    align, overlap = round(align_s * SAMPLE_RATE_HZ), PART_OVERLAP_SAMPLES
    seams = sorted({align * round(length_s * k / count * SAMPLE_RATE_HZ / align) for k in range(1, max(count, 1))})
    # (a part's decode starts CLIP_PREROLL_S before its origin, after the first decoded sample)
    earliest = max(probed.lead, 0) + overlap + CLIP_PREROLL_SAMPLES
    end = round(length_s * SAMPLE_RATE_HZ)
    seams = [seam for seam in seams if earliest <= seam < end - overlap]
    if count < 2 or not seams:
        return [WHOLE]
    return [Part(first, stop, first - overlap if first else 0) for first, stop in zip([0, *seams], [*seams, None])]


class _Stopped(Exception):
    """A part's decoder was stopped: another part failed or ended early."""


def _decode_parts(
    probed: _Probed, parts: Sequence[Part], consumers: Sequence[Callable[[np.ndarray], None]]
) -> int | None:
    """Decode ``parts`` at once, each handed to its consumer; the track's length in samples
    on the player's clock, or None when a part ended early or two do not agree at their seam."""
    stopped, short = threading.Event(), threading.Event()
    feeds = [_PartFeed(part, consume, PART_OVERLAP_SAMPLES, stopped) for part, consume in zip(parts, consumers)]

    def decode(feed: _PartFeed) -> None:
        try:
            _decode_part(probed, feed)
        except _Stopped:
            return
        if feed.part.stop is not None and not feed.complete():
            short.set()  # (the track ends before this part does: the one decode will say how)
            stopped.set()

    with ThreadPoolExecutor(min(len(parts), usable_cores()), thread_name_prefix="subsync-part") as pool:
        futures = [pool.submit(decode, feed) for feed in feeds]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
            for future in [*filter(Future.done, futures), *futures]:
                future.result()  # (the first error of the parts done, in the parts' order)
        except BaseException:
            stopped.set()  # (a part's error, or Ctrl-C here: the other parts' ffmpegs end now)
            for future in futures:
                future.cancel()
            raise
    if short.is_set() or not all(_seam_agrees(before.tail, after.head) for before, after in zip(feeds, feeds[1:])):
        return None
    last = feeds[-1]
    return last.part.origin + last.handed


def _decode_part(probed: _Probed, feed: _PartFeed) -> None:
    """Run one part's ffmpeg: the first from the file's start (what it reads beyond the
    part's end, up to the lead's length, is cut by its feed), the others by a seek
    (_decode_from)."""
    part, lead = feed.part, probed.lead
    if part.first:
        end = None if part.stop is None else part.stop + PART_OVERLAP_SAMPLES
        _decode_from(probed.media, probed.track, feed.feed, probed.origin_s, part.origin, end, CLIP_PREROLL_SAMPLES)
        return
    length = None if part.stop is None else part.stop + PART_OVERLAP_SAMPLES + abs(lead)
    _decode(probed.media, probed.track, feed.feed, lead, None, None if length is None else _with_slack_s(length))


def _decode_from(
    media: Path,
    track: int,
    consume: Callable[[np.ndarray], None],
    origin_s: float,
    first: int,
    stop: int | None,
    preroll: int,
) -> None:
    """Decode the player's samples from ``first`` (past the lead's silence) to ``stop``
    (None: the end; a little more is read, for the caller to cut) by an input seek
    ``preroll`` samples earlier, the preroll dropped; ``origin_s`` is the player's time 0
    on the container's clock.  Parts and clips are decoded so."""
    from_s = origin_s + (first - preroll) / SAMPLE_RATE_HZ
    length_s = None if stop is None else _with_slack_s(stop - first + preroll)
    _decode(media, track, consume, -preroll, from_s, length_s)


def _with_slack_s(samples: int) -> float:
    """A decode's length for ``samples`` (ffmpeg's -t is in its own time base): CLIP_SLACK_S more."""
    return samples / SAMPLE_RATE_HZ + CLIP_SLACK_S


class _PartFeed:
    """One part's samples on their way to its consumer: cut at its stop plus the overlap,
    the stretch either side of each seam kept to compare (head: its first 2 x overlap
    samples, tail: its last)."""

    def __init__(self, part: Part, consume: Callable[[np.ndarray], None], overlap: int, stopped: threading.Event):
        self.part, self._consume, self._stopped = part, consume, stopped
        self._limit = None if part.stop is None else part.stop + overlap - part.origin
        self._span = 2 * overlap
        self.handed = 0
        self._head: list[np.ndarray] = []
        self._tail: list[np.ndarray] = []

    def feed(self, samples: np.ndarray) -> None:
        if self._stopped.is_set():
            raise _Stopped  # (_decode then ends its ffmpeg)
        if self._limit is not None:
            samples = samples[: max(0, self._limit - self.handed)]
        if not samples.size:
            return
        if self.handed < self._span:
            self._head.append(samples[: self._span - self.handed])
        self._tail.append(samples)
        while sum(piece.size for piece in self._tail[1:]) >= self._span:
            del self._tail[0]  # (the rest hold the last 2 x overlap samples)
        self.handed += samples.size
        self._consume(samples)

    def complete(self) -> bool:
        return self._limit is not None and self.handed == self._limit

    @property
    def head(self) -> np.ndarray:
        return np.concatenate(self._head)[: self._span] if self._head else np.zeros(0, np.float32)

    @property
    def tail(self) -> np.ndarray:
        return np.concatenate(self._tail)[-self._span :] if self._tail else np.zeros(0, np.float32)


def _seam_agrees(before: np.ndarray, after: np.ndarray) -> bool:
    """Do two decodes of the same stretch ((n,) each) agree: the same sound within
    SEAM_MAX_LAG_SAMPLES, clearly better matched there than a guard's width or more away
    (up to n/4 either way), and not silence?  The middle half of ``before`` slides over
    ``after``; each shift's normalised correlation is computed on the samples it overlaps
    (sums, not BLAS: its threads would spin beside ffmpeg)."""
    n = before.size
    if n != after.size or n < 8 * SEAM_GUARD_SAMPLES or max(_rms(before), _rms(after)) < SEAM_SILENT_RMS:
        return False
    quarter = n // 4
    middle = before[quarter : n - quarter].astype(np.float64)  # (m,)
    other = after.astype(np.float64)  # (n,)
    m = middle.size
    size = 1 << (n + m - 1).bit_length()
    # Cross-correlation by FFT: dots[k] = sum_i middle[i] * other[i + k], k = 0..n-m (shift k - quarter).
    dots = np.fft.irfft(np.conj(np.fft.rfft(middle, size)) * np.fft.rfft(other, size), size)[: n - m + 1]
    energy = np.concatenate([[0.0], np.cumsum(other * other)])
    windows = energy[m:] - energy[:-m]  # (n - m + 1,) each shift's energy of ``other``
    norms = np.sqrt(np.maximum(windows, 0.0) * float(np.sum(middle * middle)))
    correlation = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
    shifts = np.abs(np.arange(n - m + 1) - quarter)
    near = correlation[shifts <= SEAM_MAX_LAG_SAMPLES].max()
    far = correlation[shifts >= SEAM_GUARD_SAMPLES].max()
    return bool(near >= SEAM_MIN_CORRELATION and near >= far + SEAM_MARGIN)


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0


def usable_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class _Buffer:
    """Decoded reads gathered into one float32 array, sized from the declared duration
    (at most FIRST_BUFFER_S: a damaged header may declare 1000 hours) and grown by half
    when the stream runs longer."""

    def __init__(self) -> None:
        self._audio = np.empty(0, dtype=np.float32)
        self._filled = 0

    def size_for(self, declared_s: float | None) -> None:
        self._audio = np.empty(round((min(declared_s or 0.0, FIRST_BUFFER_S) + 1.0) * SAMPLE_RATE_HZ), np.float32)

    def append(self, samples: np.ndarray) -> None:
        end = self._filled + samples.size
        if end > self._audio.size:
            bigger = np.empty(max(end, self._audio.size * 3 // 2), dtype=np.float32)
            bigger[: self._filled] = self._audio[: self._filled]
            self._audio = bigger
        self._audio[self._filled : end] = samples
        self._filled = end

    def samples(self) -> np.ndarray:
        """The samples gathered; (n,) float32, resized in place (no second copy)."""
        self._audio.resize(self._filled, refcheck=False)
        return self._audio


def _check_complete(
    path: str | os.PathLike, media: Path, audio_end_s: float, declared_s: float | None, probe_lines: list[str]
) -> None:
    """MediaError when the file's data ends well before the end its container declares
    (TRUNCATION_MIN_S, TRUNCATION_FRACTION): a cut-off download, not an audio stream that
    is shorter than the video (whose data then runs on)."""
    if declared_s is None:
        return
    end_s = declared_s - max(0.0, _container_start_s(probe_lines))  # on the player's clock
    slack_s = max(TRUNCATION_MIN_S, TRUNCATION_FRACTION * end_s)
    if end_s - audio_end_s <= slack_s:
        return
    if _has_video(probe_lines) and (_video_data_end_s(media) or 0.0) - audio_end_s > slack_s:
        return  # the video runs on: the audio is just shorter
    raise MediaError(
        f"{quoted(path)} is truncated or damaged: only {audio_end_s:.1f} s of its {end_s:.1f} s of audio decode"
    )


def _first_sample_s(media: Path, track: int) -> float | None:
    """The time stamp of the stream's first decoded sample, on the container's own clock
    (seconds, as its demuxer gives it: edit lists and stream delays applied, priming
    samples still in); None when ffmpeg gives none (the decode then says why)."""
    command = [
        ffmpeg_binary(),
        "-nostdin",
        "-hide_banner",
        "-copyts",
        "-i",
        str(media),
        "-map",
        f"0:a:{track}",
        "-af",
        "ashowinfo",
        "-frames:a",
        "1",
        "-f",
        "null",
        "-",
    ]
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _FIRST_PTS_RE.search(done.stderr.decode("utf-8", "replace"))
    return float(match[1]) if match else None


def _container_start_s(probe_lines: list[str]) -> float:
    """The container's start (seconds; 0.0 when ``ffmpeg -i`` gives none): ffmpeg's
    time 0 for every stream it decodes."""
    for line in probe_lines:
        match = _START_RE.match(line)
        if match:
            return float(match[1])
    return 0.0


def _has_video(probe_lines: list[str]) -> bool:
    """Does the file hold a video stream (cover art aside)?"""
    return any(_VIDEO_STREAM_RE.match(line) for line in probe_lines)


def _video_data_end_s(media: Path) -> float | None:
    """Where the first video stream's data ends on the player's clock (seconds), read by
    demuxing it without decoding; None when ffmpeg says nothing."""
    command = [
        ffmpeg_binary(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        str(media),
        "-map",
        "0:v:0",
        "-c",
        "copy",
        "-f",
        "null",
        "-progress",
        "pipe:1",
        "-nostats",
        "-",
    ]
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=EXTRACT_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    times = [int(m[1]) for m in map(_OUT_TIME_RE.match, done.stdout.decode("ascii", "replace").splitlines()) if m]
    return times[-1] / 1e6 if times else None


def media_duration_s(path: str | os.PathLike) -> float | None:
    """The duration ``path``'s container declares (None when it declares none, or the
    file cannot be read): what sizes a worker's memory before its audio is decoded."""
    try:
        return _declared_duration_s(_probe_stderr(_existing_file(path)))
    except MediaError:
        return None


def _declared_duration_s(probe_lines: list[str]) -> float | None:
    """The container's duration from ``ffmpeg -i``; None when absent or only estimated."""
    if any("Estimating duration from bitrate" in line for line in probe_lines):
        return None
    for line in probe_lines:
        match = _DURATION_RE.match(line)
        if match:
            hours, minutes, seconds = match.groups()
            return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return None


def _existing_file(path: str | os.PathLike) -> Path:
    media = Path(path)
    if not media.exists():
        raise MediaError(f"media file not found: {quoted(path)}")
    if media.is_dir():
        raise MediaError(f"{quoted(path)} is a directory, not a media file")
    if not regular_file(media):  # a FIFO or a device: ffmpeg would wait on it for ever
        raise MediaError(f"{quoted(path)} is not a regular file (a pipe or a device); give a media file")
    # Absolute, so that ffmpeg never reads "name:rest" as a protocol prefix.
    return media.absolute()


def _decode_command(media: Path, track: int, from_s: float | None = None, length_s: float | None = None) -> list[str]:
    """ffmpeg decoding audio stream ``track`` of ``media`` to s16le on stdout; ``from_s``:
    from that time stamp of the container on (an input seek: fast, and sample-exact, as
    ffmpeg decodes from the packet before and trims); ``length_s``: only that much of it."""
    where: dict[str, object] = {} if from_s is None else {"seek_timestamp": 1, "ss": f"{from_s:.6f}"}
    if length_s is not None:
        where["t"] = f"{length_s:.6f}"
    stream = ffmpeg.input(str(media), **where).output(
        "pipe:",
        format="s16le",
        acodec="pcm_s16le",
        ac=1,
        ar=SAMPLE_RATE_HZ,
        map=f"0:a:{track}",
        vn=None,
        sn=None,
        dn=None,
    )
    stream = stream.global_args("-nostdin", "-hide_banner", "-loglevel", "error")
    return stream.compile(cmd=ffmpeg_binary())


def _decode(
    media: Path,
    track: int,
    consume: Callable[[np.ndarray], None],
    lead: int = 0,
    from_s: float | None = None,
    length_s: float | None = None,
) -> tuple[int, list[str]]:
    """Run ffmpeg (from ``from_s``, ``length_s`` of it: _decode_command), handing ``consume``
    its samples read by read, the first decoded sample at index ``lead`` (silence before it;
    when negative, the first -lead samples dropped); returns (samples handed over, stderr lines)."""
    command = _decode_command(media, track, from_s, length_s)
    # stderr goes to a file so a chatty decoder can never block on a full pipe.
    with tempfile.TemporaryFile() as stderr_file:
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr_file,
            )
        except OSError as exc:
            raise MediaError(f"could not run ffmpeg on {quoted(media)}: {_one_line(str(exc))}") from None
        assert process.stdout is not None  # (stdout=PIPE)
        _widen(process.stdout)
        try:
            n_samples = _read_samples(process.stdout, consume, lead)
        except BaseException:  # e.g. KeyboardInterrupt: do not leave ffmpeg running
            process.kill()
            raise
        finally:
            process.stdout.close()
            process.wait()
        stderr_file.seek(0)
        stderr_lines = _ffmpeg_lines(stderr_file.read(), media)
    return n_samples, stderr_lines


def _widen(pipe: IO[bytes]) -> None:
    """Give ``pipe`` a buffer of READ_CHUNK_BYTES where the system allows (Linux: 64 KiB by
    default, and ffmpeg then waits on every 2 s of audio it writes); elsewhere nothing."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is not None:
        with contextlib.suppress(OSError):  # (above /proc/sys/fs/pipe-max-size: the default stays)
            fcntl.fcntl(pipe.fileno(), set_size, READ_CHUNK_BYTES)


def _read_samples(pipe: IO[bytes], consume: Callable[[np.ndarray], None], lead: int = 0) -> int:
    """Every sample from `pipe` (s16le) handed to ``consume`` as float32 in [-1, 1), read
    by read ((m,) each), after ``lead`` samples of silence (when negative, the first -lead
    samples dropped); returns how many were handed over.  A thread reads the pipe while
    ``consume`` works (the speech activity's FFTs), so that ffmpeg decodes on meanwhile
    instead of waiting on a full pipe."""
    handed = max(0, lead)
    if handed:
        consume(np.zeros(handed, dtype=np.float32))
    skip_bytes = max(0, -lead) * BYTES_PER_SAMPLE
    leftover = b""
    with contextlib.closing(_pumped(pipe)) as blocks:  # (closed: its thread ends, however this ends)
        for block in blocks:
            if skip_bytes:
                dropped = min(skip_bytes, len(block))
                block, skip_bytes = block[dropped:], skip_bytes - dropped
            block = leftover + block if leftover else block
            usable = len(block) - len(block) % BYTES_PER_SAMPLE
            leftover = block[usable:]
            if usable:
                samples = np.frombuffer(block, dtype=SAMPLE_DTYPE, count=usable // BYTES_PER_SAMPLE)  # (m,) int16
                consume(np.multiply(samples, np.float32(1.0 / INT16_FULL_SCALE), dtype=np.float32))
                handed += samples.size
    return handed


def _pumped(pipe: IO[bytes]) -> Generator[bytes, None, None]:
    """The reads of ``pipe`` (READ_CHUNK_BYTES each), read ahead by a thread into a queue of
    at most PUMP_READS_AHEAD; the thread ends with the pipe (closed by the caller on an error)."""
    reads: queue.Queue[bytes | BaseException] = queue.Queue(PUMP_READS_AHEAD)
    abandoned = threading.Event()  # (set when the reader stops listening: the thread then ends)

    def put(item: bytes | BaseException) -> None:
        while not abandoned.is_set():
            with contextlib.suppress(queue.Full):
                reads.put(item, timeout=PUMP_WAIT_S)
                return

    def pump() -> None:
        try:
            while block := pipe.read(READ_CHUNK_BYTES):
                put(block)
            put(b"")
        except BaseException as exc:  # (a closed pipe: the reader has stopped listening)
            put(exc)

    threading.Thread(target=pump, name="subsync-decode", daemon=True).start()
    try:
        while True:
            block = reads.get()
            if isinstance(block, BaseException):
                raise block
            if not block:
                return
            yield block
    finally:
        abandoned.set()


# ---------------------------------------------------------------- clips (windows decoded alone)

CLIP_WORKERS = 2  # ffmpeg processes decoding clips at once (prefetch)


class Clips:
    """Stretches of one audio stream, each decoded alone by an ffmpeg input seek (not the
    whole file again); on the player's clock, as load_audio places them, given what
    stream_audio found (``decoded``).  ``prefetch`` starts decoding the spans about to
    be asked for, CLIP_WORKERS at a time, while the caller works; ``close`` ends that."""

    def __init__(self, path: str | os.PathLike, audio_track: int | None, decoded: Decoded) -> None:
        self._media = _existing_file(path)
        self._track = 0 if audio_track is None else audio_track
        self._decoded = decoded
        self._pending: dict[tuple[float, float], Future] = {}
        self._pool: ThreadPoolExecutor | None = None

    def clip(self, start_s: float, end_s: float) -> np.ndarray:
        """The samples of [start_s, end_s) (core.sound.sample_range); (n,) float32."""
        pending = self._pending.pop((start_s, end_s), None)
        return pending.result() if pending is not None else self._decode(start_s, end_s)

    def prefetch(self, spans: Sequence[tuple[float, float]]) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(CLIP_WORKERS, thread_name_prefix="subsync-clip")
        for span in spans:
            if span not in self._pending:
                self._pending[span] = self._pool.submit(self._decode, *span)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool, self._pending = None, {}

    def _decode(self, start_s: float, end_s: float) -> np.ndarray:
        first, last = sample_range(start_s, end_s, self._decoded.n_samples)
        lead = self._decoded.lead
        # Player sample k is decoded sample k - lead: silence before the first decoded one.
        from_decoded = max(first, lead)
        out = np.zeros(last - first, dtype=np.float32)
        if last <= from_decoded:
            return out
        preroll = min(CLIP_PREROLL_SAMPLES, from_decoded - max(lead, 0))
        buffer = _Buffer()
        _decode_from(self._media, self._track, buffer.append, self._decoded.origin_s, from_decoded, last, preroll)
        got = buffer.samples()[: last - from_decoded]
        out[from_decoded - first : from_decoded - first + got.size] = got
        return out


def _decode_failure(
    path: str | os.PathLike, media: Path, track: int, stderr_lines: list[str], n_samples: int
) -> MediaError:
    """The most specific error for a decode that produced (almost) no audio."""
    probe_lines = _probe_stderr(media)
    if not _input_opened(probe_lines):
        return MediaError(f"could not decode audio from {quoted(path)}: {_last_message(probe_lines, media)}")
    tracks = _parse_audio_tracks(probe_lines)
    if not tracks:
        return MediaError(f"{quoted(path)} has no audio stream")
    if track >= len(tracks):
        return MediaError(f"{quoted(path)} has no audio track {track} (it has {len(tracks)})")
    reason = (
        _last_message(stderr_lines, media)
        if stderr_lines
        else (f"only {n_samples / SAMPLE_RATE_HZ * 1000:.0f} ms of audio decoded")
    )
    return MediaError(f"could not decode audio from {quoted(path)}: {reason}")


def _last_message(stderr_lines: list[str], media: Path) -> str:
    """ffmpeg's final complaint, without "<file>: " and "[demuxer @ 0x...] " prefixes.

    ffmpeg often ends with a terse "<file>: Invalid argument"; the line before it
    then says what actually went wrong, so both are kept.
    """
    meaningful = [
        _LOG_CONTEXT_RE.sub("", line).strip()
        for line in stderr_lines
        if line.strip() and not line.startswith("At least one output file")
    ]
    if not meaningful:
        return "ffmpeg reported no error"
    prefix = f"{quoted(media)}: "
    message = meaningful[-1]
    if message.startswith(prefix):
        message = message[len(prefix) :]
        if len(meaningful) > 1 and not meaningful[-2].startswith(prefix):
            message = f"{meaningful[-2]} ({message})"
    return _one_line(message)


def _one_line(text: str) -> str:
    return " ".join(text.split())
