"""export_experiments from Python: the table, its formats, bad input, and byte-for-byte agreement with the server.

The interop test runs only when ``node`` and the server bundle exist (``npm run build``); the pandas read-back runs
only where pandas and scikit-learn are installed (the pinned .venv-test), and says so when it skips.
"""

import csv
import io
import json
import math
import os
import shutil
import statistics
import unittest

from helpers import ProjectTestCase
from specweave_ml import ExportError, SandboxError, export_experiments, track_experiment
import test_server_interop as interop

try:
    import pandas
    import sklearn  # noqa: F401
except ImportError:  # pragma: no cover - the pinned venv has both
    pandas = None


def _track_hostile_and_plain():
    with track_experiment("a-base", increment="1", params={"strategy": "prior"}, baseline=True) as exp:
        exp.log_metrics({"accuracy": 0.61, "val_accuracy": 0.6})
    with track_experiment("b-model", increment="1", params={
            "cmd": '=HYPERLINK("http://x","y")', "text": 'a,b "c"\nd|e\\', "dash": "-1", "big": 2 ** 60, "tiny": 1e-7,
            "nested": {"z": [1.5, {"b": None, "a": True}], "a": "é"}, "empty": {}}) as exp:
        exp.log_metrics({"accuracy": 0.8123456789012345, "val_accuracy": 0.79, "loss": -0.25, "nan": float("nan"),
                         "inf": float("-inf"), "n": 3})
        exp.add_tag("x;y")
        exp.add_tag("+z")
    with track_experiment("c-failed", increment="1", params={"strategy": "@x"}) as exp:
        exp.set_status("failed")


class ExportTest(ProjectTestCase):
    def test_csv_json_and_markdown(self):
        _track_hostile_and_plain()
        r = export_experiments("1", format="csv")
        self.assertEqual(r["rows"], 3)
        self.assertEqual(r["path"], str(self.inc / "experiments" / "export.csv"))
        self.assertEqual(r["selection_source"], "validation")
        raw = (self.inc / "experiments" / "export.csv").read_bytes()
        self.assertTrue(raw.endswith(b"\r\n"))
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
        self.assertEqual([x["name"] for x in rows], ["a-base", "b-model", "c-failed"])
        b = rows[1]
        self.assertEqual(b["params.cmd"], '\'=HYPERLINK("http://x","y")')
        self.assertEqual(b["params.text"], 'a,b "c"\nd|e\\')
        self.assertEqual(b["params.dash"], "'-1")
        self.assertEqual(b["params.big"], "1152921504606847000")  # what JavaScript holds for 2**60
        self.assertEqual(b["params.tiny"], "1e-7")
        self.assertEqual(b["params.nested.z"], '[1.5,{"a":true,"b":null}]')
        self.assertEqual(b["params.nested.a"], "é")
        self.assertEqual((b["metrics.loss"], b["metrics.nan"], b["metrics.inf"]), ("-0.25", "NaN", "-Infinity"))
        self.assertEqual(b["tags"], "x;y;+z")
        self.assertEqual((b["selection_metric"], b["selection_value"]), ("val_accuracy", "0.79"))
        self.assertEqual(rows[2]["params.strategy"], "'@x")
        self.assertEqual(rows[2]["selection_value"], "")
        self.assertTrue(b["commit"] == "" or len(b["commit"]) == 40)

        j = export_experiments("1", format="json", columns=["name", "metrics.*"])
        data = json.loads((self.inc / "experiments" / "export.json").read_text("utf-8"))
        self.assertEqual(j["columns"], ["name", "metrics.accuracy", "metrics.inf", "metrics.loss", "metrics.n",
                                        "metrics.nan", "metrics.val_accuracy"])
        self.assertEqual(data[1]["metrics.accuracy"], 0.8123456789012345)
        self.assertEqual(data[1]["metrics.nan"], "NaN")
        self.assertIsNone(data[2]["metrics.accuracy"])

        export_experiments("1", format="markdown", columns=["params.text", "name"])
        md = (self.inc / "experiments" / "export.md").read_text("utf-8")
        self.assertEqual(md.splitlines()[3], '| a,b "c" d\\|e\\\\ | b-model |')

    def test_bad_format_and_columns_write_nothing(self):
        _track_hostile_and_plain()
        with self.assertRaisesRegex(ExportError, r'Unknown column "acuracy"; did you mean "metrics.accuracy"'):
            export_experiments("1", columns=["name", "acuracy"])
        with self.assertRaisesRegex(ExportError, "csv, json, markdown"):
            export_experiments("1", format="xlsx")
        with self.assertRaisesRegex(ExportError, "not a string"):
            export_experiments("1", columns="name")
        self.assertFalse((self.inc / "experiments" / "export.csv").exists())

    def test_a_link_at_the_export_path_is_refused(self):
        _track_hostile_and_plain()
        outside = self.tmp / "outside.csv"
        outside.write_text("keep\n")
        os.symlink(outside, self.inc / "experiments" / "export.csv")
        with self.assertRaises(SandboxError):
            export_experiments("1")
        self.assertEqual(outside.read_text(), "keep\n")

    def test_a_link_leaving_the_project_fails_the_export_as_on_the_server(self):
        _track_hostile_and_plain()
        evil = self.inc / "experiments" / "evil"
        evil.mkdir()
        secret = self.tmp / "secret.json"
        secret.write_text('{"accuracy": 0.99}')
        os.symlink(secret, evil / "metrics.json")
        with self.assertRaises(SandboxError):
            export_experiments("1")
        self.assertFalse((self.inc / "experiments" / "export.csv").exists())

    @unittest.skipUnless(pandas is not None, "pandas and scikit-learn are not installed (use .venv-test)")
    def test_pandas_reads_back_what_scikit_learn_computed(self):
        from sklearn.datasets import load_iris
        from sklearn.model_selection import cross_val_score
        from sklearn.neighbors import KNeighborsClassifier
        X, y = load_iris(return_X_y=True)
        expected = {}
        for k in (1, 5, 15):
            scores = cross_val_score(KNeighborsClassifier(n_neighbors=k), X, y, cv=5)
            with track_experiment("knn-%02d" % k, increment="1", params={"n_neighbors": k}) as exp:
                for i, s in enumerate(scores):
                    exp.log_metric("cv_accuracy", float(s), step=i)
            expected["knn-%02d" % k] = (statistics.mean(scores), statistics.stdev(scores))
        df = pandas.read_csv(export_experiments("1")["path"])
        self.assertEqual(list(df["name"]), sorted(expected))
        self.assertEqual(list(df["params.n_neighbors"]), [1, 5, 15])
        for _, row in df.iterrows():
            mean, std = expected[row["name"]]
            self.assertAlmostEqual(row["cv_mean"], mean, places=14)
            self.assertAlmostEqual(row["cv_std"], std, places=14)
            self.assertEqual(row["selection_value"], row["cv_mean"])
            self.assertEqual(row["selection_source"], "cv")


@unittest.skipUnless(interop.NODE and interop.BUNDLE.exists(), "node or mcp-server/dist/server.mjs is missing (npm run build)")
class ExportInteropTest(interop.ServerInteropTest):
    """The server and the client export the same experiments to the same bytes, in every format."""

    # Only this class's own test runs here, not the inherited ones.
    test_server_and_python_write_one_experiment_concurrently = None
    test_python_rewrites_server_files_byte_for_byte = None
    test_fold_scores_give_the_same_summary_bytes_from_server_and_python = None

    def test_server_and_python_export_the_same_bytes(self):
        self.call_server([{"name": "create_increment", "arguments": {"title": "Export", "primary_metric": "rmse"}}])
        _track_hostile_and_plain()
        with track_experiment("d-folds", increment="1", params={"lr": 0.1}) as exp:
            for i, v in enumerate([-55.123456789, -61.5, -58.25]):
                exp.log_metric("cv_neg_root_mean_squared_error", v, step=i)
            exp.log_metric("rmse", 57.5)
        self.call_server([{"name": "track_experiment", "arguments": {
            "increment": "1", "name": "e-server", "params": {"lr": 1e21, "opt": {"name": "adam", "betas": [0.9, 0.999]}},
            "metrics": {"rmse": 60, "cv_rmse_mean": 59.1, "cv_rmse_std": 1.25}, "tags": ["t", "ü"]}}])
        # A load test that logged the primary metric without CV: never a candidate, so CV still selects.
        self.call_server([{"name": "track_experiment", "arguments": {
            "increment": "1", "name": "g-load", "tags": ["load-test"],
            "metrics": {"rmse": 1.5, "latency_p50_ms": 3.25, "throughput_rps": 812.5}}}])
        inc = next((self.root / ".specweave" / "increments").glob("0001-*"))
        os.makedirs(inc / "experiments" / "f-broken")
        (inc / "experiments" / "f-broken" / "metrics.json").write_text('{"rmse": "high"}')
        cases = [("csv", None), ("json", None), ("markdown", None),
                 ("csv", ["selection_value", "name", "params.*", "cv_std"])]
        for fmt, columns in cases:
            args = {"increment": "1", "format": fmt}
            if columns:
                args["columns"] = columns
            server = self.call_server([{"name": "export_experiments", "arguments": args}])[0]["result"]
            facts = server["structuredContent"]
            path = self.root / facts["path"]
            server_bytes = path.read_bytes()
            path.unlink()
            mine = export_experiments("1", format=fmt, columns=columns)
            self.assertEqual(mine["path"], str(path))
            self.assertEqual(path.read_bytes().decode("utf-8"), server_bytes.decode("utf-8"), (fmt, columns))
            self.assertEqual((mine["rows"], mine["columns"]), (facts["rows"], facts["columns"]))
            self.assertEqual([s["name"] for s in mine["skipped"]], ["f-broken"])
            self.assertEqual((mine["primary_metric"], mine["selection_source"]), ("rmse", "cv"))
        table = list(csv.DictReader(io.StringIO((inc / "experiments" / "export.csv").read_text("utf-8"), newline="")))
        folds = {r["name"]: r for r in table}
        self.assertAlmostEqual(float(folds["d-folds"]["selection_value"]),
                               statistics.mean([55.123456789, 61.5, 58.25]), places=12)
        self.assertTrue(math.isclose(float(folds["e-server"]["cv_std"]), 1.25))


if __name__ == "__main__":
    unittest.main()
