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


@app.command()
def fix(
    media: Annotated[Optional[Path], typer.Argument(help="Video or audio file (anything ffmpeg reads); "
                     "left out with --reference.", show_default=False, metavar="MEDIA")] = None,
    subs: Annotated[Optional[Path], typer.Argument(help="The SRT file to re-time.", show_default=False,
                                                  metavar="SUBS")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o",
                      help="Where to write the result (default: SUBS.synced.srt).")] = None,
    model: Annotated[str, typer.Option(help="base, tiny.en, a hub id, or a transformers/CTranslate2 directory.")] = "base",
    language: Annotated[str, typer.Option(help="Spoken language (en, fr, ...) or auto.")] = "auto",
    subs_language: Annotated[Optional[str], typer.Option(help="The subtitles' language, if not the spoken one "
                             "(a translation): speech activity alone places the lines.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    audio_track: Annotated[Optional[str], typer.Option(help="Audio stream to use: its number, counting from 0, "
                           "or its language tag (eng, de, fre...).")] = None,
    max_offset: Annotated[float, typer.Option(help="Largest offset searched, in seconds.")] = 600.0,
    int8: Annotated[Optional[bool], typer.Option("--int8/--no-int8",
                    help="int8 linear layers (default: on for the CPU, off on a GPU).")] = None,
    report: Annotated[Optional[Path], typer.Option(help="Also write a JSON report of every line.")] = None,
    in_place: Annotated[bool, typer.Option("--in-place", help="Overwrite SUBS (keeps SUBS.bak).")] = False,
    reference: Annotated[Optional[Path], typer.Option(help="A correctly timed SRT of the same release (any "
                         "language): sync to its timing instead of the audio.")] = None,
    reference_stream: Annotated[Optional[int], typer.Option(help="Sync to the Nth subtitle stream of MEDIA "
                                "(from 0; text subtitles) instead of its audio.")] = None,
    fast: Annotated[bool, typer.Option("--fast", help="Fix offset and drift only: fit the time map on a "
                                       "sample of the lines and move every line by it.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the lines whose times would change; "
                                          "write nothing.")] = False,
    cuts: Annotated[bool, typer.Option("--cuts/--no-cuts", help="Look for cuts (adverts, another edit) "
                                       "and give each part its own offset.")] = True,
    force: Annotated[bool, typer.Option("--force", help="Write the result even when the self-check refuses "
                                        "it (exit code 3 otherwise).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary.")] = False,
) -> None:
    """Re-time SUBS to the speech in MEDIA (or to --reference) and write SUBS.synced.srt."""
    from .errors import RefusedError, SubsyncError
    from .pipeline import SyncOptions, sync, sync_to_reference

    if reference is not None and subs is None:
        media, subs = None, media               # `fix --reference REF SUBS`: SUBS came first
    if subs is None:
        _fail("missing argument SUBS (see subsync fix --help)" if media is not None
              else "missing arguments MEDIA and SUBS (see subsync fix --help)", 2)
    if reference is not None and media is not None:
        _fail("--reference replaces MEDIA: give SUBS only", 2)
    if reference is not None and reference_stream is not None:
        _fail("--reference and --reference-stream exclude each other", 2)
    if reference_stream is not None and reference_stream < 0:
        _fail("--reference-stream counts from 0", 2)
    from_reference = reference is not None or reference_stream is not None
    if in_place and output is not None:
        _fail("--in-place and --output exclude each other", 2)
    if max_offset <= 0:
        _fail("--max-offset must be positive", 2)
    if audio_track is not None and audio_track.strip().startswith("-"):
        _fail("--audio-track counts from 0", 2)
    target = subs if in_place else (output or default_output(subs))
    if not in_place and _same_file(target, subs):
        _fail(f"{target} is the input subtitle file; use --in-place to overwrite it", 2)
    options = SyncOptions(model=model, language=None if language == "auto" else language.lower(),
                          device=device, audio_track=audio_track, max_offset_s=max_offset, int8=int8,
                          fast=fast, cuts=cuts, force=force,
                          subs_language=subs_language.lower() if subs_language else None)
    progress = _Progress(quiet)
    try:
        if reference_stream is not None:
            from .media import extract_subtitles
            from .subtitles import parse_srt_bytes

            embedded = parse_srt_bytes(extract_subtitles(media, reference_stream),
                                       f"{media} subtitle stream {reference_stream}")
            result = sync_to_reference(embedded, subs, options)
        elif reference is not None:
            result = sync_to_reference(reference, subs, options)
        else:
            result = sync(media, subs, options, progress=progress)
        progress.finish()
        if dry_run:
            for line in changes(result):
                typer.echo(line)
            if not quiet:
                typer.echo(f"dry run, nothing written; {summary(result, from_reference)}", err=True)
            return
        if in_place:
            shutil.copy2(subs, str(subs) + ".bak")
        result.save(target)
        if report is not None:
            from .subtitles import atomic_write_bytes

            atomic_write_bytes(report, (json.dumps(result.report(), indent=1) + "\n").encode())
    except RefusedError as exc:
        progress.finish()
        _fail(f"refused: {exc}; nothing written"
              + ("" if exc.result is None else " (--force writes it anyway)"), RefusedError.exit_code)
    except SubsyncError as exc:
        progress.finish()
        _fail(str(exc))
    except OSError as exc:
        progress.finish()
        _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    except KeyboardInterrupt:
        progress.finish()
        _fail("interrupted; nothing was written", 130)
    if not quiet:
        typer.echo(f"{target}: {summary(result, from_reference)}", err=True)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def default_output(subs: Path) -> Path:
    """``movie.en.srt`` -> ``movie.en.synced.srt``."""
    return subs.with_name(subs.stem + ".synced" + (subs.suffix or ".srt"))


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
