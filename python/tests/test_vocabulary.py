"""The metric vocabulary of the Python client (specweave_ml.metrics), on the case table the server's tests share
(test/fixtures/metric-phrasings.json), against scikit-learn's scorer names, and as shipped in the wheel."""

import json
import os
import subprocess
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

from tests.helpers import PYTHON_DIR  # noqa: F401  (puts the package on sys.path)
from specweave_ml import metrics
from specweave_ml.metrics import metric_direction, parse_criterion, resolve_metric, suggest_metrics, to_canonical

REPO = Path(__file__).resolve().parents[2]
FIXTURE = json.loads((REPO / "test" / "fixtures" / "metric-phrasings.json").read_text(encoding="utf-8"))
SYSTEM_PYTHON = "/usr/bin/python3"


class SharedCaseTable(unittest.TestCase):
    def assertSubset(self, expected, got, label):
        self.assertIsNotNone(got, label)
        for key, value in expected.items():
            if isinstance(value, float):
                self.assertAlmostEqual(got.get(key), value, places=12, msg="%s: %s" % (label, key))
            else:
                self.assertEqual(got.get(key), value, "%s: %s" % (label, key))

    def test_resolve(self):
        for case in FIXTURE["resolve"]:
            got = resolve_metric(case["name"])
            if case["expect"] is None:
                self.assertIsNone(got, case["name"])
            else:
                self.assertSubset(dict(case["expect"], known=True), got, case["name"])

    def test_direction(self):
        for case in FIXTURE["direction"]:
            self.assertEqual(metric_direction(case["name"]), case["expect"], case["name"])

    def test_suggest(self):
        for case in FIXTURE["suggest"]:
            got = suggest_metrics(case["name"])
            self.assertEqual(got[0] if got else None, case["first"], case["name"])

    def test_criteria(self):
        for case in FIXTURE["criteria"]:
            got = parse_criterion(case["text"])
            if case["expect"] is None:
                self.assertIsNone(got, case["text"])
                continue
            expected = {k: (float(v) if k == "value" else v) for k, v in case["expect"].items()}
            self.assertSubset(expected, got, case["text"])
            if "suggestion" in case:
                self.assertIn(case["suggestion"], got["suggestions"])


class Semantics(unittest.TestCase):
    def test_neg_scores_become_the_positive_metric(self):
        self.assertEqual(to_canonical("neg_root_mean_squared_error", -55), ("rmse", 55, True))
        self.assertEqual(to_canonical("cv_neg_log_loss_std", 0.02), ("cv_log_loss_std", 0.02, True))
        self.assertEqual(to_canonical("my_custom", 7), ("my_custom", 7, False))
        # -55 is the better score: the logged value improves upwards, the metric downwards.
        self.assertEqual(metric_direction("neg_root_mean_squared_error"), "maximize")
        self.assertEqual(metric_direction("rmse"), "minimize")

    def test_every_alias_resolves_to_its_metric(self):
        for m in metrics.METRICS:
            for alias in [m["key"]] + m["aliases"] + [s["name"] for s in m.get("sklearn_scorers", [])]:
                self.assertEqual(resolve_metric(alias)["key"], m["key"], alias)
            self.assertEqual(resolve_metric("eval/" + m["key"])["name"], "val_" + m["key"])

    def test_unknown_criterion_explains(self):
        c = parse_criterion("macro_f > 0.9")
        self.assertFalse(c["ok"])
        self.assertIn('Did you mean "f1_macro"', c["message"])
        self.assertEqual(c["slug"], "macro_f")

    def test_a_name_claimed_twice_is_refused(self):
        # The index refuses a data file in which one alias names two metrics, instead of picking one silently.
        saved = metrics.METRICS
        try:
            metrics.METRICS = [dict(saved[0]), dict(saved[1], aliases=list(saved[1]["aliases"]) + [saved[0]["key"]])]
            with self.assertRaises(ValueError):
                metrics._build_index()
        finally:
            metrics.METRICS = saved


def _sklearn_scorers():
    code = ("import json\nfrom sklearn.metrics import get_scorer, get_scorer_names\n"
            "print(json.dumps({n: get_scorer(n)._sign for n in get_scorer_names()}))")
    try:
        run = subprocess.run([SYSTEM_PYTHON, "-c", code], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return json.loads(run.stdout) if run.returncode == 0 else None


class SklearnScorers(unittest.TestCase):
    def test_every_scorer_name_resolves_with_its_sign(self):
        scorers = _sklearn_scorers()
        if scorers is None:
            self.skipTest("scikit-learn is not installed for %s" % SYSTEM_PYTHON)
        self.assertGreater(len(scorers), 40)
        for name, sign in scorers.items():
            r = resolve_metric(name)
            self.assertIsNotNone(r, name)
            if name == "max_error":  # documented in metrics.json: scikit-learn negates it without a neg_ prefix
                self.assertEqual((sign, r["sign"]), (-1, 1))
                continue
            self.assertEqual(r["sign"], -1 if name.startswith("neg_") else 1, name)
            self.assertEqual(r["sign"], sign, name)
            self.assertEqual(metric_direction(name), "maximize", name)
            self.assertEqual(r["direction"], "minimize" if sign == -1 else "maximize", name)


class Packaging(unittest.TestCase):
    def test_the_wheel_ships_the_vocabulary(self):
        sys.path.insert(0, str(PYTHON_DIR / "_build"))
        try:
            import backend
        finally:
            sys.path.pop(0)
        with tempfile.TemporaryDirectory() as tmp:
            wheel = Path(tmp) / backend.build_wheel(tmp)
            with zipfile.ZipFile(wheel) as zf:
                self.assertIn("specweave_ml/metrics.json", zf.namelist())
                zf.extractall(Path(tmp) / "site")
            env = dict(os.environ, PYTHONPATH=str(Path(tmp) / "site"))
            code = "import specweave_ml.metrics as m; print(m.__file__); print(m.parse_criterion('R^2 > 0.4')['metric'])"
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp, check=True).stdout.split("\n")
            self.assertTrue(out[0].startswith(str(Path(tmp) / "site")), out[0])
            self.assertEqual(out[1], "r2")


if __name__ == "__main__":
    unittest.main()
