"""Cross-validation with scikit-learn, recorded as the format's ``cv_<metric>`` history and summary metrics."""

import math
import re
from typing import Any, Iterable, Mapping, Optional, Union

from ._store import json_safe

__all__ = ["track_cross_validation", "estimator_params", "default_experiment_name"]


def default_experiment_name(estimator) -> str:
    """``LogisticRegression`` -> ``logistic-regression``; a Pipeline is named after its last step."""
    final = estimator
    steps = getattr(estimator, "steps", None)
    if steps:
        final = steps[-1][1]
    cls = type(final).__name__
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", cls).lower()
    name = re.sub(r"[^a-z0-9._-]+", "-", name).strip("-.") or "model"
    return name[:100]


def estimator_params(estimator) -> dict:
    """``estimator.get_params(deep=True)`` as JSON data. Nested estimators are not repeated (their own parameters
    appear as ``step__param``); they are recorded by class name."""
    out = {"estimator": type(estimator).__name__}
    try:
        params = estimator.get_params(deep=True)
    except Exception:
        return out
    for key, value in params.items():
        if hasattr(value, "get_params") and hasattr(value, "fit"):
            value = type(value).__name__
        elif key == "steps" and isinstance(value, list):
            value = [[n, type(s).__name__ if hasattr(s, "get_params") else json_safe(s)] for n, s in value]
        out[key] = json_safe(value)
    return out


def track_cross_validation(estimator, X, y, cv: Any = 5, scoring: Union[str, Iterable[str]] = "accuracy",
                           name: Optional[str] = None, increment: Optional[Union[str, int]] = None,
                           baseline: bool = False, params: Optional[Mapping] = None,
                           tags: Optional[Iterable[str]] = None, experiment=None, **cv_kwargs):
    """Cross-validates ``estimator`` with scikit-learn and records the result (scikit-learn is imported only now).

    For each scoring ``s`` the fold scores are history points of metric ``cv_<s>`` with ``step`` = fold index
    (0, 1, ...), and the summary metrics ``cv_<s>_mean``, ``cv_<s>_std`` (sample standard deviation, ddof=1) and
    ``cv_<s>_count`` are set. A ``neg_*`` scorer is recorded as the metric it negates, with the sign turned:
    ``neg_root_mean_squared_error`` becomes ``cv_rmse`` (the returned scores stay scikit-learn's own). The estimator's parameters (``get_params()``, made JSON-safe), ``cv`` and ``scoring`` are recorded as
    params, plus ``params`` if given.

    ``name`` defaults to the estimator's class in kebab-case (``logistic-regression``). Pass ``experiment=`` (an
    open :class:`~specweave_ml.Experiment`) to record into a run you already track, e.g. to add test-set metrics
    and the fitted model to the same experiment; otherwise a run is opened and closed here. Extra keyword
    arguments (``n_jobs``, ``groups``, ``error_score``, ...) go to ``sklearn.model_selection.cross_validate``.

    Returns the fold scores: a numpy array for a single scoring, else a dict ``{scoring: array}``.
    """
    from sklearn.model_selection import cross_validate  # lazy: only when called

    scorings = [scoring] if isinstance(scoring, str) or callable(scoring) else list(scoring)
    if not scorings:
        raise ValueError("scoring must name at least one scorer")
    labels = [s if isinstance(s, str) else getattr(s, "__name__", "score") for s in scorings]
    if len(set(labels)) != len(labels):
        raise ValueError("scorings must have distinct names: %r" % (labels,))
    n_splits = cv if isinstance(cv, int) else getattr(cv, "n_splits", None)
    run_params = estimator_params(estimator)
    run_params.update({"cv": n_splits if n_splits is not None else type(cv).__name__,
                       "scoring": labels[0] if len(labels) == 1 else labels})
    if params:
        run_params.update(params)

    def run(exp):
        exp.log_params(run_params)
        sk_scoring = scorings[0] if len(scorings) == 1 else dict(zip(labels, scorings))
        result = cross_validate(estimator, X, y, cv=cv, scoring=sk_scoring, **cv_kwargs)
        out = {}
        for label in labels:
            key = "test_score" if len(scorings) == 1 else "test_%s" % label
            scores = result[key]
            out[label] = scores
            # one point per fold; the client then writes cv_<s>_mean, _std and _count (a neg_* scorer is recorded
            # as its positive metric: neg_root_mean_squared_error becomes cv_rmse)
            for fold, score in enumerate(scores):
                exp.log_metric("cv_%s" % label, float(score), step=fold)
        return out[labels[0]] if len(labels) == 1 else out

    if experiment is not None:
        return run(experiment)
    from .tracking import track_experiment

    with track_experiment(name or default_experiment_name(estimator), increment=increment, baseline=baseline,
                          tags=tags) as exp:
        return run(exp)
