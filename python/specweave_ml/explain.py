"""Explanations of a fitted model, written into an experiment: :func:`explain`.

Computes permutation importance with intervals, partial dependence and ICE for the top features, SHAP values
(when the ``shap`` package is installed) and local explanations for chosen rows; writes plots, tables and
``explainability-report.md`` into the experiment folder (the selected model by default) and records each file as an
artifact (path, bytes, sha256), which is what validate_increment's explainability gate checks.

scikit-learn, numpy and matplotlib are imported inside :func:`explain` only, so ``import specweave_ml`` stays
dependency-free. docs/explanations.md describes what is computed and how to read it.
"""

import io
import json
import math
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _fs
from ._fs import FileLock
from ._project import check_experiment_name, find_project_root, read_increment_metadata, resolve_increment
from ._selection import experiment_exists, list_experiment_names, select_best
from .errors import SpecweaveError
from .metrics import METRICS, resolve_metric

__all__ = ["explain", "ExplanationResult", "ExplainInputError", "MissingDependencyError"]

CONFIDENCE = 0.95
_PD_GRID = 20
_ICE_LINES = 50
_CORRELATED = 0.8


class ExplainInputError(SpecweaveError, ValueError):
    """The model, data or target cannot be explained as given (lengths differ, NaN, no experiment to write to);
    nothing was written. The message says how to fix the call."""


class MissingDependencyError(SpecweaveError, ImportError):
    """A library :func:`explain` needs is not installed; the message names the ``pip install`` to run."""


class ExplanationResult:
    """What :func:`explain` computed and wrote.

    ``experiment``, ``increment``: where it was written; ``folder``: the folder of the files; ``report``: path of
    explainability-report.md; ``files``: artifact name -> path; ``artifacts``: ``{path, bytes, sha256}`` as recorded;
    ``scoring``: the scorer permutation importance used; ``interval``: how the intervals were computed;
    ``importances``: one dict per feature (``feature``, ``index``, ``mean``, ``std``, ``ci_low``, ``ci_high``), most
    important first; ``top_features``: the first ``top_k`` of them; ``partial_dependence``: feature -> (grid,
    average); ``shap``: explainer, output and mean |SHAP| per feature, or None; ``local``: the explained rows;
    ``notes``: what was skipped and why; ``selection``: how the experiment was chosen (None when given).
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        top = ", ".join("%s=%.4g" % (f["feature"], f["mean"]) for f in self.top_features[:3])
        return "ExplanationResult(experiment=%r, top=[%s], files=%d)" % (self.experiment, top, len(self.files))


# ------------------------------------------------------------------------------------------------- dependencies

def _require(module: str, pip: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependencyError("specweave_ml.explain needs %s, which is not installed (%s). Install it with: "
                                     "pip install %s" % (module.split(".")[0], e, pip)) from None


def _optional_shap():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # shap's own deprecation warnings about matplotlib colormaps
            import shap  # noqa: F401
        return shap, None
    except Exception as e:  # ImportError, or a broken install (numba/numpy mismatch) that raises on import
        return None, "shap is not installed (%s): SHAP values and local contributions were skipped; " \
                     "pip install shap to add them." % type(e).__name__


# ------------------------------------------------------------------------------------------------- input checks

def _as_frame_like(np, X, feature_names):
    """(X as given for the model, a float matrix for arithmetic, feature names)."""
    columns = getattr(X, "columns", None)
    if columns is not None and hasattr(X, "iloc"):
        names = [str(c) for c in columns]
        try:
            values = X.to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise ExplainInputError("X has non-numeric columns (%s); encode them (or explain the pipeline on the "
                                    "encoded matrix) first." % ", ".join(
                                        str(c) for c, t in zip(columns, X.dtypes) if t.kind not in "biuf")) from None
    else:
        try:
            values = np.asarray(X, dtype=float)
        except (TypeError, ValueError) as e:
            raise ExplainInputError("X must be a numeric 2-D array or DataFrame (%s)." % e) from None
        names = None
    if values.ndim != 2 or values.shape[0] < 2 or values.shape[1] < 1:
        raise ExplainInputError("X must be 2-D with at least 2 rows and 1 column, not shape %s." % (values.shape,))
    if feature_names is not None:
        feature_names = [str(f) for f in feature_names]
        if len(feature_names) != values.shape[1]:
            raise ExplainInputError("feature_names has %d names but X has %d columns." % (
                len(feature_names), values.shape[1]))
        names = feature_names
    if names is None:
        fitted = getattr(X, "feature_names_in_", None)
        names = [str(f) for f in fitted] if fitted is not None and len(fitted) == values.shape[1] else \
            ["x%d" % i for i in range(values.shape[1])]
    if len(set(names)) != len(names):
        raise ExplainInputError("feature names must be unique; repeated: %s." % ", ".join(
            sorted({n for n in names if names.count(n) > 1})))
    return X, values, names


def _check_finite(np, values, y, allow_missing):
    if not allow_missing:
        bad = ~np.isfinite(values)
        if bad.any():
            rows, cols = np.nonzero(bad)
            raise ExplainInputError(
                "X holds %d NaN or infinite value(s) (first at row %d, column %d). Impute them first, or pass "
                "allow_missing=True for a model that handles missing values itself (XGBoost, LightGBM, "
                "HistGradientBoosting)." % (int(bad.sum()), int(rows[0]), int(cols[0])))
    elif np.isinf(values).any():
        raise ExplainInputError("X holds infinite values; replace them (allow_missing only admits NaN).")
    if y is not None and y.dtype.kind in "fc" and not np.isfinite(y).all():
        raise ExplainInputError("y holds %d NaN or infinite value(s) (first at row %d); drop those rows." % (
            int((~np.isfinite(y)).sum()), int(np.nonzero(~np.isfinite(y))[0][0])))
    if y is not None and y.dtype.kind == "O":
        missing = [i for i, v in enumerate(y) if v is None or (isinstance(v, float) and math.isnan(v))]
        if missing:
            raise ExplainInputError("y holds %d missing value(s) (first at row %d); drop those rows." % (
                len(missing), missing[0]))


def _check_options(formats, n_repeats, top_k, pd_features, folder) -> None:
    formats = tuple(formats)
    if not formats or any(f not in ("png", "svg") for f in formats):
        raise ExplainInputError("formats must be 'png' and/or 'svg', not %r." % (formats,))
    if not isinstance(n_repeats, int) or n_repeats < 2:
        raise ExplainInputError("n_repeats must be an integer >= 2 (an interval needs at least two repeats).")
    if not isinstance(top_k, int) or top_k < 1 or not isinstance(pd_features, int) or pd_features < 0:
        raise ExplainInputError("top_k must be an integer >= 1 and pd_features one >= 0.")
    if not isinstance(folder, str) or not folder or folder.startswith((".", "/")) or ".." in folder:
        raise ExplainInputError("folder must be a relative sub-folder name such as 'explain', not %r." % (folder,))


def _check_data(np, model, X, y, feature_names, allow_missing, rows):
    """(X, float matrix, feature names, y as a 1-D array or None), or ExplainInputError saying what to fix."""
    if not hasattr(model, "predict"):
        raise ExplainInputError("model must be a fitted estimator with predict(); got %s." % type(model).__name__)
    X, values, names = _as_frame_like(np, X, feature_names)
    n = values.shape[0]
    y_arr = None
    if y is not None:
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and 1 in y_arr.shape:
            y_arr = y_arr.reshape(-1)
        if y_arr.ndim != 1 or len(y_arr) != n:
            raise ExplainInputError("X has %d rows but y has %s; pass the labels of exactly those rows." % (
                n, len(y_arr) if y_arr.ndim >= 1 else "no rows"))
    _check_finite(np, values, y_arr, allow_missing)
    for r in rows or ():
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 0 <= int(r) < n:
            raise ExplainInputError("rows must be row positions in 0..%d, not %r." % (n - 1, r))
    try:
        model.predict(_take_rows(X, [0]))
    except Exception as e:
        raise ExplainInputError("model.predict failed on X (%s: %s): is the model fitted on these %d features?" % (
            type(e).__name__, str(e).split("\n")[0][:200], values.shape[1])) from None
    return X, values, names, y_arr


# ------------------------------------------------------------------------------------------------- where to write

def _target(experiment, increment, root):
    root = Path(_fs.real_path(root)) if root is not None else find_project_root()
    inc_name, inc_dir = resolve_increment(root, increment)
    selection = None
    if experiment is None:
        selection = select_best(inc_dir)
        if selection.experiment is None:
            raise ExplainInputError(
                "%s has no selected model to explain (%s). Track experiments with the primary metric first, or pass "
                "experiment=<name>." % (inc_name, selection.reason))
        experiment = selection.experiment
    else:
        check_experiment_name(experiment)
        if not experiment_exists(inc_dir, experiment):
            names = list_experiment_names(inc_dir)
            raise ExplainInputError("No experiment %r in %s. Experiments: %s. Pass one of them (or leave experiment "
                                    "out to explain the selected model)." % (
                                        experiment, inc_name, ", ".join(names) if names else "none"))
    return root, inc_name, inc_dir, experiment, selection


def _primary_metric(inc_dir) -> Optional[str]:
    ml = (read_increment_metadata(inc_dir) or {}).get("ml")
    p = ml.get("primary_metric") if isinstance(ml, dict) else None
    return p if isinstance(p, str) and p.strip() else None


# ------------------------------------------------------------------------------------------------- computations

def _scorer(sk_metrics, model, X, y, scoring, primary, notes):
    """(scoring argument for scikit-learn, description)."""
    if scoring is not None:
        return scoring, "%s (given)" % scoring
    tried = []
    if primary:
        r = resolve_metric(primary)
        entry = next((m for m in METRICS if r and m["key"] == r["key"]), None)
        known = set(sk_metrics.get_scorer_names())
        for s in (entry or {}).get("sklearn_scorers", []):
            if s["name"] not in known:
                continue
            try:
                value = sk_metrics.get_scorer(s["name"])(model, X, y)
                if not math.isfinite(value):
                    raise ValueError("score is %r" % value)
            except Exception as e:  # the scorer does not apply to this model or target (e.g. roc_auc, 3 classes)
                tried.append("%s (%s)" % (s["name"], str(e).split("\n")[0][:120]))
                continue
            return s["name"], "%s, the scikit-learn scorer of the increment's primary metric %s" % (s["name"], primary)
        if not tried:
            tried.append("no scikit-learn scorer for %s" % primary)
    default = "accuracy" if getattr(model, "_estimator_type", None) == "classifier" or _is_classifier(model) else "R²"
    if primary:
        notes.append("The primary metric %s could not score this model (%s); the estimator's default score (%s) "
                     "was used." % (primary, "; ".join(tried), default))
    return None, "the estimator's default score (%s)" % default


def _is_classifier(model) -> bool:
    from sklearn.base import is_classifier
    try:
        return bool(is_classifier(model))
    except Exception:
        return hasattr(model, "predict_proba")


def _permutation(np, stats, inspection, model, X, y, scoring, n_repeats, random_state, names):
    r = inspection.permutation_importance(model, X, y, scoring=scoring, n_repeats=n_repeats,
                                          random_state=random_state)
    t = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n_repeats - 1))
    rows = []
    for i, name in enumerate(names):
        reps = r.importances[i]
        sd = float(np.std(reps, ddof=1))
        half = t * sd / math.sqrt(n_repeats)
        mean = float(r.importances_mean[i])
        rows.append({"feature": name, "index": i, "mean": mean, "std": float(r.importances_std[i]),
                     "ci_low": mean - half, "ci_high": mean + half, "repeats": [float(v) for v in reps]})
    rows.sort(key=lambda f: (-f["mean"], f["feature"]))
    return rows, t


def _scores(np, model, X, is_clf):
    """(positive-class index or None, per-row score, predictions)."""
    pred = np.asarray(model.predict(X))
    if not is_clf:
        return None, pred.astype(float), pred
    classes = list(getattr(model, "classes_", []))
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(X))
        if proba.ndim == 2 and proba.shape[1] == 2:
            return 1, proba[:, 1], pred
        return None, proba, pred
    dec = np.asarray(model.decision_function(X))
    return (1 if dec.ndim == 1 and len(classes) == 2 else None), dec, pred


def _choose_rows(np, model, X, y, is_clf, extra_rows):
    """The rows to explain locally: [{row, why, ...}]; for a binary classifier the highest score, the most
    confident false positive and false negative; for a regressor the largest residuals."""
    pos, score, pred = _scores(np, model, X, is_clf)
    chosen: List[Dict[str, Any]] = []

    def add(i, why, **facts):
        chosen.append(dict({"row": int(i), "why": why}, **facts))

    if is_clf and pos is not None:
        classes = list(model.classes_)
        positive = classes[pos]
        add(int(np.argmax(score)), "highest score (P(%s))" % positive, score=float(np.max(score)))
        if y is not None:
            y_arr = np.asarray(y)
            fp = np.nonzero((y_arr != positive) & (pred == positive))[0]
            fn = np.nonzero((y_arr == positive) & (pred != positive))[0]
            if len(fp):
                i = fp[np.argmax(score[fp])]
                add(i, "false positive with the highest score", score=float(score[i]))
            if len(fn):
                i = fn[np.argmin(score[fn])]
                add(i, "false negative with the lowest score", score=float(score[i]))
    elif is_clf:
        conf = score.max(axis=1) if score.ndim == 2 else np.abs(score)
        add(int(np.argmax(conf)), "most confident prediction", score=float(np.max(conf)))
        if y is not None:
            wrong = np.nonzero(np.asarray(y) != pred)[0]
            if len(wrong):
                i = wrong[np.argmax(conf[wrong])]
                add(i, "most confident misclassification", score=float(conf[i]))
    else:
        add(int(np.argmax(score)), "highest prediction", prediction=float(np.max(score)))
        if y is not None:
            resid = np.asarray(y, dtype=float) - score
            add(int(np.argmax(resid)), "largest under-prediction (y - prediction)", residual=float(np.max(resid)))
            add(int(np.argmin(resid)), "largest over-prediction (y - prediction)", residual=float(np.min(resid)))
    for i in extra_rows or ():
        add(i, "requested")
    seen = set()
    unique = []
    for c in chosen:
        if (c["row"], c["why"]) not in seen:
            seen.add((c["row"], c["why"]))
            unique.append(c)
    for c in unique:
        i = c["row"]
        c["prediction"] = pred[i].item() if hasattr(pred[i], "item") else pred[i]
        if y is not None:
            yi = np.asarray(y)[i]
            c["y_true"] = yi.item() if hasattr(yi, "item") else yi
    return unique, pos


def _family(model) -> str:
    mod = type(model).__module__
    name = type(model).__name__
    if mod.startswith(("xgboost", "lightgbm", "catboost")):
        return "tree"
    if mod.startswith("sklearn.ensemble") and any(k in name for k in ("Forest", "Trees", "GradientBoosting")):
        return "tree"
    if mod.startswith("sklearn.tree"):
        return "tree"
    if mod.startswith("sklearn.linear_model"):
        return "linear"
    return "other"


def _take_rows(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def _shap_values(np, shap, model, X, idx, background_idx, is_clf, pos, notes):
    """{explainer, output, values (rows x features), base (rows), rows} for the rows ``idx``, or None."""
    family = _family(model)
    Xs = _take_rows(X, idx)
    bg = _take_rows(X, background_idx)
    attempts = []
    if family == "tree":
        attempts.append(("TreeExplainer", lambda: shap.TreeExplainer(model),
                         "the model's raw output (probability for scikit-learn forests, log-odds for gradient "
                         "boosting, XGBoost and LightGBM classifiers; the prediction for regressors)"))
    if family == "linear":
        attempts.append(("LinearExplainer", lambda: shap.LinearExplainer(model, bg),
                         "the linear model's margin (log-odds for logistic regression; the prediction for "
                         "regressors)"))
    if is_clf and hasattr(model, "predict_proba"):
        def f(d):
            p = np.asarray(model.predict_proba(d))
            return p[:, pos] if pos is not None else p
        what = "the predicted probability of class %s" % (model.classes_[pos] if pos is not None else "each class")
    else:
        f = model.predict
        what = "the prediction"
    attempts.append(("PermutationExplainer", lambda: shap.explainers.Permutation(
        f, shap.maskers.Independent(bg, max_samples=len(background_idx))), what))
    for name, make, output in attempts:
        try:
            explainer = make()
            ex = explainer(Xs, silent=True) if name == "PermutationExplainer" else explainer(Xs)
        except Exception as e:
            notes.append("SHAP %s failed (%s: %s); %s." % (name, type(e).__name__, str(e).split("\n")[0][:160],
                                                         "trying the next explainer" if name != attempts[-1][0]
                                                         else "SHAP values were skipped"))
            continue
        vals = np.asarray(ex.values, dtype=float)
        base = np.asarray(ex.base_values, dtype=float)
        if vals.ndim == 3:  # one column per class: keep the positive class (binary) or the predicted class
            if pos is not None and vals.shape[2] == 2:
                vals, base = vals[:, :, pos], base[:, pos] if base.ndim == 2 else base
            else:
                cls = np.asarray(model.predict(Xs))
                ci = np.searchsorted(np.asarray(model.classes_), cls)
                vals = vals[np.arange(len(ci)), :, ci]
                base = base[np.arange(len(ci)), ci] if base.ndim == 2 else base
                output += " (for each row, of its predicted class)"
        if base.ndim == 0:
            base = np.full(vals.shape[0], float(base))
        return {"explainer": name, "output": output, "values": vals, "base": base, "rows": [int(i) for i in idx]}
    return None


def _shap_part(np, shap, model, X, values, names, local, is_clf, pos, shap_rows, background, random_state, notes):
    """SHAP values for the locally explained rows plus a random sample (up to ``shap_rows``; 100 for the slow
    model-agnostic explainer), with mean |SHAP| per feature; each local row gets its sorted contributions."""
    n = values.shape[0]
    rng = np.random.RandomState(random_state)
    local_idx = [c["row"] for c in local]
    taken = set(local_idx)
    others = [int(i) for i in rng.permutation(n) if i not in taken]
    limit = shap_rows if _family(model) != "other" else min(shap_rows, 100)
    idx = list(dict.fromkeys(local_idx + others[:max(0, limit - len(local_idx))]))
    bg = rng.choice(n, size=min(background, n), replace=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shap's and matplotlib's deprecation chatter
        result = _shap_values(np, shap, model, X, idx, bg, is_clf, pos, notes)
    if result is None:
        return None
    mean_abs = np.abs(result["values"]).mean(axis=0)
    result["mean_abs"] = {names[i]: float(mean_abs[i]) for i in range(len(names))}
    result["ranking"] = sorted(result["mean_abs"].items(), key=lambda kv: (-kv[1], kv[0]))
    where = {r: k for k, r in enumerate(result["rows"])}
    for c in local:
        k = where[c["row"]]
        contrib = [{"feature": names[j], "value": float(values[c["row"], j]), "shap": float(result["values"][k, j])}
                   for j in range(len(names))]
        contrib.sort(key=lambda d: (-abs(d["shap"]), d["feature"]))
        c["contributions"] = contrib
        c["shap_base"] = float(result["base"][k])
    return result


def _pd_part(np, inspection, model, X, names, features, target, notes):
    """feature -> {grid, average (over all rows), ice_std (spread of the ICE curves at each grid point)}."""
    out = {}
    k = list(model.classes_).index(target) if target is not None else 0
    try:
        for name in features:
            r = inspection.partial_dependence(model, X, [names.index(name)], kind="both", grid_resolution=_PD_GRID)
            ice = np.asarray(r["individual"][k], dtype=float)
            out[name] = {"grid": np.asarray(r["grid_values"][0], dtype=float).tolist(),
                         "average": np.asarray(r["average"][k], dtype=float).tolist(),
                         "ice_std": ice.std(axis=0).tolist()}
    except Exception as e:  # e.g. a model partial_dependence cannot drive: the other parts still stand
        notes.append("Partial dependence failed (%s: %s) and was skipped." % (type(e).__name__, str(e)[:160]))
        return {}
    return out


def _plots_and_tables(inspection, model, X, names, prefix, importances, scoring_text, n_repeats, pd_data, target,
                      shap_result, local, random_state, formats, notes) -> Dict[str, bytes]:
    """Every file but the report, as artifact name -> bytes."""
    files: Dict[str, bytes] = {}

    def add_plot(stem, rendered):
        for fmt, blob in rendered.items():
            files["%s%s.%s" % (prefix, stem, fmt)] = blob

    if importances is not None:
        files[prefix + "permutation_importance.csv"] = _csv(
            [["feature", "mean", "std", "ci_low", "ci_high"] + ["repeat_%d" % i for i in range(n_repeats)]] +
            [[f["feature"], f["mean"], f["std"], f["ci_low"], f["ci_high"]] + f["repeats"] for f in importances])
        add_plot("permutation_importance", _importance_plot(importances, scoring_text.split(",")[0].split(" (")[0],
                                                            formats))
    if pd_data:
        files[prefix + "partial_dependence.csv"] = _csv(
            [["feature", "grid_value", "partial_dependence", "ice_std"]] +
            [[f, g, a, s] for f, d in pd_data.items() for g, a, s in zip(d["grid"], d["average"], d["ice_std"])])
        try:
            add_plot("partial_dependence_ice", _pd_plot(inspection, model, X, [names.index(f) for f in pd_data],
                                                        names, target, random_state, formats))
        except Exception as e:
            notes.append("The partial dependence plot failed (%s: %s); the table was kept." % (
                type(e).__name__, str(e)[:160]))
    if shap_result is not None:
        files[prefix + "shap_values.csv"] = _csv(
            [["row", "base_value"] + names] +
            [[r, float(shap_result["base"][k])] + [float(v) for v in shap_result["values"][k]]
             for k, r in enumerate(shap_result["rows"])])
        add_plot("shap_importance", _bar_plot("Mean |SHAP value| (%s)" % shap_result["explainer"],
                                              shap_result["ranking"],
                                              "mean |SHAP value| over %d rows" % len(shap_result["rows"]), formats))
        for c in local:
            total = c["shap_base"] + sum(d["shap"] for d in c["contributions"])
            add_plot("shap_local_row%d" % c["row"], _contrib_plot(
                "Row %d: %s\nexplained output %.4g = base value %.4g + contributions" % (
                    c["row"], c["why"], total, c["shap_base"]), c["contributions"], formats))
    files[prefix + "local_explanations.json"] = (json.dumps(
        _finite({"rows": local, "shap_output": shap_result["output"] if shap_result else None}), indent=2,
        default=str, allow_nan=False) + "\n").encode("utf-8")
    return files


# ------------------------------------------------------------------------------------------------- plots

def _figure(width, height):
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height))


def _render(fig, formats) -> Dict[str, bytes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    out = {}
    for fmt in formats:
        buf = io.BytesIO()
        meta = {"Software": None} if fmt == "png" else {"Date": None}
        fig.savefig(buf, format=fmt, dpi=110, bbox_inches="tight", metadata=meta)
        out[fmt] = buf.getvalue()
    return out


def _importance_plot(rows, scoring_text, formats, limit=15):
    shown = rows[:limit][::-1]
    fig = _figure(7, 0.35 * len(shown) + 1.5)
    ax = fig.add_subplot(1, 1, 1)
    ys = range(len(shown))
    ax.barh(list(ys), [r["mean"] for r in shown], color="#4C72B0",
            xerr=[[r["mean"] - r["ci_low"] for r in shown], [r["ci_high"] - r["mean"] for r in shown]], capsize=3)
    ax.set_yticks(list(ys))
    ax.set_yticklabels([r["feature"] for r in shown])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("drop in %s when the feature is shuffled (bars: %d%% interval)" % (scoring_text, CONFIDENCE * 100))
    ax.set_title("Permutation importance")
    return _render(fig, formats)


def _pd_plot(inspection, model, X, feature_idx, names, target, random_state, formats):
    fig = _figure(4.2 * len(feature_idx), 3.8)
    ax = fig.add_subplot(1, 1, 1)
    kw = {"target": target} if target is not None else {}
    inspection.PartialDependenceDisplay.from_estimator(
        model, X, features=list(feature_idx), feature_names=names, kind="both", subsample=_ICE_LINES,
        grid_resolution=_PD_GRID, random_state=random_state, ax=ax, **kw)
    fig.suptitle("Partial dependence (dashed) and ICE curves (%d sampled rows)" % _ICE_LINES)
    return _render(fig, formats)


def _bar_plot(title, pairs, xlabel, formats, limit=15):
    shown = list(pairs)[:limit][::-1]
    fig = _figure(7, 0.35 * len(shown) + 1.5)
    ax = fig.add_subplot(1, 1, 1)
    ax.barh(range(len(shown)), [v for _, v in shown], color="#4C72B0")
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([k for k, _ in shown])
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return _render(fig, formats)


def _contrib_plot(title, contributions, formats, limit=12):
    shown = contributions[:limit][::-1]
    fig = _figure(7, 0.35 * len(shown) + 1.5)
    ax = fig.add_subplot(1, 1, 1)
    ax.barh(range(len(shown)), [c["shap"] for c in shown],
            color=["#C44E52" if c["shap"] > 0 else "#4C72B0" for c in shown])
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels(["%s = %.4g" % (c["feature"], c["value"]) for c in shown])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("SHAP value (contribution to the output)")
    ax.set_title(title)
    return _render(fig, formats)


# ------------------------------------------------------------------------------------------------- files

def _csv(rows: List[Sequence]) -> bytes:
    import csv
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow(["%.10g" % v if isinstance(v, float) else v for v in r])
    return buf.getvalue().encode("utf-8")


def _finite(v):
    """JSON data without NaN/Infinity (a missing feature value of an allow_missing row): those become null."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def _code(name) -> str:
    """A feature name as inline code in the report: column names are data, so nothing in them may break the
    markdown (a backtick, a table's pipe, a line break)."""
    text = " ".join(str(name).split()).replace("`", "'").replace("|", "\\|")
    return "`%s`" % text


def _g(v) -> str:
    return "%.4g" % v


def _pd_effect(pd) -> str:
    """How the average prediction moves across the feature's grid (5th to 95th percentile)."""
    if not pd:
        return ""
    a = pd["average"]
    change = a[-1] - a[0]
    span = max(a) - min(a)
    if span == 0:
        return "flat"
    monotone = all(y >= x for x, y in zip(a, a[1:])) or all(y <= x for x, y in zip(a, a[1:]))
    return "%s%s (%s → %s)" % ("rises" if change > 0 else "falls" if change < 0 else "moves",
                               " steadily" if monotone else ", not monotonically", _g(a[0]), _g(a[-1]))


def _correlated(np, values, names, top):
    """Pairs of the top features whose absolute Pearson correlation on X is at least _CORRELATED."""
    idx = [names.index(f) for f in top]
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                x, y = values[:, idx[a]], values[:, idx[b]]
                ok = np.isfinite(x) & np.isfinite(y)
                if ok.sum() < 3 or x[ok].std() == 0 or y[ok].std() == 0:
                    continue
                r = float(np.corrcoef(x[ok], y[ok])[0, 1])
                if abs(r) >= _CORRELATED:
                    out.append((top[a], top[b], r))
    return out


def _report(ctx) -> bytes:
    L = []
    add = L.append
    add("# Explainability report: %s" % ctx["experiment"])
    add("")
    add("Generated by `specweave_ml.explain` for experiment `%s` of increment `%s`." % (
        ctx["experiment"], ctx["increment"]))
    if ctx["selection"] is not None:
        add("The experiment was chosen as the selected model: %s." % ctx["selection"].describe())
        if ctx["selection"].warning:
            add("")
            add("**Warning:** %s" % ctx["selection"].warning)
    add("")
    add("## What was computed, on which data")
    add("")
    add("- Model: `%s` (%s)." % (ctx["model_type"], "classifier" if ctx["is_clf"] else "regressor"))
    add("- Data: %d rows x %d features, described by the caller as **%s**." % (
        ctx["n_rows"], ctx["n_features"], ctx["data"]))
    if ctx["importances"] is not None:
        add("- Permutation importance: %d repeats per feature, random_state=%s, scored with %s. Importance = score "
            "with the data intact minus score with the feature's column shuffled (higher = the model relies on it "
            "more)." % (ctx["n_repeats"], ctx["random_state"], ctx["scoring_text"]))
        add("- Interval: %s" % ctx["interval"])
    if ctx["pd_features"]:
        add("- Partial dependence and ICE (individual conditional expectation) curves for %s, on a %d-point grid "
            "(5th to 95th percentile); the plot draws %d sampled ICE curves, the table averages all rows." % (
                ", ".join(_code(f) for f in ctx["pd_features"]), _PD_GRID, _ICE_LINES))
    if ctx["shap"] is not None:
        add("- SHAP: %s on %d rows, explaining %s; background sample of %d rows." % (
            ctx["shap"]["explainer"], len(ctx["shap"]["rows"]), ctx["shap"]["output"], ctx["background"]))
    add("")
    if ctx["importances"] is not None:
        add("## Top features (permutation importance)")
        add("")
        add("| rank | feature | mean | std | %d%% interval | partial dependence |" % (CONFIDENCE * 100))
        add("|---:|---|---:|---:|---|---|")
        for i, f in enumerate(ctx["importances"][:ctx["top_k"]], 1):
            add("| %d | %s | %s | %s | [%s, %s] | %s |" % (i, _code(f["feature"]), _g(f["mean"]), _g(f["std"]),
                                                           _g(f["ci_low"]), _g(f["ci_high"]),
                                                           _pd_effect(ctx["pd"].get(f["feature"]))))
        add("")
        weak = [f["feature"] for f in ctx["importances"] if f["ci_low"] <= 0 <= f["ci_high"]]
        if weak:
            add("Features whose interval includes 0 (no measurable effect on these rows): %s." % (
                ", ".join(_code(w) for w in weak[:20]) + (" and %d more" % (len(weak) - 20) if len(weak) > 20
                                                           else "")))
            add("")
    if ctx["shap"] is not None:
        add("## SHAP: mean |SHAP value| per feature")
        add("")
        add("| feature | mean abs SHAP |")
        add("|---|---:|")
        for name, v in ctx["shap"]["ranking"][:ctx["top_k"]]:
            add("| %s | %s |" % (_code(name), _g(v)))
        add("")
    if ctx["local"]:
        add("## Local explanations")
        add("")
        for c in ctx["local"]:
            facts = ", ".join("%s %s" % (k, _g(c[k]) if isinstance(c[k], float) else c[k])
                              for k in ("y_true", "prediction", "score", "residual") if k in c)
            add("- Row %d, %s: %s." % (c["row"], c["why"], facts))
            if c.get("contributions"):
                top = c["contributions"][:3]
                add("  Largest contributions: %s." % ", ".join(
                    "%s = %s (%s%s)" % (_code(t["feature"]), _g(t["value"]), "+" if t["shap"] >= 0 else "", _g(t["shap"]))
                    for t in top))
        add("")
    add("## Caveats")
    add("")
    add("- Correlated features share importance: permuting one of two correlated features barely hurts the model "
        "because the other still carries the information, so both can look unimportant; permutation also creates "
        "unrealistic rows. Partial dependence assumes a feature can move independently of the others.")
    if ctx["correlated"]:
        add("- Correlated among the top features on these rows (|Pearson r| >= %.1f): %s. Their importances "
            "are shared and each one's alone understates the pair." % (_CORRELATED, ", ".join(
                "%s ~ %s (r = %.2f)" % (_code(a), _code(b), r) for a, b, r in ctx["correlated"])))
    add("- Permutation importance on held-out (test/validation) data shows what the model uses to generalise; on "
        "training data it also rewards features the model overfits. These numbers are on the %s data." % ctx["data"])
    add("- The interval covers the randomness of the shuffles only, not the variability of the data or of training.")
    add("- SHAP values describe how this model's output is built from its inputs; they are not causal effects "
        "and say nothing about what would happen if a feature were changed in the world.")
    for n in ctx["notes"]:
        add("- %s" % n)
    add("")
    add("## Files")
    add("")
    for name in ctx["files"]:
        add("- `%s`" % name)
    add("")
    return "\n".join(L).encode("utf-8")


def _record(root: Path, increment: str, name: str, files: Dict[str, bytes], note: str):
    """Records each file through the Experiment API without reopening the run: its status, ``ended`` and
    ``duration_seconds`` describe training and stay as they are (start()/end() would rewrite them)."""
    from .tracking import Experiment
    exp = Experiment(name, increment=increment, root=root)
    exp._lock = FileLock(exp.path / ".lock")
    exp._active = True
    try:
        # Each write below is atomic, the sequence is not: the places they touch are checked first (a planted link
        # or a folder where a file goes is refused here), so a refusal leaves no file of this explanation behind.
        exp.read()
        for rel in files:
            try:
                _fs.digest(exp.path / rel)
            except FileNotFoundError:
                pass
        for rel, data in files.items():
            exp.save_artifact(data, rel)
        exp.log_note(note)
    finally:
        exp._active = False
    return exp.read()["metadata"]["artifacts"]


# ------------------------------------------------------------------------------------------------- entry point

def explain(model, X, y=None, experiment: Optional[str] = None, increment: Optional[Union[str, int]] = None,
            feature_names: Optional[Sequence[str]] = None, *, data: str = "test", scoring=None, n_repeats: int = 10,
            top_k: int = 5, pd_features: int = 3, rows: Optional[Sequence[int]] = None, shap_rows: int = 200,
            background: int = 50, formats: Sequence[str] = ("png",), folder: str = "explain",
            allow_missing: bool = False, random_state: int = 0, root=None) -> ExplanationResult:
    """Explains a fitted model on ``X`` (and ``y``) and writes the explanation into an experiment.

    - ``experiment``: the experiment (name, or an :class:`Experiment` such as the ``exp`` of a running
      ``with track_experiment(...)`` block) to write into; default the increment's selected model, chosen like
      validate_increment (CV mean where every candidate logged folds, else ``val_<metric>``, else the test value
      with a warning). ``increment``: folder name, number or prefix (default: as :func:`track_experiment`).
    - ``data``: what ``X`` is, for the report ("test", "validation", "train"...).
    - ``scoring``: a scikit-learn scorer for permutation importance; default the increment's primary metric when it
      maps to a scorer (``rmse`` -> ``neg_root_mean_squared_error``), else the estimator's own ``score``.
    - ``n_repeats``, ``random_state``: permutation repeats and seed; ``top_k``: features in the report;
      ``pd_features``: how many of the top features get partial dependence / ICE plots.
    - ``rows``: extra row positions to explain locally besides the automatic ones.
    - ``shap_rows``: at most this many rows get SHAP values (the locally explained rows always do);
      ``background``: rows in the background sample of the linear and model-agnostic explainers.
    - ``formats``: plot formats, ``"png"`` and/or ``"svg"``; ``folder``: sub-folder of the experiment.

    Without ``y`` permutation importance and the false positive/negative rows are skipped and the top features
    come from SHAP (so ``y`` or shap is required). Every check runs before the first file is written.
    Returns an :class:`ExplanationResult`.
    """
    np = _require("numpy", "numpy")
    sk_inspection = _require("sklearn.inspection", "scikit-learn")
    sk_metrics = _require("sklearn.metrics", "scikit-learn")
    stats = _require("scipy.stats", "scipy")
    _require("matplotlib", "matplotlib")
    shap, shap_note = _optional_shap()

    # -- checks: nothing is written until every one has passed
    _check_options(formats, n_repeats, top_k, pd_features, folder)
    X, values, names, y_arr = _check_data(np, model, X, y, feature_names, allow_missing, rows)
    if y_arr is None and shap is None:
        raise ExplainInputError("Without y there is no permutation importance, and shap is not installed: pass y "
                                "(the true targets of X) or pip install shap.")
    if hasattr(experiment, "path") and hasattr(experiment, "increment") and hasattr(experiment, "root"):
        # an Experiment object (e.g. inside `with track_experiment(...) as exp:`): write into that run
        experiment, increment, root = experiment.name, experiment.increment, experiment.root
    root, inc_name, inc_dir, exp_name, selection = _target(experiment, increment, root)

    # -- computations
    notes: List[str] = [shap_note] if shap_note else []
    n = values.shape[0]
    is_clf = _is_classifier(model)
    importances = scoring_text = interval = None
    if y_arr is not None:
        scoring_arg, scoring_text = _scorer(sk_metrics, model, X, y_arr, scoring, _primary_metric(inc_dir), notes)
        importances, t = _permutation(np, stats, sk_inspection, model, X, y_arr, scoring_arg, n_repeats,
                                      random_state, names)
        interval = ("%d%% t-interval of the mean over the %d repeats: mean ± t(%.3f, df=%d) × s / √%d, where s is "
                    "the sample standard deviation (ddof=1) of the repeats (t = %.4f). The std column is "
                    "scikit-learn's importances_std (ddof=0)." % (
                        CONFIDENCE * 100, n_repeats, 0.5 + CONFIDENCE / 2, n_repeats - 1, n_repeats, t))
    else:
        notes.append("No y was given: permutation importance and the false positive / false negative rows were "
                     "skipped; the top features are ranked by mean |SHAP value|.")
    local, pos = _choose_rows(np, model, X, y_arr, is_clf, rows)
    shap_result = None
    if shap is not None:
        shap_result = _shap_part(np, shap, model, X, values, names, local, is_clf, pos, shap_rows, background,
                                 random_state, notes)
    if importances is not None:
        ranked = [f["feature"] for f in importances]
    elif shap_result is not None:
        ranked = [k for k, _ in shap_result["ranking"]]
    else:
        raise ExplainInputError("Without y there is no permutation importance and SHAP failed (%s); pass y." %
                                "; ".join(notes))
    target = None
    if is_clf and pos is None and len(getattr(model, "classes_", ())) > 2:
        target = model.classes_[0]
        notes.append("Partial dependence of a multi-class model is shown for class %s." % target)
    pd_data = _pd_part(np, sk_inspection, model, X, names, ranked[:pd_features], target, notes)

    # -- files, all rendered in memory before the first write
    prefix = folder.rstrip("/") + "/"
    files = _plots_and_tables(sk_inspection, model, X, names, prefix, importances, scoring_text, n_repeats, pd_data,
                              target, shap_result, local, random_state, tuple(formats), notes)
    report_name = prefix + "explainability-report.md"
    files[report_name] = _report({
        "experiment": exp_name, "increment": inc_name, "selection": selection, "model_type": type(model).__name__,
        "is_clf": is_clf, "n_rows": n, "n_features": len(names), "data": data, "importances": importances,
        "n_repeats": n_repeats, "random_state": random_state, "scoring_text": scoring_text, "interval": interval,
        "pd_features": list(pd_data), "shap": shap_result, "background": min(background, n), "top_k": top_k,
        "local": local, "notes": notes, "files": list(files) + [report_name], "pd": pd_data,
        "correlated": _correlated(np, values, names, ranked[:top_k])})

    # -- writes
    artifacts = _record(root, inc_name, exp_name, files,
                        "Explained with specweave_ml.explain on %d %s rows: %s (top features: %s)." % (
                            n, data, report_name, ", ".join(ranked[:top_k])))
    exp_dir = inc_dir / "experiments" / exp_name
    return ExplanationResult(
        experiment=exp_name, increment=inc_name, folder=exp_dir / folder, report=exp_dir / report_name,
        files={rel: exp_dir / rel for rel in files}, artifacts=[a for a in artifacts if a.get("path") in files],
        scoring=scoring_text, interval=interval, importances=importances,
        top_features=importances[:top_k] if importances else [
            {"feature": k, "mean_abs_shap": v} for k, v in shap_result["ranking"][:top_k]],
        partial_dependence=pd_data, shap=None if shap_result is None else {
            k: shap_result[k] for k in ("explainer", "output", "rows", "mean_abs", "values", "base")},
        local=local, notes=notes, selection=selection)
