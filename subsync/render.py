"""What the command line shows and writes besides the subtitles: the summary line, the dry
run's change lines, the batch table, the JSON report and the batch's JSON-lines report, and
its error lines.  Plain strings and bytes (no typer): the commands print them.

This is the command line's module (only ``subsync.cli`` imports it): here, and only here
and in the CLI itself, the library's errors and values become advice naming options
(``--language``, ``--audio-track N``, ``--force``)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from .errors import (
    EnglishOnlyModelError,
    Int8NeedsCpuError,
    MissingExtraError,
    ModelIsAFileError,
    NoCudaError,
    NoSpeechError,
    OffsetBeyondSearchError,
    RefusedError,
    SubsyncError,
    quoted,
)
from .exits import Failure
from .exits import failure as plain_failure
from .fileio import atomic_write_bytes
from .subtitles import format_timestamp


def summary(result, from_reference: bool = False) -> str:
    """One line: the map (offset, drift, cuts), what happened to the lines, and any warning."""
    from .core.triage import FAST_SAMPLE

    counts = result.counts()
    time_map = result.time_map
    drift = (time_map.scale - 1.0) * 100
    found = f"offset {time_map.offset_s:+.3f} s, drift {drift:+.3f} % (scale {time_map.scale:.5f})"
    offsets = [time_map.offset_s, *(cut.offset_s for cut in time_map.cuts)]
    for cut, before, after in zip(time_map.cuts, offsets, offsets[1:]):
        found += (
            f", cut at {format_timestamp(cut.at_s)} (media {format_timestamp(time_map(cut.at_s))}): "
            f"{after - before:+.3f} s"
        )
    if not result.text_heard:
        how = (
            f"the subtitle text is not heard in the audio (language {result.language or '?'}): "
            "every line moved by the time map from speech activity alone"
        )
    elif not counts["retimed"] and not counts["kept"]:
        how = (
            "every line moved by the time map ("
            + (
                "from the reference subtitles"
                if from_reference
                else f"language {result.language}"
                if result.language
                else "from speech activity alone"
            )
            + ")"
        )
    else:
        how = (
            f"{counts['retimed']} lines re-timed, "
            f"{counts['kept']} kept, {counts['mapped'] + counts['unaligned']} left on the global map, "
            f"mean confidence {result.mean_confidence:.2f}, language {result.language}"
        )
    listened = result.listened
    if listened is not None and listened.heard < listened.total:
        how += (
            f"; {listened.heard} of {listened.total} windows heard "
            f"({'a sample' if listened.why == FAST_SAMPLE else 'triage'})"
        )
    outside = result.outside
    if outside:
        how += f"; {outside} line{'s' if outside > 1 else ''} placed beyond the end of the media"
    how += track(result.audio)
    warning = (
        f"; WRITTEN DESPITE THE SELF-CHECK (--force): {refusal(result.refusal, result.detected_language)}"
        if result.refusal
        else ""
    )
    return f"{found}, {how}{warning}"


def track(audio) -> str:
    """ "; audio track N (tag): why" for a file with several audio tracks (an AudioChoice),
    else ""."""
    from .api import LanguageSource
    from .media import TrackReason

    if audio is None or audio.reason is TrackReason.ONLY:
        return ""
    tag = f" ({audio.language})" if audio.language else ""
    wanted = {
        LanguageSource.SPOKEN: "the spoken language (--language)",
        LanguageSource.SUBS: "the subtitles' language (--subs-language)",
        LanguageSource.STREAM: "the subtitles' language (their stream's tag)",
        LanguageSource.NAME: "the subtitles' language (from their file name)",
        LanguageSource.TEXT: "the subtitles' language (identified from their text)",
    }.get(audio.wanted_from, "")
    why = {
        TrackReason.GIVEN: "given",
        TrackReason.LANGUAGE: f"tagged {audio.wanted}, {wanted}",
        TrackReason.DEFAULT: "marked default, "
        + (
            f"as no track is tagged {audio.wanted}, {wanted}"
            if audio.wanted
            else "the subtitles' language being unknown"
        ),
        TrackReason.FIRST: "the first, "
        + (
            f"as no track is tagged {audio.wanted}, {wanted}, nor marked default"
            if audio.wanted
            else "the subtitles' language being unknown"
        ),
        TrackReason.SPEECH: "its speech matches the text, the first choice's did not",
    }[audio.reason]
    return f"; audio track {audio.index}{tag}: {why}"


OPTION_OF_EXTRA = {"plot": "--plot", "ray": "--ray"}  # the option that needs each extra
LANGUAGE_ADVICE = "; if it is another, give it with --language"


def reason(exc: SubsyncError) -> str:
    """An error's own line as the command line words it: the library's message, or, for an
    error an option causes or cures, the same with the option named (``--language fr``,
    ``--audio-track 1``, ``raise --max-offset``)."""
    if isinstance(exc, EnglishOnlyModelError):
        return f"model {exc.model} is English-only; --language {exc.language} needs a multilingual model such as base"
    if isinstance(exc, ModelIsAFileError):
        return f"--model {exc.model} is a file; give a model directory, a hub id or one of: {', '.join(exc.bundled)}"
    if isinstance(exc, NoCudaError):
        return f"--device {quoted(exc.device)} was asked for, but torch sees no CUDA GPU"
    if isinstance(exc, Int8NeedsCpuError):
        return "int8 runs on the CPU only; use --device cpu or drop --int8"
    if isinstance(exc, MissingExtraError) and exc.extra in OPTION_OF_EXTRA:
        return f"{OPTION_OF_EXTRA[exc.extra]} needs {exc.module}: {exc.install}"
    if isinstance(exc, OffsetBeyondSearchError):
        return (
            f"{exc.subs}: no line is heard in {exc.media} within the searched offsets "
            f"(+-{exc.max_offset_s:g} s); if the subtitles are further off, raise --max-offset"
        )
    if isinstance(exc, NoSpeechError) and exc.speaking_track is not None:
        return f"{exc}: --audio-track {exc.speaking_track}"
    if isinstance(exc, RefusedError):
        return refusal(str(exc), exc.detected_language)
    from .cluster import ClusterAddressError

    if isinstance(exc, ClusterAddressError):
        return f"--ray: {exc.address!r} is not auto, host:port or ray://host[:port]"
    from .watch import OutputClashError

    if isinstance(exc, OutputClashError):
        return f"{exc}; use --out-dir per folder or another --format"
    return str(exc)


def refusal(text: str, detected_language: str | None) -> str:
    """A refusal as the command line words it: where it says which language the speech was
    taken for (detected, not given), it says how to give another."""
    if not detected_language:
        return text
    from .core.engine import language_note

    return text.replace(language_note(detected_language), language_note(detected_language, LANGUAGE_ADVICE))


def failure(exc: SubsyncError | OSError) -> Failure:
    """:func:`subsync.exits.failure` as the command line words it (:func:`reason`; a refused
    result that ``--force`` would write says so).  Module-level, so that worker processes
    and cluster actors can be handed it (``explain``)."""
    plain = plain_failure(exc)
    if not isinstance(exc, SubsyncError):
        return plain
    line = reason(exc)
    if isinstance(exc, RefusedError):
        force = "" if exc.result is None else " (--force writes it anyway)"
        return Failure(plain.status, line, f"refused: {line}; nothing written{force}")
    return Failure(plain.status, line, line)


def changes(result) -> list[str]:
    """``--dry-run``: one line per cue whose times change: number, old and new times, the
    shift, what was done."""
    lines = []
    for cue, line in zip(result.document.cues, result.lines):
        if round(cue.start_s, 3) == round(line.start_s, 3) and round(cue.end_s, 3) == round(line.end_s, 3):
            continue
        lines.append(
            f"{line.index + 1:5d}  {format_timestamp(cue.start_s)} --> {format_timestamp(cue.end_s)}  =>  "
            f"{format_timestamp(line.start_s)} --> {format_timestamp(line.end_s)}  "
            f"{line.start_s - cue.start_s:+8.3f} s  {line.action}"
        )
    return lines


def batch_table(outcomes: Sequence, found) -> list[str]:
    """The end of ``subsync batch``: one row per pair (status, subtitle, offset, drift, cuts,
    lines re-timed, time), why each refused or failed pair was, then the totals."""
    rows = [("status", "subtitle", "offset", "drift", "cuts", "re-timed", "time")]
    for o in outcomes:
        r = o.report
        rows.append(
            (
                o.status,
                str(o.pair.subs),
                f"{r['offset_s']:+.3f} s" if "offset_s" in r else "",
                f"{(r['scale'] - 1) * 100:+.3f} %" if "scale" in r else "",
                str(len(r.get("cuts", []))) if r else "",
                str(r["counts"]["retimed"]) if r else "",
                f"{o.seconds:.1f} s",
            )
        )
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    for o in outcomes:
        if o.message and o.status in ("refused", "failed"):
            lines.append(f"{o.status}: {quoted(o.pair.subs)}: {o.message}")
    counts = {
        status: sum(o.status == status for o in outcomes) for status in ("synced", "skipped", "refused", "failed")
    }
    lines.append(
        ", ".join(f"{n} {status}" for status, n in counts.items())
        + (f"; {len(found.unpaired_subs)} subtitle(s) without media" if found.unpaired_subs else "")
        + (f"; {len(found.media_without_subs)} media without subtitles" if found.media_without_subs else "")
    )
    return lines


def report_bytes(result) -> bytes:
    """``--report``: the result's JSON account."""
    return (json.dumps(result.report(), indent=1) + "\n").encode()


def write_report(path: str | os.PathLike, result) -> None:
    """``--report``: the result's JSON account, written atomically."""
    atomic_write_bytes(path, report_bytes(result))


class BatchReport:
    """The batch's JSON-lines report, kept as the batch goes: each pair's record appended
    (flushed and fsynced) as the pair finishes, after the records earlier batches left
    there, so a batch killed at any point has a record of every pair it wrote.  Each
    record names the batch it belongs to (``batch_started``, UTC).  OSError (naming the
    report) when it cannot be written."""

    def __init__(self, path: str | os.PathLike, started: str) -> None:
        self.path, self.started = Path(path), started
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "ab")  # noqa: SIM115 (held for the report's life; close() closes it)
        try:
            if self._file.tell() and not _ends_with_newline(self.path):
                self._write(b"\n")  # a record a killed writer left unfinished stays on its own
        except BaseException:
            self._file.close()
            raise

    def append(self, outcome) -> None:
        self._write((json.dumps({**outcome.record(), "batch_started": self.started}) + "\n").encode())

    def _write(self, data: bytes) -> None:
        try:
            self._file.write(data)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, os.fspath(self.path)) from None

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> BatchReport:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def write_batch_report(path: str | os.PathLike, outcomes: Sequence) -> None:
    """The batch's JSON-lines report, one line per pair, written atomically (its folder made)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, "".join(json.dumps(o.record()) + "\n" for o in outcomes).encode())


def watch_line(event) -> str:
    """One line of ``subsync watch`` for a pair tried (a watch.WatchEvent): when, how it
    ended, its output (or, not written, its subtitle), why, and a failed pair's next try."""
    from .watch import utc_text

    outcome = event.outcome
    line = f"{utc_text(event.time_s)} {outcome.status}: {quoted(outcome.output if outcome.status == 'synced' else outcome.pair.subs)}"
    if outcome.message:
        line += f": {outcome.message}"
    if event.retry_at_s is not None:
        line += f" (try {event.attempts}; next at {utc_text(event.retry_at_s)})"
    return line
