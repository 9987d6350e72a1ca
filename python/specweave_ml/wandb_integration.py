"""Weights & Biases, offline and inside the increment: :func:`configure_wandb`.

wandb writes each run to ``<increment>/experiments/.wandb/wandb/offline-run-<time>-<id>/`` (readers skip folders
starting with ``.``; ``.specweave`` is the only place the client may write). When a run finishes, its transaction
log ``run-<id>.wandb`` is read back and the run becomes an experiment, keyed ``wandb:<id>`` exactly as the server's
``import_runs`` keys it, so importing the folder later adds only the runs not converted yet (a process killed
before wandb could finish, say).

Why the finish, and why the log: wandb 0.31 offline writes nothing but that log (no config.yaml, summary or
metadata file), and the log is complete once ``Run._finish`` returns, which ``run.finish()`` and
``with wandb.init():`` (exit code 1 on an exception) go through. A run the script never finishes is ended by
wandb's own ``atexit`` teardown in its service process, without ``_finish``: an ``atexit`` hook registered by
configure_wandb, so before wandb.init registers wandb's (they run last in, first out), converts those afterwards.

The log's format (W&B's, LevelDB's log framing around protobuf ``Record`` messages) is read here with the standard
library, the way mcp-server/src/core/importers/wandb.ts reads it, and mapped the same way: nested config flattened
with dots into params, the final summary into metrics, every logged step into the history with wandb's own times,
the exit code into the status (0 completed, else failed).
"""

import atexit
import math
import os
import re
import struct
import threading
import time
import warnings
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from . import _fs
from ._fs import FileLock
from ._jsonfmt import loads_lenient
from ._project import find_project_root, resolve_increment
from ._store import history_line, metric_value, read_metadata
from .errors import LockTimeoutError, SpecweaveError

__all__ = ["configure_wandb"]

WANDB_FOLDER = ".wandb"  # under the increment's experiments/
_RUN_FOLDER = re.compile(r"^(offline-run|run)-(\d{8}_\d{6})-([A-Za-z0-9]+)$")
_NAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")
_LOG_IDENT = b":W&B"
_LOG_MAGIC = 0xBEE1
_LOG_BLOCK = 32 * 1024
_LOG_HEADER = 7
_READ_CHUNK = 1 << 20
_MAX_LOG_BYTES = 256 << 20  # the server's importer cap (fs-read.ts MAX_FILE_BYTES)
_IMPORT_LOCK_WAIT = 60.0
_FLUSH_WAIT = 10.0  # seconds a finished run's log may take to show its exit record

_targets: Dict[str, Tuple[Path, str]] = {}  # real .wandb folder -> (project root, increment name)
_patch_lock = threading.Lock()
_atexit_registered = False


def configure_wandb(increment: Optional[Union[str, int]] = None, import_on_finish: bool = True) -> str:
    """Runs wandb offline with its files inside the increment and returns that folder.

    Sets ``WANDB_MODE=offline`` and ``WANDB_DIR`` (call it before ``wandb.init``), creates
    ``experiments/.wandb/`` in the increment (resolved as in :func:`~specweave_ml.track_experiment`) and, with
    ``import_on_finish`` (the default), makes each run started there an experiment of the increment when it
    finishes: params (nested config flattened with dots), metrics (the final summary), history (every logged
    step), tags, notes, status (``failed`` when the run ended with an exception), start and end. A run that could
    not be converted then (it says why in a warning) is imported by ``import_runs`` with the source
    ``.specweave/increments/<id>/experiments/.wandb/wandb``.

    Raises ImportError, saying how to install it, when wandb is not installed.
    """
    try:
        import wandb
    except ImportError:
        raise ImportError("configure_wandb needs the wandb library, which is not installed: pip install wandb "
                          "(specweave_ml itself needs nothing else)") from None
    root = find_project_root()
    inc_name, inc_dir = resolve_increment(root, increment)
    folder = inc_dir / "experiments" / WANDB_FOLDER
    _fs.make_dirs(folder)  # refuses a link leaving the project
    real = _fs.real_path(folder)
    os.environ["WANDB_MODE"] = "offline"
    os.environ["WANDB_DIR"] = real
    _update_started_session(wandb, real)
    if import_on_finish:
        _targets[real] = (root, inc_name)
        _wrap_finish(wandb)
        global _atexit_registered
        if not _atexit_registered:
            # Registered before wandb.init connects to its service, so it runs after wandb's own exit teardown
            # (atexit is last in, first out), which ends the runs the script never finished.
            atexit.register(_convert_left_runs)
            _atexit_registered = True
    else:
        _targets.pop(real, None)
    return real


def _update_started_session(wandb, folder: str) -> None:
    """Once a wandb session has started (a first wandb.init), wandb ignores changed environment variables: the
    folder and mode then go to its global settings, so a second configure_wandb sends later runs to its increment."""
    try:
        from wandb.sdk import wandb_setup
    except ImportError:
        return
    if getattr(wandb_setup, "_singleton", None) is not None:
        wandb.setup(settings=wandb.Settings(root_dir=folder, mode="offline"))


def _wrap_finish(wandb) -> None:
    """Wraps wandb's Run._finish once (Run.finish where a future wandb lacks it) to convert the run after it."""
    with _patch_lock:
        run_class = getattr(wandb, "Run", None)
        if run_class is None:
            from wandb.sdk.wandb_run import Run as run_class  # noqa: N813
        name = "_finish" if hasattr(run_class, "_finish") else "finish"
        original = getattr(run_class, name)
        if getattr(original, "_specweave_wrapped", False):
            return

        def finish_then_convert(self, *args, **kwargs):
            already = getattr(self, "_is_finished", False)
            try:
                return original(self, *args, **kwargs)
            finally:
                if not already:
                    _after_finish(self)

        finish_then_convert._specweave_wrapped = True
        finish_then_convert.__wrapped__ = original
        finish_then_convert.__doc__ = original.__doc__
        setattr(run_class, name, finish_then_convert)


def _after_finish(run) -> None:
    """Converts a finished run whose folder lies in a configured increment; never fails the user's finish."""
    try:
        run_dir = os.path.dirname(_fs.real_path(run.dir))  # run.dir is <run folder>/files
        wandb_dir = os.path.dirname(os.path.dirname(run_dir))  # <WANDB_DIR>/wandb/<run folder>
        target = _targets.get(wandb_dir)
        if target is None or not _RUN_FOLDER.match(os.path.basename(run_dir)):
            return
        root, inc_name = target
        convert_run_folder(Path(run_dir), root, inc_name, wait_seconds=_FLUSH_WAIT)
    except Exception as e:  # noqa: BLE001 - the run itself is safe on disk; import_runs can still bring it in
        warnings.warn("specweave_ml could not turn the W&B run into an experiment (%s); import_runs on its folder "
                      "will" % e)


def _convert_left_runs() -> None:
    """At exit: the runs of the configured folders that ended (wandb's teardown finishes those the script left
    running) but are no experiment yet. A run without an exit record is left for import_runs."""
    for folder, (root, inc_name) in list(_targets.items()):
        try:
            _, inc_dir = resolve_increment(root, inc_name)
            known = _known_keys(inc_dir / "experiments")
            for name in _fs.list_folders(Path(folder) / "wandb"):
                match = _RUN_FOLDER.match(name)
                if match and "wandb:" + match.group(3) not in known:
                    run_dir = Path(folder) / "wandb" / name
                    if read_run_log(run_dir / ("run-%s.wandb" % match.group(3)))["status"] != "running":
                        convert_run_folder(run_dir, root, inc_name)
        except Exception as e:  # noqa: BLE001 - exiting anyway; import_runs can bring the runs in
            warnings.warn("specweave_ml could not turn W&B runs in %s into experiments (%s); import_runs on the "
                          "folder will" % (folder, e))


def _known_keys(exp_root: Path) -> set:
    keys = set()
    for n in _fs.list_folders(exp_root):
        if not n.startswith((".", "_")):
            source = read_metadata(exp_root / n / "metadata.yaml").get("source")
            if isinstance(source, dict) and source.get("key"):
                keys.add(source["key"])
    return keys


# ----------------------------------------------------------------------------------------------------------------
# Run folder -> experiment

def convert_run_folder(run_dir: Path, root: Path, increment: str, wait_seconds: float = 0.0) -> Optional[str]:
    """Writes the W&B run in ``run_dir`` as a new experiment of the increment; returns its name, or ``None`` when
    an experiment already holds this run. Under the increment's import lock, as import_runs writes.

    ``wait_seconds``: how long to wait for the log's exit record. ``Run.finish`` returns once wandb's service has
    the exit, which its writer may put on disk a moment later; a log still without one after the wait is left (the
    exit hook or import_runs converts it) rather than recorded as running for good."""
    _, inc_dir = resolve_increment(root, increment)
    match = _RUN_FOLDER.match(run_dir.name)
    if match is None:
        raise SpecweaveError("%s is not a W&B run folder (offline-run-<time>-<id>)" % run_dir.name)
    log = run_dir / ("run-%s.wandb" % match.group(3))
    run = read_run_log(log)
    deadline = time.monotonic() + wait_seconds
    pause = 0.01
    while run["status"] == "running" and wait_seconds > 0:
        if time.monotonic() > deadline:
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.2)
        run = read_run_log(log)
    run_id = run["meta"].get("id") or match.group(3)
    key = "wandb:%s" % run_id
    exp_root = inc_dir / "experiments"
    try:
        with FileLock(exp_root / ".import.lock", timeout=_IMPORT_LOCK_WAIT):
            if key in _known_keys(exp_root):
                return None
            names = _fs.list_folders(exp_root)
            name = _unique_name(run["meta"].get("display_name") or run_id, names)
            _write_experiment(name, root, inc_dir, run, run_dir, key, run_id)
            return name
    except LockTimeoutError as e:
        raise SpecweaveError("an import into this increment is running (%s)" % e) from None


def _unique_name(wanted: str, taken: List[str]) -> str:
    base = _NAME_BAD.sub("-", wanted).strip("-._")[:90] or "wandb-run"
    base = base.replace("..", ".")
    lower = {t.lower() for t in taken}
    name, n = base, 2
    while name.lower() in lower:
        name, n = "%s-%d" % (base, n), n + 1
    return name


def _write_experiment(name: str, root: Path, inc_dir: Path, run: dict, run_dir: Path, key: str, run_id: str) -> None:
    from .tracking import Experiment  # the one write path of experiments

    meta = run["meta"]
    exp = Experiment(name, increment=inc_dir.name, root=root, params=run["params"],
                     tags=meta.get("tags") or [])
    exp.start()
    try:
        with exp._lock:
            if run["history"]:
                lines = [history_line(m, v, s, t) for m, v, s, t in run["history"]]
                _fs.append_lines(exp.path / "history.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
            status = run["status"]
            started, ended = meta.get("started"), run["ended"]

            def change(m):
                if started:
                    m["started"] = started
                m["status"] = status
                m["ended"] = ended if status != "running" else None
                s, e = _fs.parse_iso(m.get("started")), _fs.parse_iso(ended)
                m["duration_seconds"] = round(max(0.0, (e - s).total_seconds()), 3) if s and e else None
                if meta.get("notes"):
                    m["notes"].append({"time": m.get("started") or _fs.now_iso(), "text": meta["notes"]})
                if status == "failed":
                    m["notes"].append({"time": ended or _fs.now_iso(),
                                       "text": "W&B run exited with code %s" % meta.get("exitcode")})
                source = {"tool": "wandb", "run_id": run_id, "path": _relative(run_dir.parent, root),
                          "run_folder": run_dir.name, "key": key}
                if run_dir.name.startswith("offline-"):
                    source["offline"] = True
                for k in ("program", "code_path", "host", "python", "os"):
                    if meta.get(k):
                        source[k] = meta[k]
                m["source"] = source

            exp._commit(metrics=run["metrics"] or None, meta_change=change)
    finally:
        exp._active = False
        exp._ended = True
        exp.status = run["status"]


def _relative(folder: Path, root: Path) -> str:
    try:
        return Path(folder).relative_to(root).as_posix()
    except ValueError:
        return str(folder)


# ----------------------------------------------------------------------------------------------------------------
# The transaction log, run-<id>.wandb (see mcp-server/src/core/importers/wandb.ts for the format)

def read_run_log(path: Path) -> dict:
    """``{params, metrics, history: [(metric, value, step, iso time)], status, ended, meta}`` of one run's log."""
    config: Dict[str, Any] = {}
    summary: Dict[str, Any] = {}
    meta: Dict[str, Any] = {}
    rows: List[dict] = []
    last_seen = [float("nan")]

    def seen(seconds):
        if isinstance(seconds, (int, float)) and math.isfinite(seconds) and not seconds <= last_seen[0]:
            last_seen[0] = seconds

    bad = 0
    for record in _log_records(path):
        try:
            _read_record(record, rows, summary, config, meta, seen)
        except (ValueError, struct.error, RecursionError):
            bad += 1
    if bad:
        warnings.warn("%s: %d undecodable record%s skipped" % (path.name, bad, "" if bad == 1 else "s"))

    params: Dict[str, Any] = {}
    for k, v in config.items():
        if k in ("_wandb", "wandb_version"):
            continue
        _flatten(v, k, params)
    summary = _resolve(summary)
    metrics = _summary_metrics(summary)
    history = []
    for index, row in enumerate(rows):
        step = row.get("_step")
        step = step if isinstance(step, int) and not isinstance(step, bool) and step >= 0 else index
        stamp = row.get("_timestamp")
        if not isinstance(stamp, (int, float)) or not math.isfinite(stamp):
            continue
        iso = _iso(stamp)
        for k, v in row.items():
            if k.startswith("_"):
                continue
            value = _metric(v)
            if value is not None:
                history.append((k, value, step, iso))
    status = "running" if "exitcode" not in meta else "completed" if meta["exitcode"] == 0 else "failed"
    # As the server's importer: the later of the last time seen and start + W&B's runtime (whole seconds).
    wb = summary.get("_wandb")
    runtime = wb.get("runtime") if isinstance(wb, dict) and _is_number(wb.get("runtime")) else summary.get("_runtime")
    started = meta.get("started")
    if started and _is_number(runtime):
        start_ms = _fs.parse_iso(started).timestamp() * 1000
        seen((_round(start_ms) + _round(runtime * 1000)) / 1000.0)
    ended = _iso(last_seen[0]) if math.isfinite(last_seen[0]) else None
    return {"params": params, "metrics": metrics, "history": history, "status": status, "ended": ended, "meta": meta}


def _read_record(record: bytes, rows: list, summary: dict, config: dict, meta: dict, seen) -> None:
    """One Record: history 2, summary 3, config 5, stats 7, run 17, exit 18, environment 26 (wandb_internal.proto)."""
    for field, value in _fields(record):
        if not isinstance(value, bytes):
            continue
        if field == 2:
            rows.append(_history_row(value, seen))
        elif field == 3:
            _apply_items(summary, value, parse=False)
        elif field == 5:
            _apply_items(config, value)
        elif field == 7:
            seen(_first_timestamp(value))
        elif field == 17:
            _read_run(value, meta, config)
        elif field == 18:
            meta["exitcode"] = 0
            for f, v in _fields(value):
                if f == 1 and isinstance(v, int):
                    meta["exitcode"] = struct.unpack("<i", struct.pack("<I", v & 0xFFFFFFFF))[0]
        elif field == 26:
            _read_environment(value, meta)


def _log_records(path: Path) -> Iterator[bytes]:
    """Whole records of the log, read through the sandbox in chunks; stops at a damaged or cut-short piece."""
    data = bytearray()
    offset = 0
    while True:
        got = _fs.read_from(path, offset, _READ_CHUNK)
        if got is None:
            raise SpecweaveError("%s does not exist" % path.name)
        chunk = got[2]
        if not chunk:
            break
        data += chunk
        offset += len(chunk)
        if offset > _MAX_LOG_BYTES:
            raise SpecweaveError("%s is over %d MiB, more than a run's log is read whole; import the folder with "
                                 "import_runs instead" % (path.name, _MAX_LOG_BYTES >> 20))
    if len(data) < _LOG_HEADER or bytes(data[:4]) != _LOG_IDENT or struct.unpack_from("<H", data, 4)[0] != _LOG_MAGIC:
        raise SpecweaveError("%s is not a W&B transaction log" % path.name)
    pos, pending = _LOG_HEADER, None
    while pos + _LOG_HEADER <= len(data):
        left = _LOG_BLOCK - pos % _LOG_BLOCK
        if left < _LOG_HEADER:
            pos += left
            continue
        checksum, length, kind = struct.unpack_from("<IHB", data, pos)
        if kind == 0 and length == 0:
            pos += left
            continue
        start = pos + _LOG_HEADER
        if start + length > len(data):
            return  # a run still writing, or killed mid-record
        piece = bytes(data[start:start + length])
        if not 1 <= kind <= 4 or length > left - _LOG_HEADER or \
                zlib.crc32(piece, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF != checksum:
            warnings.warn("%s is damaged at byte %d; the records after it were not read" % (path.name, pos))
            return
        pos = start + length
        if kind == 1:
            yield piece
        elif kind == 2:
            pending = [piece]
        elif pending is not None:
            pending.append(piece)
            if kind == 4:
                yield b"".join(pending)
                pending = None


def _fields(buf: bytes) -> Iterator[Tuple[int, Union[int, float, bytes]]]:
    """A protobuf message's fields in order: varints as ints, fixed64 as float, fixed32 as int, the rest as bytes."""
    pos, end = 0, len(buf)

    def varint():
        nonlocal pos
        if pos < end and buf[pos] < 0x80:  # most keys and lengths: one byte
            pos += 1
            return buf[pos - 1]
        result = shift = 0
        while True:
            if pos >= end or shift > 63:
                raise ValueError("bad varint")
            b = buf[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result

    while pos < end:
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            yield field, varint()
        elif wire == 2:
            n = varint()
            if pos + n > end:
                raise ValueError("bad length")
            yield field, buf[pos:pos + n]
            pos += n
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > end:
                raise ValueError("truncated field")
            yield field, struct.unpack_from("<d" if size == 8 else "<I", buf, pos)[0]
            pos += size
        else:
            raise ValueError("unsupported wire type %d" % wire)


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


class _Json(str):
    """A summary value not parsed yet: each log() rewrites the summary, and only the last value counts."""


def _parse_json(raw: str) -> Any:
    try:
        return loads_lenient(raw)
    except ValueError:
        return raw


def _resolve(value) -> Any:
    if isinstance(value, _Json):
        return _parse_json(value)
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    return value


def _item(buf: bytes, parse: bool = True) -> Tuple[List[str], Any]:
    key, nested, raw = None, [], "null"
    for f, v in _fields(buf):
        if isinstance(v, bytes):
            if f == 1:
                key = _text(v)
            elif f == 2:
                nested.append(_text(v))
            elif f == 16:
                raw = _text(v)
    return ([key] if key else nested), (_parse_json(raw) if parse else _Json(raw))


def _apply_items(target: Dict[str, Any], buf: bytes, parse: bool = True) -> None:
    """ConfigRecord / SummaryRecord: update (1) sets, remove (2) deletes, at a key or a nested key path.
    Without ``parse``, values stay JSON text until :func:`_resolve` (a nested path into one parses it first)."""
    for f, v in _fields(buf):
        if f not in (1, 2) or not isinstance(v, bytes):
            continue
        keys, value = _item(v, parse)
        if not keys:
            continue
        holder = target
        for k in keys[:-1]:
            if isinstance(holder.get(k), _Json):
                holder[k] = _parse_json(holder[k])
            if not isinstance(holder.get(k), dict):
                holder[k] = {}
            holder = holder[k]
        if f == 1:
            holder[keys[-1]] = value
        else:
            holder.pop(keys[-1], None)


def _history_row(buf: bytes, seen) -> dict:
    row: Dict[str, Any] = {}
    step_num = None
    for f, v in _fields(buf):
        if f == 1 and isinstance(v, bytes):
            keys, value = _item(v)
            if keys:
                key = ".".join(keys)
                if isinstance(value, dict) and "_type" not in value:
                    _flatten(value, key, row)
                else:
                    row[key] = value
        elif f == 2 and isinstance(v, bytes):
            step_num = 0
            for sf, sv in _fields(v):
                if sf == 1 and isinstance(sv, int):
                    step_num = sv
    if not isinstance(row.get("_step"), int) and step_num is not None:
        row["_step"] = step_num
    seen(row.get("_timestamp"))
    return row


def _read_run(buf: bytes, meta: dict, config: dict) -> None:
    tags = []
    for f, v in _fields(buf):
        if not isinstance(v, bytes):
            continue
        if f == 1:
            meta["id"] = _text(v)
        elif f == 4:
            _apply_items(config, v)
        elif f == 8:
            meta["display_name"] = _text(v)
        elif f == 9:
            meta["notes"] = _text(v)
        elif f == 10:
            tags.append(_text(v))
        elif f == 13:
            meta.setdefault("host", _text(v))
        elif f == 17:
            meta["started"] = _iso(_timestamp(v))
    if tags:
        meta["tags"] = tags


def _read_environment(buf: bytes, meta: dict) -> None:
    names = {1: "os", 2: "python", 6: "program", 7: "code_path", 12: "host"}
    for f, v in _fields(buf):
        if isinstance(v, bytes) and f in names:
            meta[names[f]] = _text(v)
        elif isinstance(v, bytes) and f == 3:
            meta.setdefault("started", _iso(_timestamp(v)))


def _timestamp(buf: bytes) -> float:
    seconds = nanos = 0
    for f, v in _fields(buf):
        if f == 1 and isinstance(v, int):
            seconds = v
        elif f == 2 and isinstance(v, int):
            nanos = v
    return seconds + _round(nanos / 1e6) / 1000.0


def _first_timestamp(buf: bytes) -> Optional[float]:
    for f, v in _fields(buf):
        if f == 1 and isinstance(v, bytes):
            return _timestamp(v)
    return None


def _iso(seconds: float) -> str:
    ms = _round(seconds * 1000)
    return datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def _round(x: float) -> int:
    """Half up, as JavaScript's Math.round in the server's reader (Python's round() goes to even)."""
    return int(math.floor(x + 0.5))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _flatten(value, prefix: str, out: dict) -> None:
    """Nested mappings flattened with dots, as the server's importers do; an empty mapping stays ``{}``."""
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(v, "%s.%s" % (prefix, k), out)
    else:
        out[prefix] = value


def _metric(value) -> Any:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and value not in ("NaN", "Infinity", "-Infinity"):
        return None
    try:
        return metric_value(value)
    except TypeError:
        return None


def _summary_metrics(summary: dict) -> Dict[str, Any]:
    """Numeric summary values; keys starting with ``_`` and media (mappings with ``_type``) left out."""
    metrics: Dict[str, Any] = {}
    for key, raw in summary.items():
        if key.startswith("_"):
            continue
        if isinstance(raw, dict):
            if "_type" in raw:
                continue
            flat: Dict[str, Any] = {}
            _flatten(raw, key, flat)
            for k, v in flat.items():
                value = _metric(v)
                if value is not None and not any(p.startswith("_") for p in k.split(".")):
                    metrics[k] = value
            continue
        value = _metric(raw)
        if value is not None:
            metrics[key] = value
    return metrics

