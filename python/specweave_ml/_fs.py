"""Low-level file operations of docs/format.md ("Writing safely"): atomic whole-file writes, whole-line appends,
and lock files."""

import json
import os
import random
import secrets
import socket
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Optional, Tuple

from .errors import LockTimeoutError

LOCK_STALE_SECONDS = 30.0
# A writer fills its lock microseconds after creating it; one still empty after this long belongs to a dead writer.
EMPTY_LOCK_STALE_SECONDS = 2.0
LOCK_WAIT_SECONDS = 10.0
HOST = socket.gethostname()


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


def _fsync(fd: int) -> None:
    if hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:
        os.fsync(fd)


def write_atomic(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` whole or not at all: a ``.<name>.<pid>.<random>.tmp`` file in the same folder,
    flushed to disk, renamed over the target."""
    def write(tmp: str) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        finally:
            os.close(fd)
    replace_with(path, write)


def replace_with(path: str, write) -> None:
    """Like write_atomic, for content that a function writes to a path (a copied file, a pickled or joblib-dumped
    model): ``write(tmp_path)`` fills a temporary file in the same folder, which is flushed and renamed over
    ``path``; on any failure the temporary file is removed and the target is untouched."""
    folder, base = os.path.split(path)
    tmp = os.path.join(folder, ".%s.%d.%s.tmp" % (base, os.getpid(), secrets.token_hex(4)))
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            _fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def append_lines(path: str, data: bytes) -> None:
    """Appends whole lines (``data`` ends in a newline) with one ``write`` call. If the file does not end in a
    newline (an earlier writer died mid-line), a newline goes first so the broken line stays on its own."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0), 0o666)
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
            stat = f.read()
        return stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] != b"Z"
    except (OSError, ValueError):
        return True


def _read_owner(path: str) -> Optional[Tuple[dict, float]]:
    """(owner, mtime) of a lock file, or ``None`` when it does not exist. An unreadable body gives ``{}``."""
    try:
        with open(path, "rb") as f:
            mtime = os.fstat(f.fileno()).st_mtime
            raw = f.read()
    except FileNotFoundError:
        return None
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


def _break_stale(path: str, judged: dict) -> None:
    """Only one breaker wins the rename; a lock that was released and retaken meanwhile is put back."""
    tomb = "%s.%s.stale" % (path, secrets.token_hex(4))
    try:
        os.rename(path, tomb)
    except FileNotFoundError:
        return
    taken = _read_owner(tomb)
    if taken is not None and taken[0].get("token") != judged.get("token"):
        try:
            os.link(tomb, path)
        except OSError:
            pass
    try:
        os.unlink(tomb)
    except OSError:
        pass


class _PathState:
    """In-process state shared by every FileLock on one path."""

    def __init__(self):
        self.rlock = threading.RLock()
        self.depth = threading.local()
        self.token = None


_local_locks = {}
_local_guard = threading.Lock()


class FileLock:
    """The lock protocol of docs/format.md on one lock file (``experiments/<name>/.lock``).

    Re-entrant within a thread; threads of one process queue on an in-process lock first, so only one of them
    at a time competes for the file.
    """

    def __init__(self, path: str, timeout: float = LOCK_WAIT_SECONDS):
        self.path = path
        self.timeout = timeout
        with _local_guard:
            state = _local_locks.get(os.path.abspath(path))
            if state is None:
                state = _local_locks[os.path.abspath(path)] = _PathState()
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
        token = secrets.token_hex(8)
        owner = {"host": HOST, "pid": os.getpid(), "time": now_iso(), "token": token}
        line = (json.dumps(owner, separators=(",", ":")) + "\n").encode("utf-8")
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            except FileExistsError:
                holder = _read_owner(self.path)
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
                        "is writing, delete the .lock file." % (self.path, who))
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
                current = _read_owner(self.path)
                # only remove the lock if it is still ours (it may have been broken as stale after a long hold)
                if current is not None and current[0].get("token") == self._token:
                    try:
                        os.unlink(self.path)
                    except FileNotFoundError:
                        pass
                self._token = None
        finally:
            self._rlock.release()
