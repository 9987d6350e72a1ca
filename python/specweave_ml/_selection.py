"""Which experiment of an increment is the selected (best) model, by the server's rule.

A Python mirror of mcp-server/src/core/comparison.ts (rankExperiments), core/selection.ts (facets, MetricIndex,
chooseSource) and core/ranking.ts (rankByMetric, bestOf), as validate_increment uses them: the best candidate,
else the best run. docs/format.md ("Selection") states the rule:

- the primary metric is the increment's ``ml.primary_metric`` (else the metric most experiments logged);
- candidates are ranked on the CV mean of that metric when every usable candidate logged it, else on
  ``val_<metric>`` when every one logged that, else on the test value (a warning: the test set then selects);
- failed and killed runs, and NaN values, are never chosen; ties go to the lower CV std, then to name order.

Experiments tagged ``load-test`` are measurements of a deployment: left out entirely, as comparison.ts does.
"""

import math
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from . import _fs
from ._jsonfmt import decode_number
from ._project import check_experiment_name, read_increment_metadata
from ._store import read_json_file, read_metadata
from .errors import SpecweaveError
from .metrics import VOCABULARY, _legacy_normalize, metric_direction, resolve_metric

__all__ = ["Selection", "select_best", "list_experiment_names", "experiment_exists"]

_SPLITS = VOCABULARY["splits"]
_STATS = VOCABULARY["stats"]
_SPLIT_PREFIX = re.compile(r"^(%s)_(.+)$" % "|".join(_SPLITS))
_STAT_SUFFIX = re.compile(r"^(.+)_(%s)$" % "|".join(_STATS))
_SOURCE_TEXT = {"cv": "cross-validation mean", "validation": "validation metric", "test": "test metric"}
_NOT_CANDIDATE_TAGS = ("load-test",)


def _facet(name: str) -> Tuple[str, Optional[str], Optional[str], int]:
    """(key, split, stat, sign) of a logged metric name, as core/selection.ts facetOf."""
    r = resolve_metric(name)
    if r is not None:
        return r["key"], r.get("split"), r.get("stat"), r["sign"]
    n = _legacy_normalize(name)
    split = stat = None
    m = _SPLIT_PREFIX.match(n)
    if m:
        split, n = _SPLITS[m.group(1)], m.group(2)
    m = _STAT_SUFFIX.match(n)
    if m:
        stat, n = _STATS[m.group(2)], m.group(1)
    return n, split, stat, 1


def canonical_key(name: str) -> str:
    return _facet(name)[0]


class _MetricIndex:
    """An experiment's metrics by what they measure, values in the canonical sign (core/selection.ts MetricIndex)."""

    def __init__(self, metrics: Dict[str, float]):
        self._by = {}
        for name, raw in metrics.items():
            key, split, stat, sign = _facet(name)
            value = -raw if sign == -1 and stat not in ("std", "count") else raw
            fid = (key, None if split == "test" else split, stat)
            have = self._by.get(fid)
            if have is None or len(name) < len(have[0]):
                self._by[fid] = (name, value)

    def get(self, key, split, stat=None):
        return self._by.get((key, None if split == "test" else split, stat))

    def measure(self, key: str, source: str) -> Optional[dict]:
        if source == "cv":
            mean = self.get(key, "cv", "mean")
            if mean is None:
                return None
            std = self.get(key, "cv", "std")
            return {"source": "cv", "name": mean[0], "value": mean[1], "std": std[1] if std else None}
        v = self.get(key, "validation" if source == "validation" else None)
        return None if v is None else {"source": source, "name": v[0], "value": v[1], "std": None}


class Selection:
    """The outcome: ``experiment`` (name or None), ``primary_metric``, ``direction``, ``source`` (cv, validation,
    test), ``value`` (the selection value), ``reason`` (why that source) and ``warning`` (set when the test set
    selected)."""

    def __init__(self, experiment, primary_metric, direction, source, value, reason, warning):
        self.experiment = experiment
        self.primary_metric = primary_metric
        self.direction = direction
        self.source = source
        self.value = value
        self.reason = reason
        self.warning = warning

    def describe(self) -> str:
        key = canonical_key(self.primary_metric)
        on = {"cv": "the cross-validation mean of %s" % key, "validation": "val_%s" % key,
              "test": "the test value of %s" % self.primary_metric}[self.source]
        return "%s is the best model on %s (%s, %s is better) because %s" % (
            self.experiment, on, _fmt(self.value), "higher" if self.direction == "maximize" else "lower", self.reason)

    def __repr__(self):
        return "Selection(%r, %s=%r)" % (self.experiment, self.source, self.value)


def _fmt(v) -> str:
    return "%.6g" % v if isinstance(v, float) else str(v)


def list_experiment_names(inc_dir: Path) -> List[str]:
    return sorted(n for n in _fs.list_folders(Path(inc_dir) / "experiments") if not n.startswith((".", "_")))


def experiment_exists(inc_dir: Path, name: str) -> bool:
    d = Path(inc_dir) / "experiments" / name
    return any(_fs.exists(d / f) for f in ("params.json", "metrics.json", "metadata.yaml"))


def _load(inc_dir: Path, name: str) -> Optional[dict]:
    """One experiment's summary (metrics, status, baseline, tags), or None when the server would call it broken."""
    try:
        check_experiment_name(name)
        if not experiment_exists(inc_dir, name):
            return None
        d = Path(inc_dir) / "experiments" / name
        raw = read_json_file(d / "metrics.json") or {}
        meta = read_metadata(d / "metadata.yaml")
    except SpecweaveError:  # FormatError, SandboxError: the server lists it as broken and never selects it
        return None
    metrics = {}
    for k, v in raw.items():
        n = decode_number(v)
        if n is None:
            return None  # a non-numeric metric: the server reports the experiment as broken
        metrics[k] = float(n)
    tags = meta.get("tags") if isinstance(meta.get("tags"), list) else []
    return {"name": name, "metrics": metrics, "status": meta.get("status") or "completed",
            "baseline": meta.get("baseline") is True, "tags": [str(t) for t in tags]}


def _choose_primary(experiments: List[dict], from_increment: Optional[str]) -> Optional[str]:
    if from_increment:
        return from_increment
    counts: Dict[str, int] = {}
    for e in experiments:
        for k in e["metrics"]:
            counts[k] = counts.get(k, 0) + 1
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0] if counts else None


def _test_measure(e: dict, primary: str, index: _MetricIndex, key: str) -> Optional[dict]:
    exact = e["metrics"].get(primary)
    if exact is not None and canonical_key(primary) == key and not re.match(r"^(cv|val|valid|validation)_", primary):
        return {"source": "test", "name": primary, "value": exact, "std": None}
    return index.measure(key, "test")


def _tie_key(v: float) -> float:
    return float("%.12g" % v) if math.isfinite(v) else v


def select_best(inc_dir: Path) -> Selection:
    """The experiment validate_increment treats as the selected model (the best candidate, else the best run)."""
    inc_dir = Path(inc_dir)
    ml = (read_increment_metadata(inc_dir) or {}).get("ml")
    ml = ml if isinstance(ml, dict) else {}
    ml_primary = ml.get("primary_metric") if isinstance(ml.get("primary_metric"), str) and ml.get("primary_metric") else None
    ml_direction = ml.get("direction") if ml.get("direction") in ("maximize", "minimize") else None
    setting = ml.get("selection") if ml.get("selection") in ("auto", "cv", "validation", "test") else "auto"

    loaded = [e for e in (_load(inc_dir, n) for n in list_experiment_names(inc_dir)) if e is not None]
    # A load test measures a served model: never a candidate, and its latency metrics never the primary metric.
    experiments = [e for e in loaded if not any(t in _NOT_CANDIDATE_TAGS for t in e["tags"])]
    primary = _choose_primary(experiments, ml_primary)
    if primary is None:
        return Selection(None, None, None, None, None, "no experiment has metrics", None)
    direction = ml_direction if (ml_primary == primary and ml_direction) else metric_direction(primary)
    key = canonical_key(primary)
    index = {e["name"]: _MetricIndex(e["metrics"]) for e in experiments}

    def usable(e):
        return e["status"] not in ("failed", "killed")

    def has_any(e):
        ix = index[e["name"]]
        return (ix.measure(key, "cv") is not None or ix.measure(key, "validation") is not None
                or _test_measure(e, primary, ix, key) is not None)

    candidates = [e for e in experiments if not e["baseline"] and usable(e) and has_any(e)]
    source, reason = _choose_source(setting, key, candidates, index)

    def measure(e):
        ix = index[e["name"]]
        return _test_measure(e, primary, ix, key) if source == "test" else ix.measure(key, source)

    rows = []
    for e in experiments:
        m = measure(e)
        if m is not None:
            rows.append((e, m))
    sign = -1 if direction == "maximize" else 1

    def order(row):
        e, m = row
        v = m["value"]
        nan = math.isnan(v)
        spread = m["std"] if m["std"] is not None else math.inf
        return (nan, 0 if nan else sign * _tie_key(v), spread, e["name"])

    rows.sort(key=order)
    good = [(e, m) for e, m in rows if not math.isnan(m["value"]) and usable(e)]
    chosen = next(((e, m) for e, m in good if not e["baseline"]), good[0] if good else None)
    warning = None
    if source == "test" and chosen is not None:
        warning = ("%s was chosen on the test set (%s): the test value then both selects and reports, so it is "
                   "optimistic. Log cv_%s_mean or val_%s for every candidate." % (chosen[0]["name"], reason, key, key))
    if chosen is None:
        return Selection(None, primary, direction, source, None, "no usable experiment logged %s" % primary, None)
    return Selection(chosen[0]["name"], primary, direction, source, chosen[1]["value"], reason, warning)


def _choose_source(setting: str, key: str, candidates: List[dict], index: Dict[str, _MetricIndex]) -> Tuple[str, str]:
    if setting != "auto":
        return setting, 'the increment\'s selection setting is "%s"' % setting
    if not candidates:
        return "test", "there are no candidates, only baselines"
    lacking = []
    for source in ("cv", "validation"):
        without = [c["name"] for c in candidates if index[c["name"]].measure(key, source) is None]
        if not without:
            return source, "every candidate logged the %s of %s" % (_SOURCE_TEXT[source], key)
        name = "cv_%s_mean" % key if source == "cv" else "val_%s" % key
        lacking.append("no candidate logged %s" % name if len(without) == len(candidates)
                       else "%s is missing for %s" % (name, ", ".join(without[:3])))
    return "test", "; ".join(lacking)
