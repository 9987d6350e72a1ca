"""specweave_ml.registry: ModelRegistry with a real scikit-learn model, the server's gates, interop with the server
(the same bytes), and concurrent writers from several processes.

scikit-learn tests skip when it is missing (run under .venv-test); server tests need node and the bundle
(npm run build).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import unittest
from pathlib import Path
from unittest import mock

from helpers import PYTHON_DIR, ProjectTestCase, make_increment, subprocess_env
from specweave_ml import FormatError, InvalidNameError, SandboxError, track_experiment
from specweave_ml.registry import (GatesFailedError, GatesUnavailableError, ModelIntegrityError, ModelRegistry,
                                   RegistryError, event_line, run_server_tool)

try:
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - the pinned environment has it
    HAVE_SKLEARN = False

BUNDLE = PYTHON_DIR.parent / "mcp-server" / "dist" / "server.mjs"
NODE = shutil.which("node")
HAVE_SERVER = bool(NODE) and BUNDLE.exists()
ML = {"ml": {"primary_metric": "accuracy", "direction": "maximize", "selection": "auto"}}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class RegistryCase(ProjectTestCase):
    def setUp(self):
        super().setUp()
        patcher = mock.patch.dict(os.environ, {"SPECWEAVE_ACTOR": "Ada <ada@example.com>"})
        patcher.start()
        self.addCleanup(patcher.stop)
        make_increment(self.root, "0001-demo", status="active", **ML)
        self.reg = ModelRegistry(self.root)

    def train(self, name="logreg", C=1.0, test_metrics=True):
        """A real model: cross-validated, fitted and saved through track_experiment; returns (exp, model, X, y, folds)."""
        X, y = load_breast_cancer(return_X_y=True)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
        folds = cross_val_score(model, X, y, cv=5, scoring="accuracy")
        with track_experiment(name, params={"C": C}) as exp:
            for i, s in enumerate(folds):
                exp.log_metric("cv_accuracy", float(s), step=i)
            model.fit(X, y)
            if test_metrics:
                exp.log_metric("test_accuracy", float(model.score(X, y)))
            exp.save_model(model, "model")
        return exp, model, X, y, folds

    def events(self, name):
        text = (self.root / ".specweave/registry" / name / "events.jsonl").read_text()
        return [json.loads(l) for l in text.splitlines() if l.startswith("{") and l.endswith("}")]


@unittest.skipUnless(HAVE_SKLEARN, "scikit-learn is not installed (run under .venv-test)")
class RegisterAndLoadTest(RegistryCase):
    def test_register_records_lineage_and_load_verifies_before_unpickling(self):
        exp, model, X, y, folds = self.train()
        record = self.reg.register("churn", exp, description="first")
        self.assertEqual(record["version"], "1.0.0")
        artifact = exp.path / "model.joblib"
        self.assertEqual(record["artifact"], {
            "path": os.path.relpath(artifact, self.root).replace(os.sep, "/"), "bytes": artifact.stat().st_size,
            "sha256": sha256(artifact), "format": "joblib"})
        sel = record["selection"]
        self.assertEqual((sel["metric"], sel["source"], sel["key"], sel["count"]), ("accuracy", "cv", "cv_accuracy_mean", 5))
        self.assertAlmostEqual(sel["value"], float(np.mean(folds)), places=12)
        self.assertAlmostEqual(sel["std"], float(np.std(folds, ddof=1)), places=12)
        self.assertAlmostEqual(record["test_metrics"]["test_accuracy"], model.score(X, y), places=12)
        self.assertEqual(record["actor"], "Ada <ada@example.com>")
        self.assertEqual(record["params"]["C"], 1.0)
        # The record on disk is the canonical bytes and the log has one register line.
        on_disk = self.root / ".specweave/registry/churn/versions/1.0.0.json"
        self.assertEqual(json.loads(on_disk.read_text()), record)
        self.assertEqual([(e["seq"], e["event"], e["version"]) for e in self.events("churn")], [(1, "register", "1.0.0")])

        self.reg.promote("churn", "1.0.0", "staging")
        loaded = self.reg.load("churn", stage="staging")
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))

        # A tampered file is refused before anything is unpickled, and left as it is.
        with open(artifact, "ab") as f:
            f.write(b"\x00")
        tampered = artifact.read_bytes()
        with self.assertRaisesRegex(ModelIntegrityError, "does not match churn 1.0.0"):
            self.reg.load("churn", stage="staging")
        self.assertEqual(artifact.read_bytes(), tampered)
        with self.assertRaisesRegex(ModelIntegrityError, "changed since it was registered"):
            self.reg.promote("churn", "1.0.0", "canary")
        with self.assertRaisesRegex(RegistryError, "No version of churn holds production"):
            self.reg.load("churn")

    def test_versions_bump_and_refuse_duplicates(self):
        exp = self.train()[0]
        self.assertEqual([self.reg.register("churn", exp)["version"] for _ in range(2)], ["1.0.0", "1.0.1"])
        self.assertEqual(self.reg.register("churn", exp, version="minor")["version"], "1.1.0")
        self.assertEqual(self.reg.register("churn", "logreg", increment="0001", version="v3.0.0")["version"], "3.0.0")
        with self.assertRaisesRegex(RegistryError, "already registered.*register 3.0.1"):
            self.reg.register("churn", exp, version="3.0.0")
        with self.assertRaisesRegex(RegistryError, "lower than the latest, 3.0.0"):
            self.reg.register("churn", exp, version="2.9.9")
        with self.assertRaises(InvalidNameError):
            self.reg.register("Churn", exp)
        self.assertEqual([m["latest"] for m in self.reg.list()], ["3.0.0"])

    def test_stages_promote_and_roll_back_through_earlier_holders(self):
        exp = self.train()[0]
        for _ in range(3):
            self.reg.register("churn", exp)
        self.reg.promote("churn", "1.0.0", "staging")
        self.reg.promote("churn", "1.0.1", "staging")
        self.reg.promote("churn", "1.0.2", "staging")
        self.assertIsNone(self.reg.promote("churn", "1.0.2", "staging"))
        ev = self.reg.rollback_to("churn", stage="staging", reason="bad canary")
        self.assertEqual((ev["version"], ev["previous"], ev["reason"]), ("1.0.1", "1.0.2", "bad canary"))
        self.assertEqual(self.reg.holder("churn", "staging"), "1.0.1")
        self.reg.rollback_to("churn", "1.0.0", stage="staging")
        with self.assertRaisesRegex(RegistryError, "only version that has held staging"):
            self.reg.rollback_to("churn", stage="staging")
        m = self.reg.get("churn")
        self.assertEqual(m["stages"]["staging"]["version"], "1.0.0")
        self.assertEqual([v["stages"] for v in m["versions"]], [["staging"], [], []])
        self.assertEqual([e["seq"] for e in m["events"]], list(range(1, 9)))

    def test_production_is_refused_when_the_gates_cannot_run_unless_forced_with_a_reason(self):
        exp = self.train()[0]
        self.reg.register("churn", exp)
        with mock.patch.dict(os.environ, {"SPECWEAVE_NODE": str(self.tmp / "no-node")}):
            with self.assertRaisesRegex(GatesUnavailableError, "node could not be started.*SPECWEAVE_NODE"):
                self.reg.promote_to_production("churn", "1.0.0")
            with self.assertRaisesRegex(RegistryError, "force needs a reason"):
                self.reg.promote_to_production("churn", "1.0.0", force=True)
            self.assertEqual(len(self.events("churn")), 1)
            ev = self.reg.promote_to_production("churn", "1.0.0", force=True, reason="offline hotfix")
        self.assertEqual((ev["forced"], ev["reason"], ev["gates"]), (True, "offline hotfix", None))
        if NODE:
            with mock.patch.dict(os.environ, {"SPECWEAVE_SERVER_BUNDLE": str(self.tmp / "missing/server.mjs")}):
                with self.assertRaisesRegex(GatesUnavailableError, "bundle .*missing/server.mjs was not found; set SPECWEAVE_SERVER_BUNDLE"):
                    self.reg.promote_to_production("churn", "1.0.0")
        self.assertEqual(self.reg.holder("churn"), "1.0.0")

    def test_hostile_files(self):
        exp = self.train()[0]
        self.reg.register("churn", exp)
        log = self.root / ".specweave/registry/churn/events.jsonl"
        with open(log, "a") as f:
            f.write('{"seq":2,"ti')  # torn by a crash
        self.assertEqual(self.reg.get("churn")["skipped_lines"], 1)
        self.reg.promote("churn", "1.0.0", "staging")  # starts a new line
        self.assertEqual(self.reg.holder("churn", "staging"), "1.0.0")
        with open(log, "a") as f:
            f.write('{"seq":9,"event":"promote"}\n')
        with self.assertRaisesRegex(FormatError, r"events.jsonl line 4 is not a valid registry event: time"):
            self.reg.get("churn")
        outside = self.tmp / "outside.jsonl"
        outside.write_text("")
        log.unlink()
        log.symlink_to(outside)
        with self.assertRaisesRegex(SandboxError, "events.jsonl is a symbolic link that leaves the project"):
            self.reg.promote("churn", "1.0.0", "canary")
        self.assertEqual(outside.read_text(), "")
        with self.assertRaises(InvalidNameError):
            self.reg.get("../x")


@unittest.skipUnless(HAVE_SKLEARN and HAVE_SERVER, "needs scikit-learn, node and mcp-server/dist/server.mjs (npm run build)")
class ServerTest(RegistryCase):
    def call(self, tool, args):
        return run_server_tool(self.root, tool, args)

    def test_gates_run_through_the_server_and_a_failure_is_refused_with_the_checks(self):
        exp = self.train()[0]
        self.reg.register("churn", exp)
        with self.assertRaises(GatesFailedError) as caught:
            self.reg.promote_to_production("churn", "1.0.0")
        gates = caught.exception.gates
        self.assertEqual((gates["increment"], gates["verdict"]), ("0001-demo", "fail"))
        # The same checks validate_increment reports.
        v = self.call("validate_increment", {"increment": "0001-demo"})
        self.assertEqual(gates["failed"], [c["id"] for c in v["checks"] if c["status"] == "fail"])
        self.assertIn("gate %s fails" % gates["failed"][0], str(caught.exception))
        self.assertEqual(len(self.events("churn")), 1)

    def test_a_passing_increment_is_promoted_with_the_verdict_recorded(self):
        inc = self.call("create_increment", {"title": "Cancer", "problem_type": "classification",
                                             "primary_metric": "accuracy", "success_criteria": ["accuracy >= 0.9"]})
        inc_id = inc["increment"]
        X, y = load_breast_cancer(return_X_y=True)
        from sklearn.dummy import DummyClassifier
        base = cross_val_score(DummyClassifier(strategy="most_frequent"), X, y, cv=5)
        with track_experiment("majority", increment=inc_id, baseline=True) as b:
            for i, s in enumerate(base):
                b.log_metric("cv_accuracy", float(s), step=i)
            b.log_metric("accuracy", float(np.mean(base)))
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        folds = cross_val_score(model, X, y, cv=5)
        with track_experiment("logreg", increment=inc_id) as exp:
            for i, s in enumerate(folds):
                exp.log_metric("cv_accuracy", float(s), step=i)
            exp.log_metric("accuracy", float(np.mean(folds)))
            exp.save_model(model.fit(X, y), "model")
            # The spec asks for explainability: a real permutation importance, recorded as an artifact.
            from sklearn.inspection import permutation_importance
            imp = permutation_importance(model, X, y, n_repeats=3, random_state=0)
            rows = "".join("f%d,%r\n" % (i, m) for i, m in enumerate(imp.importances_mean))
            exp.save_artifact(("feature,importance\n" + rows).encode(), "permutation_importance.csv")
        tasks = (self.root / ".specweave/increments" / inc_id / "tasks.md").read_text()
        import re
        for task in sorted(set(re.findall(r"T-\d{3}", tasks))):
            self.call("update_task", {"increment": inc_id, "task": task, "status": "completed"})
        v = self.call("validate_increment", {"increment": inc_id})
        self.assertIn(v["verdict"], ("pass", "warn"), [c for c in v["checks"] if c["status"] == "fail"])
        self.reg.register("cancer", exp)
        ev = self.reg.promote_to_production("cancer", "1.0.0", reason="first release")
        self.assertEqual((ev["forced"], ev["gates"]["increment"], ev["gates"]["failed"]), (False, inc_id, []))
        # The server derives the same holder from the file Python wrote.
        got = self.call("get_model", {"name": "cancer"})
        self.assertEqual([(s["stage"], s["version"]) for s in got["stages"]], [("production", "1.0.0")])
        np.testing.assert_array_equal(self.reg.load("cancer").predict(X), model.predict(X))

    def test_python_and_the_server_write_the_same_bytes(self):
        exp = self.train()[0]
        py = self.reg.register("from-python", exp, description="same")
        ts = self.call("register_model", {"name": "from-server", "increment": "0001-demo", "experiment": "logreg",
                                          "description": "same"})
        d = self.root / ".specweave/registry"
        py_text = (d / "from-python/versions/1.0.0.json").read_text()
        ts_text = (d / "from-server/versions/1.0.0.json").read_text()
        ts_record = json.loads(ts_text)
        # Only the model name and the time differ; the rest is byte for byte the same.
        normalise = lambda text, rec: text.replace(rec["created"], "T").replace(rec["model"], "M")
        self.assertEqual(normalise(py_text, py), normalise(ts_text, ts_record))
        self.assertEqual(ts_record["actor"], "Ada <ada@example.com>")
        # Event lines: what Python writes for the server's event is the server's line.
        for model in ("from-python", "from-server"):
            for line in (d / model / "events.jsonl").read_text().splitlines():
                self.assertEqual(event_line(json.loads(line)), line)
        # Each side reads what the other wrote and derives the same stages.
        self.call("promote_model", {"name": "from-python", "version": "1.0.0", "stage": "staging"})
        self.reg.promote("from-server", "1.0.0", "staging")
        self.assertEqual(self.reg.holder("from-python", "staging"), "1.0.0")
        listed = {m["name"]: m["stages"] for m in self.call("list_models", {})["models"]}
        self.assertEqual(listed, {"from-python": {"staging": "1.0.0"}, "from-server": {"staging": "1.0.0"}})

    def test_concurrent_writers_in_several_processes_lose_nothing(self):
        self.train()
        worker = textwrap.dedent("""
            import sys
            from specweave_ml import ModelRegistry
            reg = ModelRegistry()
            for _ in range(int(sys.argv[1])):
                reg.register("churn", "logreg", increment="0001")
                reg.promote("churn", reg.get("churn")["latest"], "staging")
        """)
        env = subprocess_env(self.root, SPECWEAVE_ACTOR="worker")
        procs = [subprocess.Popen([sys.executable, "-c", worker, "4"], env=env, stderr=subprocess.PIPE) for _ in range(3)]
        calls = [{"name": "register_model", "arguments": {"name": "churn", "increment": "0001", "experiment": "logreg"}}] * 4
        node_client = self.tmp / "client.mjs"
        from test_server_interop import CLIENT_JS
        node_client.write_text(CLIENT_JS)
        node = subprocess.run([NODE, str(node_client), str(BUNDLE), str(self.root), json.dumps(calls), "2"],
                              capture_output=True, text=True, timeout=300)
        for p in procs:
            _, err = p.communicate(timeout=300)
            self.assertEqual(p.returncode, 0, err.decode())
        self.assertEqual(node.returncode, 0, node.stdout[-2000:] + node.stderr[-2000:])
        m = self.reg.get("churn")
        versions = [v["version"] for v in m["versions"]]
        self.assertEqual(len(versions), 16)
        self.assertEqual(versions, ["1.0.%d" % i for i in range(16)])
        self.assertEqual([e["seq"] for e in m["events"]], list(range(1, 29)))
        self.assertEqual(sum(e["event"] == "register" for e in m["events"]), 16)
        self.assertEqual(m["skipped_lines"], 0)
        self.assertIn(m["stages"]["staging"]["version"], versions)


if __name__ == "__main__":
    unittest.main()
