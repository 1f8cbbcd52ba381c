"""Atomic file writing: a file is either left as it was or replaced whole, never half-written;
the outputs of one run are committed together or not at all; temp files a killed run left
behind are removed by the next write to the same file; a backup never replaces another."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PathLike = str | os.PathLike

__all__ = [
    "FolderLock",
    "FolderLocked",
    "Output",
    "PathLike",
    "atomic_write_all",
    "atomic_write_bytes",
    "backup_path",
    "check_writable",
    "in_place_outputs",
    "is_backup_of",
    "process_running",
    "regular_file",
    "remove_stale_temps",
]

# ".<name>.<pid>-<hex>.tmp": the writer's process id tells a stale temp file from a live one.
_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?:(?P<pid>\d+)-)?[0-9a-f]{12}\.tmp$")
STALE_UNOWNED_S = 60.0  # a temp file of ours without a pid (older versions) this old is stale
STALE_ANY_S = 86400.0  # any temp file of ours this old is stale (its pid was reused)
BACKUP_SUFFIX = ".bak"
MAX_BACKUPS = 1000  # SUBS.bak, SUBS.bak.1, ... SUBS.bak.999


@dataclass(frozen=True)
class Output:
    """One file to write: its destination, its bytes, and (a backup) the file whose
    permission bits and times it takes; ``exclusive``: never replace an existing file."""

    path: PathLike
    data: bytes
    like: PathLike | None = None
    exclusive: bool = False


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, os.replace).

    An existing destination keeps its permission bits; a new one gets the
    usual umask-derived mode. The temp file is removed on any failure,
    KeyboardInterrupt included. OSError propagates, naming ``path``.
    """
    atomic_write_all([Output(path, data)])


def atomic_write_all(outputs: Sequence[Output]) -> None:
    """Write every output or none: each to a temp file beside its destination, fsynced;
    only when all of them are on disk are they renamed into place, in order (so a backup
    listed first is in place before the file it saves is replaced).  A failure before
    the renames (a full disk, a folder that takes no file, two outputs that are one file)
    removes the temp files and leaves every destination as it was; its OSError names the
    destination.  (The renames themselves do not fail but for a folder changed under the
    run; one that did would leave the renames before it done.)"""
    destinations = [Path(os.path.realpath(output.path)) for output in outputs]
    for k, dest in enumerate(destinations):
        if dest in destinations[:k]:  # (--report SUBS.bak would replace the backup)
            raise FileExistsError(errno.EEXIST, "is written twice by one run", os.fspath(outputs[k].path))
    staged: list[tuple[Path, Path, Output]] = []
    try:
        for output, dest in zip(outputs, destinations):
            try:
                remove_stale_temps(dest)
                mode = _existing_mode(dest)
                fd, tmp = _open_temp(dest)
                staged.append((dest, tmp, output))
                _write_fsync(fd, output.data)
                if output.like is not None:
                    shutil.copystat(output.like, tmp)
                elif mode is not None:
                    os.chmod(tmp, mode)
            except OSError as exc:
                raise _naming(exc, output.path) from None
        for dest, tmp, output in staged:
            try:
                if output.exclusive:
                    _place_exclusive(tmp, dest)
                else:
                    os.replace(tmp, dest)
            except OSError as exc:
                raise _naming(exc, output.path) from None
    except BaseException:
        for _, tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    for directory in {dest.parent for dest, _, _ in staged}:
        _fsync_directory(directory)


def _place_exclusive(tmp: Path, dest: Path) -> None:
    """Rename ``tmp`` to ``dest`` unless ``dest`` exists (FileExistsError then): a hard link
    where the file system has them, else a new file made with O_EXCL (FAT, exFAT, many
    SMB shares), written and fsynced."""
    try:
        os.link(tmp, dest)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV):
            raise
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with open(tmp, "rb") as source:
                _write_fsync(fd, source.read())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(dest)
            raise
        with contextlib.suppress(OSError):
            shutil.copystat(tmp, dest)
    os.unlink(tmp)


def backup_path(path: PathLike) -> Path:
    """Where ``--in-place`` keeps the file it replaces: ``SUBS.bak``, or when that exists
    (an earlier run's backup, the original download) ``SUBS.bak.1``, ``SUBS.bak.2``...: a
    backup never replaces another."""
    first = Path(f"{os.fspath(path)}{BACKUP_SUFFIX}")
    for k in range(MAX_BACKUPS):
        candidate = first if k == 0 else Path(f"{first}.{k}")
        if not os.path.lexists(candidate):
            return candidate
    raise FileExistsError(errno.EEXIST, f"{MAX_BACKUPS} backups exist already", os.fspath(first))


def in_place_outputs(path: PathLike, data: bytes) -> list[Output]:
    """What ``--in-place`` writes, in order, for :func:`atomic_write_all`: what ``path`` holds,
    kept as its backup (:func:`backup_path`; never over an earlier one), then ``data`` over it."""
    return [Output(backup_path(path), Path(path).read_bytes(), like=path, exclusive=True), Output(path, data)]


def is_backup_of(path: PathLike, original: PathLike) -> bool:
    """Is ``path`` one of the names :func:`backup_path` gives ``original``'s backups
    (``SUBS.bak``, ``SUBS.bak.N``), symbolic links followed?"""
    real = Path(os.path.realpath(path))
    first = Path(os.path.realpath(Path(original).parent)) / f"{Path(original).name}{BACKUP_SUFFIX}"
    return real.parent == first.parent and re.fullmatch(re.escape(first.name) + r"(\.\d+)?", real.name) is not None


def check_writable(path: PathLike) -> None:
    """Raise OSError unless ``atomic_write_bytes(path, ...)`` could write there: its
    folder exists and takes a new file (tried with the same kind of temp file), and
    ``path`` is not a folder.  Lets a long job fail before its work, not after."""
    dest = Path(os.path.realpath(path))
    if dest.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder", os.fspath(path))
    try:
        fd, tmp = _open_temp(dest)
    except OSError as exc:
        raise _naming(exc, path) from None
    os.close(fd)
    os.unlink(tmp)


def regular_file(path: PathLike) -> bool:
    """Is ``path`` (after symbolic links) a regular file, not a FIFO, a device or a socket,
    which a read could wait on for ever?  False when it does not exist."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def remove_stale_temps(dest: Path) -> list[Path]:
    """Remove the temp files of ``dest`` (our naming) that no running writer owns: their
    process is gone (a SIGKILL, a power cut), or they are too old to be anyone's.
    Returns what was removed."""
    removed: list[Path] = []
    now = time.time()
    try:
        names = os.listdir(dest.parent)
    except OSError:
        return removed
    for name in names:
        match = _TEMP_RE.match(name)
        if match is None or match["name"] != dest.name:
            continue
        temp = dest.parent / name
        try:
            info = os.lstat(temp)
            age_s = now - max(info.st_mtime, info.st_ctime)  # (ctime: a backup's temp has the original's mtime)
        except OSError:
            continue
        pid = match["pid"]
        stale = age_s > STALE_ANY_S or (age_s > STALE_UNOWNED_S if pid is None else not process_running(int(pid)))
        if stale:
            with contextlib.suppress(OSError):
                os.unlink(temp)
                removed.append(temp)
    return removed


def process_running(pid: int) -> bool:
    """Is process ``pid`` alive on this machine?"""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, another user's
        return True
    return True


def _naming(exc: OSError, path: PathLike) -> OSError:
    """``exc`` with ``path`` as its file name (a write to a descriptor names none)."""
    return type(exc)(exc.errno, exc.strerror or str(exc), os.fspath(path)) if exc.errno else exc


def _existing_mode(path: Path) -> int | None:
    """Permission bits of an existing regular file, else None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else None


def _open_temp(dest: Path) -> tuple[int, Path]:
    """Create and open a new, uniquely named temp file next to ``dest``."""
    while True:
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def _write_fsync(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd``, fsync it, and close it."""
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_directory(directory: Path) -> None:
    """Best-effort fsync of a directory so the rename is durable."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------- one batch per folder

LOCK_NAME = ".subsync.lock"


class FolderLocked(OSError):
    """Another process holds the lock of ``folder`` (its process id ``pid``, 0 if unknown)."""

    def __init__(self, folder: PathLike, pid: int) -> None:
        super().__init__(errno.EAGAIN, "locked by another process", os.fspath(folder))
        self.folder, self.pid = Path(folder), pid


class FolderLock:
    """An exclusive lock on each of some folders, for as long as it is held (``with``):
    a ``.subsync.lock`` file in each, flock'ed, with the holder's process id in it.  The
    kernel releases it when the holder dies, however it dies (SIGKILL, out of memory),
    so no stale lock ever stops a later run.  A folder that takes no new file (read
    only) is not locked: nothing is written there.  Raises FolderLocked on the first
    folder another process holds; then none is held."""

    def __init__(self, folders: Sequence[PathLike]) -> None:
        self.folders = sorted({Path(os.path.realpath(folder)) for folder in folders})
        self._held: list[tuple[Path, int]] = []

    def __enter__(self) -> FolderLock:
        try:
            for folder in self.folders:
                fd = _lock(folder / LOCK_NAME)
                if fd is not None:
                    self._held.append((folder / LOCK_NAME, fd))
        except BaseException:
            self.release()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def release(self) -> None:
        """Remove the lock files and let go (unlinked first, so a waiting process that
        opened the old file sees it is no longer the folder's lock and opens anew)."""
        while self._held:
            path, fd = self._held.pop()
            with contextlib.suppress(OSError):
                os.unlink(path)
            os.close(fd)


def _lock(path: Path) -> int | None:
    """An open descriptor of ``path``, flock'ed, with our pid written; None when the
    folder takes no file."""
    import fcntl

    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT):
                raise
            try:  # another user's lock file still locks (flock needs no write)
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                return None  # a folder that takes no file: nothing is written there
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _pid_in(fd)
            os.close(fd)
            raise FolderLocked(path.parent, pid) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:  # else the holder removed it as we opened it: again
            with contextlib.suppress(OSError):  # (read-only: the pid stays unknown)
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)


def _pid_in(fd: int) -> int:
    try:
        return int(os.pread(fd, 32, 0).split()[0])
    except (OSError, ValueError, IndexError):
        return 0
