"""Experiment tracking: :func:`track_experiment` and the :class:`Experiment` it returns."""

import math
import os
import pickle
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Union

from . import _fs
from ._fs import FileLock, now_iso, parse_iso
from ._gitenv import environment_info, git_info
from ._project import check_experiment_name, find_project_root, increment_status, resolve_increment, touch_increment
from ._store import (RESERVED, STATUSES, HistoryIndex, history_line, json_bytes, json_safe, metadata_bytes,
                     metric_value, normalize_metadata, read_experiment_dir, read_json_object, read_metadata)
from .errors import InvalidNameError, SpecweaveError
from .metrics import fold_summary, positive_metric

__all__ = ["Experiment", "track_experiment", "read_experiment", "InputSchemaError"]

_TRACEBACK_LINES = 12


def _check_step(step) -> int:
    if isinstance(step, bool):
        raise TypeError("step must be an integer >= 0, not a bool")
    try:
        as_int = int(step)
    except (TypeError, ValueError):
        raise TypeError("step must be an integer >= 0, not %r" % (step,))
    if as_int != step:
        raise ValueError("step must be an integer >= 0, not %r" % (step,))
    if as_int < 0:
        raise ValueError("step must be >= 0, not %d" % as_int)
    return as_int


def _check_metric_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a metric name must be a non-empty string, not %r" % (name,))
    return name


def _check_artifact_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidNameError("an artifact name must be a non-empty relative path")
    norm = name.replace("\\", "/")
    parts = norm.split("/")
    if norm.startswith("/") or any(p in ("", ".", "..") for p in parts) or ":" in parts[0] or "\0" in norm:
        raise InvalidNameError("artifact name %r must be a relative path inside the experiment folder" % name)
    if any(p.startswith(".") for p in parts):
        raise InvalidNameError("artifact name %r: names starting with '.' are reserved (locks, temp files)" % name)
    if len(parts) == 1 and parts[0] in RESERVED:
        raise InvalidNameError("artifact name %r is one of the experiment's own files" % name)
    return norm


def _recorded_duration(value) -> Optional[float]:
    """A ``duration_seconds`` already on disk, when it is a usable number of seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return value


class Experiment:
    """One experiment folder, ``.specweave/increments/<increment>/experiments/<name>/``.

    Every ``log_*`` call (and ``add_tag``, ``set_status``, ``save_*``) is written to disk before it returns,
    under the experiment lock, merged with whatever other writers (other processes, the MCP server) wrote in the
    meantime. Use it through :func:`track_experiment` as a context manager, or call :meth:`start` and
    :meth:`end` yourself.

    Attributes: ``name``, ``increment`` (folder name), ``root`` (project root), ``increment_dir``, ``path``
    (the experiment folder), ``status`` (last status this object wrote).
    """

    def __init__(self, name: str, increment: Optional[Union[str, int]] = None, params: Optional[Mapping] = None,
                 baseline: bool = False, tags: Optional[Iterable[str]] = None, root: Optional[Union[str, Path]] = None):
        self.name = check_experiment_name(name)
        self.root = Path(_fs.real_path(root)) if root is not None else find_project_root()
        self.increment, self.increment_dir = resolve_increment(self.root, increment)
        self.path = self.increment_dir / "experiments" / self.name
        self.baseline = bool(baseline)
        self._initial_params = dict(params) if params else {}
        self._initial_tags = [tags] if isinstance(tags, str) else list(tags or [])
        self._lock = None
        self._history = HistoryIndex()
        self._started_at: Optional[str] = None
        # duration_seconds of earlier sessions of this experiment (it was reopened); None for a new one
        self._prior_duration: Optional[float] = None
        self._status_choice: Optional[str] = None
        self.status: Optional[str] = None
        self._active = False
        self._ended = False

    def __repr__(self):
        return "Experiment(%r, increment=%r, status=%r)" % (self.name, self.increment, self.status)

    # -- lifecycle -------------------------------------------------------------------------------------------
    def __enter__(self) -> "Experiment":
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None or (issubclass(exc_type, SystemExit) and exc.code in (None, 0)):
            self.end()
        else:
            status = "killed" if issubclass(exc_type, (KeyboardInterrupt, GeneratorExit, SystemExit)) else "failed"
            try:
                self.end(status, note=self._failure_note(exc_type, exc, tb, status))
            except Exception as e:  # never hide the user's exception behind ours
                warnings.warn("specweave_ml could not record the %s status of %r: %s" % (status, self.name, e))
        return False  # re-raise

    @staticmethod
    def _failure_note(exc_type, exc, tb, what: str) -> str:
        lines = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n").split("\n")
        tail = lines[-_TRACEBACK_LINES:]
        head = "%s: %s" % (exc_type.__name__, str(exc).split("\n")[0]) if str(exc) else exc_type.__name__
        return "%s with %s\n%s" % (what.capitalize(), head, "\n".join(tail))

    def start(self) -> "Experiment":
        """Creates or reopens the folder and marks the run ``running`` (``ended`` null). A new experiment gets
        ``started`` now; a reopened one keeps its ``started`` and the ``duration_seconds`` recorded so far, to
        which :meth:`end` adds this session's time. Merges the constructor's ``params`` and ``tags``; moves a
        ``planning`` increment to ``active``."""
        if self._active:
            return self
        # Refuses a planted link at the increment's metadata.json before anything is written.
        increment_status(self.increment_dir)
        created = _fs.make_dirs(self.path)
        self._lock = FileLock(self.path / ".lock")
        started_at = now_iso()

        def change(meta):
            reopened = parse_iso(meta.get("started")) is not None
            self._prior_duration = _recorded_duration(meta.get("duration_seconds")) if reopened else None
            meta["name"] = self.name
            meta["status"] = "running"
            meta["baseline"] = self.baseline
            for t in self._initial_tags:
                if t not in meta["tags"]:
                    meta["tags"].append(str(t))
            meta.setdefault("created", started_at)
            if not reopened:
                meta["started"] = started_at
            meta["ended"] = None
            meta["duration_seconds"] = self._prior_duration
            if not isinstance(meta.get("source"), dict) or not meta["source"].get("tool"):
                meta["source"] = {"tool": "python"}

        try:
            self._commit(params=json_safe(self._initial_params) if self._initial_params else None,
                         meta_change=change)
        except BaseException:
            _fs.remove_empty_dirs(created)  # a folder made for a run that never started
            raise
        self._started_at = started_at
        self._active = True
        self._ended = False
        self.status = "running"
        try:
            touch_increment(self.increment_dir)
        except (SpecweaveError, OSError) as e:
            # The run is recorded whole; only the increment's planning -> active move is missing, which
            # validate_increment reports. Failing here would leave a run marked running that never started.
            warnings.warn("%s: the increment's status was not updated (%s)" % (self.increment, e))
        return self

    def end(self, status: Optional[str] = None, note: Optional[str] = None) -> None:
        """Ends the run: ``status`` (default: what :meth:`set_status` chose if ``failed``/``killed``, else
        ``completed``), ``ended`` now and ``duration_seconds``; ``note`` is appended to the notes."""
        self._require_active()
        if status is None:
            status = self._status_choice if self._status_choice in ("failed", "killed") else "completed"
        if status not in STATUSES:
            raise ValueError("status must be one of %s, not %r" % (", ".join(STATUSES), status))
        ended = now_iso()

        def change(meta):
            self._set_end(meta, status, ended)
            if note:
                meta["notes"].append({"time": ended, "text": note})

        self._commit(meta_change=change)
        self.status = status
        self._active = False
        self._ended = True

    def _set_end(self, meta, status: str, ended: Optional[str]) -> None:
        """Status and times of an end (or a status change). ``duration_seconds`` is the time of the earlier
        sessions plus this one's, so reopening an experiment never loses the duration already recorded."""
        meta["status"] = status
        if status == "running":
            meta["ended"] = None
            meta["duration_seconds"] = self._prior_duration
            return
        meta["ended"] = ended
        start = parse_iso(self._started_at) or parse_iso(meta.get("started"))
        end = parse_iso(ended)
        if start is None or end is None:
            meta["duration_seconds"] = self._prior_duration
            return
        session = max(0.0, (end - start).total_seconds())
        meta["duration_seconds"] = round((self._prior_duration or 0) + session, 3)

    def _require_active(self) -> None:
        if not self._active:
            raise RuntimeError("experiment %r is not running: use it inside `with track_experiment(...)` or call "
                               "start() first" % self.name if not self._ended else
                               "experiment %r has ended; open it again with track_experiment()" % self.name)

    # -- the one write path ---------------------------------------------------------------------------------
    def _commit(self, params: Optional[Dict[str, Any]] = None, metrics: Optional[Dict[str, Any]] = None,
                points: Optional[List[tuple]] = None, meta_change=None,
                before_write: Optional[Callable[[], None]] = None) -> None:
        """Under the experiment lock: read the current files, merge, then write (plan, then write: every read and
        every refusal happens before the first write, so a failure changes nothing). ``before_write`` runs once
        the plan stands, just before the first write (it puts a staged artifact in place)."""
        with self._lock:
            params_path = self.path / "params.json"
            metrics_path = self.path / "metrics.json"
            history_path = self.path / "history.jsonl"
            meta_path = self.path / "metadata.yaml"
            meta = normalize_metadata(read_metadata(meta_path))
            writes = []  # (path, bytes), written in order after the plan stands
            if params:
                current = read_json_object(params_path)
                current.update(params)
                writes.append((params_path, json_bytes(current)))
            elif not _fs.exists(params_path):
                writes.append((params_path, json_bytes({})))
            now = now_iso()
            summary = {}
            history_data = None
            replaced = set()
            if points:
                # the summary of a metric logged per step is its point with the highest step (ties: the latest);
                # a per-fold CV metric is summarised by its mean, std and count over the folds, never its last fold
                latest = dict(self._history.refresh(history_path))
                folds = {m: dict(v) for m, v in self._history.folds.items()}
                for metric, value, step in points:
                    if metric not in latest or step >= latest[metric][0]:
                        latest[metric] = (step, value)
                    if self._history.is_fold_metric(metric):
                        folds.setdefault(metric, {})[step] = value
                for metric in dict.fromkeys(m for m, _, _ in points):
                    if metric in folds:
                        summary.update(fold_summary(metric, folds[metric]))
                        replaced.add(metric)
                    else:
                        summary[metric] = latest[metric][1]
                lines = [history_line(metric, value, step, now) for metric, value, step in points]
                history_data = ("\n".join(lines) + "\n").encode("utf-8")
            summary.update(metrics or {})  # an explicit summary in the same call wins
            if summary or not _fs.exists(metrics_path):
                current = read_json_object(metrics_path)
                for metric in replaced:
                    current.pop(metric, None)  # an older writer's last-fold summary
                current.update(summary)
                writes.insert(0, (metrics_path, json_bytes(current)))
            if meta_change is not None:
                meta_change(meta)
            meta.setdefault("name", self.name)
            meta.setdefault("created", now)
            meta["updated"] = now
            meta["git"] = git_info(self.root)
            env = meta.get("environment") if isinstance(meta.get("environment"), dict) else {}
            env.update(environment_info())
            meta["environment"] = env
            writes.append((meta_path, metadata_bytes(meta)))

            if before_write is not None:
                before_write()
            if history_data is not None:
                _fs.append_lines(history_path, history_data)
                for metric, value, step in points:
                    self._history.add(metric, step, value)
            for path, data in writes:
                _fs.write_atomic(path, data)

    # -- logging --------------------------------------------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        """Records one hyper-parameter (merged into params.json; a key sent again replaces the old value)."""
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Records several hyper-parameters at once (values converted to JSON data, see :func:`json_safe`)."""
        self._require_active()
        if params:
            self._commit(params=json_safe(dict(params)))

    def log_metric(self, name: str, value: Any, step: Optional[int] = None) -> None:
        """Records a metric. Without ``step`` it sets the summary value in metrics.json. With ``step`` it appends
        a history.jsonl point and the summary becomes the point with the highest step (ties: the latest).
        NaN and infinities are recorded as ``"NaN"``, ``"Infinity"``, ``"-Infinity"``."""
        self.log_metrics({name: value}, step=step)

    def log_metrics(self, metrics: Mapping[str, Any], step: Optional[int] = None) -> None:
        """Records several metrics in one write (all at ``step`` when given); see :meth:`log_metric`."""
        self._require_active()
        if not metrics:
            return
        values = dict(positive_metric(_check_metric_name(k), metric_value(v)) for k, v in metrics.items())
        if step is None:
            self._commit(metrics=values)
        else:
            s = _check_step(step)
            self._commit(points=[(k, v, s) for k, v in values.items()])

    def log_note(self, text: str) -> None:
        """Appends a timestamped note."""
        self._require_active()
        note = {"time": now_iso(), "text": str(text)}
        self._commit(meta_change=lambda meta: meta["notes"].append(note))

    def add_tag(self, tag: str) -> None:
        """Adds a tag (each tag is kept once, in the order first added)."""
        self._require_active()
        tag = str(tag)

        def change(meta):
            if tag not in meta["tags"]:
                meta["tags"].append(tag)

        self._commit(meta_change=change)

    def set_status(self, status: str) -> None:
        """Writes ``status`` now (``running``, ``completed``, ``failed`` or ``killed``). A ``failed`` or ``killed``
        status chosen here is kept when the ``with`` block ends normally."""
        self._require_active()
        if status not in STATUSES:
            raise ValueError("status must be one of %s, not %r" % (", ".join(STATUSES), status))
        self._status_choice = status
        ended = now_iso()
        self._commit(meta_change=lambda meta: self._set_end(meta, status, ended))
        self.status = status

    # -- artifacts ------------------------------------------------------------------------------------------
    def save_artifact(self, path_or_bytes: Union[str, os.PathLike, bytes, bytearray, memoryview],
                      name: Optional[str] = None) -> Path:
        """Stores an artifact in the experiment folder and records ``{path, bytes, sha256}`` in metadata.yaml.

        ``path_or_bytes`` is a file to copy (``name`` defaults to its file name) or the bytes to write (``name``
        required). ``name`` may contain ``/`` for sub-folders. A file already inside the experiment folder is
        recorded where it is. Recording a path again refreshes its size and hash. Returns the stored file's path.
        """
        self._require_active()
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            if name is None:
                raise ValueError("save_artifact(bytes, name): a name is required for bytes")
            rel = _check_artifact_name(name)
            data = bytes(path_or_bytes)
            staged = _fs.stage_file(self.path / rel, lambda f: f.write(data))
        else:
            src = Path(path_or_bytes)
            if not _fs.is_user_file(src):
                raise FileNotFoundError("artifact %s is not a file" % src)
            rel = _check_artifact_name(name if name is not None else src.name)
            dest = self.path / rel
            if _fs.same_file(src, dest):  # already in place: record it where it is
                size, sha = _fs.digest(dest)
                self._record_artifact(rel, size, sha)
                return dest
            staged = _fs.stage_file(dest, lambda f: _fs.copy_user_file(src, f))
        self._record_artifact(rel, staged.size, staged.sha256, staged)
        return self.path / rel

    def _record_artifact(self, rel: str, size: int, sha: str, staged: Optional[_fs.StagedFile] = None) -> None:
        """Records ``{path, bytes, sha256}``; a staged file is put in place only once metadata.yaml has been read
        and merged, so a refusal leaves neither the file nor the record."""
        entry = {"path": rel, "bytes": size, "sha256": sha}

        def change(meta):
            for i, a in enumerate(meta["artifacts"]):
                if a.get("path") == rel:
                    merged = dict(a)
                    merged.update(entry)
                    meta["artifacts"][i] = merged
                    return
            meta["artifacts"].append(entry)

        try:
            self._commit(meta_change=change, before_write=staged.commit if staged is not None else None)
        finally:
            if staged is not None:
                staged.discard()  # a no-op once committed

    def save_model(self, model: Any, name: str = "model", input_example: Any = None) -> Path:
        """Serialises ``model`` into the experiment folder and records it as an artifact. Returns its path.

        ``name`` ending in ``.joblib`` uses joblib, ending in ``.pkl``/``.pickle`` uses pickle; without a suffix,
        joblib is used (``<name>.joblib``) where it is installed, else pickle (``<name>.pkl``).

        ``input_example`` (the training features: a DataFrame, a 2-D array or a list of rows) also records the
        input schema the model expects (:meth:`log_input_schema`), which ``scaffold_deployment`` needs.
        """
        self._require_active()
        # The schema is worked out before anything is written: a bad example leaves neither file.
        schema = input_schema(input_example, model) if input_example is not None else None
        suffix = Path(name).suffix.lower()
        use_joblib = False
        if suffix == ".joblib":
            use_joblib = True
        elif suffix not in (".pkl", ".pickle"):
            try:
                import joblib  # noqa: F401
                use_joblib = True
                name += ".joblib"
            except ImportError:
                name += ".pkl"
        rel = _check_artifact_name(name)

        def dump(f) -> None:  # into the staged file object: neither library opens a path by itself
            if use_joblib:
                import joblib
                joblib.dump(model, f)
            else:
                pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)

        staged = _fs.stage_file(self.path / rel, dump)
        self._record_artifact(rel, staged.size, staged.sha256, staged)
        if schema is not None:
            schema["model"] = rel
            if use_joblib:
                from ._gitenv import _version
                schema["requirements"]["joblib"] = _version("joblib")
            self.save_artifact(json_bytes(schema), INPUT_SCHEMA_FILE)
        return self.path / rel

    def log_input_schema(self, X: Any, model: Any = None) -> Path:
        """Records the features the model is trained on as the artifact ``input_schema.json``: their names and
        dtypes in column order, whether the model takes a DataFrame or an array, the first row as an example and,
        for a classifier, its classes (docs/format.md, "Input schema"). ``X`` is a pandas DataFrame, a 2-D numpy
        array or a list of rows (lists or dicts); ``model`` (optional) supplies ``feature_names_in_`` for an array
        and ``classes_``. Returns the file's path."""
        self._require_active()
        return self.save_artifact(json_bytes(input_schema(X, model)), INPUT_SCHEMA_FILE)

    # -- reading --------------------------------------------------------------------------------------------
    def read(self) -> Dict[str, Any]:
        """What is stored for this experiment now (see :func:`read_experiment`)."""
        return read_experiment_dir(self.path)


class InputSchemaError(SpecweaveError, ValueError):
    """An ``input_example`` that cannot describe the model's input (no rows, not 2-D, an unsupported dtype, a feature
    count the model disagrees with); nothing was written. The message says how to fix the example."""


INPUT_SCHEMA_FILE = "input_schema.json"
INPUT_SCHEMA_FORMAT = "specweave-input-schema/1"

# numpy dtype kinds (pandas dtypes have them too) -> the JSON type a request carries.
_TYPE_OF_KIND = {"f": "number", "i": "integer", "u": "integer", "b": "boolean", "O": "string", "U": "string",
                 "S": "string"}


def _json_type(dtype: Any) -> str:
    kind = getattr(dtype, "kind", None)
    if kind in _TYPE_OF_KIND:
        return _TYPE_OF_KIND[kind]
    raise InputSchemaError("input_example: feature dtype %s is not supported in a schema (numbers, integers, booleans "
                     "and strings are); convert the column first" % (dtype,))


def _python_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    raise InputSchemaError("input_example: value %r is not a number, integer, boolean or string" % (value,))


def input_schema(X: Any, model: Any = None) -> Dict[str, Any]:
    """The input schema of ``X`` (see :meth:`Experiment.log_input_schema`) as a dict; raises
    :class:`InputSchemaError` when ``X`` has no rows, is not 2-D, or disagrees with ``model.n_features_in_``."""
    if hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc"):  # a pandas DataFrame
        kind = "dataframe"
        names = [str(c) for c in X.columns]
        dtypes = [str(d) for d in X.dtypes]
        types = [_json_type(d) for d in X.dtypes]
        first = X.iloc[0].tolist() if len(X) else None
    elif hasattr(X, "shape") and hasattr(X, "dtype") and hasattr(X, "tolist"):  # a numpy array
        if len(X.shape) != 2:
            raise InputSchemaError("input_example must be 2-D (rows x features), not of shape %r" % (tuple(X.shape),))
        kind = "array"
        given = getattr(model, "feature_names_in_", None)
        names = [str(n) for n in given] if given is not None else ["x%d" % i for i in range(X.shape[1])]
        dtypes = [str(X.dtype)] * X.shape[1]
        types = [_json_type(X.dtype)] * X.shape[1]
        first = X[0].tolist() if X.shape[0] else None
    elif isinstance(X, (list, tuple)) and X and isinstance(X[0], Mapping):
        kind = "records"
        names = [str(k) for k in X[0]]
        first = [X[0][k] for k in X[0]]
        types = [_python_type(v) for v in first]
        dtypes = types
    elif isinstance(X, (list, tuple)) and X and isinstance(X[0], (list, tuple)):
        kind = "array"
        first = list(X[0])
        given = getattr(model, "feature_names_in_", None)
        names = [str(n) for n in given] if given is not None else ["x%d" % i for i in range(len(first))]
        types = [_python_type(v) for v in first]
        dtypes = types
    else:
        raise InputSchemaError("input_example must be a pandas DataFrame, a 2-D numpy array or a non-empty list of rows, "
                         "not %s" % type(X).__name__)
    if first is None:
        raise InputSchemaError("input_example has no rows: pass at least one row of the training features")
    if len(set(names)) != len(names):
        raise InputSchemaError("input_example has duplicate feature names; name each column once")
    expected = getattr(model, "n_features_in_", None)
    if isinstance(expected, int) and expected != len(names):
        raise InputSchemaError("input_example has %d features but the model was fitted on %d" % (len(names), expected))
    classes = getattr(model, "classes_", None)
    requirements = _model_requirements(model, kind)
    task = "classification" if classes is not None else ("regression" if hasattr(model, "predict") else None)
    return json_safe({
        "format": INPUT_SCHEMA_FORMAT,
        "input": kind,
        "features": [{"name": n, "dtype": d, "type": t} for n, d, t in zip(names, dtypes, types)],
        "example": dict(zip(names, first)),
        "task": task,
        "classes": classes.tolist() if hasattr(classes, "tolist") else (list(classes) if classes is not None else None),
        "model": None,
        "requirements": requirements,
    })


# Import names whose distribution is named differently.
_DISTRIBUTION_OF = {"sklearn": "scikit-learn"}


def _model_requirements(model: Any, kind: str) -> Dict[str, Optional[str]]:
    """The distributions needed to unpickle and run ``model`` with their installed versions: the libraries of the
    model's class and of the objects in ``get_params(deep=True)`` (a Pipeline's steps), plus numpy (and pandas for
    a DataFrame input). Read without unpickling anything, so a serving image can be pinned from it."""
    from ._gitenv import _version
    modules = {"numpy"} | ({"pandas"} if kind == "dataframe" else set())
    objects = [model] if model is not None else []
    params = getattr(model, "get_params", None)
    if callable(params):
        try:
            objects += list(params(deep=True).values())
        except Exception:  # an estimator whose get_params fails still has its own class
            pass
    for obj in objects:
        top = (type(obj).__module__ or "").split(".")[0]
        if top and top not in ("builtins", "__main__") and not isinstance(obj, (str, int, float, bool, type(None))):
            modules.add(top)
    found = {}
    for top in sorted(modules):
        dist = _DISTRIBUTION_OF.get(top, top)
        found[dist] = _version(dist)
    return found


def track_experiment(name: str, increment: Optional[Union[str, int]] = None, params: Optional[Mapping] = None,
                     baseline: bool = False, tags: Optional[Iterable[str]] = None) -> Experiment:
    """Tracks one experiment run; use as a context manager::

        with track_experiment("random-forest", params={"n_estimators": 300}, tags=["candidate"]) as exp:
            model.fit(X, y)
            exp.log_metric("accuracy", acc)
            exp.save_model(model, "model")

    ``name`` is the experiment folder name (``^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$``, no ``..``). ``increment`` is
    the increment folder name, number (``"0042"``, ``"42"``) or unique prefix; without it ``SPECWEAVE_INCREMENT``,
    else the single increment that is ``active`` or ``planning``. ``baseline=True`` marks a reference model.

    On entering, status is ``running``. On a normal exit, status becomes ``completed`` (unless
    :meth:`Experiment.set_status` chose ``failed`` or ``killed``) with ``ended`` and ``duration_seconds``. An
    exception marks the run ``failed`` (``KeyboardInterrupt``: ``killed``), keeps the end of the traceback as a
    note, and propagates.
    """
    return Experiment(name, increment=increment, params=params, baseline=baseline, tags=tags)


def read_experiment(name: str, increment: Optional[Union[str, int]] = None) -> Dict[str, Any]:
    """Reads an experiment without locking: ``{params, metrics, metadata, history, history_skipped}``.

    Metric values come back as numbers (``"NaN"`` -> ``float('nan')``); history is a list of
    ``{metric, value, step, timestamp}`` in file order.
    """
    check_experiment_name(name)
    _, inc_dir = resolve_increment(find_project_root(), increment)
    return read_experiment_dir(inc_dir / "experiments" / name)
