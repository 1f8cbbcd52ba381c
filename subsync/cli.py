"""The ``subsync`` command line (typer).  Commands are thin: they call :mod:`subsync.sync`."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__

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
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Show the version and exit.")] = None,
) -> None:
    """Re-time subtitle files to the speech in a video, line by line."""


class _Progress:
    """Progress on stderr: one rewritten line on a terminal, stage changes otherwise."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.stage = None
        self.started = time.monotonic()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.tty:
            percent = f" {100 * done // total:3d}%" if total > 1 else ""
            sys.stderr.write(f"\r\033[K{stage}{percent}")
            sys.stderr.flush()
        elif stage != self.stage:
            sys.stderr.write(f"{stage}...\n")
        self.stage = stage

    def finish(self) -> None:
        if not self.quiet and self.tty:
            sys.stderr.write("\r\033[K")


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"subsync: error: {message}", err=True)
    raise typer.Exit(code)


# Options shared by fix and batch.
ModelOpt = Annotated[str, typer.Option(help="base, tiny.en, a hub id, or a transformers/CTranslate2 directory.")]
LanguageOpt = Annotated[str, typer.Option(help="Spoken language (en, fr, ...) or auto.")]
SubsLanguageOpt = Annotated[Optional[str], typer.Option(help="The subtitles' language, if not the spoken one "
                            "(a translation): speech activity alone places the lines.")]
DeviceOpt = Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")]
AudioTrackOpt = Annotated[Optional[str], typer.Option(help="Audio stream to use: its number, counting from 0, "
                          "or its language tag (eng, de, fre...).")]
MaxOffsetOpt = Annotated[float, typer.Option(help="Largest offset searched, in seconds.")]
Int8Opt = Annotated[Optional[bool], typer.Option("--int8/--no-int8",
                    help="int8 linear layers (default: on for the CPU, off on a GPU).")]
FastOpt = Annotated[bool, typer.Option("--fast", help="Fix offset and drift only: fit the time map on a "
                                       "sample of the lines and move every line by it.")]
CutsOpt = Annotated[bool, typer.Option("--cuts/--no-cuts", help="Look for cuts (adverts, another edit) "
                                       "and give each part its own offset.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Write the result even when the self-check refuses "
                                        "it (exit code 3 otherwise).")]
FormatOpt = Annotated[Optional[str], typer.Option("--format", help="Output format: srt, vtt or ass "
                                                  "(default: the input's).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary.")]


def _sync_options(model, language, subs_language, device, audio_track, max_offset, int8, fast, cuts, force):
    from .pipeline import SyncOptions

    if max_offset <= 0:
        _fail("--max-offset must be positive", 2)
    if audio_track is not None and audio_track.strip().startswith("-"):
        _fail("--audio-track counts from 0", 2)
    return SyncOptions(model=model, language=None if language == "auto" else language.lower(),
                       device=device, audio_track=audio_track, max_offset_s=max_offset, int8=int8,
                       fast=fast, cuts=cuts, force=force,
                       subs_language=subs_language.lower() if subs_language else None)


def _format(value: str | None) -> str | None:
    from .formats import FORMATS

    if value is None:
        return None
    kind = {"webvtt": "vtt", "ssa": "ass"}.get(value.lower(), value.lower())
    if kind not in FORMATS:
        _fail(f"--format must be one of {', '.join(FORMATS)}", 2)
    return kind


@app.command()
def fix(
    files: Annotated[Optional[list[Path]], typer.Argument(
        help="MEDIA SUBS: a video or audio file (anything ffmpeg reads) and the subtitle (SRT, WebVTT or "
             "ASS/SSA) to re-time; several MEDIA SUBS pairs in a row; SUBS alone with --reference.",
        show_default=False, metavar="MEDIA SUBS")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o",
                      help="Where to write the result (default: SUBS.synced.srt; one pair only).")] = None,
    model: ModelOpt = "base",
    language: LanguageOpt = "auto",
    subs_language: SubsLanguageOpt = None,
    device: DeviceOpt = "auto",
    audio_track: AudioTrackOpt = None,
    max_offset: MaxOffsetOpt = 600.0,
    int8: Int8Opt = None,
    report: Annotated[Optional[Path], typer.Option(help="Also write a JSON report of every line.")] = None,
    plot: Annotated[Optional[Path], typer.Option(help="Also draw each line's correction against media time "
                    "(PNG; needs matplotlib).")] = None,
    in_place: Annotated[bool, typer.Option("--in-place", help="Overwrite SUBS (keeps SUBS.bak).")] = False,
    reference: Annotated[Optional[Path], typer.Option(help="A correctly timed subtitle of the same release (any "
                         "language): sync to its timing instead of the audio.")] = None,
    reference_stream: Annotated[Optional[int], typer.Option(help="Sync to the Nth subtitle stream of MEDIA "
                                "(from 0; text subtitles) instead of its audio.")] = None,
    fast: FastOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the lines whose times would change; "
                                          "write nothing.")] = False,
    cuts: CutsOpt = True,
    force: ForceOpt = False,
    format: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Re-time SUBS to the speech in MEDIA (or to --reference) and write SUBS.synced.srt."""
    files = list(files or [])
    if reference is not None:
        if len(files) != 1:
            _fail("missing argument SUBS (see subsync fix --help)" if not files
                  else "--reference replaces MEDIA: give SUBS only", 2)
        pairs = [(None, files[0])]
    elif len(files) < 2 or len(files) % 2:
        _fail("missing argument SUBS (see subsync fix --help)" if files
              else "missing arguments MEDIA and SUBS (see subsync fix --help)", 2)
    else:
        pairs = list(zip(files[0::2], files[1::2]))
    if reference is not None and reference_stream is not None:
        _fail("--reference and --reference-stream exclude each other", 2)
    if reference_stream is not None and reference_stream < 0:
        _fail("--reference-stream counts from 0", 2)
    if in_place and output is not None:
        _fail("--in-place and --output exclude each other", 2)
    if len(pairs) > 1 and (output is not None or report is not None or plot is not None):
        _fail("--output, --report and --plot take one MEDIA SUBS pair (use subsync batch for more)", 2)
    kind = _format(format)
    if kind is None and output is not None:            # -o movie.vtt: the output's suffix says
        from .formats import EXTENSIONS

        kind = EXTENSIONS.get(output.suffix.lower())
    if in_place and kind is not None:
        from .formats import EXTENSIONS

        if EXTENSIONS.get(pairs[0][1].suffix.lower(), "srt") != kind or len({p[1].suffix.lower() for p in pairs}) > 1:
            _fail("--in-place keeps each file's format; --format converts into a new file", 2)
    if plot is not None:
        _check_plot_suffix(plot)
    options = _sync_options(model, language, subs_language, device, audio_track, max_offset, int8, fast, cuts,
                            force)
    targets = [subs if in_place else (output or default_output(subs, kind)) for _, subs in pairs]
    for (_, subs), target in zip(pairs, targets):
        if not in_place and _same_file(target, subs):
            _fail(f"{target} is the input subtitle file; use --in-place to overwrite it", 2)
    from .pipeline import Synchronizer

    synchronizer = Synchronizer(options)
    codes = [_fix_one(synchronizer, media, subs, target, kind=kind, report=report, plot=plot, in_place=in_place,
                      reference=reference, reference_stream=reference_stream, dry_run=dry_run, quiet=quiet)
             for (media, subs), target in zip(pairs, targets)]
    code = 1 if 1 in codes else max(codes)
    if code:
        raise typer.Exit(code)


def _fix_one(synchronizer, media: Path | None, subs: Path, target: Path, *, kind, report, plot, in_place,
             reference, reference_stream, dry_run, quiet) -> int:
    """One pair, start to end: 0 when written (or printed), else the error's exit code
    (its one line already on stderr)."""
    from .errors import RefusedError, SubsyncError

    progress = _Progress(quiet)
    from_reference = reference is not None or reference_stream is not None
    try:
        if reference_stream is not None:
            from .media import extract_subtitles
            from .subtitles import parse_srt_bytes

            embedded = parse_srt_bytes(extract_subtitles(media, reference_stream),
                                       f"{media} subtitle stream {reference_stream}")
            result = synchronizer.sync_to_reference(embedded, subs)
        elif reference is not None:
            result = synchronizer.sync_to_reference(reference, subs)
        else:
            result = synchronizer.sync(media, subs, progress=progress)
        progress.finish()
        if dry_run:
            for line in changes(result):
                typer.echo(line)
            if not quiet:
                typer.echo(f"dry run, nothing written; {summary(result, from_reference)}", err=True)
            return 0
        if in_place:
            shutil.copy2(subs, str(subs) + ".bak")
        result.save(target, kind)
        if report is not None:
            from .subtitles import atomic_write_bytes

            atomic_write_bytes(report, (json.dumps(result.report(), indent=1) + "\n").encode())
        if plot is not None:
            from .plot import plot as draw

            draw(result, plot)
    except RefusedError as exc:
        progress.finish()
        return _error(f"refused: {exc}; nothing written"
                      + ("" if exc.result is None else " (--force writes it anyway)"), RefusedError.exit_code)
    except SubsyncError as exc:
        progress.finish()
        return _error(str(exc))
    except OSError as exc:
        progress.finish()
        return _error(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    except KeyboardInterrupt:
        progress.finish()
        _fail("interrupted; nothing was written", 130)
    if not quiet:
        typer.echo(f"{target}: {summary(result, from_reference)}", err=True)
    return 0


def _check_plot_suffix(path: Path) -> None:
    """--plot's suffix must be an image format matplotlib writes (checked before the work)."""
    if path.suffix.lower() not in (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".webp", ".eps", ".ps", ".tif", ".tiff"):
        _fail(f"--plot {path}: use .png, .svg or .pdf", 2)


def _error(message: str, code: int = 1) -> int:
    typer.echo(f"subsync: error: {message}", err=True)
    return code


@app.command()
def batch(
    folders: Annotated[list[Path], typer.Argument(help="Folders of media and subtitles, paired by name "
                       "(Show.S01E02.mkv with Show.S01E02.srt, .en.srt, .eng.forced.srt, ...).",
                       show_default=False, metavar="DIR...")],
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Also look in sub-folders.")] = False,
    out_dir: Annotated[Optional[Path], typer.Option(help="Write the results here (mirroring sub-folders) "
                       "instead of next to the inputs.")] = None,
    suffix: Annotated[str, typer.Option(help="Added to each output's name before its extension.")] = ".synced",
    skip_existing: Annotated[bool, typer.Option("--skip-existing", help="Skip pairs whose output exists.")] = False,
    report: Annotated[Optional[Path], typer.Option(help="JSON-lines report, one line per pair (default: "
                      "subsync-batch.jsonl in --out-dir or the first DIR).")] = None,
    model: ModelOpt = "base",
    language: LanguageOpt = "auto",
    subs_language: SubsLanguageOpt = None,
    device: DeviceOpt = "auto",
    audio_track: AudioTrackOpt = None,
    max_offset: MaxOffsetOpt = 600.0,
    int8: Int8Opt = None,
    fast: FastOpt = False,
    cuts: CutsOpt = True,
    force: ForceOpt = False,
    format: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Sync every media/subtitle pair in DIR... with one model; a summary table at the end."""
    from . import batch as batch_mod
    from .pipeline import Synchronizer

    for folder in folders:
        if not folder.is_dir():
            _fail(f"{folder}: not a folder", 2)
    if not suffix or "/" in suffix or os.sep in suffix:
        _fail("--suffix must be a non-empty file-name part such as .synced", 2)
    kind = _format(format)
    options = _sync_options(model, language, subs_language, device, audio_track, max_offset, int8, fast, cuts,
                            force)
    try:
        found = batch_mod.find_pairs(folders, recursive, suffix)
    except OSError as exc:
        _fail(f"{exc.filename or folders[0]}: cannot list: {exc.strerror or exc}")
    if not found.pairs:
        _fail(f"no media file with a subtitle of the same name in {', '.join(map(str, folders))}"
              + ("" if recursive else " (--recursive looks in sub-folders)"))
    clashes = batch_mod.collisions(found.pairs, suffix, out_dir, kind)
    if clashes:
        first, second = clashes[0]
        _fail(f"{first.subs} and {second.subs} would both be written to "
              f"{batch_mod.output_for(first, suffix, out_dir, kind)}; use --out-dir per folder or another --format", 2)
    report_path = report or (out_dir or folders[0]) / "subsync-batch.jsonl"
    synchronizer = Synchronizer(options)
    bar = _BatchProgress(len(found.pairs), quiet)
    outcomes = []
    try:
        for outcome in batch_mod.run(found.pairs, lambda pair, report: synchronizer.sync(pair.media, pair.subs,
                                                                                         progress=report),
                                     suffix=suffix, out_dir=out_dir, kind=kind, skip_existing=skip_existing,
                                     progress=bar):
            outcomes.append(outcome)
            bar.done(outcome)
    except KeyboardInterrupt:
        bar.finish()
        _write_jsonl(report_path, outcomes)
        _fail(f"interrupted after {len(outcomes)} of {len(found.pairs)} pairs; no file is half-written; "
              f"report: {report_path}", 130)
    bar.finish()
    _write_jsonl(report_path, outcomes)
    if not quiet:
        for line in batch_table(outcomes, found):
            typer.echo(line)
        typer.echo(f"report: {report_path}")
    statuses = {o.status for o in outcomes}
    if "failed" in statuses:
        raise typer.Exit(1)
    if "refused" in statuses:
        raise typer.Exit(3)


def _write_jsonl(path: Path, outcomes) -> None:
    from .subtitles import atomic_write_bytes

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, "".join(json.dumps(o.record()) + "\n" for o in outcomes).encode())
    except OSError as exc:
        _fail(f"{path}: cannot write the batch report: {exc.strerror or exc}")


def batch_table(outcomes, found) -> list[str]:
    """The end-of-batch summary: one row per pair, then the totals."""
    rows = [("status", "subtitle", "offset", "drift", "cuts", "re-timed", "time")]
    for o in outcomes:
        r = o.report
        rows.append((o.status, str(o.pair.subs),
                     f"{r['offset_s']:+.3f} s" if "offset_s" in r else "",
                     f"{(r['scale'] - 1) * 100:+.3f} %" if "scale" in r else "",
                     str(len(r.get("cuts", []))) if r else "",
                     str(r["counts"]["retimed"]) if r else "", f"{o.seconds:.1f} s"))
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    for o in outcomes:
        if o.message and o.status in ("refused", "failed"):
            lines.append(f"{o.status}: {o.pair.subs}: {o.message}")
    counts = {status: sum(o.status == status for o in outcomes) for status in ("synced", "skipped", "refused", "failed")}
    lines.append(", ".join(f"{n} {status}" for status, n in counts.items())
                 + (f"; {len(found.unpaired_subs)} subtitle(s) without media" if found.unpaired_subs else "")
                 + (f"; {len(found.media_without_subs)} media without subtitles" if found.media_without_subs else ""))
    return lines


class _BatchProgress:
    """Overall and per-file progress on stderr (one rewritten line on a terminal)."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.quiet = total, quiet
        self.tty = sys.stderr.isatty()
        self.current = None
        self.finished = 0

    def __call__(self, k: int, pair, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        head = f"[{k + 1}/{self.total} {100 * self.finished // self.total:3d}%] {pair.media.name}"
        if self.tty:
            percent = f" {100 * done // total:3d}%" if total > 1 else ""
            sys.stderr.write(f"\r\033[K{head}: {stage}{percent}")
            sys.stderr.flush()
        elif self.current != k:
            sys.stderr.write(f"{head}...\n")
        self.current = k

    def done(self, outcome) -> None:
        self.finished += 1
        if self.quiet:
            return
        if self.tty:
            sys.stderr.write("\r\033[K")
        sys.stderr.write(f"[{self.finished}/{self.total}] {outcome.status}: {outcome.output if outcome.status == 'synced' else outcome.pair.subs}\n")

    def finish(self) -> None:
        if not self.quiet and self.tty:
            sys.stderr.write("\r\033[K")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def default_output(subs: Path, kind: str | None = None) -> Path:
    """``movie.en.srt`` -> ``movie.en.synced.srt`` (``.vtt``/``.ass`` with ``kind``)."""
    from .formats import SUFFIXES

    return subs.with_name(subs.stem + ".synced" + (SUFFIXES[kind] if kind else (subs.suffix or ".srt")))


def changes(result) -> list[str]:
    """One line per cue whose times change: number, old and new times, what was done."""
    from .subtitles import format_timestamp

    lines = []
    for cue, line in zip(result.document.cues, result.lines):
        if round(cue.start_s, 3) == round(line.start_s, 3) and round(cue.end_s, 3) == round(line.end_s, 3):
            continue
        lines.append(f"{line.index + 1:5d}  {format_timestamp(cue.start_s)} --> {format_timestamp(cue.end_s)}  =>  "
                     f"{format_timestamp(line.start_s)} --> {format_timestamp(line.end_s)}  "
                     f"{line.start_s - cue.start_s:+8.3f} s  {line.action}")
    return lines


def summary(result, from_reference: bool = False) -> str:
    """One line: the map (offset, drift, cuts), what happened to the lines, and any warning."""
    from .subtitles import format_timestamp

    counts = result.counts()
    time_map = result.time_map
    drift = (time_map.scale - 1.0) * 100
    found = f"offset {time_map.offset_s:+.3f} s, drift {drift:+.3f} % (scale {time_map.scale:.5f})"
    offsets = [time_map.offset_s, *(cut.offset_s for cut in time_map.cuts)]
    for cut, before, after in zip(time_map.cuts, offsets, offsets[1:]):
        found += (f", cut at {format_timestamp(cut.at_s)} (media {format_timestamp(time_map(cut.at_s))}): "
                  f"{after - before:+.3f} s")
    if not result.text_heard:
        how = (f"the subtitle text is not heard in the audio (language {result.language or '?'}): "
               "every line moved by the time map from speech activity alone")
    elif not counts["retimed"] and not counts["kept"]:
        how = "every line moved by the time map (" + (
            "from the reference subtitles" if from_reference
            else f"language {result.language}" if result.language else "from speech activity alone") + ")"
    else:
        how = (f"{counts['retimed']} lines re-timed, "
               f"{counts['kept']} kept, {counts['mapped'] + counts['unaligned']} left on the global map, "
               f"mean confidence {result.mean_confidence:.2f}, language {result.language}")
    warning = f"; WRITTEN DESPITE THE SELF-CHECK (--force): {result.refusal}" if result.refusal else ""
    return f"{found}, {how}{warning}"


def run() -> None:
    """Console entry point: click's usage errors become one line too."""
    from typer.exceptions import TyperException

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("subsync: error: interrupted; nothing was written", err=True)
        code = 130
    except TyperException as exc:            # click's usage errors (typer vendors click)
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.ctx.get_help())
            code = 0
        else:
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            typer.echo(f"subsync: error: {message} (see subsync {_command(exc)}--help)", err=True)
            code = getattr(exc, "exit_code", 2)
    sys.exit(code if isinstance(code, int) else 0)


def _command(exc) -> str:
    ctx = getattr(exc, "ctx", None)
    name = ctx.info_name if ctx is not None and ctx.parent is not None else ""
    return f"{name} " if name else ""
