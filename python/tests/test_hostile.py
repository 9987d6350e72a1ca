"""The hostile repository against the Python client, as a table: every writing (and reading) call of the client x
a symbolic link planted at each place it reads or writes x a link to an outside file and to an outside folder, each
holding a unique secret token in a form the reader of that place would parse. For every case: nothing outside the
project changed, the token is in no return value, exception or warning, and in no file of the project; a refusal is
a SpecweaveError (SandboxError for the link itself), never an OSError or a library's own exception; a call that
only reads changes no file of the project, and a refused all-or-nothing call (explain, the registry's writes,
export_experiments) leaves the project's files as they were. The calls cover the tracking API, explain, the model
registry, export_experiments, record_load_test, the input schema and the MLflow tracking store (in this process,
after configure_mlflow); the controls run each call on the template with nothing planted, where it must succeed.

The figures (cases tried, escapes) go to .test-results/security/python-client.json and into the total in
.test-results/security.json, quoted by docs/security.md. test_sandbox.py checks the messages of each refusal; this
file checks that no combination escapes.
"""

import json
import os
import secrets
import shutil
import socket
import sys
import tempfile
import time
import unittest
import warnings
from pathlib import Path
from unittest import mock

from helpers import PYTHON_DIR, make_increment
from specweave_ml import (ModelRegistry, SpecweaveError, configure_mlflow, export_experiments, read_experiment,
                          record_load_test, run_load_test, track_experiment)

try:
    import sklearn  # noqa: F401
    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False
try:
    import matplotlib  # noqa: F401
    matplotlib.use("Agg")
    HAVE_EXPLAIN = HAVE_SKLEARN
except ImportError:
    HAVE_EXPLAIN = False
try:
    import mlflow  # noqa: F401
    HAVE_MLFLOW = True
except ImportError:
    HAVE_MLFLOW = False
# Printed once, so a run without the libraries says which rows of the table it left out (and why).
SKIPPED = [why for have, why in (
    (HAVE_SKLEARN, "track_cross_validation, explain, save_model(input_example), log_input_schema: scikit-learn is not installed"),
    (HAVE_EXPLAIN or not HAVE_SKLEARN, "explain: matplotlib is not installed"),
    (HAVE_MLFLOW, "the MLflow tracking store (start_run/log_metric/log_param/log_artifact): mlflow is not installed"),
) if not have]

INC = ".specweave/increments/0001-demo"
EXP = INC + "/experiments/exp"
MODEL = ".specweave/registry/churn"
LOAD_TEST = INC + "/experiments/load-test-hostile"
RESULTS = PYTHON_DIR.parent / ".test-results" / "security"

# (place, kind): every place the client reads or writes (docs/format.md, python/specweave_ml/_fs.py).
PLACEMENTS = [
    (".specweave", "dir"),
    (".specweave/.gitignore", "file"),
    (".specweave/increments", "dir"),
    (INC, "dir"),
    (INC + "/metadata.json", "file"),
    (INC + "/.lock", "file"),
    (INC + "/experiments", "dir"),
    (EXP, "dir"),
    (EXP + "/params.json", "file"),
    (EXP + "/metrics.json", "file"),
    (EXP + "/metadata.yaml", "file"),
    (EXP + "/history.jsonl", "file"),
    (EXP + "/.lock", "file"),
    (EXP + "/model.pkl", "file"),
    (EXP + "/report.txt", "file"),
    (INC + "/experiments/logistic-regression", "dir"),
    # Crash leftovers of a dead writer (pid above Linux's pid_max, two hours old), where the client cleans up.
    (EXP + "/.metrics.json.4194303.deadbeef.tmp", "file"),
    (EXP + "/.lock.deadbeef.stale", "file"),
    (INC + "/experiments/.staging-4194303-feedface/inner", "dir"),
    # The files of today's APIs: the model registry, the export, the input schema, the explanation, a load test.
    (".specweave/registry", "dir"),
    (MODEL, "dir"),
    (MODEL + "/versions", "dir"),
    (MODEL + "/versions/1.0.0.json", "file"),
    (MODEL + "/events.jsonl", "file"),
    (MODEL + "/.lock", "file"),
    (INC + "/experiments/export.csv", "file"),
    (EXP + "/input_schema.json", "file"),
    (EXP + "/explain", "dir"),
    (EXP + "/explain/permutation_importance.svg", "file"),
    (LOAD_TEST, "dir"),
]
LEFTOVER = (".tmp", ".stale", "/inner")


def _cross_validation():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from specweave_ml import track_cross_validation
    X, y = load_iris(return_X_y=True)
    return track_cross_validation(LogisticRegression(max_iter=200), X, y, cv=3, increment="0001")


def _run(action):
    with track_experiment("exp", increment="0001") as exp:
        return action(exp)


def _small_model():
    """A fitted scikit-learn model and its data: small, so explain takes a fraction of a second."""
    if "model" not in _SMALL:
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        rng = np.random.RandomState(0)
        X = rng.rand(30, 3)
        y = (X[:, 0] + 0.3 * rng.rand(30) > 0.6).astype(int)
        _SMALL.update(model=LogisticRegression().fit(X, y), X=X, y=y)
    return _SMALL["model"], _SMALL["X"], _SMALL["y"]


_SMALL = {}


def _explain():
    from specweave_ml import explain
    model, X, y = _small_model()
    return explain(model, X, y, experiment="exp", increment="0001", n_repeats=2, top_k=2, pd_features=1,
                   shap_rows=10, background=10, formats=("svg",))


def _load_test_result():
    """A real load test against a local HTTP server, run once: record_load_test then records it at every case."""
    if "result" not in _SMALL:
        import http.server
        import threading

        class Ok(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            _SMALL["result"] = run_load_test("http://127.0.0.1:%d/predict" % server.server_address[1], requests=5,
                                             concurrency=1)
        finally:
            server.shutdown()
            server.server_close()
    return _SMALL["result"]


def _mlflow_run(resume: bool):
    """The MLflow tracking store, in this process: configure_mlflow, then a run (a new one, or the run of ``exp``
    resumed by its run id) logging a metric, a param and an artifact from outside the project (the user's file)."""
    import mlflow
    from specweave_ml.mlflow_store import run_id_of
    mlflow.set_tracking_uri(configure_mlflow("0001"))
    kwargs = {"run_id": run_id_of("0001-demo", "exp")} if resume else {"run_name": "mlflow-run"}
    with mlflow.start_run(**kwargs) as run:
        mlflow.log_metric("acc", 0.75, step=3)
        mlflow.log_param("seed", 7)
        mlflow.log_artifact(str(_SMALL["artifact_input"]))
        return run.info.run_id


def _registry(call):
    return lambda: call(ModelRegistry())


# name -> call; each touches the places above as a training script would.
OPERATIONS = {
    "track_experiment": lambda: _run(lambda exp: None),
    "track_experiment(params)": lambda: track_experiment("exp", increment="0001", params={"lr": 0.1}, tags=["t"]).__enter__().end(),
    "log_metric": lambda: _run(lambda exp: exp.log_metric("acc", 0.9)),
    "log_metric(step)": lambda: _run(lambda exp: exp.log_metric("loss", 0.4, step=7)),
    "log_params": lambda: _run(lambda exp: exp.log_params({"depth": 3, "nested": {"a": 1}})),
    "log_note+add_tag": lambda: _run(lambda exp: (exp.log_note("again"), exp.add_tag("again"))),
    "save_model": lambda: _run(lambda exp: exp.save_model({"weights": [1, 2]}, "model.pkl")),
    "save_artifact(bytes)": lambda: _run(lambda exp: exp.save_artifact(b"report", "report.txt")),
    "read_experiment": lambda: read_experiment("exp", increment="0001"),
    "configure_mlflow": lambda: configure_mlflow("0001"),
    "registry.register": _registry(lambda r: r.register("churn", "exp", increment="0001", description="again")),
    "registry.promote": _registry(lambda r: r.promote("churn", "1.0.0", "staging", reason="back")),
    "registry.rollback_to": _registry(lambda r: r.rollback_to("churn", stage="staging", reason="bad")),
    "registry.get": _registry(lambda r: r.get("churn")),
    "registry.list": _registry(lambda r: r.list()),
    "registry.load": _registry(lambda r: r.load("churn", stage="staging")),
    "export_experiments(csv)": lambda: export_experiments("0001", "csv"),
    "record_load_test": lambda: record_load_test(_load_test_result(), increment="0001", name="load-test-hostile",
                                                 params={"model_name": "churn"}).read(),
}
if HAVE_SKLEARN:
    OPERATIONS["track_cross_validation"] = _cross_validation
    OPERATIONS["save_model(input_example)"] = lambda: _run(lambda exp: exp.save_model(
        _small_model()[0], "model.pkl", input_example=_small_model()[1]))
    OPERATIONS["log_input_schema"] = lambda: _run(lambda exp: exp.log_input_schema(_small_model()[1], _small_model()[0]))
if HAVE_EXPLAIN:
    OPERATIONS["explain"] = _explain
if HAVE_MLFLOW:
    OPERATIONS["mlflow(new run)"] = lambda: _mlflow_run(resume=False)
    OPERATIONS["mlflow(resume exp)"] = lambda: _mlflow_run(resume=True)

# Calls that promise all or nothing: refused, they leave the project's files as they were (locks aside).
ALL_OR_NOTHING = {"registry.register", "registry.promote", "registry.rollback_to", "export_experiments(csv)",
                  "explain"}
# Calls that only read: they leave the project's files as they were whatever happens.
READ_ONLY = {"read_experiment", "registry.get", "registry.list", "registry.load"}


# The registry's files as the template has them (filled by setUpClass): a planted copy carries the secret in a
# field the reader accepts (a version record's description, an event's reason), so a reader that follows would parse it.
REGISTRY_FILES = {}


def token_content(name: str, token: str) -> str:
    when = "2026-01-01T00:00:00.000Z"
    owner = json.dumps({"host": socket.gethostname(), "pid": 2147480000, "time": when, "token": token}) + "\n"
    if name in REGISTRY_FILES and name.endswith(".json"):
        return json.dumps(dict(REGISTRY_FILES[name], description=token))
    if name == "events.jsonl" and name in REGISTRY_FILES:
        return "".join(json.dumps(dict(e, reason=token)) + "\n" for e in REGISTRY_FILES[name])
    return {
        "input_schema.json": json.dumps({"features": [{"name": token, "dtype": "float64"}], "example": [token]}),
        "params.json": json.dumps({"api_key": token}),
        "metrics.json": json.dumps({token: 0.5}),
        "metadata.yaml": 'name: "exp"\nstatus: "completed"\ntags:\n  - "%s"\nnotes:\n  - time: "%s"\n    text: "%s"\n' % (token, when, token),
        "history.jsonl": '{"metric":"%s","value":1,"step":0,"timestamp":"%s"}\n' % (token, when),
        "metadata.json": json.dumps({"id": "0001-demo", "status": "active", "title": token, "type": "feature"}),
        ".lock": owner,
    }.get(name, "%s\n" % token)


def tokenize_tree(folder: Path, token: str) -> None:
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            (Path(dirpath) / name).write_text(token_content(name, token))


def snapshot(folder: Path) -> dict:
    """Every entry under ``folder``, links not followed, with its type and content."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            rel = str(p.relative_to(folder))
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = ("dir", p.lstat().st_mode)
            else:
                out[rel] = ("file", p.lstat().st_mode, p.read_bytes())
    return out


def files_with_token(root: Path, token: str, skip: Path) -> list:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == skip or skip in Path(dirpath).parents:
            continue
        for name in filenames:
            p = Path(dirpath) / name
            if not p.is_symlink() and token.encode() in p.read_bytes():
                found.append(str(p.relative_to(root)))
    return found


def project_files(root: Path, skip: Path) -> dict:
    """The project's files and links (not folders, locks or a dead writer's leftovers) with their content."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == skip or skip in Path(dirpath).parents or "/.staging-" in dirpath:
            continue
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if name.endswith((".lock", ".tmp", ".stale")) or (p.is_dir() and not p.is_symlink()):
                continue
            out[str(p.relative_to(root))] = ("link", os.readlink(p)) if p.is_symlink() else p.read_bytes()
    return out


def scratch_base() -> str:
    """In memory where the machine has it: the table makes a few thousand small files."""
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()


class HostileClientTable(unittest.TestCase):
    verdicts = []

    @classmethod
    def setUpClass(cls):
        try:  # one BLAS thread: on a busy machine, threads spinning for a 30-row fit cost more than the fit
            from threadpoolctl import threadpool_limits
            cls.addClassCleanup(threadpool_limits(limits=1).restore_original_limits)
        except ImportError:
            pass
        cls.work = Path(tempfile.mkdtemp(prefix="swml-hostile-py-", dir=scratch_base())).resolve()
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)  # also when setUpClass fails
        cls.template = cls.work / "template"
        cls.template.mkdir()
        make_increment(cls.template, "0001-demo", status="active")
        user_input = cls.work / "user-input"
        user_input.mkdir()
        _SMALL["artifact_input"] = user_input / "notes.txt"
        _SMALL["artifact_input"].write_text("a file the user logs with mlflow.log_artifact\n")
        with mock.patch.dict(os.environ, {"SPECWEAVE_ROOT": str(cls.template), "SPECWEAVE_ACTOR": "hostile-table"}):
            with track_experiment("exp", increment="0001", params={"depth": 2}, tags=["first"]) as exp:
                exp.log_metric("acc", 0.8)
                exp.log_metric("loss", 0.5, step=0)
                exp.save_model({"w": 1}, "model.pkl")
                exp.save_artifact(b"first report", "report.txt")
                exp.log_input_schema([[0.1, 0.2, 0.3]])
                if not HAVE_EXPLAIN:  # the placements stay the same whichever libraries are installed
                    exp.save_artifact(b"<svg/>", "explain/permutation_importance.svg")
            configure_mlflow("0001")
            if HAVE_SKLEARN:
                _cross_validation()
            else:  # the same place, made by hand: the table's places do not depend on the libraries installed
                with track_experiment("logistic-regression", increment="0001", tags=["cross-validation"]) as cv:
                    cv.log_metric("cv_accuracy_mean", 0.9)
            if HAVE_EXPLAIN:
                _explain()
            record_load_test(_load_test_result(), increment="0001", name="load-test-hostile")
            registry = ModelRegistry()
            registry.register("churn", "exp", increment="0001")
            registry.register("churn", "exp", increment="0001")
            registry.promote("churn", "1.0.0", "staging")
            registry.promote("churn", "1.0.1", "staging")
            export_experiments("0001", "csv")
        versions = cls.template / MODEL / "versions"
        REGISTRY_FILES.update({f.name: json.loads(f.read_text()) for f in versions.glob("*.json")})
        REGISTRY_FILES["events.jsonl"] = [json.loads(line) for line in (cls.template / MODEL / "events.jsonl").read_text().splitlines()]
        if SKIPPED:
            sys.stderr.write("test_hostile.py leaves out: %s\n" % "; ".join(SKIPPED))
        for place, _ in PLACEMENTS:
            if not (cls.template / place).exists() and not place.endswith(".lock") and not place.endswith(LEFTOVER):
                raise AssertionError("the template lacks %s: the placement table is out of date" % place)

    @classmethod
    def tearDownClass(cls):
        write_figures(cls.verdicts)

    def run_case(self, place: str, kind: str, target: str, op_name: str) -> list:
        case = Path(tempfile.mkdtemp(prefix="case-", dir=self.work))
        root = case / "project"
        shutil.copytree(self.template, root, symlinks=True)
        # "project": a target inside the project but outside .specweave, which is as much out of bounds.
        outside = root / "elsewhere" if target == "project" else case / "outside"
        outside.mkdir()
        shape = ("file" if kind == "file" else "folder") if target == "project" else target
        token = "SWSECRET" + secrets.token_hex(8)
        at = root / place
        if shape == "file":
            link_to = outside / "secret"
            link_to.write_text(token_content(at.name, token) if kind == "file" else token + "\n")
        else:
            link_to = outside / "folder"
            if kind == "dir" and at.is_dir():
                shutil.copytree(at, link_to, symlinks=True)
                tokenize_tree(link_to, token)
            else:
                link_to.mkdir()
                (link_to / "secret.txt").write_text(token + "\n")
        if at.is_dir() and not at.is_symlink():
            shutil.rmtree(at)
        elif at.exists() or at.is_symlink():
            at.unlink()
        at.parent.mkdir(parents=True, exist_ok=True)
        at.symlink_to(link_to)
        if place.endswith(LEFTOVER):
            past = time.time() - 7200
            os.utime(at, (past, past), follow_symlinks=False)
            os.utime(link_to, (past, past))
            if at.parent.name.startswith(".staging-"):
                os.utime(at.parent, (past, past))
        before = snapshot(outside)
        files_before = project_files(root, outside)

        escapes = []
        said = ""
        refused = None
        env = {"SPECWEAVE_ROOT": str(root), "MLFLOW_TRACKING_URI": "", "SPECWEAVE_ACTOR": "hostile-table"}
        with mock.patch.dict(os.environ, env):
            os.environ.pop("SPECWEAVE_INCREMENT", None)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    said = repr(OPERATIONS[op_name]())
                except Exception as e:  # a refusal is fine; what it says is checked below
                    refused = e
                    said = "%s: %s" % (type(e).__name__, e)
                said += " ".join(str(w.message) for w in caught)
        if refused is not None and not isinstance(refused, SpecweaveError):
            escapes.append("refused with %s, not a SpecweaveError: %s" % (type(refused).__name__, said[:200]))
        if op_name in READ_ONLY or (refused is not None and op_name in ALL_OR_NOTHING):
            after = project_files(root, outside)
            touched = sorted(k for k in set(files_before) | set(after) if files_before.get(k) != after.get(k))
            if touched:
                escapes.append("%s changed the project: %s" % (
                    "a read" if op_name in READ_ONLY else "a refused all-or-nothing call", ", ".join(touched[:5])))
        changed = sorted(k for k in set(before) | set(snapshot(outside)) if before.get(k) != snapshot(outside).get(k))
        if changed:
            escapes.append("outside modified: " + ", ".join(changed[:5]))
        if token in said:
            escapes.append("token in the result, exception or warning: " + said[max(0, said.index(token) - 80):][:160])
        if str(outside) in said:  # refusals name the link, never where it points
            escapes.append("link target in the result, exception or warning: " + said[max(0, said.index(str(outside)) - 80):][:200])
        copied = files_with_token(root, token, outside)
        if copied:
            escapes.append("token copied into the project: " + ", ".join(copied))
        shutil.rmtree(case, ignore_errors=True)
        self.verdicts.append({"operation": op_name, "placement": place, "target": target, "escapes": escapes})
        return escapes

    def test_no_placement_escapes(self):
        escaped = []
        for place, kind in PLACEMENTS:
            # A .specweave link inside the project is allowed by design (the store then lives at its target).
            for target in ("file", "folder") + (("project",) if place != ".specweave" else ()):
                for op_name in OPERATIONS:
                    with self.subTest(operation=op_name, placement=place, target=target):
                        escapes = self.run_case(place, kind, target, op_name)
                        if escapes:
                            escaped.append((op_name, place, target, escapes))
                        self.assertEqual(escapes, [])
        self.assertGreater(len(self.verdicts), 0)

    def test_every_call_succeeds_without_a_link(self):
        """The controls: on the template with nothing planted, every call succeeds, so a refusal in a case above is
        the link's doing (and a call that always failed would prove nothing)."""
        for op_name, call in OPERATIONS.items():
            with self.subTest(operation=op_name):
                root = Path(tempfile.mkdtemp(prefix="control-", dir=self.work)) / "project"
                shutil.copytree(self.template, root, symlinks=True)
                env = {"SPECWEAVE_ROOT": str(root), "MLFLOW_TRACKING_URI": "", "SPECWEAVE_ACTOR": "hostile-table"}
                with mock.patch.dict(os.environ, env), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    os.environ.pop("SPECWEAVE_INCREMENT", None)
                    call()
                shutil.rmtree(root.parent, ignore_errors=True)

    @unittest.skipUnless(HAVE_MLFLOW, "mlflow is not installed (run under .venv-test/bin/python)")
    def test_mlflow_artifacts_stay_in_the_project_configured_now(self):
        """Two projects in one process, the same increment and run name, so the same run id: MLflow caches artifact
        repositories by run id for the whole process, and the second project's log_artifact once wrote into the
        first project. Now each file lands in the project configured when its run started."""
        import mlflow
        roots = []
        for label in ("first", "second"):
            root = Path(tempfile.mkdtemp(prefix="mlflow-%s-" % label, dir=self.work)) / "project"
            make_increment(root, "0001-demo", status="active")
            roots.append(root)
            with mock.patch.dict(os.environ, {"SPECWEAVE_ROOT": str(root), "MLFLOW_TRACKING_URI": ""}):
                mlflow.set_tracking_uri(configure_mlflow("0001"))
                with mlflow.start_run(run_name="same-name"):
                    mlflow.log_artifact(str(_SMALL["artifact_input"]))
        for root in roots:
            with mock.patch.dict(os.environ, {"SPECWEAVE_ROOT": str(root)}):
                artifacts = read_experiment("same-name", increment="0001")["metadata"]["artifacts"]
            self.assertEqual([a["path"] for a in artifacts], ["notes.txt"], root)
            self.assertTrue((root / INC / "experiments" / "same-name" / "notes.txt").is_file(), root)
        self.assertEqual(sorted(os.listdir(roots[0] / INC / "experiments")), ["same-name"])

    def test_the_judge_sees_a_client_that_follows_links(self):
        """The checks above can fail: a writer that follows the link, and a reader that returns the secret, are caught."""
        global OPERATIONS
        saved = dict(OPERATIONS)
        OPERATIONS = {
            "follows": lambda: open(os.path.join(os.environ["SPECWEAVE_ROOT"], EXP, "history.jsonl"), "a").write("x\n"),
            "leaks": lambda: open(os.path.join(os.environ["SPECWEAVE_ROOT"], EXP, "params.json")).read(),
            "half-done": lambda: (Path(os.environ["SPECWEAVE_ROOT"], EXP, "report.txt").write_text("half"),
                                  track_experiment("..", increment="0001")),
            "crashes": lambda: open(os.path.join(os.environ["SPECWEAVE_ROOT"], EXP, "model.pkl")).read(),
        }
        ALL_OR_NOTHING.add("half-done")
        try:
            kept = list(self.verdicts)
            self.assertTrue(self.run_case(EXP + "/history.jsonl", "file", "file", "follows")[0].startswith("outside modified"))
            self.assertTrue(self.run_case(EXP + "/params.json", "file", "file", "leaks")[0].startswith("token in the result"))
            self.assertTrue(self.run_case(EXP + "/params.json", "file", "file", "half-done")[0].startswith(
                "a refused all-or-nothing call changed the project: " + EXP + "/report.txt"))
            self.assertTrue(self.run_case(EXP + "/model.pkl", "file", "folder", "crashes")[0].startswith(
                "refused with IsADirectoryError, not a SpecweaveError"))
            self.verdicts[:] = kept
        finally:
            OPERATIONS = saved
            ALL_OR_NOTHING.discard("half-done")


def write_figures(verdicts: list) -> None:
    if not verdicts:
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    escaped = [v for v in verdicts if v["escapes"]]
    places = sorted({v["placement"] for v in verdicts})
    part = {"suite": "python-client", "placements": len(places), "placement_list": places, "cases": len(verdicts),
            "escapes": len(escaped), "escaped": escaped}
    (RESULTS / "python-client.json").write_text(json.dumps(part, indent=2) + "\n")
    parts = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    total = {
        "note": "written by test/security/*.test.ts and python/tests/test_hostile.py; quoted in docs/security.md",
        "cases": sum(p.get("cases", 0) for p in parts),
        "escapes": sum(p.get("escapes", 0) for p in parts),
        # Distinct places, per side: the stdio suite retries places the in-memory suites already counted.
        "placements": {
            "server": len({x for p in parts if p["suite"] != "python-client" for x in p.get("placement_list", [])}),
            "python_client": len({x for p in parts if p["suite"] == "python-client" for x in p.get("placement_list", [])}),
        },
        "suites": {p["suite"]: {"placements": p.get("placements"), "cases": p.get("cases"), "escapes": p.get("escapes")} for p in parts},
    }
    tmp = RESULTS.parent / (".security.%d.tmp" % os.getpid())
    tmp.write_text(json.dumps(total, indent=2) + "\n")
    os.replace(tmp, RESULTS.parent / "security.json")
    sys.stderr.write("security figures, python-client: %d cases at %d places, %d escapes; all suites: %d cases, %d escapes "
                     "(.test-results/security.json)\n" % (part["cases"], part["placements"], part["escapes"], total["cases"], total["escapes"]))


if __name__ == "__main__":
    unittest.main()
