"""What the watch service remembers between runs: one SQLite file, a row per subtitle it
has tried, with what each of the pair's files was (:mod:`subsync.fingerprint`), how the
try ended, where the output went and what the output was.

From that row a pair is judged (:meth:`WatchState.check`): up to date while its media and
subtitle are what they were and its output is the file that was written (a touched file
is not a changed one: equal size and sampled content); a refused pair stays refused until
one of its files changes, and so does a pair recorded as clashing (its output another
pair's); a failed pair is tried again after a back-off that doubles with each failure.  An
output found up to date without a row (written by ``subsync batch``) gets one
(:meth:`WatchState.adopt`).  The row of a sync is written *before* its output is put in place, with the
digest of the bytes about to be written, so a process killed between the two (SIGKILL, a
power cut) leaves either the output the row names (done) or not (tried again): no pair is
synced twice, none is lost.

The file is in WAL mode with a busy timeout: another process (a second watcher, a worker,
``sqlite3 watch.sqlite3``) may read it, or write it, while the service runs."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import SubsyncError, quoted
from .fingerprint import Fingerprint, fingerprint

if TYPE_CHECKING:
    import sqlite3

    from .batch import Outcome, Pair

STATE_NAME = "watch.sqlite3"  # in subsync_home(), unless --state says where
SCHEMA_VERSION = 1  # PRAGMA user_version of the file this module writes
BUSY_TIMEOUT_S = 30.0  # how long a write waits for another process's to finish
RETRY_FIRST_S = 60.0  # a failed pair is tried again this long after its first failure,
RETRY_MAX_S = 3600.0  # then twice as long after each further one, up to this


class PairStatus(Enum):
    """How a pair's last try ended (what its row says)."""

    SYNCED = "synced"  # written (or about to be: see the module's doc)
    REFUSED = "refused"  # refused by the self-check; nothing written
    FAILED = "failed"  # an error (unreadable file, broken media, full disk, a bug); nothing written
    CLASHED = "clashed"  # its output would be another pair's too; nothing written


class Verdict(Enum):
    """What is to be done with a pair now."""

    SYNC = "sync"  # never tried, a file of it changed, or its output is gone or not the one written
    UP_TO_DATE = "up to date"
    REFUSED = "refused"  # refused, and neither file changed since: not tried again
    BACKING_OFF = "backing off"  # failed, neither file changed: tried again at Check.retry_at_s
    CLASHED = "clashed"  # recorded as clashing, neither file changed: synced once the clash is gone


@dataclass(frozen=True)
class Check:
    verdict: Verdict
    retry_at_s: float | None = None  # BACKING_OFF: when it is due (time.time() seconds)


@dataclass(frozen=True)
class Backoff:
    """How long a failed pair waits before its next try: ``first_s`` after the first failure,
    doubling with each further one, at most ``max_s``."""

    first_s: float = RETRY_FIRST_S
    max_s: float = RETRY_MAX_S

    def delay_s(self, failures: int) -> float:
        return min(self.max_s, self.first_s * 2.0 ** max(0, failures - 1))


@dataclass(frozen=True)
class Record:
    """A pair's row."""

    subs: Path  # the key: a subtitle belongs to one media file
    media: Path
    output: Path  # where its result goes (the subtitle itself, in place)
    status: PairStatus
    media_print: Fingerprint  # the inputs as they were when last tried
    subs_print: Fingerprint
    output_print: Fingerprint | None  # SYNCED: the output written (its mtime 0 until looked at)
    attempts: int  # tries since its files last changed (the failures, while it fails)
    retry_at_s: float | None  # FAILED: when it is due again (time.time() seconds)
    message: str  # why it was refused, failed or clashed
    updated_s: float  # when the row was written (time.time() seconds)


class StateError(SubsyncError):
    """The state file cannot be opened or written (``path``, and SQLite's or the system's reason)."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{quoted(path)}: cannot use it as the watch state: {why}")
        self.path, self.why = path, why


_COLUMNS = (
    "subs, media, output, status, media_size, media_mtime_ns, media_digest, subs_size, subs_mtime_ns, "
    "subs_digest, output_size, output_mtime_ns, output_digest, attempts, retry_at_s, message, updated_s"
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS pairs (
    subs TEXT PRIMARY KEY,
    media TEXT NOT NULL,
    output TEXT NOT NULL,
    status TEXT NOT NULL,
    media_size INTEGER NOT NULL, media_mtime_ns INTEGER NOT NULL, media_digest TEXT NOT NULL,
    subs_size INTEGER NOT NULL, subs_mtime_ns INTEGER NOT NULL, subs_digest TEXT NOT NULL,
    output_size INTEGER, output_mtime_ns INTEGER, output_digest TEXT,
    attempts INTEGER NOT NULL,
    retry_at_s REAL,
    message TEXT NOT NULL,
    updated_s REAL NOT NULL
)
"""


class WatchState:
    """The state file at ``path`` (made, with its folder, when missing), open until
    :meth:`close` (or the end of a ``with``).  StateError when it cannot be opened, is
    not a watch state, or cannot be written."""

    def __init__(self, path: str | os.PathLike) -> None:
        import sqlite3

        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(self.path, _why(exc)) from None
        self._db = db
        try:
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            db.execute("PRAGMA journal_mode = WAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise StateError(self.path, f"written by another version of subsync (schema {version})")
            db.execute(_SCHEMA)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            self.close()
            raise StateError(self.path, _why(exc)) from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> WatchState:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------ reading

    def get(self, subs: Path) -> Record | None:
        """The row of subtitle ``subs`` (None when it was never tried)."""
        rows = self._run(f"SELECT {_COLUMNS} FROM pairs WHERE subs = ?", (os.fspath(subs),))
        return _record(rows[0]) if rows else None

    def records(self) -> list[Record]:
        """Every row, by subtitle."""
        return [_record(row) for row in self._run(f"SELECT {_COLUMNS} FROM pairs ORDER BY subs")]

    def forget_gone(self, folders: Sequence[Path]) -> list[Path]:
        """Drop the rows of subtitles under ``folders`` (resolved) that no longer exist
        (deleted, renamed, moved away), so that a library's state does not grow with every
        file it ever held; rows of other folders (another service's) and of folders that are
        not there (an unmounted drive) are kept.  Returns the subtitles forgotten."""
        folders = [folder for folder in folders if folder.is_dir()]
        gone = [
            record.subs
            for record in self.records()
            if any(record.subs.is_relative_to(folder) for folder in folders) and not record.subs.exists()
        ]
        for subs in gone:
            self._run("DELETE FROM pairs WHERE subs = ?", (os.fspath(subs),))
        return gone

    def check(self, pair: Pair, output: Path, now_s: float) -> Check:
        """What is to be done with ``pair`` (whose result goes to ``output``) at ``now_s``
        (time.time() seconds).  Files are hashed only when their size and time changed;
        a touched file found the same has its new time remembered."""
        record = self.get(pair.subs)
        if record is None or record.media != pair.media or record.output != output:
            return Check(Verdict.SYNC)
        media = self._same(record, "media", record.media_print, pair.media)
        if record.status is PairStatus.SYNCED:
            in_place = output == pair.subs  # (the input was replaced by the output by design)
            subs_same = in_place or self._same(record, "subs", record.subs_print, pair.subs)
            output_same = record.output_print is not None and self._same(record, "output", record.output_print, output)
            return Check(Verdict.UP_TO_DATE if media and subs_same and output_same else Verdict.SYNC)
        if not (media and self._same(record, "subs", record.subs_print, pair.subs)):
            return Check(Verdict.SYNC)
        if record.status is PairStatus.REFUSED:
            return Check(Verdict.REFUSED)
        if record.status is PairStatus.CLASHED:
            return Check(Verdict.CLASHED)
        due = record.retry_at_s or 0.0
        return Check(Verdict.SYNC) if due <= now_s else Check(Verdict.BACKING_OFF, due)

    # ------------------------------------------------------------ writing

    def writing(self, pair: Pair, output: Path, media: Fingerprint, subs: Fingerprint, written: Fingerprint) -> None:
        """``pair`` is synced from the inputs ``media`` and ``subs`` and ``written`` is about
        to be put in place at ``output``: its row says so first (see the module's doc)."""
        attempts = self._attempts(pair, output, media, subs)
        self._put(pair, output, PairStatus.SYNCED, media, subs, written, None, "", attempts)

    def adopt(self, pair: Pair, output: Path, media: Fingerprint, subs: Fingerprint, written: Fingerprint) -> None:
        """``output`` (``written``), found up to date with the inputs ``media`` and ``subs``
        but not synced by the service, is recorded as ``pair``'s result, with no try made."""
        self._put(pair, output, PairStatus.SYNCED, media, subs, written, None, "", 0)

    def clashed(self, pair: Pair, output: Path, media: Fingerprint, subs: Fingerprint, message: str) -> Record:
        """``pair``, with the inputs ``media`` and ``subs``, was not synced: its result would
        be written to ``output``, as another pair's would (``message`` says whose).  Returns
        the row."""
        attempts = self._attempts(pair, output, media, subs)
        self._put(pair, output, PairStatus.CLASHED, media, subs, None, None, message, attempts)
        record = self.get(pair.subs)
        assert record is not None  # (just written)
        return record

    def finished(self, outcome: Outcome, media: Fingerprint, subs: Fingerprint, backoff: Backoff) -> Record:
        """A try's end: a synced pair's output as it is on disk; a refused or failed pair's
        inputs as they were before the try (``media``, ``subs``) and, failed, when it is
        due again.  Returns the row."""
        status = PairStatus(outcome.status)
        pair, output = outcome.pair, outcome.output
        if status is PairStatus.SYNCED:
            try:
                written: Fingerprint | None = fingerprint(output)
            except OSError:  # (removed at once: found missing, and synced again, later)
                written = None
            record = self.get(pair.subs)
            if (
                record is not None
                and record.status is PairStatus.SYNCED
                and record.output_print is not None
                and written is not None
                and record.output_print.digest == written.digest
            ):  # its row, from writing(): the inputs as the sync read them
                media, subs, attempts = record.media_print, record.subs_print, record.attempts
            else:
                attempts = self._attempts(pair, output, media, subs)
            self._put(pair, output, status, media, subs, written, None, "", attempts)
        else:  # (the failures since it last synced: a row of this try's, from writing(), counts none)
            record = self.get(pair.subs)
            synced = record is not None and record.status is PairStatus.SYNCED
            attempts = 1 if synced else self._attempts(pair, output, media, subs)
            retry_at_s = time.time() + backoff.delay_s(attempts) if status is PairStatus.FAILED else None
            self._put(pair, output, status, media, subs, None, retry_at_s, outcome.message, attempts)
        record = self.get(pair.subs)
        assert record is not None  # (just written)
        return record

    def _attempts(self, pair: Pair, output: Path, media: Fingerprint, subs: Fingerprint) -> int:
        """This try's number: one more than the row's when it tried the same inputs, else 1."""
        record = self.get(pair.subs)
        same = (
            record is not None
            and record.media == pair.media
            and record.output == output
            and record.media_print.digest == media.digest
            and record.subs_print.digest == subs.digest
        )
        return record.attempts + 1 if same and record is not None else 1

    def _put(
        self,
        pair: Pair,
        output: Path,
        status: PairStatus,
        media: Fingerprint,
        subs: Fingerprint,
        written: Fingerprint | None,
        retry_at_s: float | None,
        message: str,
        attempts: int,
    ) -> None:
        self._run(
            f"INSERT OR REPLACE INTO pairs ({_COLUMNS}) VALUES ({', '.join('?' * 17)})",
            (
                os.fspath(pair.subs),
                os.fspath(pair.media),
                os.fspath(output),
                status.value,
                *_columns(media),
                *_columns(subs),
                *(_columns(written) if written is not None else (None, None, None)),
                attempts,
                retry_at_s,
                message,
                time.time(),
            ),
        )

    def _same(self, record: Record, role: str, known: Fingerprint, path: Path) -> bool:
        """Is ``path`` still the file ``known`` describes?  Hashed only when its size or time
        changed; when only its time did, the row takes the new time."""
        try:
            if known.same_stat(path):
                return True
            stat = os.stat(path)
            if stat.st_size != known.size:
                return False
            now = fingerprint(path)
        except OSError:
            return False
        if now.digest != known.digest:
            return False
        self._run(f"UPDATE pairs SET {role}_mtime_ns = ? WHERE subs = ?", (now.mtime_ns, os.fspath(record.subs)))
        return True

    def _run(self, sql: str, parameters: tuple = ()) -> list:
        import sqlite3

        if self._db is None:
            raise StateError(self.path, "it is closed")
        try:
            return self._db.execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            raise StateError(self.path, _why(exc)) from None


def _columns(print_: Fingerprint) -> tuple[int, int, str]:
    return print_.size, print_.mtime_ns, print_.digest


def _record(row: tuple) -> Record:
    subs, media, output, status, *prints, attempts, retry_at_s, message, updated_s = row
    output_print = Fingerprint(*prints[6:9]) if prints[8] is not None else None
    return Record(
        Path(subs),
        Path(media),
        Path(output),
        PairStatus(status),
        Fingerprint(*prints[0:3]),
        Fingerprint(*prints[3:6]),
        output_print,
        attempts,
        retry_at_s,
        message,
        updated_s,
    )


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)
