"""specweave_ml.explain with real scikit-learn, XGBoost, LightGBM and shap models (skipped when absent).

Every number explain() reports is recomputed here with scikit-learn / SciPy / the model itself: permutation
importance (same scorer, repeats and random_state), the t-interval, partial dependence, SHAP additivity against the
model's own output, and the rows chosen for local explanations. The end of the file drives the real server bundle:
validate_increment's explainability gate fails before explain() and passes after, and the server and the Python
mirror of the selection rule pick the same experiment.
"""

import csv
import hashlib
import importlib.util
import io
import json
import math
import shutil
import subprocess
import sys
import unittest
from pathlib import Path
from unittest import mock

from helpers import PYTHON_DIR, ProjectTestCase, make_increment

HAVE = {m: importlib.util.find_spec(m) is not None for m in ("numpy", "sklearn", "scipy", "matplotlib", "shap",
                                                              "xgboost", "lightgbm")}
CORE = HAVE["numpy"] and HAVE["sklearn"] and HAVE["scipy"] and HAVE["matplotlib"]
WHY = "needs numpy, scikit-learn, scipy and matplotlib (the pinned .venv-test has them)"

if CORE:
    import numpy as np
    from scipy import stats
    from sklearn.datasets import load_breast_cancer, load_diabetes, make_classification
    from sklearn.inspection import partial_dependence, permutation_importance
    from sklearn.model_selection import train_test_split

from specweave_ml import track_experiment
from specweave_ml._store import read_experiment_dir
from specweave_ml.explain import ExplainInputError, MissingDependencyError, explain
from specweave_ml._selection import select_best


def set_ml(inc_dir: Path, **ml):
    meta = json.loads((inc_dir / "metadata.json").read_text())
    meta["ml"] = ml
    (inc_dir / "metadata.json").write_text(json.dumps(meta))


def track(name, model=None, metrics=None, folds=None, baseline=False, tags=None, increment=None):
    with track_experiment(name, increment=increment, baseline=baseline, tags=tags) as exp:
        for metric, values in (folds or {}).items():
            for i, v in enumerate(values):
                exp.log_metric(metric, v, step=i)
        if metrics:
            exp.log_metrics(metrics)
        if model is not None:
            exp.save_model(model, "model.joblib")


def tree_bytes(path: Path):
    """Every file under ``path`` with its bytes: a snapshot to prove a refused call wrote nothing."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@unittest.skipUnless(CORE, WHY)
class ExplainTestCase(ProjectTestCase):
    def check_permutation(self, result, model, X, y, scoring, n_repeats=10, random_state=0):
        expected = permutation_importance(model, X, y, scoring=scoring, n_repeats=n_repeats,
                                          random_state=random_state)
        self.assertEqual(len(result.importances), X.shape[1])
        order = np.argsort(-expected.importances_mean, kind="stable")
        self.assertAlmostEqual(result.importances[0]["mean"], expected.importances_mean[order[0]], places=12)
        for f in result.importances:
            j = f["index"]
            self.assertAlmostEqual(f["mean"], expected.importances_mean[j], places=12)
            self.assertAlmostEqual(f["std"], expected.importances_std[j], places=12)
            sem = stats.sem(expected.importances[j])
            lo, hi = stats.t.interval(0.95, n_repeats - 1, loc=expected.importances_mean[j], scale=sem) if sem > 0 \
                else (expected.importances_mean[j],) * 2  # every shuffle gave the same score
            self.assertAlmostEqual(f["ci_low"], lo, places=10)
            self.assertAlmostEqual(f["ci_high"], hi, places=10)
        means = [f["mean"] for f in result.importances]
        self.assertEqual(means, sorted(means, reverse=True))
        # the CSV holds the same numbers
        rows = list(csv.DictReader(io.StringIO(result.files["explain/permutation_importance.csv"].read_text())))
        by_name = {r["feature"]: r for r in rows}
        for f in result.importances:
            self.assertAlmostEqual(float(by_name[f["feature"]]["mean"]), f["mean"], delta=1e-9 * max(1, abs(f["mean"])))
            self.assertAlmostEqual(float(by_name[f["feature"]]["ci_high"]), f["ci_high"],
                                   delta=1e-9 * max(1, abs(f["ci_high"])))

    def check_files_recorded(self, result):
        meta = read_experiment_dir(self.exp_dir(result.experiment))["metadata"]
        recorded = {a["path"]: a for a in meta["artifacts"]}
        self.assertIn("explain/explainability-report.md", result.files)
        self.assertGreaterEqual(len(result.files), 5)
        for rel, path in result.files.items():
            data = path.read_bytes()
            self.assertGreater(len(data), 0, rel)
            self.assertIn(rel, recorded)
            self.assertEqual(recorded[rel]["sha256"], hashlib.sha256(data).hexdigest(), rel)
            self.assertEqual(recorded[rel]["bytes"], len(data), rel)
            if rel.endswith(".png"):
                self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n", rel)
            if rel.endswith(".svg"):
                self.assertIn(b"<svg", data[:2000], rel)
        self.assertEqual(result.report, result.files["explain/explainability-report.md"])
        return meta

    def check_pd(self, result, model, X):
        self.assertTrue(result.partial_dependence)
        for name, d in result.partial_dependence.items():
            j = list(X.columns).index(name) if hasattr(X, "columns") else int(name[1:])
            expected = partial_dependence(model, X, [j], kind="average", grid_resolution=20)
            np.testing.assert_allclose(d["grid"], expected["grid_values"][0], rtol=1e-12)
            np.testing.assert_allclose(d["average"], expected["average"][0], rtol=1e-9, atol=1e-12)
        self.assertEqual(list(result.partial_dependence), [f["feature"] for f in result.importances[:3]])


class ClassifierTest(ExplainTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler
        X, y = load_breast_cancer(return_X_y=True, as_frame=True)
        Xtr, Xte, cls.ytr, cls.yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
        scaler = StandardScaler().fit(Xtr)  # scaled, so the logistic regression converges quickly
        cls.Xtr = Xtr.__class__(scaler.transform(Xtr), columns=X.columns)
        cls.Xte = Xte.__class__(scaler.transform(Xte), columns=X.columns)
        cls.yte = cls.yte.reset_index(drop=True)
        cls.rf = RandomForestClassifier(n_estimators=30, max_depth=4, random_state=0).fit(cls.Xtr, cls.ytr)
        cls.lr = LogisticRegression(max_iter=1000).fit(cls.Xtr, cls.ytr)

    def setUp(self):
        super().setUp()
        set_ml(self.inc, primary_metric="roc_auc", direction="maximize")
        # CV decides over validation: logreg has the better val_roc_auc, rf the better CV mean; the baseline's
        # higher values never make it the selected model.
        track("dummy", metrics={"val_roc_auc": 0.999, "roc_auc": 0.999}, folds={"cv_roc_auc": [0.999, 0.998]},
              baseline=True)
        track("logreg", self.lr, metrics={"val_roc_auc": 0.99, "roc_auc": 0.98}, folds={"cv_roc_auc": [0.95, 0.96]})
        track("rf", self.rf, metrics={"val_roc_auc": 0.97, "roc_auc": 0.97}, folds={"cv_roc_auc": [0.97, 0.975]})

    def test_random_forest_on_breast_cancer(self):
        before = read_experiment_dir(self.exp_dir("rf"))["metadata"]
        result = explain(self.rf, self.Xte, self.yte, formats=("png", "svg"), n_repeats=5)
        self.assertEqual(result.experiment, "rf")
        self.assertEqual(result.selection.source, "cv")
        self.assertIn("roc_auc", result.scoring)
        self.check_permutation(result, self.rf, self.Xte, self.yte, "roc_auc", n_repeats=5)
        self.check_pd(result, self.rf, self.Xte)
        meta = self.check_files_recorded(result)
        self.assertIn("explain/permutation_importance.svg", result.files)
        # recording explanations does not reopen the training run
        for key in ("status", "started", "ended", "duration_seconds"):
            self.assertEqual(meta[key], before[key], key)
        self.assertTrue(any("specweave_ml.explain" in n["text"] for n in meta["notes"]))

        # the chosen rows are what they claim to be
        proba = self.rf.predict_proba(self.Xte)[:, 1]
        pred = self.rf.predict(self.Xte)
        y = self.yte.to_numpy()
        why = {c["why"].split(" ")[0]: c for c in result.local}
        self.assertEqual(proba[why["highest"]["row"]], proba.max())
        fp = np.nonzero((y == 0) & (pred == 1))[0]
        fn = np.nonzero((y == 1) & (pred == 0))[0]
        self.assertTrue(len(fp) and len(fn), "the fixture needs a false positive and a false negative")
        fp_row = next(c for c in result.local if c["why"].startswith("false positive"))
        fn_row = next(c for c in result.local if c["why"].startswith("false negative"))
        self.assertEqual((y[fp_row["row"]], pred[fp_row["row"]]), (0, 1))
        self.assertEqual(proba[fp_row["row"]], proba[fp].max())
        self.assertEqual((y[fn_row["row"]], pred[fn_row["row"]]), (1, 0))
        self.assertEqual(proba[fn_row["row"]], proba[fn].min())
        self.assertAlmostEqual(fp_row["score"], proba[fp_row["row"]])

        report = result.report.read_text()
        top = result.importances[0]
        self.assertIn("`%s` | %.4g" % (top["feature"], top["mean"]), report)
        self.assertIn("not causal", report)
        self.assertIn("correlated", report.lower())
        self.assertIn("t-interval", report)
        top5 = [f["feature"] for f in result.importances[:5]]
        for a in range(5):
            for b in range(a + 1, 5):
                r = np.corrcoef(self.Xte[top5[a]], self.Xte[top5[b]])[0, 1]
                pair = "`%s` ~ `%s` (r = %.2f)" % (top5[a], top5[b], r)
                (self.assertIn if abs(r) >= 0.8 else self.assertNotIn)(pair, report)
        first = result.partial_dependence[top5[0]]["average"]
        row = next(line for line in report.splitlines() if line.startswith("| 1 | `%s`" % top5[0]))
        self.assertIn("(%.4g → %.4g)" % (first[0], first[-1]), row)
        self.assertIn("rises" if first[-1] > first[0] else "falls", row)
        local = json.loads(result.files["explain/local_explanations.json"].read_text())
        self.assertEqual([r["row"] for r in local["rows"]], [c["row"] for c in result.local])

    @unittest.skipUnless(HAVE["shap"], "shap is not installed")
    def test_shap_tree_and_linear_explainers_add_up_to_the_model_output(self):
        rf = explain(self.rf, self.Xte, self.yte, n_repeats=3)
        self.assertEqual(rf.shap["explainer"], "TreeExplainer")
        rows = rf.shap["rows"]
        self.assertEqual(rows[:len(rf.local)], [c["row"] for c in rf.local])
        total = rf.shap["values"].sum(axis=1) + rf.shap["base"]
        np.testing.assert_allclose(total, self.rf.predict_proba(self.Xte.iloc[rows])[:, 1], atol=1e-6)
        shap_csv = list(csv.reader(io.StringIO(rf.files["explain/shap_values.csv"].read_text())))
        self.assertEqual(shap_csv[0][:3], ["row", "base_value", self.Xte.columns[0]])
        self.assertEqual(len(shap_csv) - 1, len(rows))
        for c in rf.local:
            self.assertIn("explain/shap_local_row%d.png" % c["row"], rf.files)
            s = sum(x["shap"] for x in c["contributions"]) + c["shap_base"]
            self.assertAlmostEqual(s, self.rf.predict_proba(self.Xte.iloc[[c["row"]]])[0, 1], places=6)

        lr = explain(self.lr, self.Xte, self.yte, experiment="logreg", n_repeats=3)
        self.assertEqual(lr.experiment, "logreg")
        self.assertIsNone(lr.selection)
        self.assertEqual(lr.shap["explainer"], "LinearExplainer")
        total = lr.shap["values"].sum(axis=1) + lr.shap["base"]
        np.testing.assert_allclose(total, self.lr.decision_function(self.Xte.iloc[lr.shap["rows"]]), atol=1e-6)

    def test_bad_input_is_refused_and_writes_nothing(self):
        exp_root = self.inc / "experiments"
        before = tree_bytes(exp_root)
        cases = [
            (lambda: explain(self.rf, self.Xte, self.yte[:-1]), "rows but y has"),
            (lambda: explain(self.rf, self.Xte, self.yte, experiment="nope"), "No experiment 'nope'"),
            (lambda: explain(self.rf, self.Xte, self.yte, experiment="../rf"), "Invalid experiment name"),
            (lambda: explain(self.rf, self.Xte.assign(**{"mean radius": np.nan}), self.yte), "NaN"),
            (lambda: explain(self.rf, self.Xte, self.yte.astype(float).where(self.yte.index != self.yte.index[3])),
             "y holds 1 NaN"),
            (lambda: explain(self.rf, self.Xte, self.yte, feature_names=["a", "b"]), "feature_names has 2 names"),
            (lambda: explain(self.rf, self.Xte, self.yte, rows=[10_000]), "rows must be row positions"),
            (lambda: explain(self.rf, self.Xte.iloc[:, :5], self.yte), "model.predict failed"),
            (lambda: explain(self.rf, self.Xte, self.yte, formats=("jpg",)), "formats"),
        ]
        for call, message in cases:
            with self.subTest(message=message):
                with self.assertRaises(Exception) as cm:
                    call()
                self.assertIn(message, str(cm.exception))
                self.assertTrue(isinstance(cm.exception, ExplainInputError) or "Invalid experiment" in message,
                                type(cm.exception))
        self.assertEqual(tree_bytes(exp_root), before)

    def test_unknown_increment_and_empty_increment(self):
        from specweave_ml import IncrementNotFoundError
        with self.assertRaises(IncrementNotFoundError):
            explain(self.rf, self.Xte, self.yte, increment="0099")
        empty = make_increment(self.root, "0002-empty", status="active", ml={"primary_metric": "roc_auc"})
        with self.assertRaises(ExplainInputError) as cm:
            explain(self.rf, self.Xte, self.yte, increment="0002")
        self.assertIn("no selected model", str(cm.exception))
        self.assertFalse((empty / "experiments").exists())

    def test_inside_a_running_experiment_and_without_matplotlib(self):
        with track_experiment("rf-retrain") as exp:
            exp.log_metric("val_roc_auc", 0.5)
            exp_dir = self.exp_dir("rf-retrain")
            before = tree_bytes(exp_dir)
            with mock.patch.dict(sys.modules, {"matplotlib": None}):
                with self.assertRaises(MissingDependencyError) as cm:
                    explain(self.rf, self.Xte, self.yte, experiment=exp)
            self.assertIn("pip install matplotlib", str(cm.exception))
            self.assertEqual(tree_bytes(exp_dir), before)
            result = explain(self.rf, self.Xte, self.yte, experiment=exp, n_repeats=2, pd_features=0)
            self.assertEqual(result.experiment, "rf-retrain")
            self.assertEqual(result.partial_dependence, {})
            exp.log_metric("roc_auc", 0.6)
        meta = self.check_files_recorded(result)  # the run's own end kept the artifacts explain() recorded
        self.assertEqual(meta["status"], "completed")

    def test_importing_the_package_loads_none_of_the_libraries(self):
        code = ("import sys, specweave_ml; heavy = [m for m in ('numpy', 'sklearn', 'scipy', 'matplotlib', 'shap') "
                "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
        out = subprocess.run([sys.executable, "-c", code], cwd=str(PYTHON_DIR), capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout.decode() + out.stderr.decode())

    def test_without_shap_it_notes_the_install_and_still_passes_the_files(self):
        with mock.patch.dict(sys.modules, {"shap": None}):  # `import shap` raises ImportError, as when absent
            result = explain(self.lr, self.Xte, self.yte, experiment="logreg", n_repeats=3)
        self.assertIsNone(result.shap)
        self.assertTrue(any("pip install shap" in n for n in result.notes))
        self.assertFalse(any("shap" in rel for rel in result.files))
        self.assertIn("pip install shap", result.report.read_text())
        self.check_files_recorded(result)
        self.assertTrue(result.local)
        self.assertNotIn("contributions", result.local[0])


class RegressorTest(ExplainTestCase):
    def test_ridge_on_diabetes_scored_with_the_primary_metric(self):
        from sklearn.linear_model import Ridge
        X, y = load_diabetes(return_X_y=True)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=1)
        model = Ridge(alpha=0.5).fit(Xtr, ytr)
        set_ml(self.inc, primary_metric="rmse", direction="minimize")
        track("ridge", model, metrics={"val_rmse": 55.0})
        track("mean", metrics={"val_rmse": 70.0}, baseline=True)
        track("worse", metrics={"val_rmse": 58.0})
        names = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
        result = explain(model, Xte, yte, feature_names=names, data="validation", n_repeats=8, random_state=3)
        self.assertEqual(result.experiment, "ridge")
        self.assertEqual(result.selection.source, "validation")
        self.assertIn("neg_root_mean_squared_error", result.scoring)
        self.check_permutation(result, model, Xte, yte, "neg_root_mean_squared_error", n_repeats=8, random_state=3)
        self.assertEqual({f["feature"] for f in result.importances}, set(names))
        for name, d in result.partial_dependence.items():
            expected = partial_dependence(model, Xte, [names.index(name)], kind="average", grid_resolution=20)
            np.testing.assert_allclose(d["average"], expected["average"][0], rtol=1e-9)
        self.check_files_recorded(result)
        pred = model.predict(Xte)
        resid = yte - pred
        by = {c["why"].split(" (")[0]: c for c in result.local}
        self.assertEqual(by["highest prediction"]["row"], int(np.argmax(pred)))
        self.assertEqual(by["largest under-prediction"]["row"], int(np.argmax(resid)))
        self.assertEqual(by["largest over-prediction"]["row"], int(np.argmin(resid)))
        self.assertAlmostEqual(by["largest over-prediction"]["residual"], resid.min())
        self.assertIn("validation", result.report.read_text())
        if HAVE["shap"]:
            self.assertEqual(result.shap["explainer"], "LinearExplainer")
            total = result.shap["values"].sum(axis=1) + result.shap["base"]
            np.testing.assert_allclose(total, model.predict(Xte[result.shap["rows"]]), rtol=1e-6)

    def test_hostile_feature_names_cannot_break_the_report(self):
        import re
        from sklearn.linear_model import Ridge
        X, y = load_diabetes(return_X_y=True)
        X = X[:, :4]
        model = Ridge().fit(X, y)
        track("ridge", model, metrics={"r2": 0.3})
        names = ["a|b", "back`tick", "line\nbreak | ## Heading", "<script>x</script>"]
        result = explain(model, X, y, experiment="ridge", feature_names=names, n_repeats=2, top_k=4, pd_features=1)
        lines = result.report.read_text().splitlines()
        rows = [l for l in lines if re.match(r"^\| [1-4] \|", l)]
        self.assertEqual(len(rows), 4)
        for row in rows:
            self.assertEqual(len(re.split(r"(?<!\\)\|", row)), 8, row)  # 6 cells between 7 unescaped pipes
        self.assertFalse(any(l.startswith("## Heading") for l in lines))
        self.assertEqual({f["feature"] for f in result.importances}, set(names))

    def test_a_planted_link_out_of_the_project_is_refused(self):
        import os
        from sklearn.linear_model import Ridge
        from specweave_ml import SandboxError
        X, y = load_diabetes(return_X_y=True)
        model = Ridge().fit(X, y)
        track("ridge", model, metrics={"r2": 0.3})
        outside = self.tmp / "outside"
        outside.mkdir()
        os.symlink(str(outside), str(self.exp_dir("ridge") / "explain"))
        before = (self.exp_dir("ridge") / "metadata.yaml").read_bytes()
        with self.assertRaises(SandboxError):
            explain(model, X, y, experiment="ridge", n_repeats=2, pd_features=0)
        self.assertEqual(list(outside.iterdir()), [])
        self.assertEqual((self.exp_dir("ridge") / "metadata.yaml").read_bytes(), before)

    def test_test_set_selection_is_warned_in_the_report(self):
        from sklearn.tree import DecisionTreeRegressor
        X, y = load_diabetes(return_X_y=True)
        model = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X[:300], y[:300])
        set_ml(self.inc, primary_metric="r2", direction="maximize")
        track("tree", model, metrics={"r2": 0.31})
        track("other", metrics={"r2": 0.30, "val_r2": 0.5})
        result = explain(model, X[300:], y[300:], n_repeats=3, pd_features=1)
        self.assertEqual(result.experiment, "tree")
        self.assertEqual(list(result.partial_dependence), [result.importances[0]["feature"]])
        self.assertEqual(result.selection.source, "test")
        self.assertIn("**Warning:**", result.report.read_text())
        self.assertIn("val_r2 is missing for tree", result.report.read_text())
        self.check_permutation(result, model, X[300:], y[300:], "r2", n_repeats=3)


@unittest.skipUnless(CORE and HAVE["shap"], "needs shap besides " + WHY)
class BoostingAndAgnosticTest(ExplainTestCase):
    def data(self):
        X, y = make_classification(n_samples=400, n_features=6, n_informative=3, n_redundant=1, random_state=0)
        return train_test_split(X, y, test_size=0.4, random_state=0)

    @unittest.skipUnless(HAVE["xgboost"], "xgboost is not installed")
    def test_xgboost_classifier(self):
        import xgboost
        Xtr, Xte, ytr, yte = self.data()
        model = xgboost.XGBClassifier(n_estimators=40, max_depth=3, learning_rate=0.2, random_state=0,
                                      n_jobs=1).fit(Xtr, ytr)
        track("xgb", model, metrics={"accuracy": 0.9})
        result = explain(model, Xte, yte, experiment="xgb", n_repeats=5)
        self.assertEqual(result.scoring, "the estimator's default score (accuracy)")
        self.check_permutation(result, model, Xte, yte, None, n_repeats=5)
        self.check_pd(result, model, Xte)
        self.check_files_recorded(result)
        self.assertEqual(result.shap["explainer"], "TreeExplainer")
        rows = result.shap["rows"]
        total = result.shap["values"].sum(axis=1) + result.shap["base"]
        np.testing.assert_allclose(total, model.predict(Xte[rows], output_margin=True), atol=1e-4)

    @unittest.skipUnless(HAVE["lightgbm"], "lightgbm is not installed")
    def test_lightgbm_classifier_with_the_primary_metric(self):
        import lightgbm
        Xtr, Xte, ytr, yte = self.data()
        model = lightgbm.LGBMClassifier(n_estimators=40, num_leaves=8, random_state=0, n_jobs=1,
                                        verbose=-1).fit(Xtr, ytr)
        set_ml(self.inc, primary_metric="F1 score", direction="maximize")
        track("lgbm", model, metrics={"val_f1": 0.9})
        result = explain(model, Xte, yte, n_repeats=5)
        self.assertEqual(result.experiment, "lgbm")
        self.assertTrue(result.scoring.startswith("f1,"), result.scoring)
        self.check_permutation(result, model, Xte, yte, "f1", n_repeats=5)
        self.check_files_recorded(result)
        self.assertEqual(result.shap["explainer"], "TreeExplainer")
        total = result.shap["values"].sum(axis=1) + result.shap["base"]
        np.testing.assert_allclose(total, model.predict(Xte[result.shap["rows"]], raw_score=True), atol=1e-4)

    def test_model_agnostic_explainer_for_other_models(self):
        from sklearn.neighbors import KNeighborsClassifier
        Xtr, Xte, ytr, yte = self.data()
        model = KNeighborsClassifier(n_neighbors=7).fit(Xtr, ytr)
        track("knn", model, metrics={"accuracy": 0.9})
        result = explain(model, Xte, yte, experiment="knn", n_repeats=3, shap_rows=8, background=20)
        self.assertEqual(result.shap["explainer"], "PermutationExplainer")
        self.assertLessEqual(len(result.shap["rows"]), 8)
        total = result.shap["values"].sum(axis=1) + result.shap["base"]
        np.testing.assert_allclose(total, model.predict_proba(Xte[result.shap["rows"]])[:, 1], atol=1e-6)
        self.check_files_recorded(result)

    def test_without_y_top_features_come_from_shap(self):
        from sklearn.ensemble import GradientBoostingRegressor
        X, y = load_diabetes(return_X_y=True)
        model = GradientBoostingRegressor(n_estimators=30, random_state=0).fit(X[:300], y[:300])
        track("gbr", model, metrics={"r2": 0.4})
        result = explain(model, X[300:], experiment="gbr")
        self.assertIsNone(result.importances)
        self.assertTrue(any("No y was given" in n for n in result.notes))
        mean_abs = np.abs(result.shap["values"]).mean(axis=0)
        self.assertEqual(result.top_features[0]["feature"], "x%d" % int(np.argmax(mean_abs)))
        self.assertEqual([c["why"] for c in result.local], ["highest prediction"])
        self.check_files_recorded(result)


class SelectionMirrorTest(ProjectTestCase):
    """select_best follows the server's rule (pure Python; the interop test below checks it against the server)."""

    def test_rules(self):
        set_ml(self.inc, primary_metric="rmse", direction="minimize")
        track("a", metrics={"val_rmse": 3.0, "rmse": 1.0})
        track("b", metrics={"val_rmse": 2.0, "rmse": 9.0})
        track("crashed", metrics={"val_rmse": 0.1})
        track("load", metrics={"val_rmse": 0.01}, tags=["load-test"])
        with track_experiment("crashed") as exp:
            exp.set_status("failed")
        s = select_best(self.inc)
        self.assertEqual((s.experiment, s.source, s.value), ("b", "validation", 2.0))
        track("c", metrics={"rmse": 0.5})  # c has no val_rmse, so every candidate is compared on the test set
        s = select_best(self.inc)
        self.assertEqual((s.experiment, s.source), ("c", "test"))
        self.assertIn("val_rmse is missing for c", s.reason)
        self.assertIsNotNone(s.warning)
        track("d", metrics={"neg_root_mean_squared_error": -0.2, "val_rmse": 5})  # a neg_ scorer, sign turned
        self.assertEqual(select_best(self.inc).experiment, "d")

    def test_load_tests_never_choose_the_primary_metric(self):
        track("m1", metrics={"accuracy": 0.7})
        track("m2", metrics={"accuracy": 0.8})
        for i in range(3):  # more experiments log latency than accuracy, but they are load tests
            track("load%d" % i, metrics={"latency_p50_ms": 1.0 + i}, tags=["load-test"])
        s = select_best(self.inc)
        self.assertEqual((s.primary_metric, s.experiment), ("accuracy", "m2"))


NODE = shutil.which("node")
BUNDLE = PYTHON_DIR.parent / "mcp-server" / "dist" / "server.mjs"


@unittest.skipUnless(CORE and NODE and BUNDLE.exists(), "needs node and mcp-server/dist/server.mjs (npm run build) "
                     "besides " + WHY)
class ServerGateTest(ExplainTestCase):
    def setUp(self):
        super().setUp()
        from test_server_interop import CLIENT_JS
        shutil.rmtree(self.root / ".specweave")
        (self.root / ".specweave").mkdir()
        self.client = self.tmp / "client.mjs"
        self.client.write_text(CLIENT_JS, encoding="utf-8")

    def call_server(self, calls):
        out = subprocess.run([NODE, str(self.client), str(BUNDLE), str(self.root), json.dumps(calls), "1"],
                             capture_output=True, timeout=120)
        results = json.loads(out.stdout.decode().strip().splitlines()[-1])["results"]
        for r in results:
            self.assertNotIn("error", r, r)
            self.assertFalse(r["result"].get("isError"), r["result"].get("content"))
        return [r["result"] for r in results]

    def validate(self, inc):
        v = self.call_server([{"name": "validate_increment", "arguments": {"increment": inc}}])[0]
        checks = {c["id"]: c for c in v["structuredContent"]["checks"]}
        return v["structuredContent"], checks

    def test_explainability_gate_fails_then_passes_on_the_real_bundle(self):
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        created = self.call_server([{"name": "create_increment", "arguments": {
            "title": "Tumour classifier", "problem_type": "classification", "primary_metric": "roc_auc"}}])
        inc = created[0]["structuredContent"]["increment"]
        spec = self.root / ".specweave" / "increments" / inc / "spec.md"
        text = spec.read_text() if spec.exists() else "# Spec\n"
        spec.write_text(text + "\n- The chosen model must come with SHAP explanations (explainability).\n")
        X, y = load_breast_cancer(return_X_y=True)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
        lr = LogisticRegression(max_iter=5000).fit(Xtr, ytr)
        rf = RandomForestClassifier(n_estimators=20, max_depth=3, random_state=0).fit(Xtr, ytr)
        track("logreg", lr, folds={"cv_roc_auc": [0.90, 0.91, 0.92]}, metrics={"roc_auc": 0.99}, increment=inc)
        track("rf", rf, folds={"cv_roc_auc": [0.95, 0.96, 0.94]}, metrics={"roc_auc": 0.97}, increment=inc)

        v, checks = self.validate(inc)
        self.assertEqual(checks["explainability"]["status"], "fail", checks["explainability"])
        self.assertEqual(v["best_experiment"], select_best(self.root / ".specweave" / "increments" / inc).experiment)

        result = explain(rf, Xte, yte, increment=inc, n_repeats=3, pd_features=2, shap_rows=40)
        self.assertEqual(result.experiment, v["best_experiment"])
        v, checks = self.validate(inc)
        self.assertEqual(checks["explainability"]["status"], "pass", checks["explainability"])
        self.assertIn("explainability-report.md", checks["explainability"]["message"])
        self.assertEqual(checks["model-saved"]["status"], "pass")

        # a report changed after it was recorded no longer counts, and the gate says so
        for rel, path in result.files.items():
            path.write_bytes(path.read_bytes() + b"\n")
        v, checks = self.validate(inc)
        self.assertEqual(checks["explainability"]["status"], "fail")
        self.assertIn("changed since it was recorded", checks["explainability"]["message"])

    def test_python_and_server_choose_the_same_best_experiment(self):
        scenarios = {
            "cv": ("accuracy", [("a", {"val_accuracy": 0.99}, {"cv_accuracy": [0.8, 0.82]}, False),
                                ("b", {"val_accuracy": 0.90}, {"cv_accuracy": [0.85, 0.86]}, False),
                                ("base", {"val_accuracy": 0.5}, {"cv_accuracy": [0.99, 0.99]}, True)]),
            "val": ("rmse", [("a", {"val_rmse": 3.0, "rmse": 1.0}, {}, False),
                             ("b", {"val_rmse": 2.0, "rmse": 9.0}, {}, False),
                             ("load", {"val_rmse": 0.1, "latency_p50_ms": 3.0}, {}, False, ["load-test"])]),
            "test": ("f1", [("a", {"f1": 0.7}, {}, False), ("b", {"f1": 0.71, "val_f1": 0.2}, {}, False)]),
            "tie": ("r2", [("b", {"val_r2": 0.5}, {}, False), ("a", {"val_r2": 0.5}, {}, False)]),
            "neg": ("rmse", [("a", {"neg_root_mean_squared_error": -4.0}, {}, False), ("b", {"rmse": 5.0}, {}, False)]),
        }
        calls = [{"name": "create_increment", "arguments": {"title": "Scenario %s" % k, "primary_metric": m}}
                 for k, (m, _) in scenarios.items()]
        incs = [r["structuredContent"]["increment"] for r in self.call_server(calls)]
        for inc, (metric, exps) in zip(incs, scenarios.values()):
            for name, metrics, folds, baseline, *tags in exps:
                track(name, metrics=metrics, folds=folds, baseline=baseline, increment=inc, tags=tags[0] if tags else None)
        results = self.call_server([{"name": "validate_increment", "arguments": {"increment": i}} for i in incs])
        for inc, r, key in zip(incs, results, scenarios):
            with self.subTest(scenario=key):
                server = r["structuredContent"]["best_experiment"]
                self.assertEqual(select_best(self.root / ".specweave" / "increments" / inc).experiment, server)
        self.assertEqual([r["structuredContent"]["best_experiment"] for r in results], ["b", "b", "b", "a", "a"])


if __name__ == "__main__":
    unittest.main()
