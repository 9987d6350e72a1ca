import statistics
import unittest

from helpers import ProjectTestCase
from specweave_ml import read_experiment, track_cross_validation, track_experiment

try:
    import sklearn  # noqa: F401
    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False


@unittest.skipUnless(HAVE_SKLEARN, "scikit-learn is not installed for this interpreter")
class CrossValidationTest(ProjectTestCase):
    def test_folds_as_history_mean_and_sample_std(self):
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        X, y = load_iris(return_X_y=True)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=500))
        scores = track_cross_validation(model, X, y, cv=5, scoring="accuracy", tags=["candidate"])
        self.assertEqual(len(scores), 5)
        r = read_experiment("logistic-regression")
        folds = [p for p in r["history"] if p["metric"] == "cv_accuracy"]
        self.assertEqual([p["step"] for p in folds], [0, 1, 2, 3, 4])
        self.assertEqual([p["value"] for p in folds], [float(s) for s in scores])
        self.assertAlmostEqual(r["metrics"]["cv_accuracy_mean"], statistics.mean(scores), places=12)
        self.assertAlmostEqual(r["metrics"]["cv_accuracy_std"], statistics.stdev(scores), places=12)  # ddof=1
        self.assertAlmostEqual(r["metrics"]["cv_accuracy_std"], float(scores.std(ddof=1)), places=12)
        self.assertEqual(r["metrics"]["cv_accuracy_count"], 5)
        self.assertNotIn("cv_accuracy", r["metrics"])  # the last fold is never a summary
        self.assertEqual(r["params"]["logisticregression__C"], 0.5)
        self.assertEqual(r["params"]["estimator"], "Pipeline")
        self.assertEqual(r["params"]["steps"], [["standardscaler", "StandardScaler"],
                                                ["logisticregression", "LogisticRegression"]])
        self.assertEqual(r["params"]["cv"], 5)
        self.assertEqual(r["metadata"]["status"], "completed")
        self.assertEqual(r["metadata"]["tags"], ["candidate"])

    def test_into_an_open_experiment_with_several_scorings(self):
        from sklearn.datasets import load_breast_cancer
        from sklearn.dummy import DummyClassifier

        X, y = load_breast_cancer(return_X_y=True)
        with track_experiment("dummy", baseline=True) as exp:
            out = track_cross_validation(DummyClassifier(strategy="most_frequent"), X, y, cv=3,
                                         scoring=["accuracy", "roc_auc"], experiment=exp)
            exp.log_metric("test_accuracy", 0.6)
        self.assertEqual(set(out), {"accuracy", "roc_auc"})
        m = read_experiment("dummy")["metrics"]
        self.assertEqual(m["cv_roc_auc_mean"], 0.5)
        self.assertEqual(m["cv_roc_auc_std"], 0.0)
        self.assertIn("cv_accuracy_mean", m)
        self.assertIs(read_experiment("dummy")["metadata"]["baseline"], True)


    def test_neg_scorers_are_recorded_as_the_positive_metric(self):
        from sklearn.datasets import load_diabetes
        from sklearn.linear_model import Ridge

        X, y = load_diabetes(return_X_y=True)
        scores = track_cross_validation(Ridge(alpha=1.0), X, y, cv=5, scoring="neg_root_mean_squared_error")
        self.assertTrue(all(s < 0 for s in scores))  # scikit-learn's own sign comes back to the caller
        m = read_experiment("ridge")["metrics"]
        self.assertAlmostEqual(m["cv_rmse_mean"], -float(scores.mean()), places=10)
        self.assertAlmostEqual(m["cv_rmse_std"], float(scores.std(ddof=1)), places=10)
        self.assertEqual(m["cv_rmse_count"], 5)
        self.assertFalse(any(k.startswith("cv_neg") for k in m))


class StdTest(unittest.TestCase):
    def test_sample_std_and_single_fold(self):
        from specweave_ml.metrics import fold_summary
        from specweave_ml.sklearn_cv import default_experiment_name
        s = fold_summary("cv_x", {0: 1.0, 1: 2.0, 2: 3.0, 3: 4.0})
        self.assertEqual(s["cv_x_mean"], 2.5)
        self.assertAlmostEqual(s["cv_x_std"], statistics.stdev([1, 2, 3, 4]))
        self.assertEqual(s["cv_x_count"], 4)
        self.assertEqual(fold_summary("cv_x", {0: 0.9}), {"cv_x_mean": 0.9, "cv_x_count": 1})

        class XGBClassifier:
            pass

        class RandomForestClassifier:
            pass
        self.assertEqual(default_experiment_name(XGBClassifier()), "xgb-classifier")
        self.assertEqual(default_experiment_name(RandomForestClassifier()), "random-forest-classifier")


if __name__ == "__main__":
    unittest.main()
