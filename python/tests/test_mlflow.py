import os
import sys
import types
import unittest
from unittest import mock

from helpers import ProjectTestCase
from specweave_ml import configure_mlflow


class ConfigureMlflowTest(ProjectTestCase):
    def test_env_var_without_mlflow(self):
        with mock.patch.dict(os.environ), mock.patch.dict(sys.modules):
            sys.modules.pop("mlflow", None)
            with mock.patch("importlib.util.find_spec", return_value=None):
                uri = configure_mlflow()
            expected = (self.inc / "mlruns").resolve().as_uri()
            self.assertEqual(uri, expected)
            self.assertTrue(uri.startswith("file:///"))
            self.assertEqual(os.environ["MLFLOW_TRACKING_URI"], expected)
            self.assertTrue((self.inc / "mlruns").is_dir())

    def test_calls_mlflow_when_importable(self):
        fake = types.ModuleType("mlflow")
        calls = []
        fake.set_tracking_uri = calls.append
        with mock.patch.dict(os.environ), mock.patch.dict(sys.modules, {"mlflow": fake}):
            uri = configure_mlflow("1")
            self.assertEqual(calls, [uri])
            self.assertEqual(os.environ["MLFLOW_TRACKING_URI"], uri)


if __name__ == "__main__":
    unittest.main()
