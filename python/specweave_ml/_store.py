"""Reading and writing one experiment folder (params.json, metrics.json, metadata.yaml, history.jsonl), all of it
through the sandboxed file layer :mod:`._fs`."""

import json
import math
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from . import _fs
from ._jsonfmt import NON_FINITE, decode_number, dumps_canonical, dumps_line, encode_float, loads_lenient
from ._yaml import YamlError, emit_metadata, parse_yaml
from .errors import FormatError
from .metrics import is_fold_metric

STATUSES = ("running", "completed", "failed", "killed")
RESERVED = {"params.json", "metrics.json", "metadata.yaml", "history.jsonl"}


def read_json_object(path: Path) -> Dict[str, Any]:
    """A JSON object file, ``{}`` when missing; :class:`FormatError` (naming the file) when unparseable."""
    data = read_json_file(path)
    return {} if data is None else data


def read_json_file(path: Path) -> Optional[Dict[str, Any]]:
    """A JSON object file, ``None`` when missing (``{}`` when empty); :class:`FormatError` naming the file when
    unparseable."""
    raw = _fs.read_bytes(path)
    if raw is None:
        return None
    if not raw.strip():
        return {}
    try:
        data = loads_lenient(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise FormatError("%s is not valid JSON (%s); fix or remove it, it was not overwritten." % (path, e))
    if not isinstance(data, dict):
        raise FormatError("%s must hold a JSON object; fix or remove it, it was not overwritten." % path)
    return data


def json_bytes(data) -> bytes:
    """The bytes of a summary JSON file (params.json, metrics.json) as the format writes them."""
    return dumps_canonical(data).encode("utf-8")


def write_json(path: Path, data) -> None:
    _fs.write_atomic(path, json_bytes(data))


def read_metadata(path: Path) -> Dict[str, Any]:
    """metadata.yaml as a dict, ``{}`` when missing; :class:`FormatError` naming the file when it cannot be read."""
    raw = _fs.read_bytes(path)
    if raw is None:
        return {}
    try:
        data = parse_yaml(raw.decode("utf-8-sig"))
    except (YamlError, UnicodeDecodeError) as e:
        raise FormatError("%s: %s. Fix the file (or remove it); it was not overwritten." % (path, e))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FormatError("%s must hold a YAML mapping; fix or remove it, it was not overwritten." % path)
    return {str(k) if not isinstance(k, str) else k: v for k, v in data.items()}


def _as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "y", "1")
    return bool(value)


def normalize_metadata(meta: Dict[str, Any]) -> Dict[str, Any]:
    """Coerces hand-edited shapes into the documented ones (a single tag string becomes a list, ...). Unknown keys
    are kept."""
    meta = dict(meta)
    if "baseline" in meta:
        meta["baseline"] = _as_bool(meta["baseline"])
    tags = meta.get("tags")
    if tags is None:
        tags = []
    elif not isinstance(tags, list):
        tags = [tags]
    seen: List[str] = []
    for t in tags:
        t = t if isinstance(t, str) else json.dumps(t)
        if t not in seen:
            seen.append(t)
    meta["tags"] = seen
    notes = meta.get("notes")
    if notes is None:
        notes = []
    elif not isinstance(notes, list):
        notes = [notes]
    meta["notes"] = [n if isinstance(n, dict) else {"time": None, "text": str(n)} for n in notes]
    arts = meta.get("artifacts")
    meta["artifacts"] = [a for a in (arts if isinstance(arts, list) else []) if isinstance(a, dict)]
    return meta


def metadata_bytes(meta: Dict[str, Any]) -> bytes:
    """The bytes of metadata.yaml as the format writes it."""
    return emit_metadata(meta).encode("utf-8")


def write_metadata(path: Path, meta: Dict[str, Any]) -> None:
    _fs.write_atomic(path, metadata_bytes(meta))


def metric_value(value) -> Any:
    """A metric value as stored (a float, an int, or one of the non-finite strings); raises TypeError otherwise."""
    if isinstance(value, bool):
        raise TypeError("a metric value must be a number, not a bool")
    if isinstance(value, str):
        if value in NON_FINITE:
            return value
        raise TypeError("a metric value must be a number (or 'NaN', 'Infinity', '-Infinity'), not %r" % value)
    if isinstance(value, int):
        return value
    try:
        f = float(value)  # numpy scalars, Decimal, 0-d arrays
    except (TypeError, ValueError):
        raise TypeError("a metric value must be a number, not %r" % (type(value).__name__,))
    if hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu":
        return int(value)
    return encode_float(f)


def json_safe(value, _depth: int = 0):
    """Turns parameters into JSON data: numpy scalars/arrays, tuples, sets, paths and other objects are converted
    (objects to their ``repr``); non-finite floats become the format's strings."""
    if _depth > 50:
        # Deeper than any reader accepts (64 levels): a short placeholder, never repr() of a structure whose own
        # repr would recurse past Python's stack.
        return "<%s nested deeper than 50 levels>" % type(value).__name__
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else str(k)): json_safe(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v, _depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [json_safe(v, _depth + 1) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy scalar or array
        try:
            return json_safe(value.tolist(), _depth + 1)
        except Exception:
            pass
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if callable(value) and hasattr(value, "__name__"):
        module = getattr(value, "__module__", None)
        qualname = getattr(value, "__qualname__", value.__name__)
        return "%s.%s" % (module, qualname) if module else qualname
    return repr(value)


def history_line(metric: str, value, step: int, timestamp: str) -> str:
    return dumps_line([("metric", metric), ("value", value), ("step", step), ("timestamp", timestamp)])


def parse_history_line(line: str) -> Optional[dict]:
    """A history point ``{metric, value, step, timestamp}`` or ``None`` when the line is not a valid point."""
    line = line.strip()
    if not line:
        return None
    try:
        obj = loads_lenient(line)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("metric"), str):
        return None
    step = obj.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        if isinstance(step, float) and step.is_integer() and step >= 0:
            step = int(step)
        else:
            return None
    value = decode_number(obj.get("value"))
    if value is None:
        return None
    out = dict(obj)
    out["step"] = step
    out["value"] = value
    return out


class HistoryIndex:
    """The latest point per metric of a history.jsonl (highest step; ties: the one logged last), read
    incrementally: the file is append-only, so only the bytes added since the last look are parsed, a chunk at a
    time (memory stays bounded however large the file is)."""

    CHUNK_BYTES = 4 * 1024 * 1024

    def __init__(self):
        self.key = None
        self.offset = 0
        self.latest: Dict[str, Tuple[int, Any]] = {}
        # every fold's value of each per-fold CV metric (cv_<m>, step = fold), for its mean/std/count
        self.folds: Dict[str, Dict[int, Any]] = {}
        self._fold_names: Dict[str, bool] = {}
        self._skipping = False  # inside a line longer than a chunk: no point, skipped up to its newline

    def add(self, metric: str, step: int, value) -> None:
        cur = self.latest.get(metric)
        if cur is None or step >= cur[0]:
            self.latest[metric] = (step, value)
        if self.is_fold_metric(metric):
            self.folds.setdefault(metric, {})[step] = value

    def is_fold_metric(self, metric: str) -> bool:
        known = self._fold_names.get(metric)
        if known is None:
            known = self._fold_names[metric] = is_fold_metric(metric)
        return known

    def _reset(self, key) -> None:
        self.key, self.offset, self.latest, self.folds, self._skipping = key, 0, {}, {}, False

    def refresh(self, path: Path) -> Dict[str, Tuple[int, Any]]:
        """Brings the index up to date with the file; returns ``{metric: (step, stored value)}``."""
        first = True
        while True:
            found = _fs.read_from(path, self.offset, self.CHUNK_BYTES)
            if found is None:
                self._reset(None)
                return self.latest
            key, size, chunk = found
            if first and (key != self.key or size < self.offset):
                # another file now, or truncated: index it from the start
                reread = self.offset > 0
                self._reset(key)
                if reread:
                    continue
            first = False
            end = chunk.rfind(b"\n")
            if end < 0:
                if len(chunk) < self.CHUNK_BYTES:
                    return self.latest  # an unfinished last line: read once its newline is there
                self._skipping = True
                self.offset += len(chunk)
                continue
            start = 0
            if self._skipping:
                start = chunk.find(b"\n") + 1
                self._skipping = False
            for raw in chunk[start:end].split(b"\n"):
                self._index_line(raw)
            self.offset += end + 1
            if len(chunk) < self.CHUNK_BYTES:
                return self.latest

    def _index_line(self, raw: bytes) -> None:
        p = parse_history_line(raw.decode("utf-8", "replace"))
        if p is not None:
            self.add(p["metric"], p["step"], encode_float(p["value"]) if isinstance(p["value"], float) else p["value"])


def read_history(path: Path) -> Tuple[List[dict], int]:
    """(points, skipped): every valid point of a history.jsonl in file order, and how many lines were skipped."""
    points: List[dict] = []
    skipped = 0
    raw = _fs.read_bytes(path)
    if raw is None:
        return points, 0
    for line in raw.decode("utf-8-sig", "replace").split("\n"):
        if not line.strip():
            continue
        p = parse_history_line(line)
        if p is None:
            skipped += 1
        else:
            points.append(p)
    return points, skipped


def read_experiment_dir(path: Path) -> Dict[str, Any]:
    """Everything stored for one experiment: ``params``, ``metrics`` (non-finite strings decoded to floats),
    ``metadata`` (missing ``status`` reads as ``completed``, ``baseline`` as ``false``), ``history`` and
    ``history_skipped``."""
    path = Path(path)
    metrics_raw = read_json_object(path / "metrics.json")
    metrics = {}
    for k, v in metrics_raw.items():
        d = decode_number(v)
        metrics[k] = d if d is not None else v
    meta = normalize_metadata(read_metadata(path / "metadata.yaml"))
    meta.setdefault("status", "completed")
    meta.setdefault("baseline", False)
    history, skipped = read_history(path / "history.jsonl")
    return {"params": read_json_object(path / "params.json"), "metrics": metrics, "metadata": meta,
            "history": history, "history_skipped": skipped}
