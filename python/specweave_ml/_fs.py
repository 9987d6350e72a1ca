"""The Python client's only door to the disk: the sandbox of docs/format.md ("Symbolic links and the sandbox") and
its safe writes ("Writing safely"): atomic whole-file writes, whole-line appends, lock files, staged artifacts, and
the clean-up of crash leftovers.

Every path given here lies in a project's ``.specweave/`` folder, its *zone*: the last path component named
``.specweave`` (names the client builds never contain one), whose parent is the project root. Whatever the
repository contains, nothing here reads or writes outside the zone's real path:

- the zone itself may be a symbolic link only to a folder inside the project's real root;
- the real path (``os.path.realpath``) of every folder entered must lie inside the zone's real path, so symlinked
  folders are followed only while they stay inside;
- the last component is opened with ``O_NOFOLLOW`` (where the platform lacks it: ``lstat`` before, ``fstat``
  after), so a file that is a symbolic link is never read or written through;
- folders are created one component at a time, each proved a real folder by ``lstat``.

A refusal raises :class:`~specweave_ml.errors.SandboxError` naming the path relative to the project root and the
fix, never what the link points to or holds. The reads outside a zone are few and named: :func:`has_zone` (does a
folder hold a ``.specweave`` entry, for the root finder), :func:`git_refusal` (where the project's ``.git`` leads)
and a file the user passes explicitly to be copied in (:func:`copy_user_file`).
"""

import errno
import hashlib
import json
import os
import random
import re
import secrets
import shutil
import socket
import stat
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Callable, List, Optional, Tuple

from .errors import FormatError, LockTimeoutError, SandboxError

ZONE = ".specweave"
LOCK_STALE_SECONDS = 30.0
# A writer fills its lock microseconds after creating it; one still empty after this long belongs to a dead writer.
EMPTY_LOCK_STALE_SECONDS = 2.0
LOCK_WAIT_SECONDS = 10.0
# Crash leftovers (the server's rules, mcp-server/src/core/store/leftovers.ts): a temp file, staging folder or lock
# tombstone unchanged for LEFTOVER_AGE_SECONDS is dead whoever wrote it (pids are reused); one younger than
# LEFTOVER_GRACE_SECONDS is never touched (names carry no host: a writer on another machine sharing the folder may
# be using it); in between, it is dead when its writer's pid is not alive here (a tombstone has no pid: its breaker
# deletes it within milliseconds, so one past the grace is abandoned).
LEFTOVER_GRACE_SECONDS = 60.0
LEFTOVER_AGE_SECONDS = 3600.0
HOST = socket.gethostname()

# Size caps on files read whole, the server's (docs/format.md, "Symbolic links and the sandbox"): summary and document
# files are written small; line-oriented data up to ~700,000 history points. A writer that only needs what was added
# (the history index) streams instead and has no cap.
MiB = 1024 * 1024
MAX_TEXT_BYTES = 16 * MiB
MAX_DATA_BYTES = 64 * MiB
_DATA_EXTENSIONS = (".jsonl", ".ndjson", ".csv", ".tsv")

#: ``.specweave/.gitignore``, written when missing (the same bytes as the server's): leftovers and locks never
#: belong in git.
GITIGNORE = (b"# Written by specweave-ml: crash leftovers and lock files never belong in git.\n"
             b"*.tmp\n.staging-*\n*.lock\n.lock\n*.stale\n")

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# Opening a FIFO planted in the zone must not block the writer forever.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_LINK_ERRNOS = {errno.ELOOP, getattr(errno, "EMLINK", errno.ELOOP), getattr(errno, "EFTYPE", errno.ELOOP)}
_TEMP_NAME = re.compile(r"^\..+\.(\d+)\.[0-9a-f]+\.tmp$")
_STAGING_NAME = re.compile(r"^\.staging-(\d+)-[0-9a-f]+$")
_TOMBSTONE_NAME = re.compile(r"^\..*lock\.[0-9a-f]+\.stale$")


def now_iso() -> str:
    """The current UTC time as ``2026-11-26T10:00:00.000Z`` (millisecond precision, like JavaScript)."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000)


def parse_iso(text) -> Optional[datetime]:
    """An ISO 8601 timestamp (``Z`` or an offset) as an aware datetime, else ``None``."""
    if not isinstance(text, str) or not text:
        return None
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    # Python < 3.11 accepts only 3 or 6 fraction digits
    if "." in t:
        head, _, rest = t.partition(".")
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        t = head + "." + (digits + "000000")[:6] + rest
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


# ----------------------------------------------------------------------------------------------------------------
# The zone


def _norm(path: str) -> str:
    return os.path.normcase(path)


def _inside(child: str, parent: str) -> bool:
    """Whether real path ``child`` is ``parent`` or below it."""
    child, parent = _norm(child), _norm(parent)
    return child == parent or child.startswith(parent if parent.endswith(os.sep) else parent + os.sep)


class _Place:
    """A path in a zone: ``path`` (absolute, lexical), ``root`` (the project root), ``zone`` (its ``.specweave``)
    and ``real_zone``, checked to lie inside the project's real root."""

    __slots__ = ("path", "root", "zone", "real_zone")

    def __init__(self, path: str, root: str, zone: str, real_zone: str):
        self.path, self.root, self.zone, self.real_zone = path, root, zone, real_zone

    def rel(self, path: Optional[str] = None) -> str:
        """``path`` (default: this one) relative to the project root, with ``/``: how messages name it."""
        return os.path.relpath(path or self.path, self.root).replace(os.sep, "/")

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)


def _place(path) -> _Place:
    """Locates ``path`` in its zone and checks the zone; raises :class:`SandboxError` when there is none or when
    ``.specweave`` leaves the project."""
    p = os.path.abspath(os.fspath(path))
    parts = p.split(os.sep)
    hits = [i for i, part in enumerate(parts) if part == ZONE]
    if not hits or hits[-1] == 0:
        raise SandboxError("%s is not inside a project's .specweave folder; specweave_ml reads and writes nothing "
                           "else." % p)
    zone = os.sep.join(parts[:hits[-1] + 1])
    root = os.path.dirname(zone)
    real_root = os.path.realpath(root)
    if not _is_link(zone):  # the common case: one lstat instead of resolving the path a second time
        return _Place(p, root, zone, os.path.join(real_root, ZONE))
    real_zone = os.path.realpath(zone)
    if not _inside(real_zone, real_root):
        raise SandboxError("%s is a symbolic link that leaves the project; remove it (a .specweave link is allowed "
                           "only to a folder inside the project)." % ZONE)
    where = ("the project root itself" if _norm(real_zone) == _norm(real_root) else
             "a folder under .git" if _inside(real_zone, os.path.join(real_root, ".git")) else
             "nothing" if not os.path.isdir(real_zone) else None)
    if where is not None:
        raise SandboxError("%s is a symbolic link to %s; replace it with a real folder (or a link to a folder inside "
                           "the project, other than the project root and .git)." % (ZONE, where))
    return _Place(p, root, zone, real_zone)


def _check_folder(place: _Place, folder: str) -> None:
    """Raises :class:`SandboxError` unless the real path of ``folder`` lies in the zone, naming the first folder
    on the way down whose real path leaves it."""
    if _inside(os.path.realpath(folder), place.real_zone):
        return
    current = place.zone
    for part in os.path.relpath(folder, place.zone).split(os.sep):
        current = os.path.join(current, part)
        if not _inside(os.path.realpath(current), place.real_zone):
            break
    raise SandboxError(_leaves_message(place.rel(current)))


def _leaves_message(rel: str) -> str:
    return ("%s is a symbolic link that leaves the project; remove it (specweave_ml reads and writes only inside "
            "the project's .specweave folder)." % rel)


def _entered(path) -> _Place:
    """``path`` located and its folder checked: ready to open its last component without following it."""
    place = _place(path)
    if place.path != place.zone:
        _check_folder(place, place.folder)
    return place


def _link_refusal(place: _Place, path: Optional[str] = None) -> SandboxError:
    """The error for a last component that is a symbolic link; it says whether the link leaves the project."""
    target = path or place.path
    rel = place.rel(target)
    if not _inside(os.path.realpath(target), place.real_zone):
        return SandboxError(_leaves_message(rel))
    return SandboxError("%s is a symbolic link; specweave_ml does not open files through links. Replace it with the "
                        "file it points to." % rel)


def _is_link(path: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def _open(place: _Place, flags: int, mode: int = 0o666, path: Optional[str] = None) -> int:
    """Opens the last component of ``path`` (default: the place's) without following a symbolic link."""
    target = path or place.path
    if not _NOFOLLOW and _is_link(target):  # pragma: no cover - Windows: lstat before, fstat after
        raise _link_refusal(place, target)
    try:
        fd = os.open(target, flags | _NOFOLLOW | _BINARY | _CLOEXEC, mode)
    except OSError as e:
        if e.errno in _LINK_ERRNOS and _is_link(target):
            raise _link_refusal(place, target) from None
        raise
    if not _NOFOLLOW:  # pragma: no cover - Windows
        try:
            after, now = os.fstat(fd), os.lstat(target)
            if (after.st_dev, after.st_ino) != (now.st_dev, now.st_ino) or stat.S_ISLNK(now.st_mode):
                raise _link_refusal(place, target)
        except BaseException:
            os.close(fd)
            raise
    return fd


def _open_regular(place: _Place, flags: int, mode: int = 0o666, path: Optional[str] = None) -> int:
    """Like :func:`_open`, refusing anything but a regular file (a FIFO or device planted in the zone)."""
    fd = _open(place, flags | _NONBLOCK, mode, path)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SandboxError("%s is not a regular file; remove it." % place.rel(path))
        if _NONBLOCK and hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def is_user_file(path) -> bool:
    """Whether a path the user passed explicitly (an artifact to copy) is a file. Reading the user's own file is
    the other read outside a zone; only what is written is confined."""
    return os.path.isfile(os.fspath(path))


def copy_user_file(src, dest_file) -> None:
    """Copies a file the user passed explicitly into an open (staged) file object."""
    with open(os.fspath(src), "rb") as fin:
        shutil.copyfileobj(fin, dest_file, 1 << 20)


def user_files(folder) -> List[Tuple[str, str]]:
    """``(path, relative path with /)`` of every regular file under a folder the user (or MLflow, logging a model
    it saved to a temp folder) passed explicitly to be copied in, sorted. Links inside it are not followed."""
    out = []
    top = os.fspath(folder)
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        dirnames.sort()
        for fn in sorted(filenames):
            full = os.path.join(dirpath, fn)
            if stat.S_ISREG(os.lstat(full).st_mode):
                out.append((full, os.path.relpath(full, top).replace(os.sep, "/")))
    return out


def export_file(path, dest) -> None:
    """Copies a file of the zone (not through a link at ``path``, streamed: no size cap) to ``dest``, a file
    outside the zone that the caller named (MLflow downloading an artifact to its temp folder)."""
    place = _entered(path)
    fd = _open_regular(place, os.O_RDONLY)
    try:
        with open(os.fspath(dest), "wb") as out:
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                out.write(chunk)
    finally:
        os.close(fd)


def same_file(user_path, path) -> bool:
    """Whether ``path`` in the zone is already the user's file ``user_path`` (not through a link at ``path``)."""
    place = _entered(path)
    try:
        mine, theirs = os.lstat(place.path), os.stat(os.fspath(user_path))
    except OSError:
        return False
    return not stat.S_ISLNK(mine.st_mode) and (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


def git_refusal(root) -> Optional[str]:
    """Why git must not run for the project at ``root``, or ``None``: its ``.git`` is a link or a ``gitdir:`` file
    whose real target lies outside the project (the server's rule, docs/format.md). A ``.git`` folder, or none at
    all (a repository above the project: a monorepo), is fine. Reads at most 4 KiB of a ``.git`` file, without
    following a link."""
    real_root = os.path.realpath(os.fspath(root))
    dot_git = os.path.join(real_root, ".git")
    try:
        st = os.lstat(dot_git)
    except OSError:
        return None
    if stat.S_ISDIR(st.st_mode):
        return None
    target = None
    if stat.S_ISLNK(st.st_mode):
        target = os.path.realpath(dot_git)
    elif stat.S_ISREG(st.st_mode):
        try:
            fd = os.open(dot_git, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _BINARY | _CLOEXEC)
            try:
                text = os.read(fd, 4096).decode("utf-8", "replace")
            finally:
                os.close(fd)
        except OSError:
            text = ""
        found = re.search(r"^gitdir:\s*(.+?)\s*$", text, re.M)
        if found:
            target = os.path.realpath(os.path.join(real_root, found.group(1)))
    if target is not None and _inside(target, real_root):
        return None
    return ".git is a %s leading to a git folder outside the project (not followed)" % (
        "symbolic link" if stat.S_ISLNK(st.st_mode) else "file")


def has_zone(folder) -> bool:
    """Whether ``folder`` holds a ``.specweave`` entry (a folder or a link to one): the root finder's question."""
    return os.path.lexists(os.path.join(os.fspath(folder), ZONE))


def real_path(path) -> str:
    """The real path of a folder the user named (the project root)."""
    return os.path.realpath(os.fspath(path))


# ----------------------------------------------------------------------------------------------------------------
# Reading


def read_cap(path) -> int:
    """The documented cap for reading ``path`` whole, by kind."""
    return MAX_DATA_BYTES if os.fspath(path).lower().endswith(_DATA_EXTENSIONS) else MAX_TEXT_BYTES


def _format_bytes(n: int) -> str:
    return ("%.1f MiB" % (n / MiB)).replace(".0 MiB", " MiB") if n >= MiB else "%d bytes" % n


def _read_all(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from ``fd``'s position (to the end, not trusting a size: the file may grow)."""
    chunks = []
    total = 0
    while total < limit:
        chunk = os.read(fd, min(1 << 20, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_bytes(path, max_bytes: Optional[int] = None) -> Optional[bytes]:
    """The whole file, or ``None`` when it does not exist. A file over its cap (:func:`read_cap`, or ``max_bytes``)
    raises :class:`~specweave_ml.errors.FormatError` naming it; the file is not read into memory."""
    place = _entered(path)
    cap = read_cap(place.path) if max_bytes is None else max_bytes
    try:
        fd = _open_regular(place, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        size = os.fstat(fd).st_size
        data = _read_all(fd, cap + 1) if size <= cap else b""
        if size > cap or len(data) > cap:
            raise FormatError(
                "%s is over %s, the limit for reading this kind of file whole. A file written by specweave-ml is "
                "far smaller: the file was probably replaced. Restore it (git checkout, or delete it)."
                % (place.rel(), _format_bytes(cap)))
        return data
    finally:
        os.close(fd)


def read_from(path, offset: int, max_bytes: int) -> Optional[Tuple[Tuple[int, int], int, bytes]]:
    """``((device, inode), size, at most max_bytes from offset)`` of a file, or ``None`` when it does not exist. An
    offset past the end (the file was replaced by a shorter one) reads nothing; the caller sees the size."""
    place = _entered(path)
    try:
        fd = _open_regular(place, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        data = b""
        if st.st_size > offset:
            os.lseek(fd, offset, os.SEEK_SET)
            data = _read_all(fd, max_bytes)
        return (st.st_dev, st.st_ino), st.st_size, data
    finally:
        os.close(fd)


def digest(path) -> Tuple[int, str]:
    """``(bytes, sha256 hex)`` of a file in the zone."""
    place = _entered(path)
    fd = _open_regular(place, os.O_RDONLY)
    try:
        return _digest_fd(fd)
    finally:
        os.close(fd)


def _digest_fd(fd: int) -> Tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    os.lseek(fd, 0, os.SEEK_SET)
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return size, h.hexdigest()
        h.update(chunk)
        size += len(chunk)


def exists(path) -> bool:
    """Whether the last component exists (a link counts: opening it is what refuses)."""
    place = _entered(path)
    return os.path.lexists(place.path)


def list_folders(path) -> List[str]:
    """Names of the entries of a folder that are folders or links, sorted; empty when the folder does not exist.
    A link is listed without being followed (not even to see what it leads to): entering it is what checks it."""
    place = _place(path)
    _check_folder(place, place.path)
    try:
        with os.scandir(place.path) as entries:
            return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False) or e.is_symlink())
    except (FileNotFoundError, NotADirectoryError):
        return []


# ----------------------------------------------------------------------------------------------------------------
# Folders, leftovers and .gitignore

_swept = set()
_gitignored = set()
_once_guard = threading.Lock()


def make_dirs(path) -> List[str]:
    """Creates the folder ``path`` and any missing parents, one component at a time, each proved a folder by
    ``lstat`` (an existing link to a folder inside the zone is accepted). Returns the folders created, outermost
    first, so that a failed operation can take them back with :func:`remove_empty_dirs`."""
    place = _place(path)
    created: List[str] = []
    current = place.root
    for part in os.path.relpath(place.path, place.root).split(os.sep):
        current = os.path.join(current, part)
        try:
            os.mkdir(current)
            created.append(current)
        except FileExistsError:
            pass
        try:
            st = os.lstat(current)
        except FileNotFoundError:  # removed meanwhile by someone else: the next operation reports it
            continue
        if stat.S_ISLNK(st.st_mode):
            if not _inside(os.path.realpath(current), place.real_zone):
                raise SandboxError(_leaves_message(place.rel(current)))
            if not os.path.isdir(current):
                raise SandboxError("%s is a symbolic link that does not lead to a folder; remove it."
                                   % place.rel(current))
        elif not stat.S_ISDIR(st.st_mode):
            raise SandboxError("%s is not a folder; remove or rename it." % place.rel(current))
    _ready_to_write(place, place.path)
    if place.path != place.zone:  # the zone's parent is the user's project, not ours to tidy
        _sweep(os.path.dirname(place.path))
    return created


def remove_empty_dirs(created: List[str]) -> None:
    """Takes back folders that :func:`make_dirs` created, innermost first, as long as they are still empty."""
    for folder in reversed(created):
        try:
            os.rmdir(folder)
        except OSError:
            return


def _ready_to_write(place: _Place, folder: str) -> None:
    """Once per process and folder: removes crash leftovers there; once per zone: writes ``.gitignore``."""
    _sweep(folder)
    if place.zone in _gitignored:
        return
    ignore = os.path.join(place.zone, ".gitignore")
    if os.path.isdir(place.zone) and (_create_exclusive(place, ignore, GITIGNORE) or os.path.lexists(ignore)):
        with _once_guard:
            _gitignored.add(place.zone)  # otherwise the next writer tries again


def _create_exclusive(place: _Place, path: str, data: bytes) -> bool:
    """Creates ``path`` with ``data`` unless something (a file, a link) already has that name."""
    try:
        fd = _open(place, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666, path)
    except FileExistsError:
        return False
    except OSError:  # a read-only checkout: the courtesy file is not worth failing the write for
        return False
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)
    return True


def _sweep(folder: str) -> None:
    """Removes the temp files, staging folders and lock tombstones of dead writers from ``folder`` (once per process
    and folder: a long run writing thousands of times lists it once)."""
    with _once_guard:
        if folder in _swept:
            return
        _swept.add(folder)
    try:
        with os.scandir(folder) as it:
            entries = [e for e in it if e.name.startswith(".")]
    except OSError:
        return
    now = time.time()
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        is_dir = stat.S_ISDIR(st.st_mode)
        match = _STAGING_NAME.match(entry.name) if is_dir else (
            _TEMP_NAME.match(entry.name) or _TOMBSTONE_NAME.match(entry.name))
        if match is None or not _leftover_is_dead(match, now - st.st_mtime):
            continue
        try:
            if is_dir:
                shutil.rmtree(entry.path)  # a real folder (lstat); rmtree does not follow links inside it
            else:
                os.unlink(entry.path)  # a link is removed itself, never its target
        except OSError:
            pass  # another writer removed it first, or it is not ours: cleaning never fails a write


def _leftover_is_dead(match, age: float) -> bool:
    if age > LEFTOVER_AGE_SECONDS:
        return True
    if age < LEFTOVER_GRACE_SECONDS:
        return False
    pid = int(match.group(1)) if match.re.groups else None
    return pid is None or not _pid_alive(pid)


# ----------------------------------------------------------------------------------------------------------------
# Writing


def _fsync(fd: int) -> None:
    if hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:
        os.fsync(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _temp_path(path: str) -> str:
    folder, base = os.path.split(path)
    return os.path.join(folder, ".%s.%d.%s.tmp" % (base, os.getpid(), secrets.token_hex(4)))


def _replace(place: _Place, tmp: str) -> None:
    """Renames ``tmp`` over the place, which must not be a symbolic link (the rename would not follow it, but a
    link there is a planted one and is reported, not silently replaced)."""
    if _is_link(place.path):
        raise _link_refusal(place)
    os.replace(tmp, place.path)


def write_atomic(path, data: bytes) -> None:
    """Writes ``data`` to ``path`` whole or not at all: a ``.<name>.<pid>.<random>.tmp`` file in the same folder,
    created exclusively, flushed to disk, renamed over the target."""
    place = _entered(path)
    _ready_to_write(place, place.folder)
    tmp = _temp_path(place.path)
    try:
        fd = _open(place, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666, tmp)
        try:
            _write_all(fd, data)
            _fsync(fd)
        finally:
            os.close(fd)
        _replace(place, tmp)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def append_lines(path, data: bytes) -> None:
    """Appends whole lines (``data`` ends in a newline) with one ``write`` call. If the file does not end in a
    newline (an earlier writer died mid-line), a newline goes first so the broken line stays on its own."""
    place = _entered(path)
    _ready_to_write(place, place.folder)
    fd = _open_regular(place, os.O_RDWR | os.O_CREAT | os.O_APPEND)
    try:
        size = os.fstat(fd).st_size
        if size > 0:
            if hasattr(os, "pread"):
                last = os.pread(fd, 1, size - 1)
            else:  # pragma: no cover - Windows
                os.lseek(fd, size - 1, os.SEEK_SET)
                last = os.read(fd, 1)
            if last != b"\n":
                data = b"\n" + data
        written = os.write(fd, data)
        if written < len(data):  # pragma: no cover - regular files do not write short
            os.write(fd, data[written:])
        _fsync(fd)
    finally:
        os.close(fd)


class StagedFile:
    """A file written next to its destination under a temporary name, not yet in place: :meth:`commit` renames it
    over the destination, :meth:`discard` removes it and the folders created for it. ``size`` and ``sha256``
    describe the content."""

    def __init__(self, place: _Place, tmp: str, created: List[str], size: int, sha256: str):
        self._place, self._tmp, self._created = place, tmp, created
        self.path, self.size, self.sha256 = place.path, size, sha256

    def commit(self) -> None:
        _check_folder(self._place, self._place.folder)
        _replace(self._place, self._tmp)
        self._tmp = None

    def discard(self) -> None:
        if self._tmp is not None:
            _unlink_quietly(self._tmp)
            self._tmp = None
            remove_empty_dirs(self._created)


def stage_file(dest, write: Callable) -> StagedFile:
    """Writes a file for ``dest`` (a copied artifact, a pickled or joblib-dumped model) without putting it in place:
    creates ``dest``'s folders, then a temp file there exclusively and without following links, calls
    ``write(binary file object)``, flushes, and hashes the result. On failure nothing stays behind."""
    place = _place(dest)
    created = make_dirs(place.folder)
    tmp = _temp_path(place.path)
    try:
        fd = _open(place, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666, tmp)
        with os.fdopen(fd, "w+b") as f:
            write(f)
            f.flush()
            _fsync(f.fileno())
            size, sha = _digest_fd(f.fileno())
    except BaseException:
        _unlink_quietly(tmp)
        remove_empty_dirs(created)
        raise
    return StagedFile(place, tmp, created, size, sha)


# ----------------------------------------------------------------------------------------------------------------
# Locks


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # pragma: no cover - os.kill(pid, 0) would send CTRL_C_EVENT; rely on age
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    try:  # a zombie (dead, not yet reaped by its parent) holds nothing
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat_line = f.read()
        return stat_line[stat_line.rindex(b")") + 2:stat_line.rindex(b")") + 3] != b"Z"
    except (OSError, ValueError):
        return True


def _read_owner(place: _Place, path: Optional[str] = None) -> Optional[Tuple[dict, float]]:
    """(owner, mtime) of a lock file, or ``None`` when it does not exist. An unreadable body gives ``{}``."""
    try:
        fd = _open_regular(place, os.O_RDONLY, path=path)
    except FileNotFoundError:
        return None
    try:
        mtime = os.fstat(fd).st_mtime
        raw = os.read(fd, 4096)  # an owner line is ~100 bytes
    finally:
        os.close(fd)
    try:
        owner = json.loads(raw.decode("utf-8-sig"))
        if not isinstance(owner, dict):
            owner = {}
    except (ValueError, UnicodeDecodeError):
        owner = {}  # a writer died between creating and filling the lock: its age decides
    return owner, mtime


def _is_stale(owner: dict, mtime: float) -> bool:
    age = time.time() - mtime
    if age > LOCK_STALE_SECONDS:
        return True
    if not owner.get("token") and age > EMPTY_LOCK_STALE_SECONDS:
        return True
    pid = owner.get("pid")
    return owner.get("host") == HOST and isinstance(pid, int) and not isinstance(pid, bool) and not _pid_alive(pid)


def _break_stale(path, judged: dict) -> None:
    """Only one breaker wins the rename; a lock that was released and retaken meanwhile is put back."""
    place = _entered(path)
    tomb = "%s.%s.stale" % (place.path, secrets.token_hex(4))
    try:
        os.rename(place.path, tomb)  # renames a link itself, never its target
    except FileNotFoundError:
        return
    try:
        taken = _read_owner(place, tomb)
    except SandboxError:
        taken = None
    if taken is not None and taken[0].get("token") != judged.get("token"):
        try:
            os.link(tomb, place.path)
        except OSError:
            pass
    _unlink_quietly(tomb)


class _PathState:
    """In-process state shared by every FileLock on one path."""

    def __init__(self):
        self.rlock = threading.RLock()
        self.depth = threading.local()
        self.token = None


_local_locks = {}
_local_guard = threading.Lock()


class FileLock:
    """The lock protocol of docs/format.md on one lock file (``experiments/<name>/.lock``), in a zone.

    Re-entrant within a thread; threads of one process queue on an in-process lock first, so only one of them
    at a time competes for the file.
    """

    def __init__(self, path, timeout: float = LOCK_WAIT_SECONDS):
        self.path = os.path.abspath(os.fspath(path))
        self.timeout = timeout
        with _local_guard:
            state = _local_locks.get(self.path)
            if state is None:
                state = _local_locks[self.path] = _PathState()
        self._state = state
        self._rlock = state.rlock
        self._depth = state.depth

    @property
    def _token(self):
        return self._state.token

    @_token.setter
    def _token(self, value):
        self._state.token = value

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def acquire(self) -> None:
        self._rlock.acquire()
        depth = getattr(self._depth, "n", 0)
        if depth:
            self._depth.n = depth + 1
            return
        try:
            self._acquire_file()
        except BaseException:
            self._rlock.release()
            raise
        self._depth.n = 1

    def _acquire_file(self) -> None:
        place = _entered(self.path)
        _ready_to_write(place, place.folder)
        token = secrets.token_hex(8)
        owner = {"host": HOST, "pid": os.getpid(), "time": now_iso(), "token": token}
        line = (json.dumps(owner, separators=(",", ":")) + "\n").encode("utf-8")
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fd = _open(place, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                holder = _read_owner(place)
                if holder is not None and _is_stale(*holder):
                    _break_stale(self.path, holder[0])
                    continue
                if time.monotonic() > deadline:
                    who = "another writer"
                    if holder is not None:
                        o = holder[0]
                        who = "process %s on %s since %s" % (o.get("pid", "?"), o.get("host", "?"), o.get("time", "?"))
                    raise LockTimeoutError(
                        "%s is held by %s. Another writer is updating this experiment; retry shortly. If no process "
                        "is writing, delete the .lock file." % (place.rel(), who))
                time.sleep(random.uniform(0.005, 0.025))
                continue
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
            self._token = token
            return

    def release(self) -> None:
        depth = getattr(self._depth, "n", 0)
        if depth <= 0:
            raise RuntimeError("release of a lock that is not held")
        self._depth.n = depth - 1
        try:
            if depth == 1:
                place = _entered(self.path)
                try:
                    current = _read_owner(place)
                except SandboxError:
                    current = None  # replaced by a link meanwhile: not ours, leave it
                # only remove the lock if it is still ours (it may have been broken as stale after a long hold)
                if current is not None and current[0].get("token") == self._token:
                    try:
                        os.unlink(place.path)
                    except FileNotFoundError:
                        pass
                self._token = None
        finally:
            self._rlock.release()


# ----------------------------------------------------------------------------------------------------------------
# Registry primitives (registry engineer, issue 11: additive): create-once records and typed folder listings.


def write_if_missing(path, data: bytes) -> bool:
    """Creates ``path`` whole with ``data`` only if nothing is there yet: a flushed temp file hard-linked into place
    (the server's writeIfMissing), so the file appears complete or not at all and is never replaced. False when
    something already had the name."""
    make_dirs(os.path.dirname(os.path.abspath(os.fspath(path))))
    place = _entered(path)
    tmp = _temp_path(place.path)
    try:
        fd = _open(place, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666, tmp)
        try:
            _write_all(fd, data)
            _fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, place.path)
        except FileExistsError:
            return False
        return True
    finally:
        _unlink_quietly(tmp)


def list_entry_kinds(path) -> List[Tuple[str, str]]:
    """``(name, kind)`` of every entry of a folder, sorted, kind one of ``file``, ``directory``, ``symlink``,
    ``other`` (links are reported, never followed); empty when the folder does not exist."""
    place = _place(path)
    _check_folder(place, place.path)
    out = []
    try:
        with os.scandir(place.path) as entries:
            for e in entries:
                kind = ("symlink" if e.is_symlink() else "file" if e.is_file(follow_symlinks=False) else
                        "directory" if e.is_dir(follow_symlinks=False) else "other")
                out.append((e.name, kind))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(out)
