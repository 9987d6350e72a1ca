"""An MLflow tracking store (and artifact repository) that writes straight into the project's experiment folders.

The package registers the ``specweave`` URI scheme through MLflow's ``mlflow.tracking_store`` and
``mlflow.artifact_repository`` entry points (python/pyproject.toml), so once it is installed::

    mlflow.set_tracking_uri("specweave:0042")       # increment 0042 of the project found from the working directory
    mlflow.set_tracking_uri("specweave:/abs/project")  # every increment of that project (for `mlflow server`)

The mapping (docs/mlflow.md): an MLflow experiment is an increment (id and name: its folder name, ``0042-churn``),
a run is an experiment folder. Params go to params.json (as the strings MLflow logs), every metric point to
history.jsonl with its step and timestamp (metrics.json keeps the summary the format defines), the run's status and
times to metadata.yaml, notes (``mlflow.note.content``) to its notes, user tags to its tags, and what only MLflow
knows (its tags, run name, user, parent run, inputs, outputs, logged models) to a ``mlflow`` block of metadata.yaml.
Artifacts are files of the experiment folder, recorded with their size and SHA-256 as they are written. Every read
and write goes through the sandboxed file layer :mod:`._fs`, through the same code the Python client writes with.

MLflow is imported here, so this module is imported only by MLflow itself (through the entry points) or by code
that already uses MLflow; ``import specweave_ml`` never imports it.
"""

import functools
import json
import os
import re
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple
from urllib.parse import parse_qs, quote, unquote, urlparse

from mlflow.entities import (Dataset, DatasetInput, Experiment as MlflowExperiment, ExperimentTag, InputTag,
                             LifecycleStage, LoggedModel, LoggedModelInput, LoggedModelOutput, LoggedModelStatus,
                             Metric, Param, Run, RunData, RunInfo, RunInputs, RunOutputs, RunStatus, RunTag, ViewType)
from mlflow.entities.file_info import FileInfo
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (INVALID_PARAMETER_VALUE, INVALID_STATE, PERMISSION_DENIED,
                                          RESOURCE_DOES_NOT_EXIST, TEMPORARILY_UNAVAILABLE)
from mlflow.store.artifact.artifact_repo import ArtifactRepository
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking import SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_THRESHOLD
from mlflow.store.tracking.abstract_store import AbstractStore
from mlflow.utils.mlflow_tags import MLFLOW_LOGGED_MODELS, MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME, MLFLOW_RUN_NOTE
from mlflow.utils.name_utils import _generate_random_name
from mlflow.utils.search_utils import SearchExperimentsUtils, SearchLoggedModelsUtils, SearchUtils
from mlflow.utils.validation import (_validate_batch_log_data, _validate_batch_log_limits,
                                     _validate_logged_model_name, _validate_param, _validate_run_id, _validate_tag)

from . import _fs
from ._jsonfmt import decode_number
from ._project import (EXPERIMENT_NAME, find_project_root, increments_dir, list_increments, read_increment_metadata,
                       resolve_increment, touch_increment)
from ._store import (history_line, metric_value, normalize_metadata, read_experiment_dir, read_history,
                     read_json_object, read_metadata)
from .errors import (FormatError, IncrementNotFoundError, InvalidNameError, LockTimeoutError, SandboxError,
                     SpecweaveError)
from .metrics import fold_summary, is_fold_metric
from .mlflow_integration import SCHEME, store_uri
from .tracking import Experiment, _check_artifact_name

__all__ = ["SpecweaveStore", "SpecweaveArtifactRepository", "SpecweaveMlflowError", "SCHEME", "store_uri",
           "run_id_of"]

_DEFAULT_EXPERIMENT_ID = "0"
_RUN_ID_NAMESPACE = uuid.UUID("5b1f3c9e-6d0a-4c6b-9a51-7f0e2d8c4a11")

# MLflow run status <-> the format's status
_STATUS_TO_FORMAT = {"RUNNING": "running", "SCHEDULED": "running", "FINISHED": "completed", "FAILED": "failed",
                     "KILLED": "killed"}
_STATUS_FROM_FORMAT = {"running": "RUNNING", "completed": "FINISHED", "failed": "FAILED", "killed": "KILLED"}


class SpecweaveMlflowError(MlflowException, SpecweaveError):
    """An MLflow call the specweave store refuses: both an :class:`~mlflow.exceptions.MlflowException` (so MLflow
    and its server report it as a client error, not a crash) and a :class:`~specweave_ml.errors.SpecweaveError`.
    The message says what to change. Errors of the file layer (a planted link, a malformed file, a held lock) come
    out as this class too, the original as ``__cause__``."""


_ERROR_CODES = [(IncrementNotFoundError, RESOURCE_DOES_NOT_EXIST), (InvalidNameError, INVALID_PARAMETER_VALUE),
                (SandboxError, PERMISSION_DENIED), (FormatError, INVALID_STATE),
                (LockTimeoutError, TEMPORARILY_UNAVAILABLE)]


def _refuse(message: str, code=INVALID_PARAMETER_VALUE) -> SpecweaveMlflowError:
    return SpecweaveMlflowError(message, error_code=code)


def _translated(method):
    """Turns the package's own errors (and a bad step or value) into :class:`SpecweaveMlflowError`."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except MlflowException:
            raise
        except SpecweaveError as e:
            code = next((c for cls, c in _ERROR_CODES if isinstance(e, cls)), INVALID_STATE)
            raise SpecweaveMlflowError(str(e), error_code=code) from e

    return wrapper


# ----------------------------------------------------------------------------------------------------------------
# URIs and ids


def _parse_store_uri(uri: Optional[str]) -> Tuple[Path, Optional[str]]:
    """(project root, increment reference or None for the whole project) of a ``specweave:`` URI."""
    text = (uri or "").strip()
    if not text.startswith(SCHEME + ":"):
        raise _refuse("%r is not a specweave tracking URI: use specweave:<increment> (e.g. specweave:0042) or "
                      "specweave:/absolute/path/to/project" % (uri,))
    rest = text[len(SCHEME) + 1:]
    if not rest.startswith("/"):  # specweave:0042, or specweave: alone: the project of the working directory
        return find_project_root(), (unquote(rest) or None)
    parsed = urlparse(text)
    if parsed.netloc not in ("", "localhost"):
        raise _refuse("%r names a host (%s); the specweave store reads local folders only: use "
                      "specweave:/absolute/path/to/project" % (uri, parsed.netloc))
    path = unquote(parsed.path)
    query = parse_qs(parsed.query)
    unknown = sorted(set(query) - {"increment"})
    if unknown:
        raise _refuse("%r: unknown option %s; the only option is ?increment=<increment>" % (uri, ", ".join(unknown)))
    increment = query.get("increment", [None])[-1]
    root = Path(_fs.real_path(path))
    if not _fs.has_zone(root):
        raise _refuse("%s holds no .specweave folder: point the URI at a specweave project root (create an increment "
                      "first with the create_increment tool)" % root, RESOURCE_DOES_NOT_EXIST)
    return root, increment


def run_id_of(increment: str, name: str) -> str:
    """The MLflow run id of an experiment folder: derived from its place, so every process (and the server) gives
    the same folder the same id, also for runs that MLflow did not write."""
    return uuid.uuid5(_RUN_ID_NAMESPACE, "%s/%s" % (increment, name)).hex


def _artifact_uri(path: Path) -> str:
    return "%s://%s" % (SCHEME, quote(Path(path).as_posix()))


def _ms_to_iso(ms: Optional[int]) -> Optional[str]:
    if ms is None:
        return None
    dt = datetime.fromtimestamp(int(ms) / 1000.0, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (int(ms) % 1000)


def _iso_to_ms(text) -> Optional[int]:
    dt = _fs.parse_iso(text)
    return None if dt is None else int(round(dt.timestamp() * 1000))


def _now_ms() -> int:
    return int(time.time() * 1000)


def _param_text(value) -> str:
    """A params.json value as the string MLflow shows (MLflow params are strings; other writers store JSON)."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def _metric_float(value) -> Optional[float]:
    v = decode_number(value)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _folder_name(run_name: str) -> str:
    """An experiment folder name for an MLflow run name (``bright-owl-123`` stays as it is; spaces and other
    characters become ``-``)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", run_name).strip("-._")
    name = re.sub(r"\.{2,}", ".", name)[:90].strip("-._")
    return name or "run"


def _format_tag(key: str, value: str) -> str:
    """The format's tag (a string in metadata.yaml ``tags``) mirroring an MLflow user tag."""
    return key if value in ("", "true", "True") else "%s=%s" % (key, value)


# ----------------------------------------------------------------------------------------------------------------
# One run folder


class _RunFolder(Experiment):
    """An experiment folder written through :class:`~specweave_ml.tracking.Experiment`'s one write path (its lock,
    merge and plan-then-write), without its start/end lifecycle: MLflow's calls decide the status and times."""

    def __init__(self, root: Path, increment: str, name: str):
        super().__init__(name, increment=increment, root=root)
        self._lock = _fs.FileLock(self.path / ".lock")
        self.increment_name = increment

    def write(self, params=None, points=(), meta_change=None, before_write=None) -> None:
        """One locked write: params merged, metric points appended to history.jsonl with their own timestamps and
        the summary updated as the format says (highest step wins; fold metrics get mean/std/count), metadata
        changed by ``meta_change``. A refusal raised by ``meta_change`` leaves every file as it was."""
        with self._lock:
            history_path = self.path / "history.jsonl"
            summary: Dict[str, Any] = {}
            lines: List[str] = []
            if points:
                latest = dict(self._history.refresh(history_path))
                folds = {m: dict(v) for m, v in self._history.folds.items()}
                for metric, value, step, stamp in points:
                    if metric not in latest or step >= latest[metric][0]:
                        latest[metric] = (step, value)
                    if is_fold_metric(metric):
                        folds.setdefault(metric, {})[step] = value
                    lines.append(history_line(metric, value, step, stamp))
                for metric in dict.fromkeys(p[0] for p in points):
                    if metric in folds:
                        summary.update(fold_summary(metric, folds[metric]))
                    else:
                        summary[metric] = latest[metric][1]
            data = ("\n".join(lines) + "\n").encode("utf-8") if lines else None

            def put_in_place():
                if before_write is not None:
                    before_write()
                if data is not None:
                    _fs.append_lines(history_path, data)

            self._commit(params=params, metrics=summary or None, meta_change=meta_change, before_write=put_in_place)


def _mlflow_block(meta: Dict[str, Any]) -> Dict[str, Any]:
    block = meta.get("mlflow")
    if not isinstance(block, dict):
        block = {}
        meta["mlflow"] = block
    if not isinstance(block.get("tags"), dict):
        block["tags"] = {}
    for key in ("inputs", "outputs", "logged_models"):
        if not isinstance(block.get(key), list):
            block[key] = []
    return block


def _read_mlflow_block(meta: Dict[str, Any]) -> Dict[str, Any]:
    """The ``mlflow`` block of metadata read from disk (hand edits tolerated), without changing ``meta``."""
    return _mlflow_block({"mlflow": dict(meta["mlflow"]) if isinstance(meta.get("mlflow"), dict) else {}})


def _apply_tags(meta: Dict[str, Any], tags: Iterable[Tuple[str, str]], stamp: str) -> None:
    """MLflow tags into metadata: the note into notes, the run name into the block, the rest into ``mlflow.tags``;
    user tags (not ``mlflow.*``) also into the format's ``tags`` list, so list_experiments can filter on them."""
    block = _mlflow_block(meta)
    for key, value in tags:
        value = "" if value is None else str(value)
        if key == MLFLOW_RUN_NOTE:
            last = meta["notes"][-1].get("text") if meta["notes"] else None
            if value and value != last:
                meta["notes"].append({"time": stamp, "text": value})
            continue
        if key == MLFLOW_RUN_NAME:
            block["run_name"] = value
            continue
        old = block["tags"].get(key)
        block["tags"][key] = value
        if not key.startswith("mlflow."):
            if old is not None and _format_tag(key, old) in meta["tags"]:
                meta["tags"].remove(_format_tag(key, old))
            if _format_tag(key, value) not in meta["tags"]:
                meta["tags"].append(_format_tag(key, value))


# ----------------------------------------------------------------------------------------------------------------
# The store


class SpecweaveStore(AbstractStore):
    """MLflow's tracking store interface over a specweave project (see the module docstring and docs/mlflow.md).

    ``store_uri`` is ``specweave:<increment>`` (the project of the working directory, or ``SPECWEAVE_ROOT``),
    ``specweave:/abs/project`` (every increment) or ``specweave:/abs/project?increment=<increment>``. In the
    one-increment forms, MLflow's default experiment (id ``"0"``) is that increment and no other is visible; in the
    project form, it is the single increment that is active or planning (or ``SPECWEAVE_INCREMENT``'s).
    """

    @_translated
    def __init__(self, store_uri: Optional[str] = None, artifact_uri: Optional[str] = None):
        super().__init__()
        self.root, ref = _parse_store_uri(store_uri)
        self.increment: Optional[str] = resolve_increment(self.root, ref)[0] if ref else None
        self._folders: Dict[str, _RunFolder] = {}
        self._run_index: Dict[str, Tuple[str, str]] = {}
        self._model_index: Dict[str, str] = {}

    # -- increments as experiments ---------------------------------------------------------------------------
    def _visible(self) -> List[str]:
        return [self.increment] if self.increment else list_increments(self.root)

    def _increment_of(self, experiment_id) -> str:
        experiment_id = str(experiment_id)
        visible = self._visible()
        if experiment_id in visible:
            return experiment_id
        if experiment_id == _DEFAULT_EXPERIMENT_ID:
            if self.increment:
                return self.increment
            try:
                return resolve_increment(self.root, None)[0]
            except IncrementNotFoundError as e:
                raise _refuse("MLflow's default experiment is the project's one active increment, and there is "
                              "none to choose: %s Or call mlflow.set_experiment(<increment folder name>)." % e,
                              RESOURCE_DOES_NOT_EXIST) from e
        try:
            name = resolve_increment(self.root, experiment_id)[0]
        except IncrementNotFoundError:
            name = None
        if name in visible:
            return name
        raise _refuse("No experiment %r: the experiments of this store are the increments %s (the store %s)."
                      % (experiment_id, ", ".join(visible) or "(none)",
                         "is bound to " + self.increment if self.increment else "covers " + str(self.root)),
                      RESOURCE_DOES_NOT_EXIST)

    def _experiment_entity(self, increment: str) -> MlflowExperiment:
        inc_dir = increments_dir(self.root) / increment
        meta = read_increment_metadata(inc_dir) or {}
        ml = meta.get("ml") if isinstance(meta.get("ml"), dict) else {}
        tags = {"specweave.status": str(meta.get("status") or "")}
        if meta.get("title"):
            tags[MLFLOW_RUN_NOTE] = str(meta["title"])
        for key in ("primary_metric", "direction", "problem_type"):
            if ml.get(key):
                tags["specweave." + key] = str(ml[key])
        return MlflowExperiment(
            experiment_id=increment, name=increment,
            artifact_location=_artifact_uri(inc_dir / "experiments"), lifecycle_stage=LifecycleStage.ACTIVE,
            tags=[ExperimentTag(k, v) for k, v in tags.items()],
            creation_time=_iso_to_ms(meta.get("created")),
            last_update_time=_iso_to_ms(meta.get("lastActivity")) or _iso_to_ms(meta.get("created")))

    @_translated
    def search_experiments(self, view_type=ViewType.ACTIVE_ONLY, max_results=SEARCH_MAX_RESULTS_DEFAULT,
                           filter_string=None, order_by=None, page_token=None):
        if not isinstance(max_results, int) or not 1 <= max_results <= SEARCH_MAX_RESULTS_THRESHOLD:
            raise _refuse("max_results must be an integer from 1 to %d, not %r"
                          % (SEARCH_MAX_RESULTS_THRESHOLD, max_results))
        found = [] if view_type == ViewType.DELETED_ONLY else [self._experiment_entity(i) for i in self._visible()]
        found = SearchExperimentsUtils.filter(found, filter_string)
        found = SearchExperimentsUtils.sort(found, order_by or ["creation_time DESC", "experiment_id ASC"])
        page, token = SearchUtils.paginate(found, page_token, max_results)
        return PagedList(page, token)

    @_translated
    def get_experiment(self, experiment_id):
        return self._experiment_entity(self._increment_of(experiment_id))

    @_translated
    def get_experiment_by_name(self, experiment_name):
        return self._experiment_entity(experiment_name) if experiment_name in self._visible() else None

    def create_experiment(self, name, artifact_location=None, tags=None):
        raise _refuse(
            "The specweave store does not create MLflow experiments: each experiment is an increment. Create the "
            "increment with the create_increment tool (or SpecWeave), then use its folder name, e.g. "
            "mlflow.set_experiment(%r). Increments here: %s."
            % ((self._visible() or ["0001-my-increment"])[0], ", ".join(self._visible()) or "none"),
            RESOURCE_DOES_NOT_EXIST)

    def _increment_lifecycle_refusal(self, what: str) -> SpecweaveMlflowError:
        return _refuse("The specweave store does not %s experiments: they are increments, whose lifecycle belongs "
                       "to SpecWeave (the increment's metadata.json)." % what, INVALID_STATE)

    def delete_experiment(self, experiment_id):
        raise self._increment_lifecycle_refusal("delete")

    def restore_experiment(self, experiment_id):
        raise self._increment_lifecycle_refusal("restore")

    def rename_experiment(self, experiment_id, new_name):
        raise self._increment_lifecycle_refusal("rename")

    def set_experiment_tag(self, experiment_id, tag):
        raise _refuse("The specweave store keeps no experiment tags: an experiment is an increment, described by "
                      "its spec.md and metadata.json. Tag the runs instead (mlflow.set_tag).", INVALID_STATE)

    def delete_experiment_tag(self, experiment_id, key):
        self.set_experiment_tag(experiment_id, None)

    # -- finding runs --------------------------------------------------------------------------------------------
    def _run_names(self, increment: str) -> List[str]:
        names = _fs.list_folders(increments_dir(self.root) / increment / "experiments")
        return [n for n in names if not n.startswith((".", "_")) and EXPERIMENT_NAME.match(n) and ".." not in n]

    def _locate(self, run_id) -> Tuple[str, str]:
        if not isinstance(run_id, str):
            raise _refuse("run_id must be a string, not %r" % (run_id,))
        _validate_run_id(run_id)
        hit = self._run_index.get(run_id)
        if hit is not None and hit[0] in self._visible() and _fs.exists(self._path(*hit)):
            return hit
        refused = []  # a planted link in one increment must not hide the runs of the others
        for increment in self._visible():
            try:
                names = self._run_names(increment)
            except SandboxError as e:
                refused.append(e)
                continue
            for name in names:
                self._run_index[run_id_of(increment, name)] = (increment, name)
        hit = self._run_index.get(run_id)
        if (hit is None or hit[0] not in self._visible()) and refused:
            raise refused[0]  # the run may be behind it: say why it cannot be looked at
        if hit is None or hit[0] not in self._visible():
            raise _refuse("Run %r not found in %s." % (run_id, ", ".join(self._visible()) or str(self.root)),
                          RESOURCE_DOES_NOT_EXIST)
        return hit

    def _path(self, increment: str, name: str) -> Path:
        return increments_dir(self.root) / increment / "experiments" / name

    def _folder(self, increment: str, name: str) -> _RunFolder:
        key = run_id_of(increment, name)
        folder = self._folders.get(key)
        if folder is None:
            folder = self._folders[key] = _RunFolder(self.root, increment, name)
        return folder

    def _active_folder(self, run_id) -> _RunFolder:
        """The folder of a run that may be written to (MLflow refuses writes to a deleted run)."""
        increment, name = self._locate(run_id)
        self._check_not_deleted(read_metadata(self._path(increment, name) / "metadata.yaml"), run_id)
        return self._folder(increment, name)

    def _check_not_deleted(self, meta: Dict[str, Any], run_id: str) -> None:
        if _read_mlflow_block(meta).get("lifecycle_stage") == LifecycleStage.DELETED:
            raise _refuse("Run %r is deleted; restore it first (MlflowClient().restore_run)." % run_id,
                          INVALID_STATE)

    # -- runs as entities ----------------------------------------------------------------------------------------
    def _run_entity(self, increment: str, name: str, full: bool = True) -> Run:
        path = self._path(increment, name)
        run_id = run_id_of(increment, name)
        _forget_other_project_repo(run_id, self.root)
        if full:
            stored = read_experiment_dir(path)
            meta, params, summary = stored["metadata"], stored["params"], stored["metrics"]
            history = stored["history"]
        else:  # searches read the summaries only
            meta = normalize_metadata(read_metadata(path / "metadata.yaml"))
            meta.setdefault("status", "completed")
            params = read_json_object(path / "params.json")
            summary = {k: decode_number(v) for k, v in read_json_object(path / "metrics.json").items()}
            history = []
        block = _read_mlflow_block(meta)
        updated = _iso_to_ms(meta.get("updated")) or _iso_to_ms(meta.get("created")) or 0
        metrics: Dict[str, Metric] = {}
        for key, value in summary.items():
            v = _metric_float(value)
            if v is not None:
                metrics[key] = Metric(key, v, updated, 0, run_id=run_id)
        latest: Dict[str, Tuple] = {}
        for p in history:  # MLflow's latest value: highest step, then latest timestamp
            order = (p["step"], _iso_to_ms(p.get("timestamp")) or 0)
            if p["metric"] not in latest or order >= latest[p["metric"]][0]:
                latest[p["metric"]] = (order, p["value"])
        for key, ((step, stamp), value) in latest.items():
            if key in summary or not is_fold_metric(key):
                metrics[key] = Metric(key, float(value), stamp, step, run_id=run_id)
        tags = dict(block["tags"])
        for t in meta["tags"]:  # format tags written by other tools (track_experiment, the MCP server)
            key, _, value = str(t).partition("=")
            tags.setdefault(key, value)
        run_name = str(block.get("run_name") or meta.get("name") or name)
        tags[MLFLOW_RUN_NAME] = run_name
        if meta["notes"]:
            tags[MLFLOW_RUN_NOTE] = str(meta["notes"][-1].get("text") or "")
        status = _STATUS_FROM_FORMAT.get(str(meta.get("status")), "FINISHED")
        info = RunInfo(
            run_id=run_id, experiment_id=increment, user_id=str(block.get("user_id") or ""), status=status,
            start_time=_iso_to_ms(meta.get("started")) or _iso_to_ms(meta.get("created")),
            end_time=None if status == "RUNNING" else _iso_to_ms(meta.get("ended")),
            lifecycle_stage=block.get("lifecycle_stage") or LifecycleStage.ACTIVE,
            artifact_uri=_artifact_uri(path), run_name=run_name)
        data = RunData(metrics=list(metrics.values()), params=[Param(k, _param_text(v)) for k, v in params.items()],
                       tags=[RunTag(k, str(v)) for k, v in tags.items()])
        records = [d for d in block["inputs"] if isinstance(d, dict)]  # hand edits: anything else is skipped
        inputs = RunInputs(
            dataset_inputs=[self._dataset_input(d) for d in records if isinstance(d.get("dataset"), dict)],
            model_inputs=[LoggedModelInput(str(d["model_id"])) for d in records if d.get("model_id")])
        outputs = RunOutputs([LoggedModelOutput(str(o["model_id"]), int(o.get("step") or 0))
                              for o in block["outputs"] if isinstance(o, dict) and o.get("model_id")])
        return Run(info, data, inputs, outputs)

    @staticmethod
    def _dataset_input(record: Dict[str, Any]) -> DatasetInput:
        d = record["dataset"]
        dataset = Dataset(name=str(d.get("name") or ""), digest=str(d.get("digest") or ""),
                          source_type=str(d.get("source_type") or ""), source=str(d.get("source") or ""),
                          schema=d.get("schema"), profile=d.get("profile"))
        tags = record.get("tags") if isinstance(record.get("tags"), dict) else {}
        return DatasetInput(dataset, [InputTag(k, str(v)) for k, v in tags.items()])

    @_translated
    def get_run(self, run_id):
        return self._run_entity(*self._locate(run_id))

    # -- creating and ending runs ----------------------------------------------------------------------------------
    @_translated
    def create_run(self, experiment_id, user_id, start_time, tags, run_name):
        increment = self._increment_of(experiment_id)
        tags = list(tags or [])
        named = [t.value for t in tags if t.key == MLFLOW_RUN_NAME]
        if run_name and named and named[-1] != run_name:
            raise _refuse("Both run_name %r and tag %s=%r were given; pass one." % (run_name, MLFLOW_RUN_NAME,
                                                                                    named[-1]))
        run_name = run_name or (named[-1] if named else None) or _generate_random_name()
        for t in tags:
            _validate_tag(t.key, t.value)
        parent = next((t.value for t in tags if t.key == MLFLOW_PARENT_RUN_ID), None)
        parent_name = self._locate(parent)[1] if parent else None
        inc_dir = increments_dir(self.root) / increment
        read_increment_metadata(inc_dir)  # refuses a planted link at the increment's metadata.json first
        name, created = self._new_folder(increment, run_name)
        folder = self._folder(increment, name)
        run_id = run_id_of(increment, name)
        started = _ms_to_iso(start_time if start_time is not None else _now_ms())

        def change(meta):
            meta["name"] = name
            meta["status"] = "running"
            meta["baseline"] = False
            meta["created"] = started
            meta["started"] = started
            meta["ended"] = None
            meta["duration_seconds"] = None
            meta["source"] = {"tool": "mlflow", "run_id": run_id}
            block = _mlflow_block(meta)
            block["run_name"] = run_name
            block["user_id"] = user_id or ""
            block["lifecycle_stage"] = LifecycleStage.ACTIVE
            if parent_name:
                block["parent"] = parent_name
            _apply_tags(meta, [(t.key, t.value) for t in tags] + [(MLFLOW_RUN_NAME, run_name)], started)

        try:
            folder.write(params={}, meta_change=change)
        except BaseException:
            _fs.remove_empty_dirs(created)
            raise
        self._run_index[run_id] = (increment, name)
        try:
            touch_increment(inc_dir)
        except (SpecweaveError, OSError):
            pass  # the run is recorded whole; validate_increment reports the status left at planning
        return self._run_entity(increment, name)

    def _new_folder(self, increment: str, run_name: str) -> Tuple[str, List[str]]:
        """A new experiment folder for a run: the run name, else the run name with ``-2``, ``-3``... (MLflow allows
        several runs of one name; a folder is one run). Made here, so two processes never share one."""
        base = _folder_name(run_name)
        for n in range(1, 10000):
            name = base if n == 1 else "%s-%d" % (base[:95], n)
            path = self._path(increment, name)
            if _fs.exists(path):
                continue
            created = _fs.make_dirs(path)
            if created and os.path.normcase(os.path.abspath(created[-1])) == os.path.normcase(os.path.abspath(path)):
                return name, created
        raise _refuse("No free experiment folder name for run %r in %s" % (run_name, increment), INVALID_STATE)

    @_translated
    def update_run_info(self, run_id, run_status, end_time, run_name):
        folder = self._active_folder(run_id)
        status = RunStatus.to_string(run_status) if isinstance(run_status, int) else str(run_status)
        if status not in _STATUS_TO_FORMAT:
            raise _refuse("Unknown run status %r; use one of %s" % (run_status, ", ".join(_STATUS_TO_FORMAT)))
        fmt_status = _STATUS_TO_FORMAT[status]
        ended = None if fmt_status == "running" else _ms_to_iso(end_time if end_time is not None else _now_ms())

        def change(meta):
            meta["status"] = fmt_status
            meta["ended"] = ended
            start = _fs.parse_iso(meta.get("started"))
            end = _fs.parse_iso(ended)
            meta["duration_seconds"] = (round(max(0.0, (end - start).total_seconds()), 3)
                                        if start is not None and end is not None else None)
            if run_name:
                _apply_tags(meta, [(MLFLOW_RUN_NAME, run_name)], ended or _fs.now_iso())

        folder.write(meta_change=change)
        return self._run_entity(folder.increment_name, folder.name, full=False).info

    def _set_lifecycle(self, run_id, stage: str) -> None:
        increment, name = self._locate(run_id)

        def change(meta):
            _mlflow_block(meta)["lifecycle_stage"] = stage

        self._folder(increment, name).write(meta_change=change)

    @_translated
    def delete_run(self, run_id):
        """Marks the run deleted (MLflow's soft delete): hidden from searches, its folder kept."""
        self._set_lifecycle(run_id, LifecycleStage.DELETED)

    @_translated
    def restore_run(self, run_id):
        self._set_lifecycle(run_id, LifecycleStage.ACTIVE)

    # -- logging --------------------------------------------------------------------------------------------------
    @_translated
    def log_batch(self, run_id, metrics, params, tags):
        metrics, params, tags = list(metrics or []), list(params or []), list(tags or [])
        _validate_batch_log_limits(metrics, params, tags)
        _validate_batch_log_data(metrics, params, tags)
        points = []
        for m in metrics:
            self._check_metric_name(m.key)
            step = int(m.step or 0)
            if step < 0:
                raise _refuse("Metric %r: step %d is negative; the specweave format records steps >= 0."
                              % (m.key, step))
            stamp = _ms_to_iso(m.timestamp if m.timestamp is not None else _now_ms())
            points.append((m.key, metric_value(float(m.value)), step, stamp))
        folder = self._folder(*self._locate(run_id))
        new_params = {p.key: str(p.value) for p in params}
        model_metrics = [m for m in metrics if getattr(m, "model_id", None)]

        def change(meta):
            # checked on the metadata read under the lock (the hot path reads metadata.yaml once)
            self._check_not_deleted(meta, run_id)
            # MLflow params are immutable: a different value for a logged key is refused (before any write).
            current = read_json_object(folder.path / "params.json")
            for key, value in new_params.items():
                if key in current and _param_text(current[key]) != value:
                    raise _refuse("Param %r of run %r is already %r; MLflow params cannot change (tried %r). Log "
                                  "it under another key or start a new run." % (key, run_id,
                                                                               _param_text(current[key]), value))
            _apply_tags(meta, [(t.key, t.value) for t in tags], _fs.now_iso())
            for m in model_metrics:
                self._model_record(meta, m.model_id)["metrics"].append({
                    "key": m.key, "value": metric_value(float(m.value)), "step": int(m.step or 0),
                    "timestamp": int(m.timestamp or 0), "dataset_name": m.dataset_name,
                    "dataset_digest": m.dataset_digest})

        folder.write(params=new_params or None, points=points, meta_change=change)

    @staticmethod
    def _check_metric_name(key) -> None:
        if not isinstance(key, str) or not key.strip():
            raise _refuse("A metric name must be a non-empty string, not %r." % (key,))

    def log_metric(self, run_id, metric):
        self.log_batch(run_id, [metric], [], [])

    def log_param(self, run_id, param):
        self.log_batch(run_id, [], [param], [])

    def set_tag(self, run_id, tag):
        self.log_batch(run_id, [], [], [tag])

    @_translated
    def delete_tag(self, run_id, key):
        folder = self._active_folder(run_id)

        def change(meta):
            block = _mlflow_block(meta)
            if key == MLFLOW_RUN_NOTE:
                raise _refuse("Notes are kept (docs/format.md: appended, never rewritten); set a new note instead "
                              "of deleting it.", INVALID_STATE)
            if key not in block["tags"]:
                raise _refuse("No tag %r on run %r." % (key, run_id), RESOURCE_DOES_NOT_EXIST)
            value = block["tags"].pop(key)
            if _format_tag(key, value) in meta["tags"]:
                meta["tags"].remove(_format_tag(key, value))

        folder.write(meta_change=change)

    @_translated
    def get_metric_history(self, run_id, metric_key, max_results=None, page_token=None):
        increment, name = self._locate(run_id)
        path = self._path(increment, name)
        points, _ = read_history(path / "history.jsonl")
        found = [Metric(metric_key, float(p["value"]), _iso_to_ms(p.get("timestamp")) or 0, p["step"], run_id=run_id)
                 for p in points if p["metric"] == metric_key]
        if not found:  # a summary-only metric (track_experiment without a step) is one point at step 0
            value = _metric_float(read_json_object(path / "metrics.json").get(metric_key))
            if value is not None:
                meta = read_metadata(path / "metadata.yaml")
                found = [Metric(metric_key, value, _iso_to_ms(meta.get("updated")) or 0, 0, run_id=run_id)]
        if max_results is None:
            return PagedList(found, None)
        page, token = SearchUtils.paginate(found, page_token, max_results)
        return PagedList(page, token)

    @_translated
    def _search_runs(self, experiment_ids, filter_string, run_view_type, max_results, order_by, page_token):
        if max_results > SEARCH_MAX_RESULTS_THRESHOLD:
            raise _refuse("max_results must be at most %d, not %d" % (SEARCH_MAX_RESULTS_THRESHOLD, max_results))
        runs = []
        for increment in dict.fromkeys(self._increment_of(e) for e in experiment_ids):
            for name in self._run_names(increment):
                run = self._run_entity(increment, name, full=False)
                stage = run.info.lifecycle_stage
                if run_view_type == ViewType.ALL or (
                        (run_view_type == ViewType.DELETED_ONLY) == (stage == LifecycleStage.DELETED)):
                    runs.append(run)
        runs = SearchUtils.filter(runs, filter_string)
        runs = SearchUtils.sort(runs, order_by)
        return SearchUtils.paginate(runs, page_token, max_results)

    # -- inputs and outputs ----------------------------------------------------------------------------------------
    @_translated
    def log_inputs(self, run_id, datasets=None, models=None):
        if not datasets and not models:
            return
        folder = self._active_folder(run_id)
        records = []
        for d in datasets or []:
            ds = d.dataset
            records.append({"dataset": {"name": ds.name, "digest": ds.digest, "source_type": ds.source_type,
                                        "source": ds.source, "schema": ds.schema, "profile": ds.profile},
                            "tags": {t.key: t.value for t in d.tags or []}})
        records += [{"model_id": m.model_id} for m in models or []]

        def change(meta):
            block = _mlflow_block(meta)
            for r in records:
                same = [i for i, old in enumerate(block["inputs"]) if self._input_key(old) == self._input_key(r)]
                if not same:
                    block["inputs"].append(r)

        folder.write(meta_change=change)

    @staticmethod
    def _input_key(record) -> Tuple:
        d = record.get("dataset") if isinstance(record, dict) else None
        if isinstance(d, dict):
            return ("dataset", d.get("name"), d.get("digest"))
        return ("model", record.get("model_id") if isinstance(record, dict) else None)

    @_translated
    def log_outputs(self, run_id, models):
        folder = self._active_folder(run_id)

        def change(meta):
            block = _mlflow_block(meta)
            for m in models or []:
                if not any(o.get("model_id") == m.model_id for o in block["outputs"] if isinstance(o, dict)):
                    block["outputs"].append({"model_id": m.model_id, "step": int(m.step or 0)})

        folder.write(meta_change=change)

    @_translated
    def record_logged_model(self, run_id, mlflow_model):
        """MLflow 2's ``mlflow.log-model.history`` tag, which some flavours still write."""
        folder = self._active_folder(run_id)

        def change(meta):
            block = _mlflow_block(meta)
            try:
                history = json.loads(block["tags"].get(MLFLOW_LOGGED_MODELS) or "[]")
            except ValueError:
                history = []
            history.append(mlflow_model.get_tags_dict())
            block["tags"][MLFLOW_LOGGED_MODELS] = json.dumps(history)

        folder.write(meta_change=change)

    @_translated
    def _search_datasets(self, experiment_ids):
        """The datasets the runs of these experiments logged as inputs (the UI's dataset filter)."""
        from mlflow.entities.dataset_summary import _DatasetSummary
        found = {}
        for increment in dict.fromkeys(self._increment_of(e) for e in experiment_ids):
            for name in self._run_names(increment):
                for d in self._run_entity(increment, name, full=False).inputs.dataset_inputs:
                    context = next((t.value for t in d.tags if t.key == "mlflow.data.context"), None)
                    key = (increment, d.dataset.name, d.dataset.digest, context)
                    found.setdefault(key, _DatasetSummary(experiment_id=increment, name=d.dataset.name,
                                                          digest=d.dataset.digest, context=context))
        return list(found.values())[:1000]

    def search_traces(self, experiment_ids=None, filter_string=None, max_results=100, order_by=None,
                      page_token=None, model_id=None, locations=None):
        """No traces are kept here (MLflow's UI asks on every experiment page): an empty answer."""
        return [], None

    def link_traces_to_run(self, trace_ids, run_id):
        raise _refuse("The specweave store keeps runs, not traces: log traces to another tracking URI.",
                      INVALID_STATE)

    # -- logged models (MLflow 3) -----------------------------------------------------------------------------
    @staticmethod
    def _model_record(meta: Dict[str, Any], model_id: str) -> Dict[str, Any]:
        for record in _mlflow_block(meta)["logged_models"]:
            if isinstance(record, dict) and record.get("model_id") == model_id:
                for key, empty in (("tags", {}), ("params", {}), ("metrics", [])):
                    if not isinstance(record.get(key), type(empty)):
                        record[key] = empty
                return record
        raise _refuse("No logged model %r in this run: log metrics of a model from the run that created it."
                      % model_id, RESOURCE_DOES_NOT_EXIST)

    @_translated
    def create_logged_model(self, experiment_id=_DEFAULT_EXPERIMENT_ID, name=None, source_run_id=None, tags=None,
                            params=None, model_type=None):
        _validate_logged_model_name(name)
        if not source_run_id:
            raise _refuse("The specweave store keeps a logged model in the folder of the run that produced it: log "
                          "the model inside mlflow.start_run() (or pass source_run_id).")
        for p in params or []:
            _validate_param(p.key, p.value)
        increment, run_name = self._locate(source_run_id)
        if self._increment_of(experiment_id) != increment:
            raise _refuse("Run %r belongs to experiment %r, not %r." % (source_run_id, increment, experiment_id))
        folder = self._active_folder(source_run_id)
        name = name or _generate_random_name()
        model_id = "m-" + uuid.uuid4().hex
        now = _now_ms()

        def change(meta):
            block = _mlflow_block(meta)
            taken = {str(r.get("artifact_path")) for r in block["logged_models"] if isinstance(r, dict)}
            taken |= {str(a.get("path", "")).split("/")[0] for a in meta["artifacts"]}
            base = _folder_name(name)
            folder_name = base
            n = 1
            while folder_name in taken or folder_name in ("params.json", "metrics.json", "metadata.yaml",
                                                          "history.jsonl"):
                n += 1
                folder_name = "%s-%d" % (base, n)
            block["logged_models"].append({
                "model_id": model_id, "name": name, "artifact_path": folder_name, "status": "PENDING",
                "model_type": model_type, "creation_timestamp": now, "last_updated_timestamp": now,
                "lifecycle_stage": LifecycleStage.ACTIVE, "tags": {t.key: str(t.value) for t in tags or []},
                "params": {p.key: str(p.value) for p in params or []}, "metrics": []})

        folder.write(meta_change=change)
        self._model_index[model_id] = source_run_id
        return self.get_logged_model(model_id)

    def _model_run(self, model_id: str) -> Tuple[str, str]:
        """(increment, run folder) of the run holding a logged model."""
        run_id = self._model_index.get(model_id)
        if run_id is not None:
            try:
                return self._locate(run_id)
            except MlflowException:
                pass
        refused = []  # one hostile or malformed run must not hide the models of the others
        for increment in self._visible():
            try:
                names = self._run_names(increment)
            except SpecweaveError as e:
                refused.append(e)
                continue
            for name in names:
                try:
                    records = self._models_of(increment, name)
                except SpecweaveError as e:
                    refused.append(e)
                    continue
                for r in records:
                    self._model_index[str(r["model_id"])] = run_id_of(increment, name)
        run_id = self._model_index.get(model_id)
        if run_id is None and refused:
            raise refused[0]
        if run_id is None:
            raise _refuse("Logged model %r not found in %s." % (model_id, ", ".join(self._visible())),
                          RESOURCE_DOES_NOT_EXIST)
        return self._locate(run_id)

    def _model_entity(self, increment: str, name: str, record: Dict[str, Any]) -> LoggedModel:
        metrics = []
        for m in record.get("metrics") or []:
            value = _metric_float(m.get("value"))
            if isinstance(m, dict) and value is not None:
                metrics.append(Metric(str(m.get("key")), value, int(m.get("timestamp") or 0), int(m.get("step") or 0),
                                      model_id=record["model_id"], dataset_name=m.get("dataset_name"),
                                      dataset_digest=m.get("dataset_digest"), run_id=run_id_of(increment, name)))
        status = str(record.get("status") or "PENDING")
        return LoggedModel(
            experiment_id=increment, model_id=str(record["model_id"]), name=str(record.get("name") or ""),
            artifact_location=_artifact_uri(self._path(increment, name) / str(record.get("artifact_path") or "")),
            creation_timestamp=int(record.get("creation_timestamp") or 0),
            last_updated_timestamp=int(record.get("last_updated_timestamp") or 0),
            model_type=record.get("model_type"), source_run_id=run_id_of(increment, name),
            status=LoggedModelStatus(status) if status in LoggedModelStatus.__members__ else LoggedModelStatus.PENDING,
            tags={str(k): str(v) for k, v in (record.get("tags") or {}).items()},
            params={str(k): str(v) for k, v in (record.get("params") or {}).items()}, metrics=metrics)

    def _models_of(self, increment: str, name: str) -> List[Dict[str, Any]]:
        meta = read_metadata(self._path(increment, name) / "metadata.yaml")
        return [r for r in _read_mlflow_block(meta)["logged_models"] if isinstance(r, dict) and r.get("model_id")]

    @_translated
    def get_logged_model(self, model_id, allow_deleted=False):
        increment, name = self._model_run(model_id)
        for record in self._models_of(increment, name):
            if record["model_id"] == model_id:
                if record.get("lifecycle_stage") == LifecycleStage.DELETED and not allow_deleted:
                    break
                return self._model_entity(increment, name, record)
        raise _refuse("Logged model %r not found (or deleted)." % model_id, RESOURCE_DOES_NOT_EXIST)

    def _change_model(self, model_id: str, edit) -> None:
        increment, name = self._model_run(model_id)

        def change(meta):
            record = self._model_record(meta, model_id)
            edit(record)
            record["last_updated_timestamp"] = _now_ms()

        self._folder(increment, name).write(meta_change=change)

    @_translated
    def finalize_logged_model(self, model_id, status):
        text = status.name if isinstance(status, LoggedModelStatus) else str(LoggedModelStatus(status).name)
        self._change_model(model_id, lambda r: r.__setitem__("status", text))
        return self.get_logged_model(model_id)

    @_translated
    def set_logged_model_tags(self, model_id, tags):
        for t in tags or []:
            _validate_tag(t.key, t.value)
        self._change_model(model_id, lambda r: r["tags"].update({t.key: str(t.value) for t in tags or []}))

    @_translated
    def delete_logged_model_tag(self, model_id, key):
        def edit(record):
            if key not in record["tags"]:
                raise _refuse("No tag %r on logged model %r." % (key, model_id), RESOURCE_DOES_NOT_EXIST)
            del record["tags"][key]

        self._change_model(model_id, edit)

    @_translated
    def log_logged_model_params(self, model_id, params):
        for p in params or []:
            _validate_param(p.key, p.value)
        self._change_model(model_id, lambda r: r["params"].update({p.key: str(p.value) for p in params or []}))

    @_translated
    def delete_logged_model(self, model_id):
        self._change_model(model_id, lambda r: r.__setitem__("lifecycle_stage", LifecycleStage.DELETED))

    @_translated
    def search_logged_models(self, experiment_ids, filter_string=None, datasets=None, max_results=None,
                             order_by=None, page_token=None):
        if datasets and not all(d.get("dataset_name") for d in datasets):
            raise _refuse("`dataset_name` in the `datasets` clause must be specified.")
        models = []
        for increment in dict.fromkeys(self._increment_of(e) for e in experiment_ids):
            for name in self._run_names(increment):
                for record in self._models_of(increment, name):
                    self._model_index[str(record["model_id"])] = run_id_of(increment, name)
                    if record.get("lifecycle_stage") != LifecycleStage.DELETED:
                        models.append(self._model_entity(increment, name, record))
        models = SearchLoggedModelsUtils.filter_logged_models(models, filter_string, datasets)
        models = SearchLoggedModelsUtils.sort(models, order_by)
        page, token = SearchLoggedModelsUtils.paginate(models, page_token, max_results or 100)
        return PagedList(page, token)


# ----------------------------------------------------------------------------------------------------------------
# Artifacts


def _forget_other_project_repo(run_id: str, root: Path) -> None:
    """Drops MLflow's cached artifact repository of ``run_id`` when it belongs to another project. Run ids come
    from the increment and folder name only, and MLflow caches repositories by run id for the whole process: after
    switching projects (configure_mlflow of another root), log_artifact would otherwise write into the first one."""
    try:
        from mlflow.tracking._tracking_service import utils as tracking_utils
    except ImportError:  # pragma: no cover - an MLflow without the cache
        return
    cache = getattr(tracking_utils, "_artifact_repos_cache", None)
    repo = cache.get(run_id) if isinstance(cache, dict) else None
    if isinstance(repo, SpecweaveArtifactRepository) and os.path.normcase(str(repo.root)) != os.path.normcase(str(root)):
        cache.pop(run_id, None)


def _split_artifact_uri(artifact_uri: str) -> Tuple[Path, str, str, str]:
    """(project root, increment, experiment name, path inside the experiment folder) of a ``specweave://`` URI.
    Anything but a place inside an experiment folder of a project is refused."""
    parsed = urlparse(artifact_uri)
    if parsed.scheme != SCHEME or parsed.netloc not in ("", "localhost"):
        raise _refuse("%r is not a specweave artifact URI (specweave:///<project>/.specweave/increments/<increment>/"
                      "experiments/<experiment>[/<path>])" % artifact_uri)
    parts = unquote(parsed.path).split("/")
    try:
        zone = len(parts) - 1 - parts[::-1].index(_fs.ZONE)
    except ValueError:
        zone = -1
    tail = parts[zone + 1:] if zone >= 0 else []
    if zone < 1 or len(tail) < 4 or tail[0] != "increments" or tail[2] != "experiments":
        raise _refuse("%r does not point into an experiment folder of a specweave project" % artifact_uri)
    root = Path("/".join(parts[:zone]) or "/")
    rest = "/".join(p for p in tail[4:] if p)
    if rest:
        _check_artifact_name(rest)
    return root, tail[1], tail[3], rest


class SpecweaveArtifactRepository(ArtifactRepository):
    """MLflow's artifact repository for ``specweave://`` URIs (the runs' ``artifact_uri``): files of an experiment
    folder, written and read through the sandboxed file layer, each recorded in metadata.yaml ``artifacts`` with
    its size and SHA-256 when it is written. Listing shows the recorded artifacts."""

    @_translated
    def __init__(self, artifact_uri, tracking_uri=None, registry_uri=None):
        super().__init__(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)
        self.root, self.increment, self.experiment, self.prefix = _split_artifact_uri(artifact_uri)
        self._folder = _RunFolder(self.root, self.increment, self.experiment)

    def _rel(self, *parts: Optional[str]) -> str:
        joined = "/".join(p.strip("/") for p in (self.prefix,) + parts if p and p.strip("/"))
        return _check_artifact_name(joined) if joined else ""

    @_translated
    def log_artifact(self, local_file, artifact_path=None):
        rel = self._rel(artifact_path, os.path.basename(os.fspath(local_file)))
        self._store(local_file, rel)

    def _store(self, local_file, rel: str) -> None:
        if not _fs.is_user_file(local_file):
            raise _refuse("%s is not a file" % local_file)
        staged = _fs.stage_file(self._folder.path / rel, lambda f: _fs.copy_user_file(local_file, f))
        self._folder._record_artifact(rel, staged.size, staged.sha256, staged)

    @_translated
    def log_artifacts(self, local_dir, artifact_path=None):
        # every name checked before the first file is written: a refused one leaves none of them
        planned = [(full, self._rel(artifact_path, rel)) for full, rel in _fs.user_files(local_dir)]
        for full, rel in planned:
            self._store(full, rel)

    def _recorded(self) -> List[Dict[str, Any]]:
        meta = normalize_metadata(read_metadata(self._folder.path / "metadata.yaml"))
        return [a for a in meta["artifacts"] if isinstance(a.get("path"), str) and not a["path"].startswith("../")]

    @_translated
    def list_artifacts(self, path=None):
        base = self._rel(path)
        prefix = base + "/" if base else ""
        own = self.prefix + "/" if self.prefix else ""
        entries: Dict[str, FileInfo] = {}
        for a in self._recorded():
            full = a["path"]
            if not full.startswith(prefix) or full == base:
                continue
            head, sep, _ = full[len(prefix):].partition("/")
            shown = (prefix + head)[len(own):]
            entries[shown] = FileInfo(shown, True, None) if sep else FileInfo(
                shown, False, int(a["bytes"]) if isinstance(a.get("bytes"), int) else None)
        return [entries[k] for k in sorted(entries)]

    @_translated
    def _download_file(self, remote_file_path, local_path):
        _fs.export_file(self._folder.path / self._rel(remote_file_path), local_path)

    def delete_artifacts(self, artifact_path=None):
        raise _refuse("The specweave store does not delete artifacts: they are recorded files of the experiment "
                      "folder. Remove them by hand and record the change.", INVALID_STATE)
