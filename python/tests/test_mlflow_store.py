"""The ``specweave`` MLflow tracking store, driven by the REAL mlflow of the pinned test environment.

The package is installed with pip into a temporary folder (``pip install --no-deps --target``) and every MLflow
script runs in a child process whose PYTHONPATH is that folder only, so MLflow finds the store through the
``mlflow.tracking_store`` entry point of the installed dist-info, exactly as a user's MLflow would. Each child prints
one JSON line of what MLflow read back; the test checks it against the values the child logged and against the
files on disk (read with the package's own reader), and the numbers against scikit-learn computed in the child.

Skipped (with the reason) when mlflow or scikit-learn is not importable by this interpreter: run it with
``cd python && ../.venv-test/bin/python -m unittest tests.test_mlflow_store``.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import urllib.request
from pathlib import Path

from helpers import PYTHON_DIR, ProjectTestCase, make_increment
from specweave_ml._store import read_experiment_dir

try:
    import mlflow  # noqa: F401
    import sklearn  # noqa: F401
    HAVE_LIBS = True
except ImportError:
    HAVE_LIBS = False

REASON = "mlflow and scikit-learn are needed (run under .venv-test/bin/python)"
_INSTALLED = {}


def installed_package() -> str:
    """The package pip-installed once per test run into a temp folder (entry points included)."""
    if "dir" not in _INSTALLED:
        target = tempfile.mkdtemp(prefix="specweave-ml-installed-")
        out = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                              "--no-compile", "--target", target, str(PYTHON_DIR)], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("pip install of the package failed:\n" + out.stdout + out.stderr)
        _INSTALLED["dir"] = target
    return _INSTALLED["dir"]


def tearDownModule():
    if "dir" in _INSTALLED:
        shutil.rmtree(_INSTALLED["dir"], ignore_errors=True)


PRELUDE = """
import json, os, sys, warnings
warnings.filterwarnings("ignore")
import logging
logging.disable(logging.WARNING)
import mlflow
from mlflow import MlflowClient
import specweave_ml
# the package must come from the pip-installed copy, so the entry point is what registered the scheme
assert specweave_ml.__file__.startswith(os.environ["INSTALLED"]), specweave_ml.__file__
def emit(obj):
    print("RESULT " + json.dumps(obj, default=str))
"""


@unittest.skipUnless(HAVE_LIBS, REASON)
class MlflowStoreTestCase(ProjectTestCase):
    """A project with increment 0042-churn (planning) and 0043-other; children run in the project folder."""

    def setUp(self):
        super().setUp()
        shutil.rmtree(self.root / ".specweave")
        self.inc = make_increment(self.root, "0042-churn", title="Churn model",
                                  ml={"primary_metric": "accuracy", "direction": "maximize"})
        make_increment(self.root, "0043-other", status="backlog")
        self.installed = installed_package()

    def child(self, body: str, uri: str = "specweave:0042", expect_ok: bool = True, timeout: int = 240) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SPECWEAVE_"))}
        env.update({"PYTHONPATH": self.installed, "INSTALLED": self.installed, "MLFLOW_TRACKING_URI": uri,
                    "PYTHONDONTWRITEBYTECODE": "1"})
        script = self.tmp / "child.py"
        script.write_text(PRELUDE + textwrap.dedent(body), encoding="utf-8")
        out = subprocess.run([sys.executable, str(script)], cwd=str(self.root), env=env, capture_output=True,
                             text=True, timeout=timeout)
        if expect_ok:
            self.assertEqual(out.returncode, 0, out.stdout[-4000:] + out.stderr[-4000:])
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
        self.assertTrue(lines, out.stdout[-2000:] + out.stderr[-4000:])
        return json.loads(lines[-1][len("RESULT "):])

    def exp(self, name: str, inc: str = "0042-churn") -> Path:
        return self.root / ".specweave" / "increments" / inc / "experiments" / name

    def files_under_specweave(self):
        return sorted(str(p.relative_to(self.root)) for p in (self.root / ".specweave").rglob("*"))


class InstalledPackageTest(unittest.TestCase):
    @unittest.skipUnless(HAVE_LIBS, REASON)
    def test_wheel_declares_the_mlflow_entry_points(self):
        import importlib.metadata
        target = Path(installed_package())
        dist, = [importlib.metadata.PathDistribution(p) for p in target.glob("specweave_ml-*.dist-info")]
        points = {(e.group, e.name): e.value for e in dist.entry_points}
        self.assertEqual(points, {
            ("mlflow.tracking_store", "specweave"): "specweave_ml.mlflow_store:SpecweaveStore",
            ("mlflow.artifact_repository", "specweave"): "specweave_ml.mlflow_store:SpecweaveArtifactRepository"})
        record = (next(target.glob("specweave_ml-*.dist-info")) / "RECORD").read_text()
        self.assertIn("entry_points.txt,sha256=", record)


class PlainLoggingTest(MlflowStoreTestCase):
    def test_params_metrics_history_tags_notes_nested_and_artifacts(self):
        got = self.child("""
            losses = [0.9, 0.55, 0.41, float("nan"), 0.37]
            with mlflow.start_run(run_name="gbm depth 6") as run:
                mlflow.log_params({"max_depth": 6, "learning_rate": 0.05, "loss": "log_loss"})
                for step, value in enumerate(losses):
                    mlflow.log_metric("val_loss", value, step=step)
                mlflow.log_metric("accuracy", 0.875)
                mlflow.set_tags({"stage": "candidate", "owner": "ana"})
                mlflow.set_tag("mlflow.note.content", "depth 6 beats depth 4")
                mlflow.log_text("feature list", "reports/features.txt")
                with mlflow.start_run(run_name="fold-a", nested=True) as child_run:
                    mlflow.log_metric("accuracy", 0.81)
                parent_id, child_id = run.info.run_id, child_run.info.run_id
            client = MlflowClient()
            r = client.get_run(parent_id)
            c = client.get_run(child_id)
            hist = client.get_metric_history(parent_id, "val_loss")
            emit({"parent": parent_id, "child": child_id, "params": r.data.params, "metrics": r.data.metrics,
                  "tags": r.data.tags, "status": r.info.status, "start": r.info.start_time, "end": r.info.end_time,
                  "name": r.info.run_name, "experiment": r.info.experiment_id, "artifact_uri": r.info.artifact_uri,
                  "history": [[m.step, m.value, m.timestamp] for m in hist],
                  "child_parent_tag": c.data.tags.get("mlflow.parentRunId"), "child_metrics": c.data.metrics,
                  "artifacts": [[f.path, f.is_dir] for f in client.list_artifacts(parent_id)],
                  "nested_artifacts": [[f.path, f.file_size] for f in client.list_artifacts(parent_id, "reports")],
                  "text": mlflow.artifacts.load_text(r.info.artifact_uri + "/reports/features.txt"),
                  "tracking_uri": mlflow.get_tracking_uri()})
        """)
        # What MLflow reads back is what was logged (params as MLflow's strings).
        self.assertEqual(got["params"], {"max_depth": "6", "learning_rate": "0.05", "loss": "log_loss"})
        self.assertEqual(got["metrics"]["accuracy"], 0.875)
        self.assertEqual(got["metrics"]["val_loss"], 0.37)  # the highest step
        self.assertEqual([h[0] for h in got["history"]], [0, 1, 2, 3, 4])
        self.assertEqual(got["history"][1][1], 0.55)
        self.assertNotEqual(got["history"][3][1], got["history"][3][1])  # NaN survives as NaN
        self.assertEqual(got["tags"]["stage"], "candidate")
        self.assertEqual(got["tags"]["mlflow.note.content"], "depth 6 beats depth 4")
        self.assertEqual(got["status"], "FINISHED")
        self.assertEqual(got["name"], "gbm depth 6")
        self.assertEqual(got["experiment"], "0042-churn")  # MLflow's default experiment is the increment
        self.assertEqual(got["child_parent_tag"], got["parent"])
        self.assertEqual(got["child_metrics"], {"accuracy": 0.81})
        self.assertIn(["reports", True], got["artifacts"])
        self.assertEqual(got["nested_artifacts"], [["reports/features.txt", len(b"feature list")]])
        self.assertEqual(got["text"], "feature list")

        # The files are the format's, readable by the package's reader (and so by the MCP server).
        stored = read_experiment_dir(self.exp("gbm-depth-6"))
        meta = stored["metadata"]
        self.assertEqual(stored["params"], got["params"])
        self.assertEqual(stored["metrics"]["accuracy"], 0.875)
        self.assertEqual(stored["metrics"]["val_loss"], 0.37)
        points = [(p["step"], p["value"]) for p in stored["history"] if p["metric"] == "val_loss"]
        self.assertEqual(points[:3] + points[4:], [(0, 0.9), (1, 0.55), (2, 0.41), (4, 0.37)])
        self.assertEqual(meta["status"], "completed")
        self.assertEqual([n["text"] for n in meta["notes"]], ["depth 6 beats depth 4"])
        self.assertIn("stage=candidate", meta["tags"])
        self.assertEqual(meta["source"], {"tool": "mlflow", "run_id": got["parent"]})
        # start and end times are MLflow's, to the millisecond; duration is their difference
        from specweave_ml._fs import parse_iso
        self.assertEqual(int(parse_iso(meta["started"]).timestamp() * 1000), got["start"])
        self.assertEqual(round(parse_iso(meta["ended"]).timestamp() * 1000), got["end"])
        self.assertAlmostEqual(meta["duration_seconds"], (got["end"] - got["start"]) / 1000, places=3)
        art = self.exp("gbm-depth-6") / "reports" / "features.txt"
        self.assertEqual(meta["artifacts"], [{"path": "reports/features.txt", "bytes": art.stat().st_size,
                                              "sha256": hashlib.sha256(art.read_bytes()).hexdigest()}])
        self.assertTrue(got["artifact_uri"].endswith("/0042-churn/experiments/gbm-depth-6"))
        child = read_experiment_dir(self.exp("fold-a"))["metadata"]
        self.assertEqual(child["mlflow"]["parent"], "gbm-depth-6")
        self.assertEqual(child["mlflow"]["tags"]["mlflow.parentRunId"], got["parent"])
        # the first run moved the increment from planning to active, as track_experiment does
        self.assertEqual(json.loads((self.inc / "metadata.json").read_text())["status"], "active")

    def test_client_api_search_order_filter_paging_and_delete(self):
        got = self.child("""
            import random
            from mlflow.entities import Metric, Param, RunTag, ViewType
            client = MlflowClient()
            exp = client.get_experiment_by_name("0042-churn")
            rng = random.Random(7)
            logged = []
            for i in range(12):
                run = client.create_run(exp.experiment_id, run_name="trial-%02d" % i)
                acc, depth = round(rng.uniform(0.5, 0.99), 4), rng.choice([3, 5, 7])
                client.log_batch(run.info.run_id, metrics=[Metric("accuracy", acc, 1700000000000 + i, 0)],
                                 params=[Param("depth", str(depth))], tags=[RunTag("family", "gbm" if i % 2 else "rf")])
                client.set_terminated(run.info.run_id, "FINISHED" if i != 5 else "FAILED")
                logged.append({"id": run.info.run_id, "acc": acc, "depth": depth, "family": "gbm" if i % 2 else "rf"})
            ordered = client.search_runs([exp.experiment_id], order_by=["metrics.accuracy DESC"])
            filtered = client.search_runs([exp.experiment_id],
                                          "metrics.accuracy > 0.7 and params.depth = '5' and tags.family = 'gbm'")
            pages, token = [], None
            while True:
                page = client.search_runs([exp.experiment_id], order_by=["metrics.accuracy ASC"], max_results=5,
                                          page_token=token)
                pages.append([r.info.run_id for r in page])
                token = page.token
                if not token:
                    break
            failed = client.search_runs([exp.experiment_id], "attributes.status = 'FAILED'")
            client.delete_run(logged[0]["id"])
            try:
                client.log_metric(logged[0]["id"], "accuracy", 0.0)
                write_to_deleted = None
            except mlflow.MlflowException as e:
                write_to_deleted = e.error_code
            active_after_delete = len(client.search_runs([exp.experiment_id]))
            deleted = [r.info.run_id for r in client.search_runs([exp.experiment_id], run_view_type=ViewType.DELETED_ONLY)]
            client.restore_run(logged[0]["id"])
            df = mlflow.search_runs(experiment_names=["0042-churn"], order_by=["metrics.accuracy DESC"], max_results=3)
            exps = [e.name for e in client.search_experiments()]
            emit({"logged": logged, "ordered": [r.info.run_id for r in ordered],
                  "filtered": sorted(r.info.run_id for r in filtered), "pages": pages,
                  "failed": [r.info.run_id for r in failed], "active_after_delete": active_after_delete,
                  "deleted": deleted, "write_to_deleted": write_to_deleted, "restored": len(client.search_runs([exp.experiment_id])),
                  "df_ids": list(df["run_id"]), "df_acc": list(df["metrics.accuracy"]), "experiments": exps})
        """)
        logged = got["logged"]
        by_acc = [r["id"] for r in sorted(logged, key=lambda r: -r["acc"])]
        self.assertEqual(got["ordered"], by_acc)
        self.assertEqual(got["filtered"], sorted(r["id"] for r in logged
                                                 if r["acc"] > 0.7 and r["depth"] == 5 and r["family"] == "gbm"))
        self.assertEqual([len(p) for p in got["pages"]], [5, 5, 2])
        self.assertEqual(sum(got["pages"], []), list(reversed(by_acc)))
        self.assertEqual(got["failed"], [logged[5]["id"]])
        self.assertEqual(got["active_after_delete"], 11)
        self.assertEqual(got["deleted"], [logged[0]["id"]])
        self.assertEqual(got["write_to_deleted"], "INVALID_STATE")
        self.assertEqual(got["restored"], 12)
        self.assertEqual(got["df_ids"], by_acc[:3])
        self.assertEqual(got["df_acc"], sorted((r["acc"] for r in logged), reverse=True)[:3])
        self.assertEqual(got["experiments"], ["0042-churn"])  # specweave:0042 sees its increment only
        meta = read_experiment_dir(self.exp("trial-05"))["metadata"]
        self.assertEqual(meta["status"], "failed")
        self.assertEqual(sorted(p.name for p in self.exp("x").parent.iterdir()),
                         ["trial-%02d" % i for i in range(12)])

    def test_concurrent_mlflow_and_python_client_writers_lose_nothing(self):
        run = self.child("""
            run = MlflowClient().create_run("0042-churn", run_name="shared")
            emit({"id": run.info.run_id})
        """)
        writer = """
            import sys
            client = MlflowClient()
            base = int(sys.argv[1])
            for i in range(40):
                client.log_metric(%r, "loss", 1.0 / (base + i + 1), step=base + i)
                client.log_param(%r, "p%%d" %% (base + i), str(i))
            emit({"ok": True})
        """ % (run["id"], run["id"])
        script = self.tmp / "writer.py"
        script.write_text(PRELUDE + textwrap.dedent(writer), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SPECWEAVE_"))}
        env.update({"PYTHONPATH": self.installed, "INSTALLED": self.installed, "MLFLOW_TRACKING_URI": "specweave:0042"})
        procs = [subprocess.Popen([sys.executable, str(script), str(base)], cwd=str(self.root), env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for base in (0, 1000)]
        # meanwhile the package's own client writes into the same folder, under the same lock
        from specweave_ml import track_experiment
        with track_experiment("shared", increment="0042") as exp:
            for i in range(40):
                exp.log_metric("py_metric", i, step=i)
        for p in procs:
            out, err = p.communicate(timeout=240)
            self.assertEqual(p.returncode, 0, err.decode()[-3000:])
        stored = read_experiment_dir(self.exp("shared"))
        steps = sorted(p["step"] for p in stored["history"] if p["metric"] == "loss")
        self.assertEqual(steps, list(range(40)) + list(range(1000, 1040)))
        self.assertEqual(sorted(p["step"] for p in stored["history"] if p["metric"] == "py_metric"), list(range(40)))
        self.assertEqual(len(stored["params"]), 80)
        self.assertEqual(stored["metrics"]["loss"], 1.0 / 1040)  # the highest step
        self.assertEqual(stored["history_skipped"], 0)

    def test_project_uri_sees_every_increment_and_runs_written_by_track_experiment(self):
        from specweave_ml import track_experiment
        with track_experiment("hand-made", increment="0043", params={"alpha": 0.5}, tags=["baseline-ish"]) as e:
            e.log_metric("rmse", 3.25)
            for s in range(3):
                e.log_metric("loss", 1 / (s + 1), step=s)
        got = self.child("""
            client = MlflowClient()
            exps = sorted(e.name for e in client.search_experiments())
            runs = client.search_runs(["0043-other"])
            r = runs[0]
            emit({"experiments": exps, "n": len(runs), "params": r.data.params, "metrics": r.data.metrics,
                  "tags": r.data.tags, "name": r.info.run_name,
                  "history": [[m.step, m.value] for m in client.get_metric_history(r.info.run_id, "loss")],
                  "summary_only": [[m.step, m.value] for m in client.get_metric_history(r.info.run_id, "rmse")]})
        """, uri="specweave:" + str(self.root))
        self.assertEqual(got["experiments"], ["0042-churn", "0043-other"])
        self.assertEqual(got["n"], 1)
        self.assertEqual(got["name"], "hand-made")
        self.assertEqual(got["params"], {"alpha": "0.5"})
        self.assertEqual(got["metrics"], {"rmse": 3.25, "loss": 1 / 3})
        self.assertEqual(got["tags"]["baseline-ish"], "")
        self.assertEqual(got["history"], [[0, 1.0], [1, 0.5], [2, 1 / 3]])
        self.assertEqual(got["summary_only"], [[0, 3.25]])


class AutologTest(MlflowStoreTestCase):
    def test_sklearn_autolog_end_to_end(self):
        got = self.child("""
            import numpy as np
            from sklearn.datasets import load_breast_cancer
            from sklearn.linear_model import LogisticRegression
            from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler
            mlflow.sklearn.autolog(log_input_examples=False)
            X, y = load_breast_cancer(return_X_y=True, as_frame=True)
            with mlflow.start_run(run_name="logreg") as run:
                model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=500)).fit(X, y)
            mlflow.sklearn.autolog(disable=True)
            r = mlflow.get_run(run.info.run_id)
            models = mlflow.search_logged_models(output_format="list")
            loaded = mlflow.sklearn.load_model("models:/" + models[0].model_id)
            pred = model.predict(X)
            emit({"run": run.info.run_id, "metrics": r.data.metrics, "params": r.data.params,
                  "expected": {"accuracy": accuracy_score(y, pred), "f1": f1_score(y, pred, average="weighted"),
                               "roc_auc": roc_auc_score(y, model.predict_proba(X)[:, 1])},
                  "same_predictions": bool((loaded.predict(X) == pred).all()),
                  "models": [[m.model_id, m.name, m.status.name, m.source_run_id, m.artifact_location]
                             for m in models],
                  "model_metrics": {m.key: m.value for m in models[0].metrics},
                  "outputs": [o.model_id for o in r.outputs.model_outputs],
                  "datasets": [d.dataset.name for d in r.inputs.dataset_inputs]})
        """)
        m = got["metrics"]
        self.assertAlmostEqual(m["training_accuracy_score"], got["expected"]["accuracy"], places=12)
        self.assertAlmostEqual(m["training_f1_score"], got["expected"]["f1"], places=12)
        self.assertAlmostEqual(m["training_roc_auc"], got["expected"]["roc_auc"], places=12)
        self.assertEqual(got["params"]["logisticregression__C"], "0.5")
        self.assertTrue(got["same_predictions"])
        (model_id, name, status, source, location), = got["models"]
        self.assertEqual((name, status, source), ("model", "READY", got["run"]))
        self.assertEqual(got["outputs"], [model_id])
        self.assertEqual(got["model_metrics"]["training_accuracy_score"], m["training_accuracy_score"])
        self.assertTrue(got["datasets"])
        self.assertTrue(location.endswith("/experiments/logreg/model"))

        stored = read_experiment_dir(self.exp("logreg"))
        self.assertAlmostEqual(stored["metrics"]["training_accuracy_score"], got["expected"]["accuracy"], places=12)
        recorded = {a["path"]: a for a in stored["metadata"]["artifacts"]}
        for rel in ("model/MLmodel", "model/model.pkl"):
            data = (self.exp("logreg") / rel).read_bytes()
            self.assertEqual(recorded[rel]["sha256"], hashlib.sha256(data).hexdigest())
            self.assertEqual(recorded[rel]["bytes"], len(data))
        self.assertEqual(stored["metadata"]["mlflow"]["logged_models"][0]["model_id"], model_id)


class BadInputTest(MlflowStoreTestCase):
    def test_unknown_increment_is_a_clear_error_and_writes_nothing(self):
        before = self.files_under_specweave()
        got = self.child("""
            try:
                with mlflow.start_run():
                    mlflow.log_metric("x", 1)
                emit({"error": None})
            except Exception as e:
                emit({"error": type(e).__name__, "message": str(e), "is_mlflow": isinstance(e, mlflow.MlflowException),
                      "is_specweave": isinstance(e, specweave_ml.SpecweaveError)})
        """, uri="specweave:0099")
        self.assertEqual(got["error"], "SpecweaveMlflowError")
        self.assertTrue(got["is_mlflow"] and got["is_specweave"])
        self.assertIn("No increment '0099'", got["message"])
        self.assertIn("0042-churn", got["message"])  # lists the candidates
        self.assertEqual(self.files_under_specweave(), before)

    def test_new_experiment_name_is_refused_with_the_fix(self):
        before = self.files_under_specweave()
        got = self.child("""
            try:
                mlflow.set_experiment("brand-new")
                emit({"error": None})
            except mlflow.MlflowException as e:
                emit({"error": e.error_code, "message": e.message})
        """, uri="specweave:" + str(self.root))
        self.assertEqual(got["error"], "RESOURCE_DOES_NOT_EXIST")
        self.assertIn("create_increment", got["message"])
        self.assertEqual(self.files_under_specweave(), before)

    def test_hostile_symlink_inside_specweave_is_refused_and_nothing_leaves(self):
        outside = self.tmp / "outside"
        outside.mkdir()
        (self.inc / "experiments").symlink_to(outside, target_is_directory=True)
        got = self.child("""
            try:
                with mlflow.start_run(run_name="escape"):
                    mlflow.log_metric("x", 1)
                emit({"error": None})
            except mlflow.MlflowException as e:
                emit({"error": e.error_code, "message": e.message, "cause": type(e.__cause__).__name__})
        """)
        self.assertEqual(got["error"], "PERMISSION_DENIED")
        self.assertEqual(got["cause"], "SandboxError")
        self.assertIn("leaves the project", got["message"])
        self.assertEqual(list(outside.iterdir()), [])

    def test_links_planted_in_runs_are_refused_without_reading_or_writing_through_them(self):
        runs = self.child("""
            ids = {}
            for name in ("meta-link", "artifact-link"):
                with mlflow.start_run(run_name=name) as run:
                    mlflow.log_metric("acc", 0.5)
                ids[name] = run.info.run_id
            emit(ids)
        """, uri="specweave:" + str(self.root))
        secret = "SWSECRET-not-to-be-read"
        outside = self.tmp / "outside"
        outside.mkdir()
        (outside / "meta.yaml").write_text('name: "%s"\n' % secret, encoding="utf-8")
        (outside / "reports").mkdir()
        (outside / "experiments").mkdir()
        meta = self.exp("meta-link") / "metadata.yaml"
        meta.unlink()
        meta.symlink_to(outside / "meta.yaml")
        (self.exp("artifact-link") / "reports").symlink_to(outside / "reports", target_is_directory=True)
        other = self.root / ".specweave" / "increments" / "0043-other" / "experiments"
        other.symlink_to(outside / "experiments", target_is_directory=True)
        before = {str(p): p.read_bytes() if p.is_file() else None for p in outside.rglob("*")}
        got = self.child("""
            client = MlflowClient()
            out = {}
            def attempt(label, call):
                try:
                    call()
                    out[label] = None
                except mlflow.MlflowException as e:
                    out[label] = [e.error_code, e.message, type(e.__cause__).__name__]
            attempt("get_run", lambda: client.get_run(%(meta)r))
            attempt("log_metric", lambda: client.log_metric(%(meta)r, "acc", 0.9))
            attempt("search", lambda: client.search_runs(["0042-churn"]))
            def log_into_link():
                with mlflow.start_run(run_id=%(art)r):
                    mlflow.log_text("leak", "reports/leak.txt")
            attempt("artifact", log_into_link)
            def run_in_linked_experiments():
                mlflow.set_experiment("0043-other")
                with mlflow.start_run(run_name="escape"):
                    pass
            attempt("create_run", run_in_linked_experiments)
            emit(out)
        """ % {"meta": runs["meta-link"], "art": runs["artifact-link"]}, uri="specweave:" + str(self.root))
        for label in ("get_run", "log_metric", "search", "artifact", "create_run"):
            self.assertIsNotNone(got[label], label)
            code, message, cause = got[label]
            self.assertEqual((code, cause), ("PERMISSION_DENIED", "SandboxError"), got[label])
            self.assertNotIn(secret, message)
            self.assertNotIn(str(outside), message)
        self.assertIn("metadata.yaml", got["get_run"][1])
        self.assertIn("reports", got["artifact"][1])
        after = {str(p): p.read_bytes() if p.is_file() else None for p in outside.rglob("*")}
        self.assertEqual(after, before)

    def test_malformed_metadata_is_reported_by_name_and_left_alone(self):
        run = self.child("""
            with mlflow.start_run(run_name="broken") as run:
                mlflow.log_metric("acc", 0.5)
            emit({"id": run.info.run_id})
        """)
        meta = self.exp("broken") / "metadata.yaml"
        meta.write_text("name: [unclosed\n", encoding="utf-8")
        got = self.child("""
            out = {}
            for label, call in [("get", lambda: MlflowClient().get_run(%r)),
                                ("log", lambda: MlflowClient().log_metric(%r, "acc", 0.6))]:
                try:
                    call()
                    out[label] = None
                except mlflow.MlflowException as e:
                    out[label] = [e.error_code, e.message, type(e.__cause__).__name__]
            emit(out)
        """ % (run["id"], run["id"]))
        for label in ("get", "log"):
            self.assertEqual(got[label][0], "INVALID_STATE", got[label])
            self.assertEqual(got[label][2], "FormatError")
            self.assertIn("metadata.yaml", got[label][1])
        self.assertEqual(meta.read_text(encoding="utf-8"), "name: [unclosed\n")
        self.assertEqual(json.loads((self.exp("broken") / "metrics.json").read_text())["acc"], 0.5)

    def test_invalid_metric_name_step_and_changed_param_write_nothing(self):
        bundle = self.tmp / "bundle"
        bundle.mkdir()
        (bundle / "a.txt").write_text("a")
        (bundle / ".hidden").write_text("reserved name")
        got = self.child("""
            out = {}
            with mlflow.start_run(run_name="strict") as run:
                mlflow.log_param("depth", 3)
                for label, call in [("name", lambda: mlflow.log_metric("../../escape", 1.0)),
                                    ("empty", lambda: mlflow.log_metric("", 1.0)),
                                    ("step", lambda: mlflow.log_metric("loss", 1.0, step=-1)),
                                    ("param", lambda: mlflow.log_param("depth", 4)),
                                    ("artifacts", lambda: mlflow.log_artifacts(%r, "bundle"))]:
                    try:
                        call()
                        out[label] = None
                    except mlflow.MlflowException as e:
                        out[label] = [e.error_code, e.message]
            emit(out)
        """ % str(bundle))
        for label in ("name", "empty", "step", "param", "artifacts"):
            self.assertIsNotNone(got[label], label)
            self.assertEqual(got[label][0], "INVALID_PARAMETER_VALUE", got[label])
        self.assertIn("step -1", got["step"][1])
        self.assertIn("cannot change", got["param"][1])
        stored = read_experiment_dir(self.exp("strict"))
        self.assertEqual(stored["params"], {"depth": "3"})
        self.assertEqual(stored["metrics"], {})
        self.assertEqual(stored["history"], [])
        self.assertFalse((self.root / "escape").exists())
        self.assertIn(".hidden", got["artifacts"][1])
        self.assertFalse((self.exp("strict") / "bundle").exists())  # not even a.txt: names are checked first
        self.assertEqual(stored["metadata"]["artifacts"], [])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


class TrackingServerTest(MlflowStoreTestCase):
    def test_mlflow_server_lists_increments_and_runs_over_rest(self):
        run = self.child("""
            with mlflow.start_run(run_name="served") as run:
                mlflow.log_metric("accuracy", 0.9125)
                mlflow.log_param("depth", 4)
                mlflow.log_metric("loss", 0.7, step=0)
                mlflow.log_metric("loss", 0.4, step=1)
                mlflow.log_text("served report", "report.txt")
                import pandas as pd
                dataset = mlflow.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0]}), name="tiny")
                mlflow.log_input(dataset, context="training")
            emit({"id": run.info.run_id, "dataset": dataset.name, "digest": dataset.digest})
        """)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SPECWEAVE_"))}
        env.update({"PYTHONPATH": self.installed})
        mlflow_cli = Path(sys.executable).with_name("mlflow")
        log = open(self.tmp / "server.log", "wb")  # a file, not a pipe: a full pipe would stall the server
        self.addCleanup(log.close)
        server = subprocess.Popen(
            [str(mlflow_cli), "server", "--backend-store-uri", "specweave:" + str(self.root), "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1"], cwd=str(self.tmp), env=env, stdout=log, stderr=log,
            start_new_session=True)
        try:
            base = "http://127.0.0.1:%d" % port
            deadline = time.monotonic() + 120
            while True:
                try:
                    with urllib.request.urlopen(base + "/health", timeout=5) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    pass
                if server.poll() is not None:
                    self.fail("mlflow server exited: " + (self.tmp / "server.log").read_text(errors="replace")[-3000:])
                self.assertLess(time.monotonic(), deadline, "mlflow server did not answer /health in 120 s")
                time.sleep(0.5)
            exps = post(base + "/api/2.0/mlflow/experiments/search", {"max_results": 100})["experiments"]
            self.assertEqual(sorted(e["name"] for e in exps), ["0042-churn", "0043-other"])
            runs = post(base + "/api/2.0/mlflow/runs/search", {"experiment_ids": ["0042-churn"]})["runs"]
            listed = get(base + "/api/2.0/mlflow/artifacts/list?run_id=" + run["id"])
            self.assertEqual([(f["path"], f.get("file_size")) for f in listed["files"]],
                             [("report.txt", len(b"served report"))])
            with urllib.request.urlopen(base + "/get-artifact?path=report.txt&run_uuid=" + run["id"],
                                        timeout=30) as resp:
                self.assertEqual(resp.read(), b"served report")
            history = get(base + "/api/2.0/mlflow/metrics/get-history?metric_key=loss&run_id=" + run["id"])
            self.assertEqual([(m["step"], m["value"]) for m in history["metrics"]], [(0, 0.7), (1, 0.4)])
            self.assertEqual([r["info"]["run_id"] for r in runs], [run["id"]])
            metrics = {m["key"]: m["value"] for m in runs[0]["data"]["metrics"]}
            self.assertEqual(metrics, {"accuracy": 0.9125, "loss": 0.4})
            self.assertEqual(runs[0]["data"]["params"], [{"key": "depth", "value": "4"}])
            datasets = post(base + "/ajax-api/2.0/mlflow/experiments/search-datasets",
                            {"experiment_ids": ["0042-churn"]})
            self.assertEqual([(d["name"], d["digest"]) for d in datasets["dataset_summaries"]],
                             [(run["dataset"], run["digest"])])
            none = post(base + "/api/2.0/mlflow/runs/search", {"experiment_ids": ["0043-other"]})
            self.assertEqual(none.get("runs", []), [])
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            try:  # the uvicorn worker too, whatever the parent did on SIGTERM
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            server.wait(timeout=30)


BUNDLE = PYTHON_DIR.parent / "mcp-server" / "dist" / "server.mjs"
NODE = shutil.which("node")


@unittest.skipUnless(NODE and BUNDLE.exists(), "node or mcp-server/dist/server.mjs is missing (npm run build)")
class McpVisibilityTest(MlflowStoreTestCase):
    def test_runs_logged_through_mlflow_are_experiments_for_the_mcp_tools(self):
        from test_server_interop import CLIENT_JS
        got = self.child("""
            accs = {"rf": 0.91, "gbm": 0.94, "logreg": 0.88}
            for name, acc in accs.items():
                with mlflow.start_run(run_name=name):
                    mlflow.log_param("model", name)
                    mlflow.log_metric("accuracy", acc)
            emit(accs)
        """)
        client = self.tmp / "client.mjs"
        client.write_text(CLIENT_JS, encoding="utf-8")
        calls = [{"name": "list_experiments", "arguments": {"increment": "0042"}},
                 {"name": "compare_experiments", "arguments": {"increment": "0042", "primary_metric": "accuracy"}}]
        out = subprocess.run([NODE, str(client), str(BUNDLE), str(self.root), json.dumps(calls)], capture_output=True,
                             timeout=180, text=True)
        self.assertEqual(out.returncode, 0, out.stdout[-3000:] + out.stderr[-3000:])
        listed, compared = json.loads(out.stdout.strip().splitlines()[-1])["results"]
        listing = listed["result"]["structuredContent"]
        names = sorted(e["name"] for e in listing["experiments"])
        self.assertEqual(names, sorted(got))
        ranking = json.dumps(compared["result"]["structuredContent"])
        best = max(got, key=got.get)
        self.assertIn(best, ranking)
        best_row = compared["result"]["structuredContent"]["best"]
        self.assertEqual(best_row["experiment"], best)
        self.assertEqual(best_row["value"], got[best])

        # The server writing into an MLflow run keeps what only MLflow knows (the mlflow block is an unknown key).
        calls = [{"name": "track_experiment", "arguments": {"increment": "0042", "name": "rf", "tags": ["reviewed"],
                                                            "note": "checked by the server",
                                                            "metrics": {"precision": 0.9}}}]
        out = subprocess.run([NODE, str(client), str(BUNDLE), str(self.root), json.dumps(calls)], capture_output=True,
                             timeout=180, text=True)
        self.assertEqual(out.returncode, 0, out.stdout[-3000:] + out.stderr[-3000:])
        back = self.child("""
            r = mlflow.search_runs(filter_string="attributes.run_name = 'rf'", output_format="list")[0]
            emit({"tags": r.data.tags, "metrics": r.data.metrics, "params": r.data.params})
        """)
        self.assertEqual(back["tags"]["reviewed"], "")
        self.assertEqual(back["tags"]["mlflow.note.content"], "checked by the server")
        self.assertEqual(back["tags"]["mlflow.runName"], "rf")
        self.assertIn("mlflow.source.name", back["tags"])
        self.assertEqual(back["metrics"], {"accuracy": got["rf"], "precision": 0.9})
        self.assertEqual(back["params"], {"model": "rf"})


if __name__ == "__main__":
    unittest.main()
