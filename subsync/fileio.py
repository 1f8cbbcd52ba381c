"""Atomic file writing: a file is either left as it was or replaced whole, never half-written."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import Union

PathLike = Union[str, os.PathLike]

__all__ = ["PathLike", "atomic_write_bytes", "check_writable"]


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, os.replace).

    An existing destination keeps its permission bits; a new one gets the
    usual umask-derived mode. The temp file is removed on any failure,
    KeyboardInterrupt included. OSError propagates unchanged.
    """
    dest = Path(os.path.realpath(path))
    mode = _existing_mode(dest)
    fd, tmp = _open_temp(dest)
    try:
        _write_fsync(fd, data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(dest.parent)


def check_writable(path: PathLike) -> None:
    """Raise OSError unless ``atomic_write_bytes(path, ...)`` could write there: its
    folder exists and takes a new file (tried with the same kind of temp file), and
    ``path`` is not a folder.  Lets a long job fail before its work, not after."""
    dest = Path(os.path.realpath(path))
    if dest.is_dir():
        raise IsADirectoryError(f"{path} is a folder")
    fd, tmp = _open_temp(dest)
    os.close(fd)
    os.unlink(tmp)


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
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.tmp")
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
