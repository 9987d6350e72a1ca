#!/usr/bin/env python3
"""Trains candidates on scikit-learn's bundled wine (multiclass) and diabetes (regression) data, records them with
the specweave_ml client, and prints as JSON what scikit-learn and SciPy say about the same runs: fold scores, CV
means and sample std, test metrics, the candidate a CV-based selection must choose, and the p-values of the
significance tests between the best and the runner-up. test/e2e/verdicts.test.ts holds the server's verdicts
against these numbers.

Usage: verdicts_train.py <wine increment> <diabetes increment>   (SPECWEAVE_ROOT names the project)
"""
import csv
import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from specweave_ml import track_cross_validation, track_experiment  # noqa: E402

SEED = 0
FOLDS = 5


def tie_key(v):
    """The server's tie rule: values equal to 12 significant digits are a tie."""
    return float("%.12g" % v)


def expected_ranking(runs, maximize):
    """Candidates best first on the CV mean; a tie goes to the lower CV std, then to the name."""
    sign = -1 if maximize else 1
    return sorted((n for n, r in runs.items() if not r["baseline"]),
                  key=lambda n: (sign * tie_key(runs[n]["cv_mean"]), runs[n]["cv_std"], n))


def corrected_t(a, b, ratio):
    d = np.asarray(b) - np.asarray(a)
    j = len(d)
    se = np.sqrt((1 / j + ratio) * d.var(ddof=1))
    t = d.mean() / se
    half = stats.t.ppf(0.975, j - 1) * se
    return {"t": float(t), "p": float(2 * stats.t.sf(abs(t), j - 1)), "mean": float(d.mean()),
            "lower": float(d.mean() - half), "upper": float(d.mean() + half)}


def wilcoxon_p(a, b):
    d = np.asarray(b) - np.asarray(a)
    untied = np.all(d != 0) and len(set(np.abs(d))) == len(d)
    return float(stats.wilcoxon(b, a, method="exact" if untied else "approx").pvalue)


def mcnemar(y, pred_a, pred_b):
    a_right, b_right = pred_a == y, pred_b == y
    a_only, b_only = int(np.sum(a_right & ~b_right)), int(np.sum(~a_right & b_right))
    m = a_only + b_only
    if m == 0:
        p = 1.0
    elif m < 25:
        p = float(stats.binomtest(min(a_only, b_only), m, 0.5).pvalue)
    else:
        p = float(stats.chi2.sf((abs(a_only - b_only) - 1) ** 2 / m, 1))
    return {"a_only": a_only, "b_only": b_only, "p": p}


def predictions_csv(ids, y_true, y_pred):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "y_true", "y_pred"])
    for i, t, p in zip(ids, y_true, y_pred):
        w.writerow([int(i), repr(float(t)) if isinstance(t, float) else int(t), repr(float(p)) if isinstance(p, float) else int(p)])
    return buf.getvalue().encode("utf-8")


def importance_csv(model, X, y, scoring):
    from sklearn.inspection import permutation_importance
    r = permutation_importance(model, X, y, scoring=scoring, n_repeats=5, random_state=SEED)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["feature", "importance_mean", "importance_std"])
    for i in np.argsort(-r.importances_mean):
        w.writerow(["x%d" % i, repr(float(r.importances_mean[i])), repr(float(r.importances_std[i]))])
    return buf.getvalue().encode("utf-8")


def run_models(increment, models, data, scoring, cv, test_metrics):
    X_train, X_test, y_train, y_test, id_test = data
    runs = {}
    for name, model, baseline in models:
        with track_experiment(name, increment=increment, baseline=baseline) as exp:
            scores = track_cross_validation(model, X_train, y_train, cv=cv, scoring=scoring, experiment=exp)
            model.fit(X_train, y_train)
            pred = model.predict(X_test)
            metrics = {k: float(f(y_test, pred)) for k, f in test_metrics.items()}
            exp.log_metrics(metrics)
            exp.save_model(model, "model")
            exp.save_artifact(predictions_csv(id_test, y_test, pred), "predictions.csv")
            if not baseline:
                exp.save_artifact(importance_csv(model, X_train, y_train, scoring), "permutation_importance.csv")
        folds = [float(s) for s in scores]
        if scoring.startswith("neg_"):
            folds = [-s for s in folds]  # recorded as the positive metric
        runs[name] = {"baseline": baseline, "folds": folds, "cv_mean": float(np.mean(folds)),
                      "cv_std": float(np.std(folds, ddof=1)), "test": metrics, "pred": pred.tolist()}
    return runs


def significance(runs, best, runner_up, y_test, maximize_folds):
    a, b = runs[runner_up], runs[best]
    return {"a": runner_up, "b": best, "corrected_t": corrected_t(a["folds"], b["folds"], 1 / (FOLDS - 1)),
            "wilcoxon_p": wilcoxon_p(a["folds"], b["folds"]),
            "mcnemar": mcnemar(np.asarray(y_test), np.asarray(a["pred"]), np.asarray(b["pred"])),
            "maximize_folds": maximize_folds}


def wine(increment):
    from sklearn.datasets import load_wine
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold, train_test_split
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    X, y = load_wine(return_X_y=True)
    X_train, X_test, y_train, y_test, _, id_test = train_test_split(
        X, y, np.arange(len(y)), test_size=45, stratify=y, random_state=SEED)
    models = [
        ("baseline-majority", DummyClassifier(strategy="most_frequent"), True),
        ("logistic-regression", make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)), False),
        ("random-forest", RandomForestClassifier(n_estimators=200, random_state=SEED), False),
        ("svc", make_pipeline(StandardScaler(), SVC(C=1.0)), False),
        ("knn", make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=15)), False),
    ]
    runs = run_models(increment, models, (X_train, X_test, y_train, y_test, id_test), "f1_macro",
                      StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED),
                      {"f1_macro": lambda t, p: f1_score(t, p, average="macro"), "accuracy": accuracy_score})
    ranking = expected_ranking(runs, maximize=True)
    by_test = sorted((n for n in runs if not runs[n]["baseline"]), key=lambda n: (-runs[n]["test"]["f1_macro"], n))
    return {"runs": runs, "ranking": ranking, "best_on_test": by_test[0], "y_test": y_test.tolist(),
            "significance": significance(runs, ranking[0], ranking[1], y_test, True)}


def diabetes(increment):
    from sklearn.datasets import load_diabetes
    from sklearn.dummy import DummyRegressor
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import Lasso, Ridge
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
    from sklearn.model_selection import KFold, train_test_split
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_diabetes(return_X_y=True)
    y = y.astype(float)
    X_train, X_test, y_train, y_test, _, id_test = train_test_split(X, y, np.arange(len(y)), test_size=0.25, random_state=SEED)
    models = [
        ("baseline-mean", DummyRegressor(strategy="mean"), True),
        ("ridge", Ridge(alpha=1.0), False),
        ("lasso", Lasso(alpha=0.1), False),
        ("random-forest", RandomForestRegressor(n_estimators=200, min_samples_leaf=5, random_state=SEED), False),
        ("knn", make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=10)), False),
    ]
    runs = run_models(increment, models, (X_train, X_test, y_train, y_test, id_test), "neg_root_mean_squared_error",
                      KFold(n_splits=FOLDS, shuffle=True, random_state=SEED),
                      {"rmse": lambda t, p: np.sqrt(mean_squared_error(t, p)), "r2": r2_score, "mae": mean_absolute_error})
    ranking = expected_ranking(runs, maximize=False)
    by_test = sorted((n for n in runs if not runs[n]["baseline"]), key=lambda n: (runs[n]["test"]["rmse"], n))
    return {"runs": runs, "ranking": ranking, "best_on_test": by_test[0], "y_test": y_test.tolist()}


def main():
    wine_inc, diabetes_inc = sys.argv[1], sys.argv[2]
    print(json.dumps({"wine": wine(wine_inc), "diabetes": diabetes(diabetes_inc)}))


if __name__ == "__main__":
    main()
