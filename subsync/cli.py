"""The ``subsync`` command line (typer only).  Commands are thin: they check and translate
their arguments, call the library (:mod:`subsync.api`, :mod:`subsync.batch`) and print
what :mod:`subsync.render` makes of the results."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import json
import math
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, get_type_hints

import typer

from . import __version__
from .errors import quoted
from .exits import ERROR, INTERRUPTED, INTERRUPTED_MESSAGE, OK, USAGE, attempt, overall
from .watch import SETTLE_S
from .watchstate import RETRY_FIRST_S, RETRY_MAX_S

if TYPE_CHECKING:  # (imported lazily at run time: --help stays instant)
    from .api import Synchronizer, SyncOptions, SyncResult
    from .fileio import Output

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Re-time subtitle files to the speech in a video, line by line.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"subsync {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
) -> None:
    """Re-time subtitle files to the speech in a video, line by line."""


class Progress:
    """Progress on stderr: on a terminal rich's progress bars (the stage with its
    percentage and time left; in a batch, one more bar for the files), otherwise each new
    stage once; nothing when quiet.  In a batch (``pairs``) the stage is headed by the file
    (:meth:`pair_stage`), printed once per file off a terminal, and each finished pair gets
    a line of its own (:meth:`done`)."""

    def __init__(self, quiet: bool, pairs: int = 0) -> None:
        self.quiet, self.pairs = quiet, pairs
        self.tty = sys.stderr.isatty()
        self.head = ""  # in a batch: "[k/n  p%] media name"
        self.shown: str | None = None  # what the last line printed (not on a terminal) said
        self.finished = 0
        self._bars = None  # rich.progress.Progress, on a terminal, once something is shown
        self._stage = self._files = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.tty:
            bars = self._started()
            label = f"{self.head}: {stage}" if self.head else stage
            bars.update(self._stage, description=label, completed=done, total=max(total, 1))
        elif (self.head or stage) != self.shown:
            sys.stderr.write(f"{self.head or stage}...\n")
        self.shown = self.head or stage

    def pair_stage(self, k: int, pair, stage: str, done: int, total: int) -> None:
        """:func:`subsync.batch.run`'s progress: the k-th pair's stage."""
        self.head = (
            pair.media.name
            if self.tty
            else f"[{k + 1}/{self.pairs} {100 * self.finished // self.pairs:3d}%] {pair.media.name}"
        )
        self(stage, done, total)

    def done(self, outcome) -> None:
        """A batch pair is finished: its status and output (or subtitle) on a line of its own."""
        self.finished += 1
        if self.quiet:
            return
        line = (
            f"[{self.finished}/{self.pairs}] {outcome.status}: "
            f"{quoted(outcome.output if outcome.status == 'synced' else outcome.pair.subs)}"
        )
        if self.tty:
            bars = self._started()
            bars.update(self._files, completed=self.finished)
            bars.console.print(line, markup=False, highlight=False)
        else:
            sys.stderr.write(line + "\n")

    def finish(self) -> None:
        """Take the bars off the terminal (they are transient)."""
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    def _started(self):
        if self._bars is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bars

            self._bars = Bars(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
                transient=True,
            )
            if self.pairs:
                self._files = self._bars.add_task("files", total=self.pairs, completed=self.finished)
            self._stage = self._bars.add_task("", total=1)
            self._bars.start()
        return self._bars


def _error(message: str, code: int = ERROR) -> int:
    typer.echo(f"subsync: error: {message}", err=True)
    return code


def _fail(message: str, code: int = ERROR) -> NoReturn:
    raise typer.Exit(_error(message, code))


@dataclasses.dataclass(frozen=True)
class SyncArgs:
    """The options ``fix`` and ``batch`` share, declared once: each field is an option of both
    commands (see :func:`_with_sync_args`)."""

    model: Annotated[str, typer.Option(help="base, tiny.en, a hub id, or a transformers/CTranslate2 directory.")] = (
        "base"
    )
    language: Annotated[str, typer.Option(help="Spoken language (en, fr, ...) or auto.")] = "auto"
    subs_language: Annotated[
        str | None,
        typer.Option(
            help="The subtitles' language, if not the spoken one "
            "(a translation): speech activity alone places the lines."
        ),
    ] = None
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto"
    audio_track: Annotated[
        str | None,
        typer.Option(
            help="Audio stream to use: its number, counting from 0, "
            "or its language tag (eng, de, fre...). Default: the one tagged with the subtitles' language, "
            "else the default track, else the first."
        ),
    ] = None
    max_offset: Annotated[
        float,
        typer.Option(
            help="Largest offset searched, in seconds (never more than the "
            "media's and the subtitles' lengths together)."
        ),
    ] = 600.0
    int8: Annotated[
        bool | None,
        typer.Option("--int8/--no-int8", help="int8 linear layers (default: on for the CPU, off on a GPU)."),
    ] = None
    fast: Annotated[
        bool,
        typer.Option(
            "--fast",
            help="Fix offset and drift only: fit the time map on a sample of the lines and move every line by it.",
        ),
    ] = False
    every_line: Annotated[
        bool,
        typer.Option(
            "--every-line",
            help="Hear every line (default: a sample over "
            "the file, then only the lines the evidence marks as suspect, "
            "unless the sample shows scattered timing).",
        ),
    ] = False
    cuts: Annotated[
        bool,
        typer.Option(
            "--cuts/--no-cuts", help="Look for cuts (adverts, another edit) and give each part its own offset."
        ),
    ] = True
    force: Annotated[
        bool,
        typer.Option("--force", help="Write the result even when the self-check refuses it (exit code 3 otherwise)."),
    ] = False
    format: Annotated[
        str | None, typer.Option("--format", help="Output format: srt, vtt or ass (default: the input's).")
    ] = None
    cache: Annotated[
        bool,
        typer.Option(
            "--cache/--no-cache",
            help="Keep each media file's analysis (its speech activity) under SUBSYNC_HOME, so the next run "
            "on it does not decode it again; the output is the same either way.",
        ),
    ] = True
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary.")] = False
    json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="The summary as JSON on stdout (the --report header's "
            "fields; a list for several pairs, JSON lines for batch).",
        ),
    ] = False

    def model_options(self):
        """What fixes the model (:class:`subsync.api.ModelOptions`)."""
        from .api import ModelOptions

        return ModelOptions(model=self.model, device=self.device, int8=self.int8)

    def sync_options(self):
        """The per-file options (:class:`subsync.api.SyncOptions`); a usage error if one is off."""
        from .api import SyncOptions

        if not math.isfinite(self.max_offset) or self.max_offset <= 0:
            _fail(f"--max-offset must be a positive number of seconds, not {self.max_offset:g}", USAGE)
        if self.audio_track is not None and self.audio_track.strip().startswith("-"):
            _fail("--audio-track counts from 0", USAGE)
        return SyncOptions(
            language=None if self.language == "auto" else self.language.lower(),
            audio_track=self.audio_track,
            max_offset_s=self.max_offset,
            fast=self.fast,
            every_line=self.every_line,
            cuts=self.cuts,
            force=self.force,
            subs_language=self.subs_language.lower() if self.subs_language else None,
        )

    def kind(self) -> str | None:
        """``--format`` as a format name (srt, vtt, ass), or None: each input's own."""
        from .subtitles import FORMATS

        if self.format is None:
            return None
        kind = {"webvtt": "vtt", "ssa": "ass"}.get(self.format.lower(), self.format.lower())
        if kind not in FORMATS:
            _fail(f"--format must be one of {', '.join(FORMATS)}", USAGE)
        return kind


def _with_sync_args(command):
    """Typer sees ``command``'s own parameters followed by :class:`SyncArgs`' fields;
    ``command`` gets those as one ``SyncArgs``, its parameter ``common``."""
    hints = get_type_hints(SyncArgs, include_extras=True)
    shared = [
        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name])
        for f in dataclasses.fields(SyncArgs)
    ]
    signature = inspect.signature(command, eval_str=True)
    own = [p for name, p in signature.parameters.items() if name != "common"]

    @functools.wraps(command)
    def with_sync_args(**kwargs):
        common = SyncArgs(**{p.name: kwargs.pop(p.name) for p in shared})
        return command(**kwargs, common=common)

    with_sync_args.__signature__ = signature.replace(parameters=own + shared)
    with_sync_args.__annotations__ = {p.name: p.annotation for p in own + shared}
    return with_sync_args


InPlace = Annotated[  # (fix and watch)
    bool,
    typer.Option(
        "--in-place",
        help="Overwrite SUBS, keeping what it held as SUBS.bak "
        "(SUBS.bak.1, .2, ... when a backup exists: none is ever replaced).",
    ),
]

PLOT_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".webp", ".eps", ".ps", ".tif", ".tiff")  # matplotlib's


@app.command()
@_with_sync_args
def fix(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="MEDIA SUBS: a video or audio file (anything ffmpeg reads) and the subtitle (SRT, WebVTT or "
            "ASS/SSA) to re-time; several MEDIA SUBS pairs in a row; SUBS alone with --reference; MEDIA "
            "alone: its text subtitle streams, written beside it as MEDIA.en.srt, MEDIA.en.forced.srt...",
            show_default=False,
            metavar="MEDIA SUBS",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write the result (default: SUBS.synced.srt; one pair only)."),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Also write a JSON report of every line.")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Also draw each line's correction against media time (PNG; needs matplotlib).")
    ] = None,
    in_place: InPlace = False,
    reference: Annotated[
        Path | None,
        typer.Option(
            help="A correctly timed subtitle of the same release (any "
            "language): sync to its timing instead of the audio."
        ),
    ] = None,
    reference_stream: Annotated[
        int | None,
        typer.Option(help="Sync to the Nth subtitle stream of MEDIA (from 0; text subtitles) instead of its audio."),
    ] = None,
    stream: Annotated[
        int | None, typer.Option(help="MEDIA alone: sync only its Nth subtitle stream (from 0), not each text stream.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the lines whose times would change; write nothing.")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            help="Several pairs: worker processes, each with "
            "its own model (default: what the cores and memory allow; not with --in-place, --dry-run "
            "or a reference).",
        ),
    ] = None,
    *,
    common: SyncArgs,
) -> None:
    """Re-time SUBS to the speech in MEDIA (or to --reference) and write SUBS.synced.srt; MEDIA alone:
    each subtitle stream inside it, written beside it."""
    from .batch import output_path
    from .subtitles import EXTENSIONS

    if stream is not None and stream < 0:
        _fail("--stream counts from 0", USAGE)
    if files and len(files) == 1 and reference is None and files[0].suffix.lower() not in EXTENSIONS:
        if in_place or reference_stream is not None or jobs is not None:
            _fail(
                "MEDIA alone syncs the subtitles inside it: --in-place, --reference-stream and --jobs do not apply",
                USAGE,
            )
        if stream is None and (output is not None or report is not None or plot is not None):
            _fail("--output, --report and --plot take one subtitle stream: give --stream N", USAGE)
        return _fix_embedded(files[0], stream, output, report, plot, dry_run, common)
    if stream is not None:
        _fail("--stream picks a subtitle stream of MEDIA given alone (subsync fix MEDIA --stream N)", USAGE)
    pairs = _fix_pairs(files or [], reference)
    if reference is not None and reference_stream is not None:
        _fail("--reference and --reference-stream exclude each other", USAGE)
    if reference_stream is not None and reference_stream < 0:
        _fail("--reference-stream counts from 0", USAGE)
    if in_place and output is not None:
        _fail("--in-place and --output exclude each other", USAGE)
    if len(pairs) > 1 and (output is not None or report is not None or plot is not None):
        _fail("--output, --report and --plot take one MEDIA SUBS pair (use subsync batch for more)", USAGE)
    kind = common.kind()
    if kind is None and output is not None:  # -o movie.vtt: the output's suffix says
        kind = EXTENSIONS.get(output.suffix.lower())
    if (
        in_place
        and kind is not None
        and (
            EXTENSIONS.get(pairs[0][1].suffix.lower(), "srt") != kind
            or len({subs.suffix.lower() for _, subs in pairs}) > 1
        )
    ):
        _fail("--in-place keeps each file's format; --format converts into a new file", USAGE)
    if plot is not None and plot.suffix.lower() not in PLOT_SUFFIXES:
        _fail(f"--plot {quoted(plot)}: use .png, .svg or .pdf", USAGE)
    if plot is not None:
        _check_plot()
    options = common.sync_options()
    targets = [subs if in_place else (output or output_path(subs, kind=kind)) for _, subs in pairs]
    for (media, subs), target in zip(pairs, targets):
        if not in_place and _same_file(target, subs):
            _fail(f"{quoted(target)} is the input subtitle file; use --in-place to overwrite it", USAGE)
        outputs = [(target, "the output"), (report, "--report"), (plot, "--plot")]
        _refuse_overwriting_inputs(outputs, [media, reference] if in_place else [media, subs, reference])
        if in_place:  # --report SUBS or SUBS.bak would replace what --in-place keeps
            _refuse_overwriting_inputs([(report, "--report"), (plot, "--plot")], [subs])
            from .fileio import is_backup_of

            for path, role in ((report, "--report"), (plot, "--plot")):
                if path is not None and is_backup_of(path, subs):
                    _fail(
                        f"{role} {quoted(path)} is where --in-place keeps {quoted(subs)}'s backups; "
                        "choose another path",
                        USAGE,
                    )
        if not dry_run:
            _check_writable(outputs)
    if jobs is not None and jobs < 1:
        _fail("--jobs must be 1 or more", USAGE)
    resolved = [target.resolve() for target in targets]
    if not dry_run and len(set(resolved)) < len(resolved):
        twice = next(t for t in targets if resolved.count(t.resolve()) > 1)
        _fail(
            f"two pairs would both be written to {quoted(twice)}; give each subtitle once, or another --format", USAGE
        )
    if len(pairs) > 1 and not (in_place or dry_run or reference or reference_stream is not None):
        from . import batch as batching

        workers = min(
            jobs or _default_jobs([batching.Pair(m, s, s.parent) for m, s in pairs if m is not None], common.device),
            len(pairs),
        )
        if workers > 1:
            return _fix_in_workers(pairs, targets, workers, common, options, kind)
    from .api import Synchronizer

    fix_one = _Fix(
        Synchronizer(common.model_options(), cache=common.cache),
        options,
        kind=kind,
        report=report,
        plot=plot,
        in_place=in_place,
        dry_run=dry_run,
        quiet=common.quiet,
        reference=reference,
        reference_stream=reference_stream,
        as_json=common.json,
    )
    code = overall([fix_one(media, subs, target) for (media, subs), target in zip(pairs, targets)])
    if common.json:
        typer.echo(json.dumps(fix_one.records[0] if len(pairs) == 1 else fix_one.records))
    if code:
        raise typer.Exit(code)


def _fix_embedded(
    media: Path,
    stream: int | None,
    output: Path | None,
    report: Path | None,
    plot: Path | None,
    dry_run: bool,
    common: SyncArgs,
) -> None:
    """``subsync fix MEDIA``: each text subtitle stream of MEDIA (or stream ``stream``)
    synced to its audio and written beside it in media-server naming (``movie.en.srt``,
    ``movie.en.forced.srt``, ``movie.en.sdh.srt``); image streams named and skipped; the
    container is only read, and no existing file is replaced."""
    from . import render
    from .api import Synchronizer
    from .batch import sidecar_path
    from .errors import SubsyncError
    from .fileio import Output
    from .media import subtitle_streams

    try:
        streams = subtitle_streams(media)
    except SubsyncError as exc:
        _fail(render.reason(exc), ERROR)
    if stream is not None and stream >= len(streams):
        _fail(f"{quoted(media)} has no subtitle stream {stream} (it has {len(streams)})", USAGE)
    chosen = streams if stream is None else [streams[stream]]
    for skipped in (s for s in chosen if not s.is_text):
        typer.echo(
            f"subsync: skipped: {quoted(media)} subtitle stream {skipped.index} "
            f"({skipped.language or 'untagged'}, {skipped.codec}) is pictures of text",
            err=True,
        )
    texts = [s for s in chosen if s.is_text]
    if not texts:
        _fail(
            f"{quoted(media)} has no text subtitle stream to sync"
            + (f" ({len(chosen)} image stream{'s' * (len(chosen) > 1)} skipped)" if chosen else ""),
            ERROR,
        )
    synchronizer = Synchronizer(common.model_options(), cache=common.cache)
    options, kind, statuses, records = common.sync_options(), common.kind(), [], []
    synced: dict[int, SyncResult] = {}
    for text in sorted(texts, key=lambda s: s.forced):  # full streams first: forced ones follow them
        target = output or sidecar_path(media, text.language, text.forced, text.hearing_impaired, kind or text.kind)
        label = f"stream {text.index} ({text.language or 'untagged'})"
        if target.exists() and not dry_run and output is None:
            statuses.append(
                _error(
                    f"{quoted(target)} exists and is not replaced: {label} of {quoted(media)} "
                    "not synced (give --stream N -o PATH to write it elsewhere)",
                    ERROR,
                )
            )
            continue
        progress = Progress(common.quiet)

        def work(text=text, progress=progress, target=target):  # (called at once, in this iteration)
            result = synchronizer.sync_stream(media, text, options, progress=progress, synced=synced)
            synced[text.index] = result
            progress.finish()
            if not dry_run:
                outputs = [(Output(target, result.to_bytes(kind or text.kind)), "the output")]
                if report is not None:
                    outputs.append((Output(report, render.report_bytes(result)), "--report"))
                if plot is not None:
                    from .plot import plot_bytes

                    outputs.append((Output(plot, plot_bytes(result, plot.suffix.lstrip(".").lower())), "--plot"))
                commit_outputs(outputs)
            return result

        try:
            result, failed = attempt(work, render.failure)
        except KeyboardInterrupt:
            progress.finish()
            _fail(INTERRUPTED_MESSAGE, INTERRUPTED)
        written = None if dry_run else target
        if failed is not None:
            progress.finish()
            records.append(_fix_record(media, media, written, failed.outcome, f"{label}: {failed.reason}"))
            statuses.append(_error(f"{label}: {failed.message}", failed.status))
            continue
        assert result is not None
        records.append(
            {
                **_fix_record(media, media, written, "dry run" if dry_run else "synced", header=result.header()),
                "stream": text.index,
            }
        )
        if dry_run and not common.json:
            for line in render.changes(result):
                typer.echo(line)
        if not common.quiet and not common.json:
            where = "dry run, nothing written" if dry_run else quoted(target)
            typer.echo(f"{where} ({label}): {render.summary(result)}", err=True)
        statuses.append(OK)
    if common.json:
        typer.echo(json.dumps(records[0] if len(records) == 1 else records))
    code = overall(statuses)
    if code:
        raise typer.Exit(code)


def _default_jobs(pairs, device: str) -> int:
    """Workers for ``pairs``: what the cores and memory allow, each sized for the longest
    media (probed only when more than one worker could run)."""
    from . import batch as batching

    jobs = batching.default_jobs(device=device)
    return jobs if jobs == 1 else batching.default_jobs(device=device, longest_media_s=batching.longest_media_s(pairs))


def _fix_in_workers(pairs, targets, workers: int, common: SyncArgs, options, kind: str | None) -> None:
    """Several pairs of ``fix`` synced by worker processes (batch.run_parallel), reported as
    one after the other: a summary line per pair written, the error line of each that is
    not, in the order given; the same outputs and exit status."""
    from . import batch as batching
    from .render import failure, summary

    given = [batching.Pair(media, subs, subs.parent) for media, subs in pairs]
    make_sync = functools.partial(batching.synchronizer_sync, common.model_options(), options, cache=common.cache)
    progress = Progress(common.quiet)
    progress(f"syncing {len(given)} pairs with {workers} workers", 0, 1)
    done = {}
    try:
        for outcome in batching.run_parallel(given, workers, make_sync, kind=kind, describe=summary, explain=failure):
            done[outcome.pair] = outcome
            progress(f"syncing {len(given)} pairs with {workers} workers", len(done), len(given))
    except KeyboardInterrupt:
        progress.finish()
        for pair, target in zip(given, targets):  # the pairs done are written: say so
            if pair in done and done[pair].status == "synced" and not common.quiet and not common.json:
                typer.echo(f"{quoted(target)}: {done[pair].message}", err=True)
        _fail(f"interrupted after {len(done)} of {len(given)} pairs; no file is half-written", INTERRUPTED)
    progress.finish()
    records = []
    for pair, target in zip(given, targets):
        outcome = done[pair]
        synced = outcome.status == "synced"
        records.append(
            _fix_record(
                pair.media, pair.subs, target, outcome.status, "" if synced else outcome.message, outcome.report
            )
        )
        if not synced:
            _error(outcome.error, outcome.exit_status)
        elif not common.quiet and not common.json:
            typer.echo(f"{quoted(target)}: {outcome.message}", err=True)
    if common.json:
        typer.echo(json.dumps(records))
    code = overall(outcome.exit_status for outcome in done.values())
    if code:
        raise typer.Exit(code)


def _fix_record(
    media: Path | None, subs: Path, output: Path | None, status: str, message: str = "", header: dict | None = None
) -> dict:
    """One pair's ``--json`` record for ``fix`` (the --report header's fields after the pair's own)."""
    return {
        "media": None if media is None else os.fspath(media),
        "subs": os.fspath(subs),
        "output": None if output is None else os.fspath(output),
        "status": status,
        "message": message,
        **(header or {}),
    }


def _fix_pairs(files: list[Path], reference: Path | None) -> list[tuple[Path | None, Path]]:
    """``MEDIA SUBS [MEDIA SUBS ...]`` as pairs; with ``--reference``, ``SUBS`` alone (no media)."""
    if reference is not None:
        if len(files) != 1:
            _fail(
                "missing argument SUBS (see subsync fix --help)"
                if not files
                else "--reference replaces MEDIA: give SUBS only",
                USAGE,
            )
        return [(None, files[0])]
    if len(files) < 2 or len(files) % 2:
        _fail(
            "missing argument SUBS (see subsync fix --help)"
            if files
            else "missing arguments MEDIA and SUBS (see subsync fix --help)",
            USAGE,
        )
    return list(zip(files[0::2], files[1::2]))


def _refuse_overwriting_inputs(outputs: list[tuple[Path | None, str]], inputs: list[Path | None]) -> None:
    """No output may be an input (by path, symlink or hard link): nothing given is lost."""
    for path, role in outputs:
        for given in inputs:
            if path is not None and given is not None and _same_file(path, given):
                _fail(f"{role} {quoted(path)} is the input file {quoted(given)}; choose another output path", USAGE)


def _check_plot() -> None:
    from .errors import SubsyncError
    from .plot import check_available
    from .render import reason

    try:
        check_available()
    except SubsyncError as exc:
        _fail(reason(exc), ERROR)


def _check_writable(outputs: list[tuple[Path | None, str]]) -> None:
    """Every output can be written, checked before the work (not after a long sync)."""
    from .fileio import check_writable

    for path, role in outputs:
        if path is None:
            continue
        try:
            check_writable(path)
        except OSError as exc:
            _fail(f"cannot write {role} {quoted(path)}: {exc.strerror or exc}", ERROR)


def commit_outputs(outputs: list[tuple[Output, str]]) -> None:
    """Write a pair's outputs (fileio.Output, role) together or not at all; a failure is a
    SubsyncError naming the role and path (``cannot write --report r.json: No space left
    on device``), and then no file was replaced."""
    from .errors import SubsyncError
    from .fileio import atomic_write_all

    try:
        atomic_write_all([output for output, _ in outputs])
    except OSError as exc:
        role = next((role for output, role in outputs if exc.filename == os.fspath(output.path)), "a file")
        name = quoted(exc.filename) if exc.filename else ""
        raise SubsyncError(f"cannot write {role} {name}: {exc.strerror or exc}; no file was written") from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


@dataclasses.dataclass(frozen=True)
class _Fix:
    """What ``subsync fix`` does with each of its pairs."""

    synchronizer: Synchronizer
    options: SyncOptions
    kind: str | None
    report: Path | None
    plot: Path | None
    in_place: bool
    dry_run: bool
    quiet: bool
    reference: Path | None
    reference_stream: int | None
    as_json: bool = False
    records: list = dataclasses.field(default_factory=list)  # --json: one record per pair, in order

    def __call__(self, media: Path | None, subs: Path, target: Path) -> int:
        """One pair, start to end: 0 when written (or printed), else its error's exit status
        (its one line already on stderr)."""
        from . import render

        progress = Progress(self.quiet)
        output = None if self.dry_run else target

        def work():
            result = self.sync(media, subs, progress)
            progress.finish()
            return result, self.write(result, subs, target)

        try:
            done, failed = attempt(work, render.failure)
        except KeyboardInterrupt:
            progress.finish()
            _fail(INTERRUPTED_MESSAGE, INTERRUPTED)
        if failed is not None:
            progress.finish()
            if self.as_json:
                self.records.append(_fix_record(media, subs, output, failed.outcome, failed.reason))
            return _error(failed.message, failed.status)
        assert done is not None
        result, backup = done
        if self.as_json:
            kept = {} if backup is None else {"backup": os.fspath(backup)}
            self.records.append(
                _fix_record(
                    media, subs, output, "dry run" if self.dry_run else "synced", header={**kept, **result.header()}
                )
            )
        if not self.quiet and not self.dry_run and not self.as_json:
            replaced = f" (the file it replaced is {quoted(backup)})" if backup is not None else ""
            typer.echo(f"{quoted(target)}{replaced}: {render.summary(result, self.from_reference)}", err=True)
        return OK

    @property
    def from_reference(self) -> bool:
        return self.reference is not None or self.reference_stream is not None

    def sync(self, media: Path | None, subs: Path, progress: Progress):
        if self.reference_stream is not None:
            from .media import extract_subtitle_document

            assert media is not None  # (the stream is read from the media)
            reference = extract_subtitle_document(media, self.reference_stream)
        else:
            reference = self.reference
        if reference is not None:
            return self.synchronizer.sync_to_reference(reference, subs, self.options)
        assert media is not None  # (only a reference sync has none)
        return self.synchronizer.sync(media, subs, self.options, progress=progress)

    def write(self, result, subs: Path, target: Path) -> Path | None:
        """Print the changes (``--dry-run``), or write the result, its report and its plot
        (and, ``--in-place``, the backup, whose path is returned)."""
        from . import render

        if self.dry_run:
            if not self.as_json:
                for line in render.changes(result):
                    typer.echo(line)
            if not self.quiet and not self.as_json:
                typer.echo(f"dry run, nothing written; {render.summary(result, self.from_reference)}", err=True)
            return None
        outputs = self.outputs(result, subs, target)
        commit_outputs(outputs)
        return Path(outputs[0][0].path) if self.in_place else None

    def outputs(self, result, subs: Path, target: Path) -> list[tuple[Output, str]]:
        """What this pair writes, in the order it is put in place, each with its role
        in messages: the backup (``--in-place``: never over an earlier one), the
        subtitle, the report, the plot."""
        from . import render
        from .fileio import Output, in_place_outputs

        data = result.to_bytes(self.kind)
        if self.in_place:
            backup, output = in_place_outputs(subs, data)
            outputs = [(backup, "the backup"), (output, "the output")]
        else:
            outputs = [(Output(target, data), "the output")]
        if self.report is not None:
            outputs.append((Output(self.report, render.report_bytes(result)), "--report"))
        if self.plot is not None:
            from .plot import plot_bytes

            outputs.append((Output(self.plot, plot_bytes(result, self.plot.suffix.lstrip(".").lower())), "--plot"))
        return outputs


# The options batch and watch share (the same pairing and naming), declared once.
Folders = Annotated[
    list[Path],
    typer.Argument(
        help="Folders of media and subtitles, paired by name "
        "(Show.S01E02.mkv with Show.S01E02.srt, .en.srt, .eng.forced.srt, ...).",
        show_default=False,
        metavar="DIR...",
    ),
]
Recursive = Annotated[bool, typer.Option("--recursive", "-r", help="Also look in sub-folders.")]
OutDir = Annotated[
    Path | None, typer.Option(help="Write the results here (mirroring sub-folders) instead of next to the inputs.")
]
Suffix = Annotated[str, typer.Option(help="Added to each output's name before its extension.")]
Jobs = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        help="Worker processes, each with its own model "
        "and a share of the CPU threads (default: what the cores and memory allow).",
    ),
]


def _check_folders(folders: list[Path], suffix: str, jobs: int | None) -> None:
    """batch's and watch's arguments: usage errors for folders that are not, a bad
    --suffix or --jobs."""
    for folder in folders:
        if not folder.is_dir():
            _fail(f"{quoted(folder)}: not a folder", USAGE)
    if not suffix or "/" in suffix or os.sep in suffix:
        _fail("--suffix must be a non-empty file-name part such as .synced", USAGE)
    if jobs is not None and jobs < 1:
        _fail("--jobs must be 1 or more", USAGE)


@app.command()
@_with_sync_args
def batch(
    folders: Folders,
    recursive: Recursive = False,
    out_dir: OutDir = None,
    suffix: Suffix = ".synced",
    skip_existing: Annotated[bool, typer.Option("--skip-existing", help="Skip pairs whose output exists.")] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            help="JSON-lines report, one line per pair (default: subsync-batch.jsonl in --out-dir or the first DIR)."
        ),
    ] = None,
    jobs: Jobs = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Run the pairs on a Ray cluster: "
            "auto (the running one), host:port or ray://host:port; every node must see the files at the "
            "same paths. --jobs: worker actors (default: the cluster's CPUs / 2).",
        ),
    ] = None,
    *,
    common: SyncArgs,
) -> None:
    """Sync every media/subtitle pair in DIR... with one model per worker; a summary table at the end."""
    from . import batch as batching
    from .render import batch_table, failure

    _check_folders(folders, suffix, jobs)
    kind = common.kind()
    options = common.sync_options()
    try:
        found = batching.find_pairs(folders, recursive, suffix)
    except OSError as exc:
        _fail(f"{quoted(exc.filename or folders[0])}: cannot list: {exc.strerror or exc}")
    if not found.pairs:
        _fail(
            f"no media file with a subtitle of the same name in {', '.join(map(quoted, folders))}"
            + ("" if recursive else " (--recursive looks in sub-folders)")
        )
    clashes = batching.collisions(found.pairs, suffix, out_dir, kind)
    if clashes:
        first, second = clashes[0]
        _fail(
            f"{quoted(first.subs)} and {quoted(second.subs)} would both be written to "
            f"{quoted(batching.output_for(first, suffix, out_dir, kind))}; use --out-dir per folder or another --format",
            USAGE,
        )
    report_path = report or (out_dir or folders[0]) / "subsync-batch.jsonl"
    written = {batching.output_for(pair, suffix, out_dir, kind).parent for pair in found.pairs}
    with _locked([*folders, *([out_dir] if out_dir is not None else []), *(f for f in written if f.is_dir())]):
        progress = Progress(common.quiet, len(found.pairs))
        model_options = common.model_options()
        if ray is not None:
            outcome_stream = _on_cluster(
                ray,
                jobs,
                found.pairs,
                model_options,
                options,
                common.cache,
                suffix=suffix,
                out_dir=out_dir,
                kind=kind,
                skip_existing=skip_existing,
            )
            progress(f"syncing on the Ray cluster at {ray}", 0, 1)
        else:
            jobs = min(jobs or _default_jobs(found.pairs, common.device), len(found.pairs))
            if jobs > 1:
                make_sync = functools.partial(batching.synchronizer_sync, model_options, options, cache=common.cache)
                outcome_stream = batching.run_parallel(
                    found.pairs,
                    jobs,
                    make_sync,
                    suffix=suffix,
                    out_dir=out_dir,
                    kind=kind,
                    skip_existing=skip_existing,
                    explain=failure,
                )
                progress(f"syncing with {jobs} workers", 0, 1)
            else:
                sync = batching.synchronizer_sync(model_options, options, model_options.threads, cache=common.cache)
                outcome_stream = batching.run(
                    found.pairs,
                    sync,
                    suffix=suffix,
                    out_dir=out_dir,
                    kind=kind,
                    skip_existing=skip_existing,
                    progress=progress.pair_stage,
                    explain=failure,
                )
        outcomes, interrupted = _follow(outcome_stream, report_path, progress, common.json)
    order = {pair: k for k, pair in enumerate(found.pairs)}
    outcomes.sort(key=lambda outcome: order[outcome.pair])  # (workers finish in any order)
    if interrupted:
        _fail(
            f"interrupted after {len(outcomes)} of {len(found.pairs)} pairs; no file is half-written; "
            f"report: {quoted(report_path)}",
            INTERRUPTED,
        )
    if not common.quiet and not common.json:
        for line in batch_table(outcomes, found):
            typer.echo(line)
        typer.echo(f"report: {quoted(report_path)}")
    code = overall(outcome.exit_status for outcome in outcomes)
    if code:
        raise typer.Exit(code)


@app.command()
@_with_sync_args
def watch(
    folders: Folders,
    recursive: Recursive = False,
    out_dir: OutDir = None,
    suffix: Suffix = ".synced",
    in_place: InPlace = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            help="Worker processes for the pairs due at once, each with its own model, started for "
            "each such round (default: 1, one model in this process, loaded when first needed).",
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            help="The SQLite file that remembers what was done (default: watch.sqlite3 in $SUBSYNC_HOME, "
            "else ~/.cache/subsync).",
            show_default=False,
        ),
    ] = None,
    settle: Annotated[
        float, typer.Option(help="Seconds a new or changed file must keep its size and time before it is synced.")
    ] = SETTLE_S,
    retry: Annotated[
        float, typer.Option(help="Seconds before a failed pair is tried again; doubled after each further failure.")
    ] = RETRY_FIRST_S,
    retry_max: Annotated[float, typer.Option(help="The longest wait between tries of a failed pair, in seconds.")] = (
        RETRY_MAX_S
    ),
    once: Annotated[
        bool, typer.Option("--once", help="Catch up and exit (for cron or a systemd timer), with batch's exit status.")
    ] = False,
    *,
    common: SyncArgs,
) -> None:
    """Keep DIR... synced: catch up, then sync each pair as its files arrive or change, one line per pair."""
    from . import batch as batching
    from .home import subsync_home
    from .render import failure, summary, watch_line
    from .watch import WatchOptions
    from .watch import watch as keep_synced
    from .watchstate import STATE_NAME, Backoff, StateError

    _check_folders(folders, suffix, jobs)
    kind = common.kind()
    options = common.sync_options()
    if in_place and (out_dir is not None or kind is not None):
        _fail("--in-place replaces each subtitle where it is, in its format: not with --out-dir or --format", USAGE)
    for name, value in (("--settle", settle), ("--retry", retry), ("--retry-max", retry_max)):
        if not math.isfinite(value) or value < 0 or (value == 0 and name != "--settle"):
            _fail(
                f"{name} must be a {'' if name == '--settle' else 'positive '}number of seconds, not {value:g}", USAGE
            )
    if retry_max < retry:
        _fail("--retry-max must be at least --retry", USAGE)
    watched = WatchOptions(
        tuple(folder.resolve() for folder in folders),
        recursive,
        suffix,
        None if out_dir is None else out_dir.resolve(),
        kind,
        in_place,
        settle,
        Backoff(retry, retry_max),
    )
    model_options = common.model_options()

    def show(event) -> None:
        if common.json:
            typer.echo(json.dumps(event.record()))
        elif not common.quiet or event.outcome.status != "synced":
            typer.echo(watch_line(event), err=True)

    state_path = state or subsync_home() / STATE_NAME
    with _locked([*folders, *([out_dir] if out_dir is not None else [])]), _terminate_interrupts() as terminated:

        def watching() -> None:
            if not common.quiet and not common.json:
                typer.echo(
                    f"subsync: watching {', '.join(map(quoted, folders))} (state: {quoted(state_path)})", err=True
                )

        try:
            code = keep_synced(
                watched,
                state_path,
                functools.partial(batching.synchronizer_sync, model_options, options, cache=common.cache),
                jobs=jobs or 1,
                threads=model_options.threads,
                once=once,
                on_event=show,
                on_watching=watching,
                describe=summary,
                explain=failure,
            )
        except StateError as exc:
            _fail(str(exc))
        except OSError as exc:
            _fail(f"{quoted(exc.filename or folders[0])}: cannot list: {exc.strerror or exc}")
        except KeyboardInterrupt:
            if once or not terminated:
                _fail("interrupted; no file is half-written", INTERRUPTED)
            code = OK  # SIGTERM: the service's stop
            if not common.quiet and not common.json:
                typer.echo("subsync: stopped; no file is half-written", err=True)
    if code:
        raise typer.Exit(code)


@contextlib.contextmanager
def _terminate_interrupts():
    """Held: SIGTERM (a service manager's stop) interrupts as Ctrl-C does; the list it
    gives holds the signal once one came."""
    import signal

    received: list[int] = []

    def interrupt(signum, frame) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _locked(folders: list[Path]):
    """Held: the batch's lock on the folders it reads and writes (fileio.FolderLock): the
    folders given, --out-dir and every folder an output goes to (a recursive batch over
    /films and one over /films/Show exclude each other); a one-line error when another
    batch holds one of them."""
    from .fileio import FolderLock, FolderLocked

    lock = FolderLock(folders)
    try:
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)  # (--out-dir: made now, to hold its lock)
        lock.__enter__()
    except FolderLocked as exc:
        holder = f" (process {exc.pid})" if exc.pid else ""
        _fail(
            f"{quoted(exc.folder)} is being synced by another subsync batch{holder}; "
            "wait for it to end, or give another folder"
        )
    except OSError as exc:
        _fail(f"{quoted(exc.filename or folders[0])}: cannot lock: {exc.strerror or exc}")
    try:
        yield lock
    finally:
        lock.release()


def _follow(outcome_stream, report_path: Path, progress: Progress, as_json: bool) -> tuple[list, bool]:
    """The batch's outcomes as they come, each appended to the report at once (and printed
    as a JSON line with --json); whether Ctrl-C stopped it.  A report that cannot be
    written stops the batch with a one-line error (the pairs written so far stay)."""
    import datetime

    from .render import BatchReport

    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    outcomes = []
    try:
        with BatchReport(report_path, started) as log:
            for outcome in outcome_stream:
                outcomes.append(outcome)
                log.append(outcome)
                progress.done(outcome)
                if as_json:
                    typer.echo(json.dumps(outcome.record()))
    except KeyboardInterrupt:
        getattr(outcome_stream, "close", lambda: None)()  # the workers stop, whatever was reading
        progress.finish()
        return outcomes, True
    except OSError as exc:
        getattr(outcome_stream, "close", lambda: None)()
        progress.finish()
        _fail(
            f"{quoted(report_path)}: cannot write the batch report: {exc.strerror or exc} "
            f"(stopped after {len(outcomes)} pairs)"
        )
    progress.finish()
    return outcomes, False


def _on_cluster(address: str, jobs: int | None, pairs, model_options, options, cache: bool, **where):
    """The pairs' outcomes from worker actors on the Ray cluster at ``address``."""
    from . import batch as batching
    from .cluster import ClusterError, connect, default_workers, run_ray
    from .render import failure, reason

    try:
        cpus = connect(address)
    except ClusterError as exc:
        _fail(reason(exc))
    workers = jobs or default_workers(cpus, len(pairs))
    return run_ray(
        pairs,
        workers,
        functools.partial(batching.synchronizer_sync, model_options, options, cache=cache),
        explain=failure,
        **where,
    )


def run() -> None:
    """Console entry point: click's usage errors become one line too."""
    from typer.exceptions import TyperException

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        code = _error(INTERRUPTED_MESSAGE, INTERRUPTED)
    except TyperException as exc:  # click's usage errors (typer vendors click)
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.ctx.get_help())  # type: ignore[attr-defined]  # (NoArgsIsHelpError has its context)
            code = 0
        else:
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            typer.echo(f"subsync: error: {message} (see subsync {_command(exc)}--help)", err=True)
            code = getattr(exc, "exit_code", 2)
    _exit(code if isinstance(code, int) else 0)


def _exit(code: int) -> NoReturn:
    """Exit with ``code``.  While the model still loads in its thread (a Ctrl-C during
    "loading model"), the interpreter's shutdown would run torch's static destructors
    under that thread and abort ("terminate called without an active exception", exit
    -6): then the process ends at once, its output flushed.  Nothing is lost by that:
    every file was renamed into place, or not written, before this point."""
    api = sys.modules.get(f"{__package__}.api")  # (not imported: no model was asked for)
    if api is not None and any(
        thread.name == api.MODEL_THREAD and thread.is_alive() for thread in threading.enumerate()
    ):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _command(exc) -> str:
    ctx = getattr(exc, "ctx", None)
    name = ctx.info_name if ctx is not None and ctx.parent is not None else ""
    return f"{name} " if name else ""
