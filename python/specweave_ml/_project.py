"""The project root, increments and names, as docs/format.md defines them."""

import os
import re
import warnings
from pathlib import Path
from typing import List, Optional, Tuple, Union

from . import _fs
from ._fs import FileLock, now_iso, write_atomic
from ._jsonfmt import dumps_canonical, loads_lenient
from .errors import IncrementNotFoundError, InvalidNameError

EXPERIMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_INCREMENT_DIR = re.compile(r"^(\d{3,4})[A-Za-z]?-")
OPEN_STATUSES = ("active", "planning")


def find_project_root(start: Optional[Union[str, Path]] = None) -> Path:
    """The project root: ``SPECWEAVE_ROOT`` if set, else the nearest ancestor of ``start`` (default: the working
    directory) that holds a ``.specweave/`` folder, else ``start`` itself."""
    cwd = Path(start) if start is not None else Path.cwd()
    explicit = os.environ.get("SPECWEAVE_ROOT")
    if explicit:
        return Path(_fs.real_path(cwd / explicit))
    cwd = Path(_fs.real_path(cwd))
    for d in [cwd, *cwd.parents]:
        if _fs.has_zone(d):  # a .specweave link counts: the sandbox decides whether it may be used
            return d
    return cwd


def check_experiment_name(name: str) -> str:
    """Returns ``name`` if it is a valid experiment name, else raises :class:`InvalidNameError`."""
    if not isinstance(name, str) or not EXPERIMENT_NAME.match(name) or ".." in name:
        raise InvalidNameError(
            "Invalid experiment name %r: use 1-100 characters (letters, digits, '.', '_' or '-'), starting with a "
            "letter or digit, without '..', e.g. 'xgboost-depth6'." % (name,))
    return name


def increments_dir(root: Path) -> Path:
    return Path(root) / ".specweave" / "increments"


def list_increments(root: Path) -> List[str]:
    """Folder names of the increments directly under ``.specweave/increments/``, sorted. A linked increment folder
    is listed; using it is refused if the link leaves the project."""
    names = _fs.list_folders(increments_dir(root))
    return [n for n in names if not n.startswith((".", "_")) and _INCREMENT_DIR.match(n)]


def read_increment_metadata(inc_dir: Path) -> Optional[dict]:
    """An increment's metadata.json, or ``None`` when it is missing or unreadable. A metadata.json (or increment
    folder) that is a link leaving the project raises :class:`~specweave_ml.errors.SandboxError`."""
    try:
        raw = _fs.read_bytes(Path(inc_dir) / "metadata.json")
        data = loads_lenient(raw) if raw is not None else None
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def increment_status(inc_dir: Path) -> Optional[str]:
    meta = read_increment_metadata(inc_dir)
    status = meta.get("status") if meta else None
    return "planning" if status == "planned" else status


def _describe(root: Path, names: List[str]) -> str:
    if not names:
        return "none"
    return ", ".join("%s (%s)" % (n, increment_status(increments_dir(root) / n) or "no status") for n in names)


def _match(root: Path, ref: str, names: List[str], origin: str) -> str:
    ref = ref.strip()
    if ref in names:
        return ref
    if re.match(r"^\d+$", ref):
        number = int(ref)
        hits = [n for n in names if int(_INCREMENT_DIR.match(n).group(1)) == number]
    else:
        hits = [n for n in names if n.startswith(ref)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise IncrementNotFoundError("Increment %r%s is ambiguous: it matches %s. Pass the full folder name."
                                     % (ref, origin, ", ".join(hits)))
    raise IncrementNotFoundError("No increment %r%s in %s. Increments: %s."
                                 % (ref, origin, increments_dir(root), _describe(root, names)))


def resolve_increment(root: Path, increment: Optional[Union[str, int]] = None) -> Tuple[str, Path]:
    """(folder name, path) of the increment to write to.

    ``increment`` may be the folder name, the number (``"0042"``, ``"42"``, ``42``) or a unique prefix of the
    folder name. Without it, ``SPECWEAVE_INCREMENT`` is used; without that, the single increment whose status is
    ``active`` or ``planning``. Raises :class:`IncrementNotFoundError` listing the candidates otherwise.
    """
    names = list_increments(root)
    if increment is not None and str(increment).strip() != "":
        name = _match(root, str(increment), names, "")
    elif os.environ.get("SPECWEAVE_INCREMENT", "").strip():
        name = _match(root, os.environ["SPECWEAVE_INCREMENT"], names, " (from SPECWEAVE_INCREMENT)")
    else:
        open_ = [n for n in names if increment_status(increments_dir(root) / n) in OPEN_STATUSES]
        if len(open_) != 1:
            what = "No increment is active or planning" if not open_ else "Several increments are active or planning"
            raise IncrementNotFoundError(
                "%s in %s, so the increment cannot be chosen automatically. Pass increment=... or set "
                "SPECWEAVE_INCREMENT. %s: %s." % (
                    what, increments_dir(root), "Candidates" if open_ else "Increments",
                    _describe(root, open_ or names)))
        name = open_[0]
    return name, increments_dir(root) / name


def touch_increment(inc_dir: Path) -> None:
    """The first tracked experiment moves a ``planning`` increment to ``active`` (and sets ``lastActivity``).

    Holds the increment lock. Other statuses, a missing metadata.json and an unreadable one are left alone (an
    unreadable one with a warning: ``validate_increment`` reports it, tracking goes on).
    """
    path = Path(inc_dir) / "metadata.json"
    if increment_status(inc_dir) != "planning":
        if _fs.exists(path) and read_increment_metadata(inc_dir) is None:
            warnings.warn("%s cannot be parsed; its status was not updated." % path)
        return
    with FileLock(Path(inc_dir) / ".lock"):
        meta = read_increment_metadata(inc_dir)
        if meta is None:
            return
        if not isinstance(meta, dict) or meta.get("status") not in ("planning", "planned"):
            return
        meta["status"] = "active"
        meta["lastActivity"] = now_iso()
        write_atomic(path, dumps_canonical(meta).encode("utf-8"))
