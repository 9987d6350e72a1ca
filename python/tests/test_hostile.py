"""The hostile repository against the Python client, as a table: every writing (and reading) call of the client x
a symbolic link planted at each place it reads or writes x a link to an outside file and to an outside folder, each
holding a unique secret token in a form the reader of that place would parse. For every case: nothing outside the
project changed, the token is in no return value, exception or warning, and in no file of the project.

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
from specweave_ml import configure_mlflow, read_experiment, track_experiment

try:
    import sklearn  # noqa: F401
    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False

INC = ".specweave/increments/0001-demo"
EXP = INC + "/experiments/exp"
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
}
if HAVE_SKLEARN:
    OPERATIONS["track_cross_validation"] = _cross_validation


def token_content(name: str, token: str) -> str:
    when = "2026-01-01T00:00:00.000Z"
    owner = json.dumps({"host": socket.gethostname(), "pid": 2147480000, "time": when, "token": token}) + "\n"
    return {
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


def scratch_base() -> str:
    """In memory where the machine has it: the table makes a few thousand small files."""
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()


class HostileClientTable(unittest.TestCase):
    verdicts = []

    @classmethod
    def setUpClass(cls):
        cls.work = Path(tempfile.mkdtemp(prefix="swml-hostile-py-", dir=scratch_base())).resolve()
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)  # also when setUpClass fails
        cls.template = cls.work / "template"
        cls.template.mkdir()
        make_increment(cls.template, "0001-demo", status="active")
        with mock.patch.dict(os.environ, {"SPECWEAVE_ROOT": str(cls.template)}):
            with track_experiment("exp", increment="0001", params={"depth": 2}, tags=["first"]) as exp:
                exp.log_metric("acc", 0.8)
                exp.log_metric("loss", 0.5, step=0)
                exp.save_model({"w": 1}, "model.pkl")
                exp.save_artifact(b"first report", "report.txt")
            configure_mlflow("0001")
            if HAVE_SKLEARN:
                _cross_validation()
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

        escapes = []
        said = ""
        with mock.patch.dict(os.environ, {"SPECWEAVE_ROOT": str(root), "MLFLOW_TRACKING_URI": ""}):
            os.environ.pop("SPECWEAVE_INCREMENT", None)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    said = repr(OPERATIONS[op_name]())
                except Exception as e:  # a refusal is fine; what it says is checked below
                    said = "%s: %s" % (type(e).__name__, e)
                said += " ".join(str(w.message) for w in caught)
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

    def test_the_judge_sees_a_client_that_follows_links(self):
        """The checks above can fail: a writer that follows the link, and a reader that returns the secret, are caught."""
        global OPERATIONS
        saved = dict(OPERATIONS)
        OPERATIONS = {
            "follows": lambda: open(os.path.join(os.environ["SPECWEAVE_ROOT"], EXP, "history.jsonl"), "a").write("x\n"),
            "leaks": lambda: open(os.path.join(os.environ["SPECWEAVE_ROOT"], EXP, "params.json")).read(),
        }
        try:
            kept = list(self.verdicts)
            self.assertTrue(self.run_case(EXP + "/history.jsonl", "file", "file", "follows")[0].startswith("outside modified"))
            self.assertTrue(self.run_case(EXP + "/params.json", "file", "file", "leaks")[0].startswith("token in the result"))
            self.verdicts[:] = kept
        finally:
            OPERATIONS = saved


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
