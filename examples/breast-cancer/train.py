#!/usr/bin/env python3
"""Breast-cancer classification: two baselines and three candidates, tracked with specweave_ml.

Usage (from anywhere inside the project, with scikit-learn installed):

    python3 examples/breast-cancer/train.py [--increment 0001] [--seed 42]

The increment must exist already (create it with the MCP tool ``create_increment``); it is chosen by
``--increment``, else ``SPECWEAVE_INCREMENT``, else the single increment that is active or planning.

Every model gets 5-fold stratified cross-validation on the training set (ROC AUC, recorded as ``cv_roc_auc`` fold
history with ``cv_roc_auc_mean`` / ``cv_roc_auc_std``), is then fitted on the whole training set and scored on the
held-out test set (``accuracy``, ``precision``, ``recall``, ``f1``, ``roc_auc``). The fitted model and a predictions
CSV (``id, y_true, y_pred, score``; ``score`` is the predicted probability of class 1 = benign) are saved as
artifacts of the experiment, plus ``feature_importance.csv`` for the models that have importances or coefficients.
"""

import argparse
import csv
import io
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "python"))  # the plugin's client, when it is not pip-installed

from specweave_ml import track_cross_validation, track_experiment  # noqa: E402


def build_models(seed):
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    try:
        from xgboost import XGBClassifier
        boosting = ("xgboost", XGBClassifier(n_estimators=200, max_depth=3, learning_rate=0.1, subsample=0.9,
                                             eval_metric="logloss", random_state=seed, n_jobs=1))
    except Exception:  # xgboost missing (or broken): scikit-learn's own gradient boosting
        boosting = ("gradient-boosting", GradientBoostingClassifier(n_estimators=200, max_depth=3,
                                                                     learning_rate=0.1, random_state=seed))
    return [
        # (experiment name, estimator, baseline?, tags)
        ("baseline-most-frequent", DummyClassifier(strategy="most_frequent"), True, ["baseline"]),
        ("baseline-stratified", DummyClassifier(strategy="stratified", random_state=seed), True, ["baseline"]),
        ("logistic-regression", make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000)),
         False, ["candidate", "linear"]),
        ("random-forest", RandomForestClassifier(n_estimators=300, max_depth=8, random_state=seed, n_jobs=1),
         False, ["candidate", "trees"]),
        (boosting[0], boosting[1], False, ["candidate", "trees", "boosting"]),
    ]


def predictions_csv(ids, y_true, y_pred, scores) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "y_true", "y_pred", "score"])
    for i, t, p, s in zip(ids, y_true, y_pred, scores):
        w.writerow([int(i), int(t), int(p), repr(float(s))])
    return buf.getvalue().encode("utf-8")


def feature_importance_csv(model, feature_names):
    """Per-feature importance of a fitted model (tree importances, or |coefficient| of a linear model), sorted;
    ``None`` for models that have neither (the dummy baselines)."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if hasattr(final, "feature_importances_"):
        values, kind = list(final.feature_importances_), "importance"
    elif hasattr(final, "coef_"):
        values, kind = [abs(float(c)) for c in final.coef_.ravel()], "abs_coefficient_standardized"
    else:
        return None
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["feature", kind])
    for name, v in sorted(zip(feature_names, values), key=lambda nv: -nv[1]):
        w.writerow([name, repr(float(v))])
    return buf.getvalue().encode("utf-8")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--increment", default=None, help="increment folder, number or prefix (default: "
                    "SPECWEAVE_INCREMENT, else the single active/planning increment)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--test-size", type=float, default=0.25)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args(argv)

    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, train_test_split

    data = load_breast_cancer()  # bundled with scikit-learn: no download
    X, y = data.data, data.target  # target 1 = benign, 0 = malignant
    ids = np.arange(len(y))
    X_train, X_test, y_train, y_test, _, id_test = train_test_split(
        X, y, ids, test_size=args.test_size, stratify=y, random_state=args.seed)
    cv = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    split = {"seed": args.seed, "test_size": args.test_size, "n_train": int(len(y_train)),
             "n_test": int(len(y_test)), "dataset": "sklearn.datasets.load_breast_cancer", "positive_class": 1}

    rows = []
    for name, model, baseline, tags in build_models(args.seed):
        with track_experiment(name, increment=args.increment, baseline=baseline, tags=tags, params=split) as exp:
            cv_scores = track_cross_validation(model, X_train, y_train, cv=cv, scoring="roc_auc", experiment=exp)
            exp.log_param("cv", args.folds)
            model.fit(X_train, y_train)
            y_pred = model.predict(X_test)
            scores = model.predict_proba(X_test)[:, 1]
            metrics = {
                "accuracy": accuracy_score(y_test, y_pred),
                "precision": precision_score(y_test, y_pred, zero_division=0),
                "recall": recall_score(y_test, y_pred, zero_division=0),
                "f1": f1_score(y_test, y_pred, zero_division=0),
                "roc_auc": roc_auc_score(y_test, scores),
            }
            exp.log_metrics({k: float(v) for k, v in metrics.items()})
            exp.save_model(model, "model")
            exp.save_artifact(predictions_csv(id_test, y_test, y_pred, scores), "predictions.csv")
            importance = feature_importance_csv(model, data.feature_names)
            if importance is not None:
                exp.save_artifact(importance, "feature_importance.csv")
            exp.log_note("5-fold CV ROC AUC %.4f ± %.4f; test ROC AUC %.4f, accuracy %.4f"
                         % (cv_scores.mean(), cv_scores.std(ddof=1), metrics["roc_auc"], metrics["accuracy"]))
            rows.append((name, cv_scores.mean(), metrics["roc_auc"], metrics["accuracy"], exp.increment))

    print("%-24s %12s %10s %10s" % ("experiment", "cv_roc_auc", "roc_auc", "accuracy"))
    for name, cv_mean, auc, acc, _ in rows:
        print("%-24s %12.4f %10.4f %10.4f" % (name, cv_mean, auc, acc))
    print("recorded in .specweave/increments/%s/experiments/" % rows[0][4])
    return 0


if __name__ == "__main__":
    sys.exit(main())
