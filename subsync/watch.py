"""The watch service: keep folders of media and subtitles synced as files come and go.

It pairs and names as ``subsync batch`` does (:mod:`subsync.batch`).  On start it catches
up: every pair without an up-to-date output is synced.  Then it follows the folders'
file-system events (watchfiles: inotify, FSEvents, ReadDirectoryChangesW) and syncs a pair
once its new or changed files have stopped growing: their size and time unchanged for
``settle_s`` (downloaders write in pieces).  What was done is kept in a SQLite file
(:mod:`subsync.watchstate`), so a restart redoes nothing, the service's own outputs (and a
subtitle it rewrote in place) are never taken for new work, a failed pair is tried again
after a back-off, and a refused one waits for one of its files to change.  An output
found that the state does not know of, newer than its media and its subtitle (``subsync
batch`` wrote it), is taken as up to date.  Pairs whose outputs would be one file (as
batch.collisions finds them) are not synced: each is reported once, as failed
(:class:`OutputClashError`), and waits for a file of it to change or the clash to go.

Library code: it reports each pair tried through ``on_event`` and returns the exit status
of the tries (:mod:`subsync.exits`); it never prints.  An exception that is none of the
project's errors, raised while one pair is synced (a bug), fails that pair only
(:class:`UnexpectedError`).  Ctrl-C (KeyboardInterrupt) and SystemExit go through: a sync
they interrupt writes nothing and is not recorded, so the next run does it."""

from __future__ import annotations

import datetime
import functools
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SubsyncError, quoted
from .exits import OK, Explain, failure, overall
from .fingerprint import Fingerprint, digest_of, fingerprint
from .watchstate import Backoff, Verdict, WatchState

if TYPE_CHECKING:
    from .batch import Outcome, Pair, Sync

SETTLE_S = 2.0  # a new or changed file is synced once its size and time stayed the same this long
TICK_S = 0.5  # the longest wait between looks at the files still being written and the retries due


class OutputClashError(SubsyncError):
    """The results of two pairs would be written to one file, ``output``: those of the
    subtitles ``subs`` and ``other`` (A.srt and A.ass converted to one format, two folders'
    same-named subtitles under one out_dir).  Neither is synced."""

    def __init__(self, subs: Path, other: Path, output: Path) -> None:
        super().__init__(f"{quoted(subs)} and {quoted(other)} would both be written to {quoted(output)}")
        self.subs, self.other, self.output = subs, other, output


class UnexpectedError(SubsyncError):
    """Syncing a pair raised an exception that is none of the project's errors (a bug, or
    one no one foresaw): the name of its type (``kind``) and its message on one line
    (``text``).  It fails that pair, not the service."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(f"{kind}: {text}" if text else kind)
        self.kind, self.text = kind, text

    @classmethod
    def of(cls, exc: BaseException) -> UnexpectedError:
        return cls(type(exc).__name__, " ".join(str(exc).split()))


@dataclass(frozen=True)
class WatchOptions:
    """What is watched and where its results go (batch's pairing and naming)."""

    folders: tuple[Path, ...]  # absolute
    recursive: bool = False
    suffix: str = ".synced"  # outputs: Show.S01E02.en.synced.srt (never paired as inputs)
    out_dir: Path | None = None  # results under here, mirroring the folders, instead of beside their subtitle
    kind: str | None = None  # srt, vtt, ass; None: each subtitle's own
    in_place: bool = False  # the result replaces the subtitle, kept as SUBS.bak
    settle_s: float = SETTLE_S
    backoff: Backoff = field(default_factory=Backoff)

    def output(self, pair: Pair) -> Path:
        """Where ``pair``'s result goes."""
        from .batch import output_for

        return pair.subs if self.in_place else output_for(pair, self.suffix, self.out_dir, self.kind)


@dataclass(frozen=True)
class WatchEvent:
    """One pair tried: how it ended (batch's Outcome, without the SyncResult)."""

    time_s: float  # when (time.time() seconds)
    outcome: Outcome
    attempts: int  # tries since its files last changed
    retry_at_s: float | None  # failed: when it is tried again (time.time() seconds)

    def record(self) -> dict:
        """A JSON-ready line: the time, then batch's record of the pair (media, subs, output,
        status, message, seconds, the report's header), its tries and, failed, its next try."""
        return {
            "time": utc_text(self.time_s),
            **self.outcome.record(),
            "attempts": self.attempts,
            "retry_at": None if self.retry_at_s is None else utc_text(self.retry_at_s),
        }


def utc_text(time_s: float) -> str:
    """``time_s`` (time.time() seconds) as ISO 8601 UTC to the second."""
    return datetime.datetime.fromtimestamp(time_s, datetime.timezone.utc).isoformat(timespec="seconds")


def watch(
    options: WatchOptions,
    state_path: Path,
    make_sync: Callable[[int | None], Sync],
    *,
    jobs: int = 1,
    threads: int | None = None,
    once: bool = False,
    on_event: Callable[[WatchEvent], None] = lambda event: None,
    on_watching: Callable[[], None] = lambda: None,
    stop: threading.Event | None = None,
    describe: Callable[[object], str] | None = None,
    explain: Explain = failure,
) -> int:
    """Keep ``options.folders`` synced until ``stop`` is set (or, ``once``, until the
    catch-up is done: files still being written are waited for; failed pairs not yet
    due are left for a later run).  ``make_sync(threads)`` returns the ``sync`` of
    :mod:`subsync.batch` (batch.synchronizer_sync with its first two arguments bound);
    with ``jobs`` > 1 each round of pairs due is synced by batch.run_parallel's worker
    processes (so it must be picklable), else in this process with ``threads``.
    ``on_watching()`` is called once the catch-up is done and events are followed.  Returns
    the exit status of the tries made (0 when none failed or was refused, or none was
    made).  StateError when the state file cannot be used; OSError when a folder cannot
    be listed at the start."""
    with WatchState(state_path) as state:
        service = _Service(options, state, make_sync, jobs, threads, on_event, stop, describe, explain)
        if once:
            service.catch_up()
            service.settle()
        else:
            service.follow(on_watching)
        return service.status


class _Service:
    def __init__(
        self,
        options: WatchOptions,
        state: WatchState,
        make_sync: Callable[[int | None], Sync],
        jobs: int,
        threads: int | None,
        on_event: Callable[[WatchEvent], None],
        stop: threading.Event | None,
        describe: Callable[[object], str] | None,
        explain: Explain,
    ) -> None:
        self.options, self.state, self.make_sync = options, state, make_sync
        self.jobs, self.threads, self.on_event, self.stop = jobs, threads, on_event, stop
        self.describe, self.explain = describe, explain
        self.status = OK
        self.dirty: dict[Path, Path] = {}  # folder to look at again -> the folder given that holds it
        self.growing: dict[Path, tuple[tuple[int, int], float]] = {}  # file -> (size, mtime_ns), since (monotonic)
        self.steady: dict[Path, tuple[int, int]] = {}  # file -> (size, mtime_ns) it kept for settle_s
        self.retries: dict[Path, tuple[Path, float]] = {}  # folder -> its root, when a failed pair is due
        self.listed: dict[Path, tuple[Pair, ...]] = {}  # folder -> its pairs, as last listed
        self.named: dict[str, set[Pair]] = {}  # an output's file name -> the pairs listed that write one so named
        self._sync: Sync | None = None  # one job: made when first needed (the model with it)

    # ------------------------------------------------------------ the two ways to run

    def follow(self, on_watching: Callable[[], None]) -> None:
        """Catch up, then follow the folders' events until stopped."""
        import watchfiles

        options = self.options
        caught_up = False
        for changes in watchfiles.watch(
            *options.folders,
            watch_filter=self._relevant,
            stop_event=self.stop,
            rust_timeout=int(TICK_S * 1000),
            yield_on_timeout=True,
            recursive=options.recursive,
            raise_interrupt=True,
        ):
            if not caught_up:  # (the watcher runs already: nothing written meanwhile is missed)
                self.catch_up()
                caught_up = True
                on_watching()
            self.note(changes)
            self.tick()

    def settle(self) -> None:
        """``once``: wait for the files still being written, and sync their pairs."""
        while self.dirty and not self._stopped():
            now = time.monotonic()
            left_s = [since + self.options.settle_s - now for _, since in self.growing.values()]
            wait_s = min(TICK_S, max(0.01, min(left_s, default=0.0)))
            if self.stop is not None:
                self.stop.wait(wait_s)
            else:
                time.sleep(wait_s)
            self.tick()

    # ------------------------------------------------------------ what to look at

    def catch_up(self) -> None:
        """Every pair of the folders: those without an up-to-date output are synced (those
        whose files are still being written when they have settled)."""
        from .batch import find_pairs

        options = self.options
        self.state.forget_gone(options.folders)  # (subtitles deleted or moved while it was away)
        found = find_pairs(options.folders, options.recursive, options.suffix).pairs
        # a subtitle under two folders given (one inside the other) is the inner one's, as its events are
        pairs = list({pair.subs: pair for pair in sorted(found, key=lambda pair: len(pair.root.parts))}.values())
        by_folder: dict[Path, list[Pair]] = {}
        for pair in pairs:
            by_folder.setdefault(pair.subs.parent, []).append(pair)
        for folder, listed in by_folder.items():
            self._list(folder, listed)
        self._consider(pairs)

    def note(self, changes: Iterable[tuple[Any, str]]) -> None:
        """File-system events (watchfiles' (Change, path)): each file changed starts being
        timed, and its folder is looked at again (a folder made or moved in: each below it)."""
        import watchfiles

        for change, name in changes:
            path = Path(name)
            root = self._root_of(path)
            if root is None:
                continue
            if change != watchfiles.Change.deleted and path.is_dir():
                for folder, _ in _folders_below(path, self.options.recursive):
                    self.dirty[folder] = root
                continue
            self.steady.pop(path, None)
            if change != watchfiles.Change.deleted:
                self._settled(path)  # (starts timing it)
            self.dirty[path.parent] = root

    def tick(self) -> None:
        """Look again at the folders marked (events, files being written, retries due)."""
        from .batch import find_pairs

        now_s = time.time()
        for folder, (root, due_s) in list(self.retries.items()):
            if due_s <= now_s:
                del self.retries[folder]
                self.dirty[folder] = root
        dirty, self.dirty = self.dirty, {}
        pairs: list[Pair] = []
        for folder, root in dirty.items():
            try:
                found = find_pairs([folder], False, self.options.suffix)
            except OSError:  # (removed, or unreadable: its events say when it is back)
                self._list(folder, [])
                continue
            listed = [replace(pair, root=root) for pair in found.pairs]
            self._list(folder, listed)
            pairs += listed
        self._consider(pairs)

    def _list(self, folder: Path, pairs: Sequence[Pair]) -> None:
        """``folder``'s pairs are now ``pairs`` (for the clashes across folders)."""
        for pair in self.listed.pop(folder, ()):
            name = self.options.output(pair).name
            self.named[name].discard(pair)
            if not self.named[name]:
                del self.named[name]
        if pairs:
            self.listed[folder] = tuple(pairs)
            for pair in pairs:
                self.named.setdefault(self.options.output(pair).name, set()).add(pair)

    def _consider(self, pairs: Sequence[Pair]) -> None:
        """Sync those of ``pairs`` that are due and whose files have settled, but those whose
        outputs clash (reported instead, with the pairs they clash with); the folders of
        the others that are due stay marked."""
        clashes = self._clashes(pairs)
        due, clashing = [], []
        now_s = time.time()
        for pair in pairs:
            if pair in clashes:
                continue
            check = self.state.check(pair, self.options.output(pair), now_s)
            if check.verdict is Verdict.BACKING_OFF:
                assert check.retry_at_s is not None  # (a BACKING_OFF check has its time)
                self._retry(pair, check.retry_at_s)
            elif check.verdict in (Verdict.SYNC, Verdict.CLASHED):  # (clashed: the clash is gone)
                media, subs = self._settled(pair.media), self._settled(pair.subs)  # (both timed)
                if not (media and subs):
                    self.dirty[pair.subs.parent] = pair.root
                elif not self._adopted(pair):
                    due.append(pair)
        for pair, other in clashes.items():
            media, subs = self._settled(pair.media), self._settled(pair.subs)
            if media and subs:
                clashing.append((pair, other))
            else:
                self.dirty[pair.subs.parent] = pair.root
        if clashing:
            self._clashed(clashing)
        if due:
            self._sync_all(due)

    def _clashes(self, pairs: Sequence[Pair]) -> dict[Pair, Pair]:
        """The pairs whose output would also be another's (batch.collisions), among ``pairs``
        and the pairs listed in any folder that write a file of the same name: each -> the
        other (the first it clashes with)."""
        from .batch import collisions

        options = self.options
        if options.in_place:  # (each result goes over its own subtitle)
            return {}
        names = {options.output(pair).name for pair in pairs}
        elsewhere = {pair for name in names for pair in self.named.get(name, ())}.difference(pairs)
        others = sorted(  # (those still there: a folder removed is not listed again)
            (pair for pair in elsewhere if pair.subs.exists() and pair.media.exists()), key=lambda pair: pair.subs
        )
        clashes: dict[Pair, Pair] = {}
        for first, second in collisions([*pairs, *others], options.suffix, options.out_dir, options.kind):
            clashes.setdefault(first, second)
            clashes.setdefault(second, first)
        return clashes

    def _adopted(self, pair: Pair) -> bool:
        """Is ``pair``'s output, unknown to the state, newer than its media and its subtitle
        (``subsync batch`` wrote it)?  Then it is recorded as up to date, not synced.  (In
        place there is no output apart from the subtitle.)"""
        output = self.options.output(pair)
        if self.options.in_place or self.state.get(pair.subs) is not None:
            return False
        try:
            inputs_ns = max(os.stat(pair.media).st_mtime_ns, os.stat(pair.subs).st_mtime_ns)
            if os.stat(output).st_mtime_ns <= inputs_ns:
                return False
            prints = fingerprint(pair.media), fingerprint(pair.subs), fingerprint(output)
        except OSError:  # (no output: synced)
            return False
        self.state.adopt(pair, output, *prints)
        return True

    def _settled(self, path: Path) -> bool:
        """Has ``path`` stopped growing: its size and time unchanged for settle_s (or, first
        seen now, last modified longer ago than that)?  A file not settled is timed."""
        try:
            stat = os.stat(path)
        except OSError:
            self.growing.pop(path, None)
            return False
        key = (stat.st_size, stat.st_mtime_ns)
        if self.steady.get(path) == key:
            return True
        now = time.monotonic()
        seen = self.growing.get(path)
        if seen is None and path not in self.steady and time.time() - stat.st_mtime >= self.options.settle_s:
            self.steady[path] = key
            return True
        if seen is None or seen[0] != key:
            self.growing[path] = (key, now)
            return False
        if now - seen[1] >= self.options.settle_s:
            del self.growing[path]
            self.steady[path] = key
            return True
        return False

    def _retry(self, pair: Pair, due_s: float) -> None:
        folder = pair.subs.parent
        earlier = self.retries.get(folder, (pair.root, due_s))[1]
        self.retries[folder] = (pair.root, min(earlier, due_s))

    def _root_of(self, path: Path) -> Path | None:
        """The folder given that holds ``path`` as batch would find it (no hidden part, and
        directly in it unless recursive); None when none does."""
        for root in sorted(self.options.folders, key=lambda folder: len(folder.parts), reverse=True):
            try:
                parts = path.relative_to(root).parts
            except ValueError:
                continue
            if not parts or any(part.startswith(".") for part in parts):
                return None
            return root if self.options.recursive or len(parts) == 1 else None
        return None

    @staticmethod
    def _relevant(change: Any, name: str) -> bool:
        """Events worth a look: media, subtitles and folders, none hidden (temp files, locks)."""
        from .batch import MEDIA_EXTENSIONS
        from .subtitles import EXTENSIONS

        path = Path(name)
        if path.name.startswith("."):
            return False
        suffix = path.suffix.lower()
        return suffix in MEDIA_EXTENSIONS or suffix in EXTENSIONS or os.path.isdir(path)

    def _stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    # ------------------------------------------------------------ syncing

    def _clashed(self, clashing: list[tuple[Pair, Pair]]) -> None:
        """Pairs not synced as their outputs clash (each with the other it clashes with):
        each recorded and reported as failed, unless it was already, its files and the
        other the same."""
        for pair, other in clashing:
            output = self.options.output(pair)
            outcome = self._failed(pair, OutputClashError(pair.subs, other.subs, output))
            if self.state.check(pair, output, time.time()).verdict is Verdict.CLASHED:
                record = self.state.get(pair.subs)
                if record is not None and record.message == outcome.message:
                    continue
            try:
                media, subs = fingerprint(pair.media), fingerprint(pair.subs)
            except OSError as exc:  # (unreadable: reported, not recorded)
                self._report(self._failed(pair, exc), 0, None)
                continue
            record = self.state.clashed(pair, output, media, subs, outcome.message)
            self._report(outcome, record.attempts, None)

    def _failed(self, pair: Pair, exc: SubsyncError | OSError) -> Outcome:
        """``pair`` not synced, for ``exc``: its Outcome (refused or failed)."""
        from .batch import Outcome

        why = self.explain(exc)
        return Outcome(pair, self.options.output(pair), why.outcome, why.reason, error=why.message)

    def _report(self, outcome: Outcome, attempts: int, retry_at_s: float | None) -> None:
        self.status = overall([self.status, outcome.exit_status])
        self.on_event(WatchEvent(time.time(), replace(outcome, result=None), attempts, retry_at_s))

    def _sync_all(self, pairs: list[Pair]) -> None:
        """Sync ``pairs`` (one by one, or by worker processes), recording and reporting each."""
        inputs: dict[Pair, tuple[Fingerprint, Fingerprint]] = {}
        for pair in pairs:
            try:
                inputs[pair] = (fingerprint(pair.media), fingerprint(pair.subs))
            except OSError as exc:  # (unreadable: reported, not recorded; its next event tries again)
                self._report(self._failed(pair, exc), 0, None)
        for outcome in self._outcomes([pair for pair in pairs if pair in inputs]):
            record = self.state.finished(outcome, *inputs[outcome.pair], self.options.backoff)
            if record.retry_at_s is not None:
                self._retry(outcome.pair, record.retry_at_s)
            self._report(outcome, record.attempts, record.retry_at_s)

    def _outcomes(self, pairs: list[Pair]) -> Iterator[Outcome]:
        from .batch import one_pair, run_parallel

        options = self.options
        where: dict[str, Any] = {"suffix": options.suffix, "out_dir": options.out_dir, "kind": options.kind}
        if self.jobs > 1:
            make_sync = functools.partial(_recording_sync, self.make_sync, self.state.path, options)
            yield from run_parallel(
                pairs,
                min(self.jobs, len(pairs)),
                make_sync,
                **where,
                describe=self.describe,
                explain=self.explain,
                in_place=options.in_place,
            )
            return
        if self._sync is None:
            self._sync = _recording(self.make_sync(self.threads), self.state, options)
        for pair in pairs:
            if self._stopped():
                return
            try:
                outcome = one_pair(
                    pair,
                    self._sync,
                    lambda stage, done, total: None,
                    **where,
                    describe=self.describe,
                    explain=self.explain,
                    in_place=options.in_place,
                )
            except Exception as exc:  # (a bug past the sync: in describe, say) that pair failed
                outcome = self._failed(pair, UnexpectedError.of(exc))
            yield outcome


def _folders_below(folder: Path, recursive: bool) -> Iterator[tuple[Path, list[str]]]:
    """``folder`` and, recursive, the folders below it (none hidden), as batch walks them."""
    if not recursive:
        yield folder, []
        return
    for directory, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        yield Path(directory), files


def _recording(sync: Sync, state: WatchState, options: WatchOptions) -> Sync:
    """``sync`` whose result, before it is written, is recorded in ``state`` with the digest
    of the bytes to be written (WatchState.writing): a process stopped between the two
    leaves a row its output proves or disproves.  An exception of it that is none of the
    project's errors is raised as an UnexpectedError (in a worker process too), so that
    batch.one_pair takes it for that pair's failure."""

    def recording(pair: Pair, report: Callable[[str, int, int], None]) -> object:
        try:
            media, subs = fingerprint(pair.media), fingerprint(pair.subs)
            result: Any = sync(pair, report)
            data = result.to_bytes(options.kind)
        except (SubsyncError, OSError):
            raise
        except Exception as exc:
            raise UnexpectedError.of(exc) from exc
        state.writing(pair, options.output(pair), media, subs, Fingerprint(len(data), 0, digest_of(data)))
        return result

    return recording


def _recording_sync(
    make_sync: Callable[[int | None], Sync], state_path: Path, options: WatchOptions, threads: int | None
) -> Sync:
    """A worker process's ``sync`` (batch.run_parallel's ``make_sync``): :func:`_recording`
    with the worker's own connection to the state file."""
    return _recording(make_sync(threads), WatchState(state_path), options)
