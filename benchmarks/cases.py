"""Benchmark cases: the bench recordings with cue references, and film-like assemblies of them.

A clip case is a bench recording as it is, with its reference cues.  A film case is made
from those recordings: their reference cues are grouped into utterances (cut in the
pauses between cues), each utterance is levelled like film dialogue and laid on a
timeline of scenes with random pauses; scenes sit on a room-tone, noise or music bed,
and music-only interludes (titles, transitions) come between some of them.  The bed and
music are synthesised (seeded), so the whole file is free to use and its ground truth
is exact: every cue's time is where its utterance was placed.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from subsync.core.activity import SAMPLE_RATE_HZ
from subsync.media import ffmpeg_binary, load_audio
from subsync.subtitles import format_timestamp, read_srt

MIN_CLIP_S = 10.0  # shorter recordings cannot be synced alone (one or two cues)
# Cue references that do not mark where speech starts: kept as clip cases (reported
# apart), left out of the film cases, whose ground truth must be exact.
UNRELIABLE = {
    "wts_gloria": "Whisper-made cue times, lines up to 1 s off the speech",
    "swiss_parliament_de": "ASR-aligner cue starts about 130 ms before the speech",
}
UTTERANCE_GAP_S = 0.3  # a pause this long between cues may split utterances
CUT_MARGIN_S = 0.05  # audio kept around an utterance's cues, within the pause
DIALOGUE_RMS = 0.05  # about -26 dBFS: film dialogue level
BED_S = (40.0, 240.0)  # scene length range
PAUSE_S = (0.3, 6.0)  # pauses between utterances in a scene (log-uniform)
INTERLUDE_EVERY = 4  # on average one music-only interlude per this many scenes
INTERLUDE_S = (15.0, 75.0)
# Bed levels relative to the dialogue (dB): (low, high) per bed kind.
BED_DB = {"room": (-45.0, -35.0), "noise": (-28.0, -16.0), "music": (-22.0, -10.0)}
INTERLUDE_DB = (-4.0, 2.0)
OUTPUT_RATE = 48000  # film audio: 48 kHz stereo AAC


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # "clip" or "film"
    media: Path
    language: str
    duration_s: float
    starts_s: np.ndarray  # (n_cues,) true cue times in the media
    ends_s: np.ndarray
    texts: tuple[str, ...]
    reliable: bool = True  # does the reference mark speech onsets?


@dataclass(frozen=True)
class Utterance:
    audio: np.ndarray  # (n,) 16 kHz
    cues: tuple  # ((start_s, end_s, text), ...) relative to the audio's start
    language: str


def bench_manifest(bench: Path) -> list[dict]:
    return json.loads((bench / "manifest.json").read_text())


def clip_cases(bench: Path) -> list[Case]:
    """Bench recordings with cue references, 10 s or longer."""
    cases = []
    for entry in bench_manifest(bench):
        if "cue" not in entry["levels"] or entry["duration_s"] < MIN_CLIP_S:
            continue
        folder = bench / entry["id"]
        cues = read_srt(folder / "reference.srt").cues
        cases.append(
            Case(
                entry["id"],
                "clip",
                folder / entry["media"],
                entry["language"],
                entry["duration_s"],
                np.array([c.start_s for c in cues]),
                np.array([c.end_s for c in cues]),
                tuple(c.text for c in cues),
                entry["id"] not in UNRELIABLE,
            )
        )
    return cases


def utterances(bench: Path) -> list[Utterance]:
    """Every reliable cue reference's recording, cut into utterances at pauses between cues."""
    found = []
    for entry in bench_manifest(bench):
        if "cue" not in entry["levels"] or entry["id"] in UNRELIABLE:
            continue
        folder = bench / entry["id"]
        audio = load_audio(folder / entry["media"])
        cues = [
            (c.start_s, c.end_s, c.text)
            for c in read_srt(folder / "reference.srt").cues
            if c.end_s <= audio.size / SAMPLE_RATE_HZ
        ]
        for group in _split_at_pauses(cues):
            first = max(0.0, group[0][0] - CUT_MARGIN_S)
            last = min(audio.size / SAMPLE_RATE_HZ, group[-1][1] + CUT_MARGIN_S)
            piece = audio[int(first * SAMPLE_RATE_HZ) : int(last * SAMPLE_RATE_HZ)]
            found.append(
                Utterance(_level(piece), tuple((s - first, e - first, t) for s, e, t in group), entry["language"])
            )
    return found


def _split_at_pauses(cues: list) -> list[list]:
    groups: list[list] = []
    for cue in cues:
        if groups and cue[0] - groups[-1][-1][1] < UTTERANCE_GAP_S:
            groups[-1].append(cue)
        else:
            groups.append([cue])
    return groups


def _level(audio: np.ndarray) -> np.ndarray:
    """Scale to dialogue level, measured on the loud half of 20 ms frames (the voiced part)."""
    frames = audio[: audio.size // 320 * 320].reshape(-1, 320)
    power = np.sort((frames**2).mean(axis=1))[frames.shape[0] // 2 :]
    rms = float(np.sqrt(power.mean())) if power.size else 0.0
    return (audio * (DIALOGUE_RMS / rms)).astype(np.float32) if rms > 0 else audio


# ---------------------------------------------------------------- beds


def _db(level_db: float) -> float:
    return 10.0 ** (level_db / 20.0)


def noise_bed(n: int, rng: np.random.Generator, colour: float) -> np.ndarray:
    """Coloured noise (1/f**colour power: 1 pink, 2 brown) at unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE_HZ)
    spectrum *= 1.0 / np.maximum(freqs, 20.0) ** (colour / 2.0)
    noise = np.fft.irfft(spectrum, n)
    return (noise / (noise.std() + 1e-12)).astype(np.float32)


def music_bed(n: int, rng: np.random.Generator) -> np.ndarray:
    """Synthesised music at unit RMS: a four-chord progression on a pad with harmonics,
    a bass line, and (most of the time) drums - kick, snare and hi-hat."""
    t = np.arange(n) / SAMPLE_RATE_HZ
    bpm = rng.uniform(70, 140)
    beat_s = 60.0 / bpm
    bar_s = 4 * beat_s
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    progression = [(0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12)]  # I V vi IV
    chord_index = (t // bar_s).astype(int) % len(progression)
    out = np.zeros(n)
    for voice in range(3):
        semis = np.array([chord[voice] for chord in progression])[chord_index]
        freq = root * 2 * 2 ** (semis / 12)
        phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE_HZ
        for harmonic, gain in ((1, 1.0), (2, 0.5), (3, 0.3), (4, 0.15)):
            out += gain * np.sin(harmonic * phase) * 0.3
    bass = root / 2 * 2 ** (np.array([c[0] for c in progression])[chord_index] / 12)
    beat_phase = (t % beat_s) / beat_s
    out += 0.8 * np.sin(2 * np.pi * np.cumsum(bass) / SAMPLE_RATE_HZ) * np.exp(-3 * beat_phase)
    if rng.random() < 0.75:
        in_beat = t % beat_s
        kick_on = (t // beat_s).astype(int) % 2 == 0
        out += 1.5 * kick_on * np.sin(2 * np.pi * (50 + 100 * np.exp(-in_beat * 30)) * in_beat) * np.exp(-in_beat * 12)
        hiss = rng.standard_normal(n)
        snare_on = ~kick_on
        out += 0.6 * snare_on * hiss * np.exp(-in_beat * 25)
        half = t % (beat_s / 2)
        hat = np.diff(hiss, prepend=0.0)  # crude high-pass
        out += 0.15 * hat * np.exp(-half * 60)
    return (out / (out.std() + 1e-12)).astype(np.float32)


# ---------------------------------------------------------------- film assembly


@dataclass(frozen=True)
class Film:
    audio: np.ndarray  # (n,) 16 kHz mono
    cues: tuple  # ((start_s, end_s, text), ...) true times
    gaps: tuple  # ((start_s, end_s), ...) stretches without speech, for cuts


def build_film(pool: list[Utterance], seconds: float, seed: int) -> Film:
    """Scenes of utterances on beds, with music interludes, until ``seconds`` are filled."""
    rng = np.random.default_rng(seed)
    pieces: list[np.ndarray] = []
    cues: list = []
    gaps: list = []
    t = 0.0
    while t < seconds:
        if pieces and rng.random() < 1.0 / INTERLUDE_EVERY:
            length = rng.uniform(*INTERLUDE_S)
            n = int(length * SAMPLE_RATE_HZ)
            pieces.append(music_bed(n, rng) * DIALOGUE_RMS * _db(rng.uniform(*INTERLUDE_DB)))
            gaps.append((t, t + length))
            t += length
            continue
        scene, scene_cues, scene_gaps = _scene(pool, rng, min(rng.uniform(*BED_S), seconds - t + 1.0))
        pieces.append(scene)
        cues += [(t + s, t + e, text) for s, e, text in scene_cues]
        gaps += [(t + s, t + e) for s, e in scene_gaps]
        t += scene.size / SAMPLE_RATE_HZ
    return Film(np.concatenate(pieces), tuple(cues), tuple(gaps))


def _scene(pool: list[Utterance], rng: np.random.Generator, length_s: float) -> tuple[np.ndarray, list, list]:
    parts, cues, gaps = [], [], []
    t = 0.0
    while t < length_s:
        pause = float(np.exp(rng.uniform(np.log(PAUSE_S[0]), np.log(PAUSE_S[1]))))
        parts.append(np.zeros(int(pause * SAMPLE_RATE_HZ), np.float32))
        gaps.append((t, t + pause))
        t += pause
        utterance = pool[rng.integers(len(pool))]
        parts.append(utterance.audio)
        cues += [(t + s, t + e, text) for s, e, text in utterance.cues]
        t += utterance.audio.size / SAMPLE_RATE_HZ
    tail = float(rng.uniform(*PAUSE_S))
    parts.append(np.zeros(int(tail * SAMPLE_RATE_HZ), np.float32))
    gaps.append((t, t + tail))
    speech = np.concatenate(parts)
    kind = ("room", "noise", "music")[rng.integers(3)]
    if kind == "music":
        bed = music_bed(speech.size, rng)
    else:
        bed = noise_bed(speech.size, rng, 1.0 if kind == "room" else 2.0)
    bed *= DIALOGUE_RMS * _db(rng.uniform(*BED_DB[kind]))
    return speech + bed, cues, gaps


def music_only(seconds: float, seed: int) -> np.ndarray:
    """Synthesised music at interlude level, no speech: (n,) 16 kHz."""
    rng = np.random.default_rng(seed)
    return music_bed(int(seconds * SAMPLE_RATE_HZ), rng) * DIALOGUE_RMS * _db(rng.uniform(*INTERLUDE_DB))


def splice(
    film: Film, position_s: float, length_s: float, insert: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The film's audio as another edit has it, and its cues' times there: ``insert``
    (audio) put at ``position_s``, or, when None, ``length_s`` removed from there.
    Returns (audio, starts, ends); cues in a removed stretch get nan."""
    at = int(position_s * SAMPLE_RATE_HZ)
    starts = np.array([c[0] for c in film.cues])
    ends = np.array([c[1] for c in film.cues])
    after = starts >= position_s
    if insert is not None:
        audio = np.concatenate([film.audio[:at], insert, film.audio[at:]])
        shift = insert.size / SAMPLE_RATE_HZ
        return audio, np.where(after, starts + shift, starts), np.where(after, ends + shift, ends)
    audio = np.concatenate([film.audio[:at], film.audio[at + int(length_s * SAMPLE_RATE_HZ) :]])
    removed = (ends > position_s) & (starts < position_s + length_s)
    starts = np.where(after, starts - length_s, starts)
    ends = np.where(after, ends - length_s, ends)
    return audio, np.where(removed, np.nan, starts), np.where(removed, np.nan, ends)


def write_media(audio: np.ndarray, path: Path, seed: int) -> None:
    """Film-like media: 48 kHz stereo AAC with a small black video track, in Matroska.
    A faint seeded dither keeps digital silence out, as real recordings have none."""
    dither = np.random.default_rng(seed).normal(0, 1e-4, audio.size).astype(np.float32)
    pcm = (np.clip(audio + dither, -1, 1) * 32767).astype("<i2").tobytes()
    duration = audio.size / SAMPLE_RATE_HZ
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part.mkv")
    subprocess.run(
        [
            ffmpeg_binary(),
            "-y",
            "-loglevel",
            "error",
            "-f",
            "s16le",
            "-ar",
            str(SAMPLE_RATE_HZ),
            "-ac",
            "1",
            "-i",
            "-",
            "-f",
            "lavfi",
            "-i",
            f"color=c=black:s=160x90:r=1:d={duration:.3f}",
            "-map",
            "1:v",
            "-map",
            "0:a",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-ar",
            str(OUTPUT_RATE),
            "-ac",
            "2",
            "-shortest",
            str(partial),
        ],
        input=pcm,
        check=True,
    )
    partial.replace(path)


def write_srt(cues, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for i, (start, end, text) in enumerate(cues, 1):
            f.write(f"{i}\n{format_timestamp(start)} --> {format_timestamp(end)}\n{text}\n\n")
