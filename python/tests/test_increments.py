import os
import unittest
from pathlib import Path
from unittest import mock

from helpers import ProjectTestCase, make_increment
from specweave_ml import IncrementNotFoundError, find_project_root, resolve_increment, track_experiment


class ResolutionTest(ProjectTestCase):
    def setUp(self):
        super().setUp()
        make_increment(self.root, "0002-churn", status="completed")
        make_increment(self.root, "0042-fraud-detection", status="backlog")
        make_increment(self.root, "0043-fraud-v2", status="paused")
        make_increment(self.root, "0044G-suffixed", status="abandoned")
        make_increment(self.root, "_archive", status=None)

    def name(self, ref):
        return resolve_increment(self.root, ref)[0]

    def test_by_folder_number_and_prefix(self):
        self.assertEqual(self.name("0042-fraud-detection"), "0042-fraud-detection")
        self.assertEqual(self.name("0042"), "0042-fraud-detection")
        self.assertEqual(self.name("42"), "0042-fraud-detection")
        self.assertEqual(self.name(42), "0042-fraud-detection")
        self.assertEqual(self.name("44"), "0044G-suffixed")
        self.assertEqual(self.name("0043-fr"), "0043-fraud-v2")
        self.assertEqual(resolve_increment(self.root, "1")[1], self.root / ".specweave/increments/0001-demo")

    def test_errors_list_candidates(self):
        make_increment(self.root, "0042G-legacy", status="completed")
        with self.assertRaises(IncrementNotFoundError) as cm:
            self.name("42")
        self.assertIn("ambiguous", str(cm.exception))
        self.assertIn("0042-fraud-detection, 0042G-legacy", str(cm.exception))
        self.assertEqual(self.name("0042-"), "0042-fraud-detection")
        with self.assertRaises(IncrementNotFoundError):
            self.name("004")  # all digits: the number 4, not a prefix
        with self.assertRaises(IncrementNotFoundError) as cm:
            self.name("99")
        self.assertIn("0001-demo (planning)", str(cm.exception))
        self.assertIn("0002-churn (completed)", str(cm.exception))

    def test_env_then_single_open_increment(self):
        self.assertEqual(self.name(None), "0001-demo")  # the only one active or planning
        with mock.patch.dict(os.environ, {"SPECWEAVE_INCREMENT": "0002"}):
            self.assertEqual(self.name(None), "0002-churn")
            self.assertEqual(self.name("42"), "0042-fraud-detection")  # the argument wins
        with mock.patch.dict(os.environ, {"SPECWEAVE_INCREMENT": "77"}):
            with self.assertRaises(IncrementNotFoundError) as cm:
                self.name(None)
            self.assertIn("SPECWEAVE_INCREMENT", str(cm.exception))

    def test_several_or_no_open_increments(self):
        make_increment(self.root, "0050-another", status="active")
        with self.assertRaises(IncrementNotFoundError) as cm:
            track_experiment("x")
        msg = str(cm.exception)
        self.assertIn("Several", msg)
        self.assertIn("0001-demo (planning)", msg)
        self.assertIn("0050-another (active)", msg)
        self.assertNotIn("0002-churn", msg)
        for n in ("0001-demo", "0050-another"):
            make_increment(self.root, n, status="completed")
        with self.assertRaises(IncrementNotFoundError) as cm:
            track_experiment("x")
        self.assertIn("No increment is active or planning", str(cm.exception))

    def test_planned_reads_as_planning(self):
        make_increment(self.root, "0001-demo", status="planned")
        self.assertEqual(self.name(None), "0001-demo")


class RootTest(unittest.TestCase):
    def test_root_discovery(self):
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp).resolve()
            (tmp / "proj" / ".specweave").mkdir(parents=True)
            (tmp / "proj" / "src" / "deep").mkdir(parents=True)
            with mock.patch.dict(os.environ, {}, clear=False):
                os.environ.pop("SPECWEAVE_ROOT", None)
                self.assertEqual(find_project_root(tmp / "proj" / "src" / "deep"), tmp / "proj")
                self.assertEqual(find_project_root(tmp), tmp)
                os.environ["SPECWEAVE_ROOT"] = str(tmp / "elsewhere")
                self.assertEqual(find_project_root(tmp / "proj"), tmp / "elsewhere")



class IncrementStatusTest(ProjectTestCase):
    def test_planning_becomes_active_once_others_untouched(self):
        from specweave_ml import track_experiment
        with track_experiment("a"):
            pass
        meta_path = self.inc / "metadata.json"
        self.assertIn('"status": "active"', meta_path.read_text())
        before = meta_path.read_bytes()
        with track_experiment("b"):
            pass
        self.assertEqual(meta_path.read_bytes(), before)  # active stays as it is, no rewrite
        meta_path.write_text("{broken")
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with track_experiment("c", increment="1"):
                pass
        self.assertTrue(any("cannot be parsed" in str(w.message) for w in caught))
        self.assertEqual(meta_path.read_text(), "{broken")


if __name__ == "__main__":
    unittest.main()
