"""Folders of episodes: pair media with subtitles by name, and sync the pairs one by one
with one model, going on past a broken pair.  Library code: it reports through
callbacks and return values, never prints."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import quoted
from .exits import ERROR, OK, REFUSED, Explain, attempt, failure
from .subtitles import EXTENSIONS, SUFFIXES

MEDIA_EXTENSIONS = frozenset(
    {
        ".mkv",
        ".mp4",
        ".m4v",
        ".avi",
        ".mov",
        ".webm",
        ".wmv",
        ".ts",
        ".m2ts",
        ".mts",
        ".mpg",
        ".mpeg",
        ".flv",
        ".ogv",
        ".mka",
        ".mp3",
        ".m4a",
        ".aac",
        ".flac",
        ".wav",
        ".ogg",
        ".opus",
        ".wma",
    }
)
AUDIO_ONLY = frozenset({".mka", ".mp3", ".m4a", ".aac", ".flac", ".wav", ".ogg", ".opus", ".wma"})
_TAG_RE = re.compile(r"^[A-Za-z0-9_-]{1,12}$")  # en, eng, pt-BR, forced, sdh, hi, cc, default...
MAX_TAGS = 3  # Show.S01E02.pt-BR.forced.sdh.srt at most


@dataclass(frozen=True)
class Pair:
    media: Path
    subs: Path
    root: Path  # the folder given, for --out-dir's mirrored layout


@dataclass(frozen=True)
class Found:
    pairs: tuple[Pair, ...]
    unpaired_subs: tuple[Path, ...]  # subtitles no media name matches
    media_without_subs: tuple[Path, ...]


@dataclass(frozen=True)
class Outcome:
    """What happened to one pair."""

    pair: Pair
    output: Path
    status: str  # "synced", "skipped" (output exists), "refused" or "failed"
    message: str = ""  # why it was refused or failed (or the summary, when asked for)
    seconds: float = 0.0
    report: dict = field(default_factory=dict)  # SyncResult.header(): the report without the lines
    result: object = field(default=None, repr=False, compare=False)  # the SyncResult, if synced
    error: str = ""  # a refused or failed pair: its whole one line (exits.Failure.message, as
    # the run's ``explain`` words it)

    @property
    def exit_status(self) -> int:
        """0 when synced or skipped, else the status of its error (:mod:`subsync.exits`)."""
        return EXIT_STATUS[self.status]

    def record(self) -> dict:
        """A JSON-ready line for the batch report."""
        return {
            "media": os.fspath(self.pair.media),
            "subs": os.fspath(self.pair.subs),
            "output": os.fspath(self.output),
            "status": self.status,
            "message": self.message,
            "seconds": round(self.seconds, 2),
            **self.report,
        }


def subtitle_matches(media_stem: str, subs_name: str) -> bool:
    """Is ``subs_name`` (a file name) a subtitle of the media named ``media_stem``?
    ``Show.S01E02`` takes ``Show.S01E02.srt``, ``.en.srt``, ``.eng.forced.srt``..."""
    stem, ext = os.path.splitext(subs_name)
    if ext.lower() not in EXTENSIONS:
        return False
    if stem == media_stem:
        return True
    if not stem.startswith(media_stem + "."):
        return False
    tags = stem[len(media_stem) + 1 :].split(".")
    return len(tags) <= MAX_TAGS and all(_TAG_RE.match(tag) for tag in tags)


def find_pairs(folders: Sequence[Path], recursive: bool = False, suffix: str = ".synced") -> Found:
    """Media and subtitle files of ``folders`` paired by name; a subtitle goes to the media
    with the longest matching name.  Files named with ``suffix`` (earlier outputs) are
    not subtitles to sync."""
    pairs, unpaired, lonely = [], [], []
    for root in folders:
        for directory, files in _walk(Path(root), recursive):
            media = sorted(f for f in files if Path(f).suffix.lower() in MEDIA_EXTENSIONS)
            subtitles = sorted(
                f
                for f in files
                if Path(f).suffix.lower() in EXTENSIONS and f"{suffix}." not in f and not Path(f).stem.endswith(suffix)
            )
            taken = set()
            for subs in subtitles:
                owners = [m for m in media if subtitle_matches(Path(m).stem, subs)]
                if not owners:
                    unpaired.append(directory / subs)
                    continue
                # the longest name; among equals, a video before an audio-only file
                owner = max(owners, key=lambda m: (len(m), Path(m).suffix.lower() not in AUDIO_ONLY))
                taken.add(owner)
                pairs.append(Pair(directory / owner, directory / subs, Path(root)))
            lonely += [directory / m for m in media if m not in taken]
    return Found(tuple(pairs), tuple(unpaired), tuple(lonely))


def _walk(root: Path, recursive: bool) -> Iterator[tuple[Path, list[str]]]:
    if not recursive:
        yield root, sorted(p.name for p in root.iterdir() if p.is_file())
        return
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        yield Path(directory), sorted(files)


def output_path(
    subs: Path, suffix: str = ".synced", kind: str | None = None, out_dir: Path | None = None, root: Path | None = None
) -> Path:
    """The one naming rule: ``movie.en.srt`` -> ``movie.en.synced.srt`` next to it, or under
    ``out_dir`` in the same sub-folder as below ``root``; the extension is ``kind``'s
    (``.vtt``, ``.ass``), else the input's."""
    name = subs.stem + suffix + (SUFFIXES[kind] if kind else (subs.suffix or ".srt"))
    if out_dir is None:
        return subs.with_name(name)
    try:
        relative = subs.parent.relative_to(root) if root is not None else Path()
    except ValueError:
        relative = Path()
    return Path(out_dir) / relative / name


def sidecar_path(
    media: Path, language: str | None, forced: bool = False, hearing_impaired: bool = False, kind: str = "srt"
) -> Path:
    """Where a subtitle stream of ``media`` is written beside it, named as media servers read
    it: ``movie.en.srt``, ``movie.en.forced.srt``, ``movie.en.sdh.srt`` (no language part
    when the language is unknown); the language as its ISO 639-1 code where it has one."""
    from .languages import normalized

    code = normalized(language)
    parts = [
        media.stem,
        *([code] if code else []),
        *(["forced"] if forced else []),
        *(["sdh"] if hearing_impaired else []),
    ]
    return media.with_name(".".join(parts) + SUFFIXES[kind])


def output_for(pair: Pair, suffix: str = ".synced", out_dir: Path | None = None, kind: str | None = None) -> Path:
    """Where ``subsync batch`` writes ``pair``'s result (:func:`output_path`): ``Show.S01E02.en.srt``
    -> ``Show.S01E02.en.synced.srt`` next to it, or under ``out_dir`` mirroring the sub-folders."""
    return output_path(pair.subs, suffix, kind, out_dir, pair.root)


def collisions(
    pairs: Sequence[Pair], suffix: str = ".synced", out_dir: Path | None = None, kind: str | None = None
) -> list[tuple[Pair, Pair]]:
    """Pairs whose outputs would be the same file (A.srt and A.ass with --format vtt,
    same-named subtitles of two folders under one --out-dir)."""
    seen: dict[Path, Pair] = {}
    clashes = []
    for pair in pairs:
        output = output_for(pair, suffix, out_dir, kind).resolve()
        if output in seen:
            clashes.append((seen[output], pair))
        seen.setdefault(output, pair)
    return clashes


Sync = Callable[[Pair, Callable[[str, int, int], None]], "object"]  # returns a SyncResult

EXIT_STATUS = {"synced": OK, "skipped": OK, "refused": REFUSED, "failed": ERROR}  # Outcome.status -> exit status


def run(
    pairs: Iterable[Pair],
    sync: Sync,
    *,
    suffix: str = ".synced",
    out_dir: Path | None = None,
    kind: str | None = None,
    skip_existing: bool = False,
    progress: Callable[[int, Pair, str, int, int], None] | None = None,
    explain: Explain = failure,
) -> Iterator[Outcome]:
    """Sync each pair (``sync(pair, progress)`` returns a SyncResult) and write its output
    atomically; yields an Outcome per pair.  A pair that fails or is refused does not stop
    the others.  ``progress(k, pair, stage, done, total)`` reports the k-th pair's stages;
    ``explain`` words a failed pair's messages (exits.failure: the library's own)."""
    for k, pair in enumerate(pairs):

        def report(stage: str, done: int, total: int, k=k, pair=pair) -> None:
            if progress is not None:
                progress(k, pair, stage, done, total)

        yield one_pair(
            pair, sync, report, suffix=suffix, out_dir=out_dir, kind=kind, skip_existing=skip_existing, explain=explain
        )


def one_pair(
    pair: Pair,
    sync: Sync,
    report: Callable[[str, int, int], None],
    *,
    suffix: str = ".synced",
    out_dir: Path | None = None,
    kind: str | None = None,
    skip_existing: bool = False,
    describe: Callable[[object], str] | None = None,
    explain: Explain = failure,
    in_place: bool = False,
) -> Outcome:
    """One pair synced and its output written atomically (or skipped), as an Outcome
    (``describe(result)``: a synced pair's message; ``explain(error)``: a failed pair's).
    ``in_place``: the output replaces the subtitle, which is kept as its backup
    (fileio.in_place_outputs), both or neither written."""
    output = pair.subs if in_place else output_for(pair, suffix, out_dir, kind)
    if skip_existing and not in_place and output.exists():
        return Outcome(pair, output, "skipped", "output exists")
    started = time.monotonic()

    def work():
        result = sync(pair, report)
        if in_place:
            from .fileio import atomic_write_all, in_place_outputs

            atomic_write_all(in_place_outputs(output, result.to_bytes(kind)))
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            result.save(output, kind)
        return result

    result, failed = attempt(work, explain)
    if failed is not None:
        return Outcome(pair, output, failed.outcome, failed.reason, time.monotonic() - started, error=failed.message)
    assert result is not None
    return Outcome(
        pair,
        output,
        "synced",
        describe(result) if describe else "",
        time.monotonic() - started,
        result.header(),
        result,
    )


# ---------------------------------------------------------------- several worker processes

MODEL_MEMORY_GB = 1.5  # a worker's peak with the base model and up to a film's audio (2 hours)
MEMORY_GB_PER_AUDIO_HOUR = 0.3  # and each hour of audio beyond that (measured: benchmarks/README.md)
MODEL_AUDIO_S = 2 * 3600.0  # the audio MODEL_MEMORY_GB holds
THREADS_PER_JOB = 2  # by default each worker gets this many torch threads (2 workers of 1 thread
# on 2 cores: 1.03x one worker of 2, benchmarks/batch_jobs.py)


def default_jobs(
    cpus: int | None = None, memory_gb: float | None = None, device: str = "cpu", longest_media_s: float | None = None
) -> int:
    """As many workers as the cores (THREADS_PER_JOB each) and the memory allow, each
    sized for the longest media it may get (:func:`worker_memory_gb`); at least one.
    One on a GPU (``device`` cuda, or auto where an NVIDIA driver is loaded): one model
    there, its windows encoded in batches."""
    if device.startswith("cuda") or (device == "auto" and _nvidia_gpu()):
        return 1
    cpus = cpus or _cpus()
    if memory_gb is None:
        memory_gb = _available_memory_gb()
    return max(1, min(cpus // THREADS_PER_JOB, int(memory_gb // worker_memory_gb(longest_media_s))))


def worker_memory_gb(media_s: float | None) -> float:
    """A worker's peak memory for media of ``media_s`` seconds (None: unknown, a film's):
    the model with a film's audio, and MEMORY_GB_PER_AUDIO_HOUR for each hour beyond."""
    beyond_h = max(0.0, (media_s or 0.0) - MODEL_AUDIO_S) / 3600.0
    return MODEL_MEMORY_GB + MEMORY_GB_PER_AUDIO_HOUR * beyond_h


def longest_media_s(pairs: Sequence[Pair]) -> float | None:
    """The longest duration the pairs' media declare (None when none declares one)."""
    from .media import media_duration_s

    durations = [d for d in (media_duration_s(media) for media in {pair.media for pair in pairs}) if d is not None]
    return max(durations, default=None)


def _nvidia_gpu() -> bool:
    """Is an NVIDIA driver loaded (what --device auto would most likely pick)?  Cheap: no
    torch import."""
    return os.path.exists("/proc/driver/nvidia/version")


def _cpus() -> int:
    """The cores this process may run on."""
    from .media import usable_cores

    return usable_cores()


def synchronizer_sync(model_options, options, threads: int | None, cache: bool = True) -> Sync:
    """A worker's ``sync``: one Synchronizer (its model loaded once, with ``threads`` CPU
    threads; None: torch's default) syncing each pair with ``options``.  For ``make_sync`` of :func:`run_parallel`
    (bind the first two with functools.partial)."""
    from .api import Synchronizer

    synchronizer = Synchronizer(replace(model_options, threads=threads), cache=cache)
    return lambda pair, report: synchronizer.sync(pair.media, pair.subs, options, progress=report)


def _available_memory_gb() -> float:
    try:
        with open("/proc/meminfo") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo)
        return int(fields["MemAvailable"].split()[0]) / 2**20
    except (OSError, KeyError, ValueError):
        return MODEL_MEMORY_GB  # unknown: room for one


def run_parallel(
    pairs: Sequence[Pair],
    jobs: int,
    make_sync: Callable[[int], Sync],
    *,
    suffix: str = ".synced",
    out_dir: Path | None = None,
    kind: str | None = None,
    skip_existing: bool = False,
    describe: Callable[[object], str] | None = None,
    explain: Explain = failure,
    in_place: bool = False,
) -> Iterator[Outcome]:
    """:func:`run` over ``jobs`` worker processes, each with its own model:
    ``make_sync(threads)`` (picklable) is called once in each worker with its share of
    the CPU threads and returns its ``sync``.  Outcomes come as the pairs finish (sort them
    by pair for a table that reads as with one worker).  Ctrl-C: the workers' running syncs
    are interrupted (their temp files removed, nothing half-written) and KeyboardInterrupt
    is raised here, after them."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    threads = max(1, _cpus() // jobs)
    context = multiprocessing.get_context("spawn")  # no forked torch threads
    stop = context.Event()  # set on Ctrl-C: queued pairs are not started
    executor = ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start_worker, initargs=(make_sync, threads, stop)
    )
    futures = {
        executor.submit(_worker_pair, pair, suffix, out_dir, kind, skip_existing, describe, explain, in_place): pair
        for pair in pairs
    }
    given: set = set()  # futures whose outcome was yielded

    def outcome_of(future) -> Outcome | None:
        try:
            return future.result()
        except BrokenProcessPool:  # a worker died (killed: out of memory?); its pairs are lost
            pair = futures[future]
            return Outcome(
                pair,
                pair.subs if in_place else output_for(pair, suffix, out_dir, kind),
                "failed",
                "its worker process died (out of memory?)",
                error=f"{quoted(pair.subs)}: its worker process died (out of memory?)",
            )

    try:
        for future in as_completed(futures):
            outcome = outcome_of(future)
            if outcome is None:  # the worker was interrupted
                raise KeyboardInterrupt
            given.add(future)
            yield outcome
    except KeyboardInterrupt:
        _stop_workers(executor, futures, stop)
        for future in futures:  # pairs that finished while stopping: written, so reported
            if future not in given and future.done() and not future.cancelled():
                outcome = outcome_of(future)
                if outcome is not None:
                    yield outcome
        raise
    except GeneratorExit:  # the caller stopped reading (its own Ctrl-C): stop the workers
        _stop_workers(executor, futures, stop)
        raise
    executor.shutdown(wait=True)


def _stop_workers(executor, futures, stop) -> None:
    """Queued pairs cancelled, running syncs interrupted (their temp files removed), the
    workers waited for."""
    stop.set()
    for future in futures:
        future.cancel()
    for process in list(getattr(executor, "_processes", {}).values()):
        if process.is_alive():
            os.kill(process.pid, signal.SIGINT)
    executor.shutdown(wait=True, cancel_futures=True)


_WORKER_SYNC: Sync | None = None
_WORKER_STOP = None  # the parent's stop event


def _start_worker(make_sync: Callable[[int], Sync], threads: int, stop) -> None:
    """A worker's start: its model (through ``make_sync``) and Ctrl-C left to the parent,
    which forwards it while a pair is being synced."""
    global _WORKER_SYNC, _WORKER_STOP
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_STOP = stop
    _WORKER_SYNC = make_sync(threads)


def _worker_pair(
    pair: Pair,
    suffix: str,
    out_dir: Path | None,
    kind: str | None,
    skip_existing: bool,
    describe: Callable[[object], str] | None = None,
    explain: Explain = failure,
    in_place: bool = False,
) -> Outcome | None:
    """One pair in a worker (None when interrupted); the SyncResult stays in the worker."""
    if _WORKER_STOP is not None and _WORKER_STOP.is_set():
        return None
    assert _WORKER_SYNC is not None  # (set by the pool's initializer)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        outcome = one_pair(
            pair,
            _WORKER_SYNC,
            lambda *_: None,
            suffix=suffix,
            out_dir=out_dir,
            kind=kind,
            skip_existing=skip_existing,
            describe=describe,
            explain=explain,
            in_place=in_place,
        )
    except KeyboardInterrupt:
        return None
    finally:
        signal.signal(signal.SIGINT, previous)
    return replace(outcome, result=None)
