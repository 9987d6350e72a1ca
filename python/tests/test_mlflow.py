"""configure_mlflow: points MLflow at the increment through the specweave tracking store.

The mlflow-less case hides the installed library from the import system (configure_mlflow must still set the
environment variable and never import what is missing); every other case uses the REAL mlflow, in this process,
with the package used from the source tree (not installed): configure_mlflow registers the scheme itself.
"""

import os
import sys
import unittest
from unittest import mock
from urllib.parse import quote

from helpers import ProjectTestCase, make_increment
from specweave_ml import IncrementNotFoundError, SandboxError, configure_mlflow
from specweave_ml._store import read_experiment_dir

try:
    import mlflow
except ImportError:
    mlflow = None


class ConfigureMlflowTest(ProjectTestCase):
    def expected_uri(self, inc="0001-demo"):
        return "specweave:%s?increment=%s" % (quote(self.root.resolve().as_posix()), inc)

    def test_env_var_without_mlflow_and_nothing_written(self):
        before = sorted(self.inc.rglob("*"))
        with mock.patch.dict(os.environ), mock.patch.dict(sys.modules):
            sys.modules.pop("mlflow", None)
            with mock.patch("importlib.util.find_spec", return_value=None):
                uri = configure_mlflow()
            self.assertEqual(uri, self.expected_uri())
            self.assertEqual(os.environ["MLFLOW_TRACKING_URI"], uri)
            self.assertNotIn("mlflow", sys.modules)
        self.assertEqual(sorted(self.inc.rglob("*")), before)  # no mlruns folder, nothing until a run starts

    def test_unknown_increment_raises_and_leaves_the_environment(self):
        with mock.patch.dict(os.environ, {"MLFLOW_TRACKING_URI": "sqlite:///keep.db"}):
            with self.assertRaises(IncrementNotFoundError) as caught:
                configure_mlflow("0099")
            self.assertIn("0001-demo", str(caught.exception))
            self.assertEqual(os.environ["MLFLOW_TRACKING_URI"], "sqlite:///keep.db")

    def test_increment_link_leaving_the_project_is_refused(self):
        outside = self.tmp / "elsewhere"
        make_increment(outside, "0002-away")
        (self.root / ".specweave" / "increments" / "0002-away").symlink_to(
            outside / ".specweave" / "increments" / "0002-away", target_is_directory=True)
        with mock.patch.dict(os.environ):
            with self.assertRaises(SandboxError):
                configure_mlflow("0002")


@unittest.skipUnless(mlflow is not None, "mlflow is not importable (run under .venv-test/bin/python)")
class ConfigureRealMlflowTest(ProjectTestCase):
    def setUp(self):
        super().setUp()
        self.addCleanup(mlflow.set_tracking_uri, mlflow.get_tracking_uri())
        env = mock.patch.dict(os.environ)
        env.start()
        self.addCleanup(env.stop)

    def test_runs_land_in_the_increment(self):
        uri = configure_mlflow("1")
        self.assertEqual(mlflow.get_tracking_uri(), uri)
        self.assertEqual(os.environ["MLFLOW_TRACKING_URI"], uri)
        with mlflow.start_run(run_name="configured") as run:
            mlflow.log_param("alpha", 0.25)
            for step, loss in enumerate([0.8, 0.6, 0.5]):
                mlflow.log_metric("loss", loss, step=step)
        stored = read_experiment_dir(self.exp_dir("configured"))
        self.assertEqual(stored["params"], {"alpha": "0.25"})
        self.assertEqual(stored["metrics"], {"loss": 0.5})
        self.assertEqual([(p["step"], p["value"]) for p in stored["history"]], [(0, 0.8), (1, 0.6), (2, 0.5)])
        self.assertEqual(stored["metadata"]["status"], "completed")
        self.assertEqual(stored["metadata"]["source"]["run_id"], run.info.run_id)
        back = mlflow.get_run(run.info.run_id)
        self.assertEqual(back.info.experiment_id, "0001-demo")
        self.assertEqual(back.data.metrics, {"loss": 0.5})
        self.assertFalse((self.inc / "mlruns").exists())


if __name__ == "__main__":
    unittest.main()
