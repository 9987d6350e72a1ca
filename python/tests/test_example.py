"""Runs examples/breast-cancer/train.py end to end (only where scikit-learn is installed, e.g. /usr/bin/python3)."""

import subprocess
import sys
import unittest

from helpers import PYTHON_DIR, ProjectTestCase, subprocess_env
from specweave_ml._store import read_experiment_dir

TRAIN = PYTHON_DIR.parent / "examples" / "breast-cancer" / "train.py"

try:
    import sklearn  # noqa: F401
    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False


@unittest.skipUnless(HAVE_SKLEARN and TRAIN.exists(), "scikit-learn is not installed for this interpreter")
class BreastCancerExampleTest(ProjectTestCase):
    def test_train_records_baselines_and_candidates(self):
        out = subprocess.run([sys.executable, str(TRAIN), "--increment", "1"], env=subprocess_env(self.root),
                             cwd=str(self.tmp), capture_output=True, timeout=600)
        self.assertEqual(out.returncode, 0, out.stderr.decode()[-3000:])
        exp_root = self.inc / "experiments"
        names = sorted(p.name for p in exp_root.iterdir())
        self.assertEqual(len(names), 5, names)
        for name in names:
            r = read_experiment_dir(exp_root / name)
            meta = r["metadata"]
            self.assertEqual(meta["status"], "completed")
            self.assertEqual(meta["baseline"], name.startswith("baseline-"))
            for metric in ("accuracy", "precision", "recall", "f1", "roc_auc", "cv_roc_auc_mean", "cv_roc_auc_std"):
                self.assertIn(metric, r["metrics"], name)
            self.assertEqual([p["step"] for p in r["history"] if p["metric"] == "cv_roc_auc"], [0, 1, 2, 3, 4])
            paths = [a["path"] for a in meta["artifacts"]]
            self.assertIn("predictions.csv", paths)
            self.assertTrue(any(p.startswith("model.") for p in paths), paths)
            lines = (exp_root / name / "predictions.csv").read_text().splitlines()
            self.assertEqual(lines[0], "id,y_true,y_pred,score")
            self.assertEqual(len(lines), 1 + 143)
        best = read_experiment_dir(exp_root / "logistic-regression")["metrics"]
        self.assertGreater(best["roc_auc"], 0.95)
        self.assertEqual(read_experiment_dir(exp_root / "baseline-most-frequent")["metrics"]["roc_auc"], 0.5)


if __name__ == "__main__":
    unittest.main()
