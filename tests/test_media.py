"""subsync.media against real files made by ffmpeg (and the wave module) in a temporary folder."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import ffmpeg
from subsync import media
from subsync.core.activity import SAMPLE_RATE_HZ
from subsync.errors import MediaError
from subsync.media import AudioTrack, audio_tracks, ffmpeg_binary, load_audio, pick_audio_track

TONE_S = 2.0
TONE_HZ = 440


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media")
    made = {
        name: folder / name
        for name in (
            "tone.wav",
            "movie.mp4",
            "movie.mkv",
            "silent_video.mp4",
            "not_media.mp4",
            "full.mp3",
            "truncated.mp3",
            "tiny_truncated.mp3",
            "two_tracks.mkv",
            "empty.wav",
        )
    }
    _make_tone_wav(made["tone.wav"])
    video = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1.5"]
    audio = ["-f", "lavfi", "-i", "sine=frequency=300:sample_rate=44100:duration=1.5"]
    ffmpeg(*video, *audio, "-c:v mpeg4 -c:a aac -shortest", made["movie.mp4"])
    ffmpeg(*video, *audio, "-c:v mpeg4 -c:a libvorbis", made["movie.mkv"])
    ffmpeg(*video, "-c:v mpeg4", made["silent_video.mp4"])
    made["not_media.mp4"].write_text("this is a text file, not a video\n" * 20)
    ffmpeg("-f lavfi -i sine=frequency=500:duration=8 -ac 2 -b:a 128k", made["full.mp3"])
    whole = made["full.mp3"].read_bytes()
    made["truncated.mp3"].write_bytes(whole[: len(whole) // 2])
    made["tiny_truncated.mp3"].write_bytes(whole[:600])
    ffmpeg(
        *video,
        "-f lavfi -i sine=frequency=300:duration=1.5 -f lavfi -i anoisesrc=duration=2.5:amplitude=0.5 -map 0:v -map 1:a -map 2:a -c:v mpeg4 -c:a flac -metadata:s:a:0 language=eng -metadata:s:a:1 language=fre",
        made["two_tracks.mkv"],
    )
    ffmpeg("-f lavfi -i sine=duration=0.01", made["empty.wav"])
    return made


def _make_tone_wav(path: Path, rate_hz: int = 44100, amplitude: float = 0.5) -> None:
    """A stereo 16-bit WAV of a TONE_HZ sine at ``amplitude``, written with the standard
    library (no tool the machine may lack: ffmpeg's own sine source is fixed at 1/8)."""
    import wave

    t = np.arange(int(TONE_S * rate_hz)) / rate_hz
    tone = np.round(amplitude * 32767 * np.sin(2 * np.pi * TONE_HZ * t)).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(2)
        f.setsampwidth(2)
        f.setframerate(rate_hz)
        f.writeframes(np.repeat(tone, 2).tobytes())


def _assert_one_line_error(excinfo: pytest.ExceptionInfo, *fragments: str) -> None:
    message = str(excinfo.value)
    assert "\n" not in message and message.strip() == message and message
    for fragment in fragments:
        assert fragment in message, message


# ---------------------------------------------------------------- decoding


def test_wav_is_decoded_to_16k_mono_float(files):
    audio = load_audio(files["tone.wav"])
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size - TONE_S * SAMPLE_RATE_HZ) <= 2
    assert 0.3 < np.abs(audio).max() <= 1.0
    spectrum = np.abs(np.fft.rfft(audio))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE_HZ / audio.size
    assert abs(peak_hz - TONE_HZ) < 2


@pytest.mark.parametrize("name", ["movie.mp4", "movie.mkv"])
def test_video_container_audio(files, name):
    audio = load_audio(files[name])
    assert abs(audio.size / SAMPLE_RATE_HZ - 1.5) < 0.1
    assert np.abs(audio).max() > 0.1


def test_accepts_str_path(files):
    assert load_audio(str(files["tone.wav"])).size > 0


def test_track_selection(files):
    first = load_audio(files["two_tracks.mkv"], audio_track=0)
    second = load_audio(files["two_tracks.mkv"], audio_track=1)
    default = load_audio(files["two_tracks.mkv"])
    assert abs(first.size / SAMPLE_RATE_HZ - 1.5) < 0.05
    assert abs(second.size / SAMPLE_RATE_HZ - 2.5) < 0.05
    assert np.array_equal(first, default)


@pytest.mark.parametrize(
    "wanted, index",
    [
        ("eng", 0),
        ("en", 0),
        ("fr", 1),
        ("fra", 1),
        ("FRE", 1),
        ("1", 1),
        (1, 1),
        (None, None),
    ],
)
def test_audio_track_by_number_or_language_tag(files, wanted, index):
    assert pick_audio_track(files["two_tracks.mkv"], wanted) == index


def test_audio_track_language_that_is_not_there(files):
    with pytest.raises(MediaError, match=r"no audio track of .* is tagged 'de' \(audio tracks: 0 eng, 1 fre\)"):
        pick_audio_track(files["two_tracks.mkv"], "de")


def test_audio_tracks_lists_streams(files):
    tracks = audio_tracks(files["two_tracks.mkv"])
    assert [(t.index, t.language) for t in tracks] == [(0, "eng"), (1, "fre")]
    assert all(isinstance(t, AudioTrack) and t.codec.startswith("flac") for t in tracks)
    assert audio_tracks(files["silent_video.mp4"]) == []
    assert audio_tracks(files["movie.mp4"])[0].language is None  # "und" in mp4


def test_truncated_file_is_one_line_error(files):
    assert load_audio(files["full.mp3"]).size > 0
    with pytest.raises(MediaError) as excinfo:
        load_audio(files["truncated.mp3"])
    _assert_one_line_error(excinfo, "truncated.mp3 is truncated or damaged")


# ---------------------------------------------------------------- errors


def test_missing_file(tmp_path):
    with pytest.raises(MediaError) as excinfo:
        load_audio(tmp_path / "nope.mkv")
    _assert_one_line_error(excinfo, "nope.mkv", "not found")


def test_directory(tmp_path):
    with pytest.raises(MediaError) as excinfo:
        load_audio(tmp_path)
    _assert_one_line_error(excinfo, str(tmp_path), "directory")


def test_not_a_media_file(files):
    with pytest.raises(MediaError) as excinfo:
        load_audio(files["not_media.mp4"])
    _assert_one_line_error(excinfo, "could not decode audio from", "not_media.mp4")
    with pytest.raises(MediaError):
        audio_tracks(files["not_media.mp4"])


def test_video_without_audio(files):
    with pytest.raises(MediaError) as excinfo:
        load_audio(files["silent_video.mp4"])
    _assert_one_line_error(excinfo, "silent_video.mp4 has no audio stream")


def test_audio_track_out_of_range(files):
    with pytest.raises(MediaError) as excinfo:
        load_audio(files["two_tracks.mkv"], audio_track=2)
    _assert_one_line_error(excinfo, "two_tracks.mkv has no audio track 2 (it has 2)")
    with pytest.raises(MediaError):
        load_audio(files["two_tracks.mkv"], audio_track=-1)


@pytest.mark.parametrize("name", ["tiny_truncated.mp3", "empty.wav"])
def test_too_little_audio(files, name):
    with pytest.raises(MediaError) as excinfo:
        load_audio(files[name])
    _assert_one_line_error(excinfo, "could not decode audio from", name)


# ---------------------------------------------------------------- binary lookup


def test_ffmpeg_binary_falls_back_to_imageio(monkeypatch):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    monkeypatch.delenv(media.FFMPEG_ENV_VAR, raising=False)
    monkeypatch.setenv("PATH", "")
    assert shutil.which("ffmpeg") is None
    assert ffmpeg_binary() == imageio_ffmpeg.get_ffmpeg_exe()


def test_ffmpeg_binary_prefers_path(monkeypatch):
    monkeypatch.delenv(media.FFMPEG_ENV_VAR, raising=False)
    monkeypatch.setattr(media.shutil, "which", lambda name: "/opt/bin/ffmpeg" if name == "ffmpeg" else None)
    assert ffmpeg_binary() == "/opt/bin/ffmpeg"


def test_ffmpeg_binary_env_override(monkeypatch, tmp_path):
    fake = tmp_path / "my-ffmpeg"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv(media.FFMPEG_ENV_VAR, str(fake))
    assert ffmpeg_binary() == str(fake)
    monkeypatch.setenv(media.FFMPEG_ENV_VAR, str(tmp_path / "missing"))
    with pytest.raises(MediaError) as excinfo:
        ffmpeg_binary()
    _assert_one_line_error(excinfo, media.FFMPEG_ENV_VAR)


def test_ffmpeg_binary_missing_everywhere(monkeypatch):
    monkeypatch.delenv(media.FFMPEG_ENV_VAR, raising=False)
    monkeypatch.setattr(media.shutil, "which", lambda name: None)

    def no_binary() -> str:
        raise RuntimeError("No ffmpeg exe could be found")

    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", no_binary)
    with pytest.raises(MediaError) as excinfo:
        ffmpeg_binary()
    _assert_one_line_error(excinfo, "ffmpeg not found")


def test_decodes_with_imageio_binary(files, monkeypatch):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    monkeypatch.setenv(media.FFMPEG_ENV_VAR, imageio_ffmpeg.get_ffmpeg_exe())
    audio = load_audio(files["two_tracks.mkv"], audio_track=1)
    assert abs(audio.size / SAMPLE_RATE_HZ - 2.5) < 0.05
    with pytest.raises(MediaError) as excinfo:
        load_audio(files["two_tracks.mkv"], audio_track=5)
    _assert_one_line_error(excinfo, "has no audio track 5 (it has 2)")


# ---------------------------------------------------------------- the player's clock

BEEP_AT_S = 5.0  # the beep in the source audio starts here
CLOCK_TOLERANCE_S = 0.03  # one AAC frame (23 ms) and a video frame's rounding


@pytest.fixture(scope="module")
def timelines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files laid out as remuxed releases come: an audio stream delayed in the container
    (-itsoffset, mkv and mp4), a stream-copy cut whose edit list starts the film at 3.3 s,
    audio shorter than the video, audio-only files that start late (MPEG-TS, m4a), and a
    cut-off download."""
    folder = tmp_path_factory.mktemp("timelines")
    beep = folder / "beep.wav"
    ffmpeg(
        "-f lavfi -i",
        f"aevalsrc='if(between(t,{BEEP_AT_S},{BEEP_AT_S + 0.2}),0.5*sin(2*PI*1000*t),0)':s=44100:d=10",
        beep,
    )
    black = ["-f", "lavfi", "-i", "color=black:s=64x48:r=25:d=12"]
    made = {}
    for container in ("mkv", "mp4"):
        made[f"delayed.{container}"] = folder / f"delayed.{container}"
        ffmpeg(*black, "-itsoffset 2.5 -i", beep, "-map 0:v -map 1:a -c:v mpeg4 -c:a aac", made[f"delayed.{container}"])
    made["source.mp4"] = folder / "source.mp4"
    ffmpeg(*black, "-i", beep, "-map 0:v -map 1:a -c:v mpeg4 -g 5 -c:a aac", made["source.mp4"])
    made["cut.mp4"] = folder / "cut.mp4"
    ffmpeg("-ss 3.3 -i", made["source.mp4"], "-c copy", made["cut.mp4"])
    made["short_audio.mkv"] = folder / "short_audio.mkv"
    ffmpeg(
        "-f lavfi -i color=black:s=64x48:r=25:d=40 -i",
        beep,
        "-map 0:v -map 1:a -c:v mpeg4 -c:a aac",
        made["short_audio.mkv"],
    )
    made["late.ts"] = folder / "late.ts"
    ffmpeg("-i", beep, "-c:a mp2 -f mpegts", made["late.ts"])
    made["late.m4a"] = folder / "late.m4a"
    ffmpeg("-itsoffset 4 -i", beep, "-c:a aac", made["late.m4a"])
    long_video = folder / "long.mkv"
    ffmpeg(
        "-f lavfi -i color=black:s=64x48:r=25:d=40 -f lavfi -i sine=duration=40 -map 0:v -map 1:a -c:v mpeg4 -c:a aac",
        long_video,
    )
    made["truncated.mkv"] = folder / "truncated.mkv"
    whole = long_video.read_bytes()
    made["truncated.mkv"].write_bytes(whole[: len(whole) // 2])
    return made


def _beep_s(audio: np.ndarray) -> float:
    return float(np.flatnonzero(np.abs(audio) > 0.05)[0] / SAMPLE_RATE_HZ)


@pytest.mark.parametrize(
    "name, beep_s",
    [
        ("delayed.mkv", BEEP_AT_S + 2.5),  # the audio stream starts 2.5 s into the film
        ("delayed.mp4", BEEP_AT_S + 2.5),
        ("cut.mp4", BEEP_AT_S - 3.3),  # the edit list starts the film at the source's 3.3 s
        ("short_audio.mkv", BEEP_AT_S),
        ("late.ts", BEEP_AT_S),  # audio only: the container starts where it does (1.4 s)
        ("late.m4a", BEEP_AT_S),
    ],
)
def test_audio_is_placed_on_the_players_clock(timelines, name, beep_s):
    audio = load_audio(timelines[name])
    assert _beep_s(audio) == pytest.approx(beep_s, abs=CLOCK_TOLERANCE_S)


def test_audio_shorter_than_its_video_is_no_damage_and_a_cut_off_file_is(timelines):
    assert load_audio(timelines["short_audio.mkv"]).size / SAMPLE_RATE_HZ == pytest.approx(10.0, abs=0.1)
    with pytest.raises(MediaError) as excinfo:
        load_audio(timelines["truncated.mkv"])
    _assert_one_line_error(excinfo, "truncated.mkv is truncated or damaged")


def test_a_late_stream_is_preceded_by_silence_and_keeps_every_sample(tmp_path):
    """Lossless 16 kHz audio delayed 0.25 s in an mkv whose video starts at 0: exactly 4000
    samples of silence, then the stream's own samples, each one, unchanged.  (The other
    way, samples before the film's start dropped, is the cut mp4 above.)"""
    import wave

    source = tmp_path / "noise.wav"
    samples = (np.random.default_rng(0).uniform(-0.5, 0.5, 3 * SAMPLE_RATE_HZ) * 32767).astype("<i2")
    with wave.open(str(source), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE_HZ)
        f.writeframes(samples.tobytes())
    delayed = tmp_path / "delayed.mkv"
    ffmpeg(
        "-f lavfi -i color=black:s=64x48:r=25:d=4 -itsoffset 0.25 -i",
        source,
        "-map 0:v -map 1:a -c:v mpeg4 -c:a flac",
        delayed,
    )
    audio = load_audio(delayed)
    lead = SAMPLE_RATE_HZ // 4
    assert not audio[:lead].any()
    np.testing.assert_array_equal(audio[lead:], load_audio(source))
    assert np.abs(audio[lead:] - samples / 32768).max() <= 1 / 32768
    # Decoded alone by a seek, a stretch is the same samples: silence, then the stream's.
    decoded = media.stream_audio(delayed, None, lambda samples: None)
    assert (decoded.n_samples, decoded.lead) == (audio.size, lead)
    clips = media.Clips(delayed, None, decoded)
    for start_s, end_s in [(0.0, 1.0), (0.2, 0.3), (1.37, 2.91), (2.5, 9.0), (4.0, 5.0)]:
        first, last = media.sample_range(start_s, end_s, audio.size)
        np.testing.assert_array_equal(clips.clip(start_s, end_s), audio[first:last])


def test_the_samples_streamed_are_the_samples_loaded(timelines):
    """stream_audio hands over, read by read, exactly what load_audio returns."""
    for name in ("delayed.mkv", "cut.mp4", "late.ts"):
        pieces: list[np.ndarray] = []
        decoded = media.stream_audio(timelines[name], None, pieces.append)
        whole = load_audio(timelines[name])
        np.testing.assert_array_equal(np.concatenate(pieces), whole)
        assert decoded.n_samples == whole.size
    with pytest.raises(MediaError, match=r"truncated\.mkv is truncated or damaged"):
        media.stream_audio(timelines["truncated.mkv"], None, lambda samples: None)


CLIP_SHIFT_S = 0.001  # a lossy stream's clip may start this far from the whole decode's sample
# (the container's time stamps are in milliseconds; measured: 3-9 samples at 16 kHz)


@pytest.mark.parametrize(
    "name, beep_s",
    [
        ("delayed.mkv", BEEP_AT_S + 2.5),
        ("delayed.mp4", BEEP_AT_S + 2.5),
        ("cut.mp4", BEEP_AT_S - 3.3),
        ("late.ts", BEEP_AT_S),
        ("late.m4a", BEEP_AT_S),
    ],
)
def test_a_clip_decoded_alone_is_on_the_players_clock(timelines, name, beep_s):
    """Windows are decoded alone (ffmpeg seeks), not sliced out of a whole decode: the beep
    is where the whole decode has it, to the millisecond; a clip from before the stream
    starts is silence up to it; a clip past the end is cut there."""
    whole = load_audio(timelines[name])
    clips = media.Clips(timelines[name], None, media.stream_audio(timelines[name], None, lambda samples: None))
    start_s = beep_s - 1.3
    clip = clips.clip(start_s, beep_s + 0.7)
    first, last = media.sample_range(start_s, beep_s + 0.7, whole.size)
    assert clip.size == last - first
    assert start_s + _beep_s(clip) == pytest.approx(_beep_s(whole), abs=CLIP_SHIFT_S)
    head = clips.clip(0.0, 2.0)
    silent = int(np.flatnonzero(whole)[0]) if whole.any() else whole.size
    assert not head[: min(silent, head.size)].any()
    end_s = whole.size / SAMPLE_RATE_HZ
    assert (
        clips.clip(end_s - 0.5, end_s + 3.0).size == whole.size - media.sample_range(end_s - 0.5, end_s, whole.size)[0]
    )
    clips.prefetch([(1.0, 2.0), (start_s, beep_s + 0.7)])
    np.testing.assert_array_equal(clips.clip(start_s, beep_s + 0.7), clip)  # (the prefetched one)
    clips.close()


def _track(index, language=None, default=False):
    return AudioTrack(index, language, "aac", default)


@pytest.mark.parametrize(
    "tracks, language, index, reason",
    [
        ([_track(0, "fre", True), _track(1, "eng")], "en", 1, media.TrackReason.LANGUAGE),
        ([_track(0, "fre", True), _track(1, "eng")], "pt-BR", 0, media.TrackReason.DEFAULT),
        ([_track(0, "fre"), _track(1, "ger", True)], None, 1, media.TrackReason.DEFAULT),
        ([_track(0, "fre"), _track(1, "ger")], "ja", 0, media.TrackReason.FIRST),
        ([_track(0, "jpn"), _track(1, "eng"), _track(2, "eng")], "eng", 1, media.TrackReason.LANGUAGE),
        ([_track(0, "jpn")], "en", 0, media.TrackReason.ONLY),
    ],
)
def test_the_track_chosen_when_none_is_given(tracks, language, index, reason):
    track, why = media.choose_audio_track(tracks, language)
    assert (track.index, why) == (index, reason)
    assert media.choose_audio_track([], "en") == (None, media.TrackReason.ONLY)


def test_the_default_disposition_is_read(files):
    assert [t.default for t in audio_tracks(files["two_tracks.mkv"])] == [True, False]


def test_subtitle_streams_are_read_with_their_kind_and_dispositions():
    lines = [
        "  Stream #0:2(eng): Subtitle: subrip (default)",
        "  Stream #0:3(eng): Subtitle: ass (forced)",
        "  Stream #0:4(fre): Subtitle: webvtt (hearing impaired)",
        "  Stream #0:5[0x1200](eng): Subtitle: hdmv_pgs_subtitle ([144][0][0][0] / 0x0090), 1920x1080",
        "  Stream #0:6(und): Subtitle: dvd_subtitle (dvdsub), 720x576",
        "  Stream #0:7[0x3](und): Subtitle: mov_text (tx3g / 0x67337874), 0 kb/s (default)",
        "  Stream #0:1(eng): Audio: aac (LC), 48000 Hz, stereo, fltp",
    ]
    streams = media.parse_subtitle_streams(lines)
    assert [(s.index, s.language, s.codec, s.is_text, s.kind) for s in streams] == [
        (0, "eng", "subrip", True, "srt"),
        (1, "eng", "ass", True, "ass"),
        (2, "fre", "webvtt", True, "vtt"),
        (3, "eng", "hdmv_pgs_subtitle", False, "srt"),
        (4, None, "dvd_subtitle", False, "srt"),
        (5, None, "mov_text", True, "srt"),
    ]
    assert [(s.default, s.forced, s.hearing_impaired) for s in streams[:3]] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]


def test_text_subtitle_streams_are_read_in_their_own_format(tmp_path):
    srt = tmp_path / "a.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello there\n\n2\n00:00:03,000 --> 00:00:04,000\nAgain\n")
    film = tmp_path / "subs.mkv"
    ffmpeg(
        "-f lavfi -i sine=duration=6 -i",
        srt,
        "-i",
        srt,
        "-map 0 -map 1 -map 2 -c:a flac -c:s:0 srt -c:s:1 ass -metadata:s:s:1 language=ger -disposition:s:1 forced",
        film,
    )
    streams = media.subtitle_streams(film)
    assert [(s.codec, s.language, s.forced) for s in streams] == [("subrip", None, False), ("ass", "ger", True)]
    for stream in streams:
        document = media.extract_subtitle_document(film, stream.index, stream.kind)
        assert document.format == stream.kind
        assert [(round(c.start_s, 2), c.text) for c in document.cues] == [(1.0, "Hello there"), (3.0, "Again")]


# ---------------------------------------------------------------- a long track decoded in parts

LONG_S = 150.0  # with PART_MIN_S at 30 s and parts aligned to 60 s: three parts, seams at 60 and 120 s


@pytest.fixture(scope="module")
def long_tracks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """150 s of noise bursts under a still video: FLAC in Matroska (lossless: a seek decodes
    the same samples) and AAC in MP4 at 44.1 kHz (lossy: its noise substitution is drawn
    afresh after a seek), the noise in a WAV (no index to seek by), the FLAC delayed 0.25 s in
    its container, and the FLAC cut off at 60 % of its bytes."""
    folder = tmp_path_factory.mktemp("long")
    video = f"-f lavfi -i color=c=black:s=64x48:r=1:d={LONG_S:g}"
    noise = (
        f"-f lavfi -i anoisesrc=duration={LONG_S:g}:amplitude=0.3:seed=3,volume='0.2+0.8*gt(mod(t,3.7),1.9)':eval=frame"
    )
    made = {name: folder / name for name in ("flac.mkv", "aac.mp4", "pcm.wav", "delayed.mkv", "truncated.mkv")}
    ffmpeg(video, noise, "-map 0:v -map 1:a -c:v mpeg4 -c:a flac -ar 48000 -ac 2", made["flac.mkv"])
    ffmpeg(video, noise, "-map 0:v -map 1:a -c:v mpeg4 -c:a aac -ar 44100 -ac 2", made["aac.mp4"])
    ffmpeg(noise, "-ar 48000 -ac 2", made["pcm.wav"])
    ffmpeg(video, "-itsoffset 0.25", noise, "-map 0:v -map 1:a -c:v mpeg4 -c:a flac", made["delayed.mkv"])
    whole = made["flac.mkv"].read_bytes()
    made["truncated.mkv"].write_bytes(whole[: len(whole) * 6 // 10])  # (a download cut off at 90 s)
    return made


def _decoded_in_parts(path: Path, align_s: float = 60.0) -> tuple[list[list[media.Part]], np.ndarray, media.Decoded]:
    """stream_audio_parts of ``path``: the parts of each call of ``start``, and the samples
    the last call's consumers were handed, each part's own [first, stop) joined."""
    calls: list[list[media.Part]] = []
    handed: list[list[np.ndarray]] = []

    def start(parts):
        calls.append(list(parts))
        handed[:] = [[] for _ in parts]
        return [pieces.append for pieces in handed]

    decoded = media.stream_audio_parts(path, None, start, align_s)
    joined = []
    for part, pieces in zip(calls[-1], handed):
        samples = np.concatenate(pieces)
        joined.append(samples[part.first - part.origin : None if part.stop is None else part.stop - part.origin])
    return calls, np.concatenate(joined), decoded


def test_a_long_track_decoded_in_parts_joins_to_the_sample(long_tracks, monkeypatch):
    """A long track in an indexed container is decoded by several ffmpegs at once, cut at
    multiples of the alignment asked for; the parts' samples join without a gap or an
    overlap: a lossless stream's are the whole decode's to the bit, a lossy one's the same
    count, the same but for the frames whose noise its decoder draws afresh after a seek."""
    monkeypatch.setattr(media, "PART_MIN_S", 30.0)
    calls, joined, decoded = _decoded_in_parts(long_tracks["flac.mkv"])
    rate = SAMPLE_RATE_HZ
    assert calls == [
        [
            media.Part(0, 60 * rate, 0),
            media.Part(60 * rate, 120 * rate, 59 * rate),
            media.Part(120 * rate, None, 119 * rate),
        ]
    ]
    whole = load_audio(long_tracks["flac.mkv"])
    np.testing.assert_array_equal(joined, whole)
    assert (decoded.n_samples, decoded.lead) == (whole.size, 0)

    calls, joined, decoded = _decoded_in_parts(long_tracks["aac.mp4"])
    whole = load_audio(long_tracks["aac.mp4"])
    assert len(calls) == 1 and len(calls[0]) == 3  # (the seams agreed: no second decode)
    assert joined.size == whole.size == decoded.n_samples
    assert np.mean(joined == whole) > 0.99


def test_a_track_that_cannot_be_decoded_in_parts_is_decoded_whole(long_tracks, monkeypatch):
    """One part for a container without an index (a WAV here; an mp3 seeks by its bitrate's
    estimate), for a track shorter than two parts, and, when two parts disagree where they
    meet (a seek that missed), the whole track again in one part: the consumers start
    afresh and get exactly what one decode gives."""
    monkeypatch.setattr(media, "PART_MIN_S", 30.0)
    calls, joined, _ = _decoded_in_parts(long_tracks["pcm.wav"])
    assert calls == [[media.Part(0, None, 0)]]
    np.testing.assert_array_equal(joined, load_audio(long_tracks["pcm.wav"]))
    monkeypatch.setattr(media, "PART_MIN_S", 80.0)
    calls, _, _ = _decoded_in_parts(long_tracks["flac.mkv"])
    assert calls == [[media.Part(0, None, 0)]]

    monkeypatch.setattr(media, "PART_MIN_S", 30.0)
    monkeypatch.setattr(media, "_seam_agrees", lambda before, after: False)
    calls, joined, decoded = _decoded_in_parts(long_tracks["aac.mp4"])
    assert [len(parts) for parts in calls] == [3, 1] and calls[1] == [media.Part(0, None, 0)]
    whole = load_audio(long_tracks["aac.mp4"])
    np.testing.assert_array_equal(joined, whole)
    assert decoded.n_samples == whole.size


def test_parts_agree_where_they_meet_only_on_the_same_sound():
    """The seam check: the same stretch within a millisecond's shift agrees; another
    stretch, sound against silence, silence against silence (nothing to tell), and a steady
    tone a period away (as alike there as anywhere) do not."""
    rng = np.random.default_rng(2)
    sound = (0.3 * rng.standard_normal(40000)).astype(np.float32)
    stretch = sound[1000:33000]
    assert media._seam_agrees(stretch, stretch.copy())
    assert media._seam_agrees(stretch, sound[1000 + 9 : 33000 + 9])  # 9 samples late
    assert media._seam_agrees(stretch, sound[1000 - 16 : 33000 - 16])
    assert not media._seam_agrees(stretch, sound[1000 + 40 : 33000 + 40])  # 2.5 ms: another placement
    assert not media._seam_agrees(stretch, sound[5000:37000])
    assert not media._seam_agrees(stretch, np.zeros_like(stretch))
    assert not media._seam_agrees(np.zeros_like(stretch), np.full_like(stretch, 1e-5))
    assert not media._seam_agrees(stretch, stretch[:-1])  # (a part that ended early)
    tone = (0.3 * np.sin(2 * np.pi * 500 * np.arange(40000) / SAMPLE_RATE_HZ)).astype(np.float32)
    assert not media._seam_agrees(tone[:32000], tone[:32000])  # (500 Hz: 32 samples a period)
    quiet = 0.001 * stretch  # (-70 dBFS room tone: still compared)
    assert media._seam_agrees(quiet, quiet.copy()) and not media._seam_agrees(quiet, 0.001 * sound[5000:37000])


def test_a_consumer_that_fails_stops_every_parts_decoder(long_tracks, monkeypatch):
    """An error in one part's consumer (or Ctrl-C while the parts decode) ends the other
    parts' decoders at once, not when they are done: the first part, held until the
    others have failed and been told to stop, is handed nothing more, and no ffmpeg is
    left running, nor a thread reading one (its queue of reads full meanwhile)."""
    monkeypatch.setattr(media, "PART_MIN_S", 30.0)
    monkeypatch.setattr(media, "usable_cores", lambda: 3)  # (every part decoding at once)
    monkeypatch.setattr(media, "PUMP_READS_AHEAD", 1)
    stops: list[threading.Event] = []
    feed = media._PartFeed

    class Recorded(feed):
        def __init__(self, part, consume, overlap, stopped):
            stops.append(stopped)
            super().__init__(part, consume, overlap, stopped)

    monkeypatch.setattr(media, "_PartFeed", Recorded)
    started, failed = threading.Event(), threading.Event()
    handed: list[int] = []

    class Refused(Exception):
        pass

    def first(samples):
        handed.append(samples.size)
        if len(handed) == 1:
            started.set()
            assert failed.wait(30) and stops[0].wait(30)

    def refuse(samples):
        assert started.wait(30)
        failed.set()
        raise Refused

    with pytest.raises(Refused):
        media.stream_audio_parts(long_tracks["flac.mkv"], None, lambda parts: [first, refuse, refuse], 60.0)
    assert len(handed) == 1  # (its 61 s of samples come in two reads at least)
    assert not _ffmpeg_children()
    for _ in range(50):  # (a reader sees within PUMP_WAIT_S that it is no longer wanted)
        if not any(thread.name == "subsync-decode" for thread in threading.enumerate()):
            break
        time.sleep(0.1)
    assert not any(thread.name == "subsync-decode" for thread in threading.enumerate())


def test_parts_keep_the_tracks_timeline_and_its_errors(long_tracks, monkeypatch):
    """Audio delayed in its container decodes in parts to the whole decode's samples (its
    lead of silence first); a cut-off download, and a track the file does not have, give
    the one decode's errors (the cut-off one after its parts fell short)."""
    monkeypatch.setattr(media, "PART_MIN_S", 30.0)
    calls, joined, decoded = _decoded_in_parts(long_tracks["delayed.mkv"])
    whole = load_audio(long_tracks["delayed.mkv"])
    assert len(calls) == 1 and len(calls[0]) == 3
    np.testing.assert_array_equal(joined, whole)
    assert decoded.lead == SAMPLE_RATE_HZ // 4 and not whole[: decoded.lead].any()

    with pytest.raises(MediaError) as one_part:
        media.stream_audio(long_tracks["truncated.mkv"], None, lambda samples: None)
    starts: list[list[media.Part]] = []

    def start(parts):
        starts.append(list(parts))
        return [lambda samples: None for _ in parts]

    with pytest.raises(MediaError) as in_parts:
        media.stream_audio_parts(long_tracks["truncated.mkv"], None, start, 60.0)
    assert str(in_parts.value) == str(one_part.value) and "truncated or damaged" in str(one_part.value)
    assert [len(parts) for parts in starts] == [3, 1]
    starts.clear()
    with pytest.raises(MediaError, match="has no audio track 1"):
        media.stream_audio_parts(long_tracks["flac.mkv"], 1, start, 60.0)
    assert starts == [[media.WHOLE]]


def _ffmpeg_children() -> list[int]:
    """The pids of this process's children that are ffmpeg (Linux's /proc)."""
    import os

    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            name = stat.read_text().split("(", 1)[1].rsplit(")", 1)[0]
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid() and "ffmpeg" in name:
            children.append(int(stat.parent.name))
    return children


def test_a_track_analysed_in_parts_has_the_activity_of_the_whole(long_tracks, monkeypatch):
    """analysis.analysed cuts a long track on its STFT's chunks (60 s), each part's levels
    computed from its own decode: the speech activity and the track's length are those of
    one decode of the whole, to the bit, where the parts' samples are (lossless audio)."""
    from subsync import analysis

    monkeypatch.setattr(media, "PART_MIN_S", 30.0)
    parts: list[int] = []
    decode = media._decode_parts
    monkeypatch.setattr(media, "_decode_parts", lambda *args: parts.append(len(args[2])) or decode(*args))
    in_parts = analysis.analysed(long_tracks["flac.mkv"], None, None)
    monkeypatch.setattr(media, "MAX_PARTS", 1)
    whole = analysis.analysed(long_tracks["flac.mkv"], None, None)
    assert parts == [3]
    np.testing.assert_array_equal(in_parts.speech, whole.speech)
    assert in_parts.decoded == whole.decoded
    assert whole.speech.mean() > 0.2  # (the bursts are heard as activity)
