"""Atomic file replacement (temporary sibling, fsync, rename) for every file the project writes.

Written by hand: the ``atomicwrites`` package is archived, and neither ``tempfile`` nor
``os.replace`` alone gives durability (fsync of the file and of its folder) and normal modes.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

_NEW_FILE_MODE = 0o666  # the kernel removes the umask bits, as for any file open() creates
_MAX_PREFIX = 200  # keeps ".<name>.<random>.tmp" within the usual 255-byte name limit


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a new temporary sibling of ``path``, then rename it into place.

    The temporary file gets mode ``0o666 & ~umask`` (what ``open()`` gives a new file;
    ``tempfile.mkstemp`` gives 0600, and some writers, safetensors' among them, replace the
    file they are given), is flushed to disk, renamed over ``path``, and the folder entry is
    flushed too. If ``write`` raises (or the process stops), ``path`` keeps its previous
    content and the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_sibling(path)
    try:
        write(tmp)
        tmp.chmod(_NEW_FILE_MODE & ~current_umask())
        fsync_file(tmp)
        os.replace(tmp, path)
        fsync_directory(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def current_umask() -> int:
    """The process umask, read without changing it where Linux shows it (``os.umask`` can only
    set it, which for a moment would change it for every thread)."""
    try:
        status = Path("/proc/self/status").read_text(errors="replace").splitlines()
        return int(next(line.split()[1] for line in status if line.startswith("Umask:")), 8)
    except (OSError, StopIteration, IndexError, ValueError):  # not Linux >= 4.7
        umask = os.umask(0o022)
        os.umask(umask)
        return umask


def _create_sibling(path: Path) -> Path:
    """An empty new file ``.<name>.<random>.tmp`` beside ``path`` (O_EXCL: never an old one)."""
    while True:
        tmp = path.with_name(f".{path.name[:_MAX_PREFIX]}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _NEW_FILE_MODE)
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
        os.close(fd)
        return tmp


def fsync_file(path: Path) -> None:
    """Flush ``path``'s content to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(folder: Path) -> None:
    """Flush ``folder``'s entries (a rename into it) to disk (POSIX only: Windows cannot
    open a folder for fsync)."""
    if not hasattr(os, "O_DIRECTORY"):  # pragma: no cover - not POSIX
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_file(path: Path) -> bool:
    """Remove the file ``path`` and flush its folder entry; ``False`` where there was none."""
    path = Path(path)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    fsync_directory(path.parent)
    return True
