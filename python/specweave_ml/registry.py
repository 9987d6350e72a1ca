"""The model registry from Python: :class:`ModelRegistry` over ``.specweave/registry/`` (docs/registry.md).

The same files, byte for byte, as the MCP server's register_model / promote_model / rollback_model: per model,
immutable version records (``versions/<X.Y.Z>.json``) and an append-only event log (``events.jsonl``) from which
the holder of each stage is derived. Writers hold the model's lock (``registry/<name>/.lock``, the store's lock
protocol), so Python processes and servers can register and promote at the same time.

    from specweave_ml import ModelRegistry, track_experiment

    with track_experiment("random-forest") as exp:
        ...
        exp.save_model(model, "model")
    reg = ModelRegistry()
    v = reg.register("churn", exp)                     # 1.0.0, then 1.0.1, ...
    reg.promote_to_production("churn", v["version"])   # runs the increment's quality gates first
    model = reg.load("churn")                          # the production model, sha256 verified before unpickling

The quality gates exist only in the server. :meth:`ModelRegistry.promote_to_production` runs them by starting the
bundled server (``mcp-server/dist/server.mjs``, found next to this package in the plugin checkout, or named by
``SPECWEAVE_SERVER_BUNDLE``) with ``node`` (``SPECWEAVE_NODE``, else ``node`` on the PATH) and calling
validate_increment; when that cannot be done it refuses, unless ``force=True`` with a reason, which is recorded.
"""

import io
import json
import os
import pickle
import queue
import re
import shutil
import subprocess
import threading
import time as _time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from . import _fs
from . import _gitenv
from ._gitenv import _git, git_info
from ._jsonfmt import decode_number, dumps_canonical, encode_float
from ._project import find_project_root, read_increment_metadata, resolve_increment
from ._store import read_experiment_dir
from .errors import FormatError, InvalidNameError, SandboxError, SpecweaveError
from .metrics import VOCABULARY, _legacy_normalize, resolve_metric

__all__ = ["ModelRegistry", "RegistryError", "ModelIntegrityError", "GatesFailedError", "GatesUnavailableError"]

REGISTRY_FORMAT = 1
PRODUCTION = "production"
FIRST_VERSION = "1.0.0"
MAX_EVENT_LOG_BYTES = 32 * 1024 * 1024
MAX_EVENT_LINE_BYTES = 64 * 1024
MAX_VERSION_BYTES = 4 * 1024 * 1024
#: The order of an event line's keys (the server writes the same).
EVENT_KEY_ORDER = ("seq", "time", "event", "model", "version", "stage", "previous", "actor", "reason", "forced", "gates")
GATES_TIMEOUT_SECONDS = 180.0

_SEMVER = re.compile(r"^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$")
_STAGE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_MODEL_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$", re.I)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_EVENTS = ("register", "promote", "rollback")
_BUMPS = ("major", "minor", "patch")

# core/model-formats.ts: file names that hold a fitted model.
_MODEL_FORMATS = (
    ("pickle", (".pkl", ".pickle"), None),
    ("joblib", (".joblib",), None),
    ("ONNX", (".onnx",), None),
    ("PyTorch", (".pt", ".pth"), None),
    ("safetensors", (".safetensors",), None),
    ("XGBoost", (".ubj", ".xgb"), ((".json", ".model", ".bin"), re.compile(r"xgb|xgboost", re.I))),
    ("LightGBM", (".lgb", ".lgbm"), ((".txt", ".model"), re.compile(r"lgb|lightgbm", re.I))),
    ("CatBoost", (".cbm",), None),
    ("Keras", (".keras", ".h5", ".hdf5"), None),
    ("JSON model", (), ((".json",), re.compile(r"model", re.I))),
)
# core/registry/lineage.ts: data files among the recorded artifacts, and outputs that are not data.
_DATA_EXTENSIONS = (".csv", ".tsv", ".parquet", ".feather", ".arrow", ".npy", ".npz", ".h5ad", ".jsonl")
_OUTPUT_NAMES = re.compile(r"pred|score|report|metric|history|result|importance|shap|explain|partial|confusion", re.I)
_SOURCES = {"auto": ("cv", "validation", "test"), "cv": ("cv",), "validation": ("validation",), "test": ("test",)}
# core/selection.ts facetOf's fallback for names the vocabulary does not know.
_FALLBACK_SPLIT = re.compile(r"^(%s)_(.+)$" % "|".join(VOCABULARY["splits"]))
_FALLBACK_STAT = re.compile(r"^(.+)_(%s)$" % "|".join(VOCABULARY["stats"]))

_HINT_EDITED = ("The registry is written only by register_model, promote_model and rollback_model (or "
                "specweave_ml.registry): restore the file from git (git checkout -- <file>), then call again.")


class RegistryError(SpecweaveError):
    """A registry operation refused: the message says why and how to proceed. Nothing was written."""


class ModelIntegrityError(RegistryError):
    """A model file no longer has the sha256 (or size) recorded for it; it was not loaded or promoted."""


class GatesFailedError(RegistryError):
    """Promotion to production refused: the increment's quality gates fail. ``gates`` holds the verdict."""

    def __init__(self, message: str, gates: Optional[dict] = None):
        super().__init__(message)
        self.gates = gates


class GatesUnavailableError(RegistryError):
    """Promotion to production refused: the gates could not be run (no node, no server bundle, the server failed)."""


# ----------------------------------------------------------------------------------------------------------------
# Pure helpers (the server's rules)


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not _MODEL_NAME.match(name) or _WINDOWS_RESERVED.match(name):
        raise InvalidNameError(
            "Invalid model name %r. Use 1-64 characters: lower-case letters, digits, \"-\" or \"_\", starting and "
            "ending with a letter or digit, e.g. \"churn-classifier\"." % (name,))
    return name


def check_stage(stage: str) -> str:
    if not isinstance(stage, str) or not _STAGE.match(stage):
        raise InvalidNameError("Invalid stage %r. Use a lower-case name of up to 32 letters, digits, \"-\" or \"_\", "
                               "e.g. \"staging\" or \"production\"." % (stage,))
    return stage


def _version_key(v: str) -> Tuple[int, int, int]:
    a, b, c = v.split(".")
    return int(a), int(b), int(c)


def parse_version_arg(given: str) -> str:
    v = str(given).strip()
    v = v[1:] if v.startswith("v") else v
    if _SEMVER.match(v) or v in _BUMPS:
        return v
    raise RegistryError("Invalid version %r. Pass a semantic version such as \"1.4.0\" (or \"v1.4.0\"), or \"major\", "
                        "\"minor\" or \"patch\"; omit it to bump the patch number." % (given,))


def next_version(latest: Optional[str], given: Optional[str]) -> str:
    wanted = "patch" if given is None else parse_version_arg(given)
    if _SEMVER.match(wanted):
        if latest is not None and _version_key(wanted) <= _version_key(latest):
            what = "already registered" if wanted == latest else "lower than the latest, %s" % latest
            raise RegistryError("Version %s is %s; versions are never reused or registered out of order. Pass a "
                                "version above %s, or omit version to register %s."
                                % (wanted, what, latest, next_version(latest, None)))
        return wanted
    if latest is None:
        return FIRST_VERSION
    major, minor, patch = _version_key(latest)
    if wanted == "major":
        return "%d.0.0" % (major + 1)
    if wanted == "minor":
        return "%d.%d.0" % (major, minor + 1)
    return "%d.%d.%d" % (major, minor, patch + 1)


def model_format_of(file: str) -> Optional[str]:
    name = file.split("/")[-1].lower()
    for fmt, exts, named in _MODEL_FORMATS:
        if name.endswith(exts) if exts else False:
            return fmt
        if named and name.endswith(named[0]) and named[1].search(name):
            return fmt
    return None


def _facet(name: str) -> Tuple[str, Optional[str], Optional[str]]:
    """(key, split, stat) of a metric name, as core/selection.ts facetOf computes it."""
    r = resolve_metric(name)
    if r is not None:
        return r["key"], r.get("split"), r.get("stat")
    n = _legacy_normalize(name)
    split = stat = None
    m = _FALLBACK_SPLIT.match(n)
    if m:
        split, n = VOCABULARY["splits"][m.group(1)], m.group(2)
    m = _FALLBACK_STAT.match(n)
    if m:
        stat, n = VOCABULARY["stats"][m.group(2)], m.group(1)
    return n, split, stat


def _stored(value):
    """A metric value as the format stores it: a number, or "NaN" / "Infinity" / "-Infinity"."""
    return encode_float(value) if isinstance(value, float) else value


def selection_of(metrics: Dict[str, Any], primary: Optional[str], setting: str) -> Optional[dict]:
    """The measurement an experiment is selected on (docs/registry.md, "Lineage"): the primary metric's CV mean with
    std and fold count, else its validation value, else its test value."""
    if not primary:
        return None
    key = _facet(primary)[0]
    names = sorted(metrics)

    def find(split, stat):
        for n in names:
            if _facet(n) == (key, split, stat):
                return n
        return None

    for source in _SOURCES.get(setting, _SOURCES["auto"]):
        name = find(source, "mean" if source == "cv" else None)
        if name is None:
            continue
        std = find("cv", "std") if source == "cv" else None
        count = find("cv", "count") if source == "cv" else None
        count_value = metrics[count] if count is not None else None
        return {
            "metric": primary, "source": source, "key": name, "value": _stored(metrics[name]),
            "std": None if std is None else _stored(metrics[std]),
            "count": count_value if isinstance(count_value, (int, float)) and count_value == count_value
            and abs(count_value) != float("inf") else None,
        }
    return None


def derive_stages(events: List[dict]) -> List[dict]:
    """Which version holds each stage, replaying the log (core/registry/read.ts deriveStages). Stacks change in
    place: a stage promoted thousands of times must not cost a copy per event."""
    stages: Dict[str, dict] = {}
    for e in events:
        if e["stage"] is None:
            continue
        held = stages.setdefault(e["stage"], {"stack": [], "since_seq": e["seq"], "since": e["time"]})
        stack = held["stack"]
        if e["event"] == "rollback":
            if e["version"] in stack:
                del stack[len(stack) - stack[::-1].index(e["version"]):]
            else:
                stack.append(e["version"])
        elif not stack or stack[-1] != e["version"]:
            stack.append(e["version"])
        held["since_seq"], held["since"] = e["seq"], e["time"]
    return [{"stage": stage, "version": h["stack"][-1], "since_seq": h["since_seq"], "since": h["since"],
             "previous": h["stack"][:-1]} for stage, h in stages.items()]


def _is_str(v, pattern=None, max_len=None) -> bool:
    return isinstance(v, str) and (max_len is None or len(v) <= max_len) and (pattern is None or bool(pattern.match(v)))


def _event_problem(e: Any) -> Optional[str]:
    """What is wrong with a parsed event line (the server's zod schema), or None."""
    if not isinstance(e, dict):
        return "the line is not an object"
    checks = (
        ("seq", lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0),
        ("time", lambda v: _is_str(v, max_len=64) and len(v) > 0),
        ("event", lambda v: v in _EVENTS),
        ("model", lambda v: _is_str(v, max_len=64)),
        ("version", lambda v: _is_str(v, _SEMVER)),
        ("stage", lambda v: v is None or _is_str(v, _STAGE)),
        ("previous", lambda v: v is None or _is_str(v, _SEMVER)),
        ("actor", lambda v: v is None or _is_str(v, max_len=300)),
        ("reason", lambda v: v is None or _is_str(v, max_len=4000)),
        ("forced", lambda v: isinstance(v, bool)),
        ("gates", lambda v: v is None or (isinstance(v, dict) and _is_str(v.get("increment"), max_len=200)
                                          and v.get("verdict") in ("pass", "warn", "fail")
                                          and isinstance(v.get("failed"), list))),
    )
    for key, ok in checks:
        if not ok(e.get(key)):
            return "%s: invalid or missing" % key
    return None


def parse_event_log(text: str, label: str, model: str) -> Tuple[List[dict], int]:
    """The events of a log; torn lines (not JSON) skipped and counted; edited lines raise FormatError."""
    events: List[dict] = []
    skipped = 0
    for i, raw_line in enumerate(text.split("\n")):
        line = raw_line[:-1] if raw_line.endswith("\r") else raw_line
        if not line.strip():
            continue
        where = "%s line %d" % (label, i + 1)
        if len(line.encode("utf-8")) > MAX_EVENT_LINE_BYTES:
            raise FormatError("%s is over %d bytes; no event is that long. %s" % (where, MAX_EVENT_LINE_BYTES, _HINT_EDITED))
        try:
            e = json.loads(line)
        except ValueError:
            skipped += 1
            continue
        problem = _event_problem(e)
        if problem:
            raise FormatError("%s is not a valid registry event: %s. %s" % (where, problem, _HINT_EDITED))
        if e["model"] != model:
            raise FormatError("%s names model %r, not %r. %s" % (where, e["model"], model, _HINT_EDITED))
        if (e["event"] == "register") != (e["stage"] is None):
            raise FormatError("%s: a %s event %s a stage. %s"
                              % (where, e["event"], "needs" if e["stage"] is None else "has no", _HINT_EDITED))
        if events and e["seq"] <= events[-1]["seq"]:
            raise FormatError("%s has seq %d after seq %d; events are only appended, in order. %s"
                              % (where, e["seq"], events[-1]["seq"], _HINT_EDITED))
        events.append(e)
    return events, skipped


def event_line(e: dict) -> str:
    """One event line, keys in the documented order, compact: the server's bytes."""
    return json.dumps({k: e[k] for k in EVENT_KEY_ORDER}, separators=(",", ":"), ensure_ascii=False)


# ----------------------------------------------------------------------------------------------------------------
# The registry


class ModelRegistry:
    """The project's model registry (``.specweave/registry/``). ``project``: the project root (default: the one
    :func:`~specweave_ml.find_project_root` finds)."""

    def __init__(self, project: Optional[Union[str, Path]] = None):
        self.root = Path(_fs.real_path(project)) if project is not None else find_project_root()
        self.dir = self.root / ".specweave" / "registry"

    def __repr__(self):
        return "ModelRegistry(%r)" % str(self.root)

    # -- paths ----------------------------------------------------------------------------------------------
    def _model_dir(self, name: str) -> Path:
        return self.dir / check_model_name(name)

    def _rel(self, path: Union[str, Path]) -> str:
        return os.path.relpath(os.fspath(path), self.root).replace(os.sep, "/")

    def _lock(self, name: str) -> _fs.FileLock:
        _fs.make_dirs(self._model_dir(name))
        return _fs.FileLock(self._model_dir(name) / ".lock")

    # -- reading --------------------------------------------------------------------------------------------
    def _events(self, name: str) -> Tuple[List[dict], int]:
        file = self._model_dir(name) / "events.jsonl"
        raw = _fs.read_bytes(file, MAX_EVENT_LOG_BYTES)
        if raw is None:
            return [], 0
        return parse_event_log(raw.decode("utf-8", "replace"), self._rel(file), name)

    def _versions(self, name: str) -> List[dict]:
        folder = self._model_dir(name) / "versions"
        records = []
        for file, kind in _fs.list_entry_kinds(folder):
            m = re.match(r"^(.+)\.json$", file)
            if file.startswith(".") or not m or not _SEMVER.match(m.group(1)):
                continue
            label = self._rel(folder / file)
            if kind != "file":
                raise FormatError("%s is a %s, not a version record. %s"
                                  % (label, "symbolic link" if kind == "symlink" else kind, _HINT_EDITED))
            raw = _fs.read_bytes(folder / file, MAX_VERSION_BYTES)
            if raw is None:
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except ValueError as e:
                raise FormatError("%s is not valid JSON: %s. %s" % (label, e, _HINT_EDITED)) from None
            art = record.get("artifact") if isinstance(record, dict) else None
            if (not isinstance(record, dict) or record.get("format") != REGISTRY_FORMAT or not isinstance(art, dict)
                    or not _is_str(art.get("path")) or not _is_str(art.get("sha256"), _HEX64)
                    or not isinstance(art.get("bytes"), int)):
                raise FormatError("%s is not a valid version record. %s" % (label, _HINT_EDITED))
            if record.get("version") != m.group(1) or record.get("model") != name:
                raise FormatError("%s records %s %s, not %s %s. %s" % (label, record.get("model"), record.get("version"),
                                                                   name, m.group(1), _HINT_EDITED))
            records.append(record)
        return sorted(records, key=lambda r: _version_key(r["version"]))

    def get(self, name: str) -> Dict[str, Any]:
        """One model: ``versions`` (records, oldest first, each with the ``stages`` it holds), ``stages`` (stage ->
        holder ``{version, since, since_seq, previous}``), ``events``, ``latest``, ``skipped_lines``."""
        records = self._versions(name)
        events, skipped = self._events(name)
        if not records and not events:
            raise RegistryError("No model %r in the registry. ModelRegistry().list() shows the registered names; "
                                "register() registers one." % name)
        known = {r["version"] for r in records}
        for e in events:
            if e["version"] not in known:
                raise FormatError("%s: event %d (%s) names version %s, which has no record in versions/. %s"
                                  % (self._rel(self._model_dir(name) / "events.jsonl"), e["seq"], e["event"],
                                     e["version"], _HINT_EDITED))
        stages = derive_stages(events)
        versions = [dict(r, stages=[s["stage"] for s in stages if s["version"] == r["version"]]) for r in records]
        return {"name": name, "path": self._rel(self._model_dir(name)), "versions": versions,
                "latest": versions[-1]["version"] if versions else None,
                "stages": {s["stage"]: s for s in stages}, "events": events, "skipped_lines": skipped}

    def list(self) -> List[Dict[str, Any]]:
        """Every model: ``{name, latest, versions (count), stages: {stage: version}}``, by name. A model whose files
        are broken raises (the message names the file)."""
        out = []
        for name, kind in _fs.list_entry_kinds(self.dir):
            if name.startswith(".") or kind != "directory" or not _MODEL_NAME.match(name):
                continue
            try:
                m = self.get(name)
            except RegistryError:
                continue  # an empty folder: a registration that never got written
            out.append({"name": name, "latest": m["latest"], "versions": len(m["versions"]),
                        "stages": {s: h["version"] for s, h in m["stages"].items()}})
        return out

    def holder(self, name: str, stage: str = PRODUCTION) -> Optional[str]:
        """The version holding ``stage`` now, or None."""
        held = self.get(name)["stages"].get(check_stage(stage))
        return held["version"] if held else None

    # -- the model file -------------------------------------------------------------------------------------
    def _artifact_path(self, record: dict) -> Path:
        path = self.root.joinpath(*record["artifact"]["path"].split("/"))
        if not _fs._inside(os.path.abspath(path), str(self.root / ".specweave")):
            raise ModelIntegrityError("%s lies outside .specweave/; it is not read." % record["artifact"]["path"])
        return path

    def _drift(self, record: dict) -> Optional[str]:
        """None when the version's model file still has its recorded sha256, else what differs."""
        art = record["artifact"]
        try:
            _, sha = _fs.digest(self._artifact_path(record))
        except FileNotFoundError:
            return "%s is missing" % art["path"]
        if sha != art["sha256"]:
            return "%s has changed since it was registered (sha256 %s..., registered %s...)" % (
                art["path"], sha[:12], art["sha256"][:12])
        return None

    def verified_bytes(self, name: str, stage: str = PRODUCTION, version: Optional[str] = None) -> Tuple[dict, bytes]:
        """(version record, the model file's bytes), read once and checked against the recorded size and sha256."""
        model = self.get(name)
        if version is None:
            held = model["stages"].get(check_stage(stage))
            if not held:
                raise RegistryError("No version of %s holds %s. Promote one first (promote / promote_to_production), "
                                    "or pass version." % (name, stage))
            version = held["version"]
        version = parse_version_arg(version)
        record = next((v for v in model["versions"] if v["version"] == version), None)
        if record is None:
            raise RegistryError("%s has no version %s. Registered: %s."
                                % (name, version, ", ".join(v["version"] for v in model["versions"])))
        art = record["artifact"]
        try:
            data = _fs.read_bytes(self._artifact_path(record), art["bytes"])
        except FormatError:
            data = b"-" * (art["bytes"] + 1)  # larger than recorded: refused below without reading it
        if data is None:
            raise ModelIntegrityError("%s (%s %s) is missing. Restore it (git checkout, or dvc pull)."
                                      % (art["path"], name, version))
        import hashlib
        sha = hashlib.sha256(data).hexdigest()
        if len(data) != art["bytes"] or sha != art["sha256"]:
            raise ModelIntegrityError(
                "%s does not match %s %s: sha256 %s recorded, %s now. Refusing to load a model nobody registered: "
                "restore the file, or register the new one as a new version." % (art["path"], name, version,
                                                                                 art["sha256"], sha))
        return record, data

    def load(self, name: str, stage: str = PRODUCTION, version: Optional[str] = None) -> Any:
        """The model holding ``stage`` (or ``version``), unpickled (pickle or joblib) only after its bytes matched
        the recorded sha256. Other formats: use :meth:`verified_bytes` and the library's own loader."""
        record, data = self.verified_bytes(name, stage, version)
        fmt = record["artifact"].get("format")
        if fmt == "joblib":
            import joblib
            return joblib.load(io.BytesIO(data))
        if fmt == "pickle":
            return pickle.loads(data)
        raise RegistryError("%s is a %s file; load() unpickles pickle and joblib files only. Use "
                            "verified_bytes(%r) and the library's loader." % (record["artifact"]["path"], fmt, name))

    # -- writing --------------------------------------------------------------------------------------------
    def _actor(self) -> Optional[str]:
        env = (os.environ.get("SPECWEAVE_ACTOR") or "").strip()
        if env:
            return env[:300]
        if _fs.git_refusal(str(self.root)) is not None:
            return None
        name = (_git(str(self.root), "config", "--get", "user.name") or "").strip()
        email = (_git(str(self.root), "config", "--get", "user.email") or "").strip()
        actor = "%s <%s>" % (name, email) if name and email else name or email
        return actor[:300] or None

    def _append(self, name: str, events: List[dict], **fields) -> dict:
        event = dict(fields, seq=(events[-1]["seq"] if events else 0) + 1, model=name)
        _fs.append_lines(self._model_dir(name) / "events.jsonl", (event_line(event) + "\n").encode("utf-8"))
        return {k: event[k] for k in EVENT_KEY_ORDER}

    @staticmethod
    def _reason(reason: Optional[str]) -> Optional[str]:
        r = (reason or "").strip()
        if len(r) > 4000:
            raise RegistryError("reason is over 4,000 characters; give it in a sentence or two.")
        return r or None

    def _lineage(self, experiment, increment, artifact: Optional[str]) -> dict:
        if hasattr(experiment, "path") and hasattr(experiment, "increment"):
            increment, exp_dir, exp_name = experiment.increment, Path(experiment.path), experiment.name
            inc_dir = exp_dir.parent.parent
        else:
            increment, inc_dir = resolve_increment(self.root, increment)
            exp_name = str(experiment)
            exp_dir = Path(inc_dir) / "experiments" / exp_name
        data = read_experiment_dir(exp_dir)
        meta = data["metadata"]
        if not data["params"] and not data["metrics"] and not _fs.exists(exp_dir / "metadata.yaml"):
            raise RegistryError("No experiment %r in %s." % (exp_name, increment))
        artifacts = [a for a in (meta.get("artifacts") or []) if isinstance(a, dict) and isinstance(a.get("path"), str)]
        chosen = self._choose_artifact(exp_dir, inc_dir, exp_name, artifacts, artifact)
        file = os.path.normpath(os.path.join(str(exp_dir), chosen["path"]))
        if not _fs._inside(file, str(inc_dir)):
            raise RegistryError("Artifact %s of %s lies outside %s. Register a model saved inside the increment."
                                % (chosen["path"], exp_name, increment))
        size, sha = _fs.digest(file)
        if sha != chosen.get("sha256"):
            raise ModelIntegrityError(
                "%s has changed since %s recorded it (sha256 %s... now, %s... recorded). Register only the file the "
                "experiment produced: restore it, or record the new file in a new experiment and register that."
                % (self._rel(file), exp_name, sha[:12], str(chosen.get("sha256") or "none")[:12]))
        ml = (read_increment_metadata(inc_dir) or {}).get("ml") or {}
        primary = ml.get("primary_metric") if isinstance(ml.get("primary_metric"), str) else None
        setting = ml.get("selection") if ml.get("selection") in _SOURCES else "auto"
        metrics = {k: v for k, v in data["metrics"].items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        git = meta.get("git") if isinstance(meta.get("git"), dict) else None
        env = meta.get("environment") if isinstance(meta.get("environment"), dict) else {}
        return {
            "increment": increment, "experiment": exp_name,
            "git": None if git is None else {"commit": git.get("commit") if isinstance(git.get("commit"), str) else None,
                                             "branch": git.get("branch") if isinstance(git.get("branch"), str) else None,
                                             "dirty": git.get("dirty") is True},
            "params": data["params"],
            "metrics": {k: _stored(v) for k, v in metrics.items()},
            "selection": selection_of(metrics, primary, setting),
            "test_metrics": {k: _stored(v) for k, v in metrics.items() if _facet(k)[1] == "test"},
            "artifact": {"path": self._rel(file), "bytes": size, "sha256": sha, "format": model_format_of(chosen["path"])},
            "environment": env,
            "data_files": self._data_files(exp_dir, chosen, artifacts, data["params"]),
        }

    def _choose_artifact(self, exp_dir: Path, inc_dir: Path, exp_name: str, artifacts: List[dict],
                         given: Optional[str]) -> dict:
        if given is not None:
            for base in (exp_dir, inc_dir):
                file = os.path.normpath(os.path.join(str(base), os.fspath(given)))
                if not _fs._inside(file, str(inc_dir)):
                    raise SandboxError("Refused artifact path %r: it leads outside the increment. Pass a path "
                                           "relative to the experiment folder or the increment." % (given,))
                for a in artifacts:
                    if os.path.normpath(os.path.join(str(exp_dir), a["path"])) == file:
                        return a
            raise RegistryError(
                "%s is not a recorded artifact of %s: there is no sha256 recorded for it to verify. Record it first "
                "(Experiment.save_model or save_artifact), then register again." % (given, exp_name))
        models = [a for a in artifacts if model_format_of(a["path"])]
        if len(models) == 1:
            return models[0]
        if not models:
            raise RegistryError("%s has no recorded model artifact (.joblib, .pkl, .onnx, .pt, ...). Save the model "
                                "with Experiment.save_model, or pass artifact." % exp_name)
        raise RegistryError("%s records %d model artifacts: %s. Pass artifact with the one to register."
                            % (exp_name, len(models), ", ".join(a["path"] for a in models)))

    def _data_files(self, exp_dir: Path, model: dict, artifacts: List[dict], params: dict) -> List[dict]:
        out = []
        for a in artifacts:
            name = a["path"].split("/")[-1].lower()
            sha = a.get("sha256")
            if (a is model or not name.endswith(_DATA_EXTENSIONS) or _OUTPUT_NAMES.search(name)
                    or not _is_str(sha, _HEX64)):
                continue
            b = a.get("bytes")
            out.append({"path": self._rel(os.path.normpath(os.path.join(str(exp_dir), a["path"]))), "sha256": sha,
                        "bytes": b if isinstance(b, int) and not isinstance(b, bool) and b >= 0 else None})
        for key, value in params.items():
            if re.search(r"sha256$", key, re.I) and isinstance(value, str) and _HEX64.match(value.lower()):
                out.append({"path": "params." + key, "sha256": value.lower(), "bytes": None})
        return out

    def register(self, name: str, experiment, increment: Optional[Union[str, int]] = None,
                 artifact: Optional[str] = None, version: Optional[str] = None,
                 description: Optional[str] = None) -> Dict[str, Any]:
        """Registers ``experiment`` (an :class:`~specweave_ml.Experiment` or a name in ``increment``) as the next
        version of ``name`` and returns the version record. ``version``: "1.4.0", "major", "minor" or "patch"
        (default). The model file must be a recorded artifact whose bytes still match (:class:`ModelIntegrityError`)."""
        check_model_name(name)
        if version is not None:
            parse_version_arg(version)
        description = self._reason(description)
        lineage = self._lineage(experiment, increment, artifact)
        _gitenv._git_cache.pop(str(self.root), None)  # the commit now, not when this process first asked
        registered_git = git_info(self.root)
        actor = self._actor()
        with self._lock(name):
            events, _ = self._events(name)
            records = self._versions(name)
            v = next_version(records[-1]["version"] if records else None, version)
            time = _fs.now_iso()
            record = dict(lineage, format=REGISTRY_FORMAT, model=name, version=v, created=time, actor=actor,
                          description=description, registered_git=registered_git)
            file = self._model_dir(name) / "versions" / ("%s.json" % v)
            if not _fs.write_if_missing(file, dumps_canonical(record).encode("utf-8")):
                raise RegistryError("%s already exists: another writer registered this version; call again."
                                    % self._rel(file))
            self._append(name, events, time=time, event="register", version=v, stage=None, previous=None,
                         actor=actor, reason=description, forced=False, gates=None)
        return record

    def promote(self, name: str, version: str, stage: str, reason: Optional[str] = None,
                force: bool = False) -> Optional[Dict[str, Any]]:
        """Makes ``version`` the holder of ``stage`` and returns the event (None when it already held it). For
        ``production`` the increment's gates must pass (see :meth:`promote_to_production`)."""
        check_model_name(name)
        check_stage(stage)
        version = parse_version_arg(version)
        if not _SEMVER.match(version):
            raise RegistryError("promote needs an exact version such as \"1.2.0\", not %r." % version)
        reason = self._reason(reason)
        model = self.get(name)
        record = next((v for v in model["versions"] if v["version"] == version), None)
        if record is None:
            raise RegistryError("%s has no version %s. Registered: %s."
                                % (name, version, ", ".join(v["version"] for v in model["versions"])))
        drift = self._drift(record)
        gates, problems = (None, [])
        gate_error: Optional[SpecweaveError] = None
        if stage == PRODUCTION:
            try:
                gates, problems = self._production_gates(record["increment"])
            except GatesUnavailableError as e:
                gate_error, problems = e, ["the gates could not be run: %s" % e]
        overridden = ([drift] if drift else []) + problems
        if overridden and not force:
            text = "%s %s was not promoted to %s: %s." % (name, version, stage, "; ".join(overridden))
            if gate_error is not None:
                raise GatesUnavailableError(text + " Or pass force=True with a reason, which is recorded.")
            if problems:
                raise GatesFailedError(text + " Fix what the gates say (validate_increment shows every check) and "
                                       "promote again, or pass force=True with a reason, which is recorded.", gates)
            raise ModelIntegrityError(text + " Restore the registered file, or register the new file as a new "
                                      "version; or pass force=True with a reason.")
        if overridden and not reason:
            raise RegistryError("force needs a reason: it is recorded in the event log with the override.")
        actor = self._actor()
        with self._lock(name):
            now = self.get(name)
            held = now["stages"].get(stage)
            previous = held["version"] if held else None
            if previous == version:
                return None
            return self._append(name, now["events"], time=_fs.now_iso(), event="promote", version=version,
                                stage=stage, previous=previous, actor=actor, reason=reason,
                                forced=bool(overridden), gates=gates)

    def promote_to_production(self, name: str, version: str, reason: Optional[str] = None,
                              force: bool = False) -> Optional[Dict[str, Any]]:
        """:meth:`promote` to ``production``: the increment's quality gates run first, through the bundled server.
        Refused (:class:`GatesFailedError`, :class:`GatesUnavailableError`) unless ``force=True`` with a reason."""
        return self.promote(name, version, PRODUCTION, reason=reason, force=force)

    def rollback_to(self, name: str, version: Optional[str] = None, stage: str = PRODUCTION,
                    reason: Optional[str] = None) -> Dict[str, Any]:
        """Returns ``stage`` to an earlier holder: ``version``, or by default the one before the current holder.
        Returns the event."""
        check_model_name(name)
        check_stage(stage)
        wanted = None if version is None else parse_version_arg(version)
        if wanted is not None and not _SEMVER.match(wanted):
            raise RegistryError("rollback_to needs an exact version such as \"1.2.0\", not %r." % wanted)
        reason = self._reason(reason)
        actor = self._actor()
        with self._lock(name):
            model = self.get(name)
            held = model["stages"].get(stage)
            if not held:
                raise RegistryError("No version of %s holds %s; there is nothing to roll back. Use promote." % (name, stage))
            to = wanted if wanted is not None else (held["previous"][-1] if held["previous"] else None)
            if to is None:
                raise RegistryError("%s %s is the only version that has held %s; there is no earlier holder to roll "
                                    "back to. Promote another version instead." % (name, held["version"], stage))
            if to == held["version"]:
                raise RegistryError("%s %s already holds %s." % (name, to, stage))
            if to not in held["previous"]:
                raise RegistryError("%s %s is not an earlier holder of %s (earlier holders: %s); a rollback only "
                                    "returns to one. Use promote." % (name, to, stage, ", ".join(held["previous"]) or "none"))
            record = next(v for v in model["versions"] if v["version"] == to)
            drift = self._drift(record)
            if drift:
                raise ModelIntegrityError("%s was not rolled back to %s: %s. Restore the registered file, then roll "
                                          "back again." % (name, to, drift))
            return self._append(name, model["events"], time=_fs.now_iso(), event="rollback", version=to, stage=stage,
                                previous=held["version"], actor=actor, reason=reason, forced=False, gates=None)

    # -- the gates, through the server ----------------------------------------------------------------------
    def _production_gates(self, increment: str) -> Tuple[dict, List[str]]:
        result = run_server_tool(self.root, "validate_increment", {"increment": increment})
        failed = [c for c in result.get("checks", []) if c.get("status") == "fail"]
        gates = {"increment": result.get("increment", increment), "verdict": result.get("verdict", "fail"),
                 "failed": [c.get("id") for c in failed]}
        return gates, ["gate %s fails: %s" % (c.get("id"), c.get("message")) for c in failed]


# ----------------------------------------------------------------------------------------------------------------
# Talking to the bundled server


def server_bundle() -> Path:
    """SPECWEAVE_SERVER_BUNDLE, else mcp-server/dist/server.mjs of the plugin checkout this package lies in
    (python/specweave_ml/ -> the checkout's root). Not checked here: node reports a missing bundle."""
    env = os.environ.get("SPECWEAVE_SERVER_BUNDLE")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "mcp-server" / "dist" / "server.mjs"


def run_server_tool(root: Path, tool: str, arguments: dict, timeout: float = GATES_TIMEOUT_SECONDS) -> dict:
    """Calls one tool of the bundled MCP server (newline-delimited JSON-RPC over stdio) and returns its
    structuredContent. :class:`GatesUnavailableError` says what is missing and how to fix it."""
    node = os.environ.get("SPECWEAVE_NODE") or shutil.which("node")
    bundle = server_bundle()
    if not node:
        raise GatesUnavailableError("node is not installed (or not on the PATH); install Node.js 20+ or set "
                                    "SPECWEAVE_NODE to its path")
    env = {k: v for k, v in os.environ.items() if k != "SPECWEAVE_ROOT"}
    try:
        proc = subprocess.Popen([node, str(bundle), "--root", str(root)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except OSError as e:
        raise GatesUnavailableError("node could not be started (%s); set SPECWEAVE_NODE to a working node" % e) from None
    lines: "queue.Queue[Optional[bytes]]" = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    errors: List[bytes] = []  # drained as it comes, so a chatty server never blocks on a full pipe

    threading.Thread(target=pump, daemon=True).start()
    threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True).start()
    deadline = _time.monotonic() + timeout

    def send(msg):
        proc.stdin.write((json.dumps(msg) + "\n").encode("utf-8"))
        proc.stdin.flush()

    def answer(want_id):
        while True:
            left = deadline - _time.monotonic()
            try:
                line = lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                raise GatesUnavailableError("the server did not answer within %.0f s" % timeout) from None
            if line is None:
                proc.wait(timeout=5)
                _time.sleep(0.05)  # the stderr drain catches up with the exit
                err = b"".join(errors).decode("utf-8", "replace")
                if "Cannot find module" in err or "ERR_MODULE_NOT_FOUND" in err:
                    raise GatesUnavailableError(
                        "the server bundle %s was not found; set SPECWEAVE_SERVER_BUNDLE to the plugin's "
                        "mcp-server/dist/server.mjs (npm run build writes it in a checkout)" % bundle)
                last = err.strip().splitlines()
                raise GatesUnavailableError("the server exited: %s" % (last[-1] if last else "no message"))
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("id") == want_id:
                return msg

    try:
        send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "specweave_ml.registry", "version": "0"}}})
        init = answer(1)
        if "error" in init:
            raise GatesUnavailableError("the server refused to start a session: %s" % init["error"].get("message"))
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
        reply = answer(2)
    finally:
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
    if "error" in reply:
        raise GatesUnavailableError("%s failed: %s" % (tool, reply["error"].get("message")))
    result = reply.get("result") or {}
    if result.get("isError"):
        text = " ".join(c.get("text", "") for c in result.get("content", []) if isinstance(c, dict))
        raise GatesUnavailableError("%s failed: %s" % (tool, text.strip()))
    return result.get("structuredContent") or {}
