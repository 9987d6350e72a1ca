import json
import math
import pickle
import unittest
from unittest import mock

from helpers import ProjectTestCase
from specweave_ml import FormatError, InvalidNameError, read_experiment, track_experiment
from specweave_ml._jsonfmt import loads_lenient
import specweave_ml.tracking as tracking
import specweave_ml._project as project


class Clock:
    """now_iso() stand-in: returns 2026-11-26T10:00:<second>.000Z; tests move ``second`` forward."""

    def __init__(self):
        self.second = 0

    def __call__(self):
        return "2026-11-26T10:00:%02d.000Z" % self.second


def fixed_clock():
    return Clock()


class ExactFilesTest(ProjectTestCase):
    def test_files_written_byte_exactly(self):
        clock = fixed_clock()
        env = {"platform": "linux-x64", "python": "3.11.7", "scikit-learn": "1.2.1"}
        git = {"commit": "3f2c1e0", "branch": "main", "dirty": False}
        with mock.patch.object(tracking, "now_iso", clock), mock.patch.object(project, "now_iso", clock), \
                mock.patch.object(tracking, "environment_info", lambda: dict(env)), \
                mock.patch.object(tracking, "git_info", lambda root: dict(git)):
            with track_experiment("random-forest", params={"n_estimators": 300, "max_depth": 6.0},
                                  tags=["candidate"]) as exp:
                clock.second = 1
                exp.log_metric("accuracy", 0.93)
                clock.second = 2
                exp.log_metric("val_loss", 0.5, step=0)
                clock.second = 3
                exp.log_metric("val_loss", float("nan"), step=1)
                clock.second = 4
                exp.log_note("max_depth 8 overfits; 6 is the sweet spot")
                clock.second = 5
                exp.save_artifact(b"hello", "notes/readme.txt")
                clock.second = 7
        d = self.exp_dir("random-forest")
        self.assertEqual((d / "params.json").read_text(encoding="utf-8"),
                         '{\n  "max_depth": 6,\n  "n_estimators": 300\n}\n')
        self.assertEqual((d / "metrics.json").read_text(encoding="utf-8"),
                         '{\n  "accuracy": 0.93,\n  "val_loss": "NaN"\n}\n')
        self.assertEqual((d / "history.jsonl").read_text(encoding="utf-8"),
                         '{"metric":"val_loss","value":0.5,"step":0,"timestamp":"2026-11-26T10:00:02.000Z"}\n'
                         '{"metric":"val_loss","value":"NaN","step":1,"timestamp":"2026-11-26T10:00:03.000Z"}\n')
        self.assertEqual((d / "metadata.yaml").read_text(encoding="utf-8"), '''name: "random-forest"
status: "completed"
baseline: false
tags:
  - "candidate"
notes:
  - time: "2026-11-26T10:00:04.000Z"
    text: "max_depth 8 overfits; 6 is the sweet spot"
created: "2026-11-26T10:00:00.000Z"
started: "2026-11-26T10:00:00.000Z"
ended: "2026-11-26T10:00:07.000Z"
duration_seconds: 7
updated: "2026-11-26T10:00:07.000Z"
git:
  branch: "main"
  commit: "3f2c1e0"
  dirty: false
environment:
  platform: "linux-x64"
  python: "3.11.7"
  "scikit-learn": "1.2.1"
artifacts:
  - path: "notes/readme.txt"
    bytes: 5
    sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
source:
  tool: "python"
''')
        self.assertEqual((d / "notes" / "readme.txt").read_bytes(), b"hello")
        self.assertEqual(sorted(p.name for p in d.iterdir()),
                         ["history.jsonl", "metadata.yaml", "metrics.json", "notes", "params.json"])
        inc_meta = json.loads((self.inc / "metadata.json").read_text(encoding="utf-8"))
        self.assertEqual(inc_meta["status"], "active")


class MergeTest(ProjectTestCase):
    def test_params_and_metrics_merge_and_keep_foreign_keys(self):
        d = self.exp_dir("exp")
        d.mkdir(parents=True)
        (d / "params.json").write_text('{"from_server": 1, "lr": 0.5}\n')
        (d / "metrics.json").write_text('\ufeff{"old": NaN, "acc": 0.1}\r\n')
        (d / "metadata.yaml").write_text('name: exp\ncustom_key: {a: 1}\ntags: [server]\nsource:\n  tool: mcp\n'
                                         'environment:\n  node: v20.0.0\n  platform: linux-x64\n')
        with track_experiment("exp", params={"lr": 0.1}, tags=["python", "server"]) as exp:
            exp.log_params({"depth": 3, "tuple": (1, 2), "inf": math.inf})
            exp.log_param("lr", 0.2)
            exp.log_metrics({"acc": 0.9, "f1": 0.8})
            exp.add_tag("python")
            exp.add_tag("late")
        r = read_experiment("exp")
        self.assertEqual(r["params"], {"from_server": 1, "lr": 0.2, "depth": 3, "tuple": [1, 2], "inf": "Infinity"})
        self.assertEqual(r["metrics"]["acc"], 0.9)
        self.assertEqual(r["metrics"]["f1"], 0.8)
        self.assertTrue(math.isnan(r["metrics"]["old"]))
        self.assertEqual(json.loads((d / "metrics.json").read_text())["old"], "NaN")
        meta = r["metadata"]
        self.assertEqual(meta["tags"], ["server", "python", "late"])
        self.assertEqual(meta["custom_key"], {"a": 1})
        self.assertEqual(meta["source"], {"tool": "mcp"})
        self.assertEqual(meta["environment"]["node"], "v20.0.0")
        self.assertIn("python", meta["environment"])

    def test_reopen_keeps_created_started_and_the_duration_so_far(self):
        clock = fixed_clock()
        with mock.patch.object(tracking, "now_iso", clock):
            with track_experiment("exp") as exp:
                exp.log_metric("a", 1)
                clock.second = 5
            self.assertEqual(read_experiment("exp")["metadata"]["duration_seconds"], 5)
            clock.second = 20
            with track_experiment("exp", baseline=True) as exp:
                running = read_experiment("exp")["metadata"]
                self.assertEqual(running["status"], "running")
                self.assertIsNone(running["ended"])
                self.assertEqual(running["duration_seconds"], 5)  # the first session's time is not lost
                exp.log_metric("b", 2)
                clock.second = 23
        meta = read_experiment("exp")["metadata"]
        self.assertEqual(meta["created"], "2026-11-26T10:00:00.000Z")
        self.assertEqual(meta["started"], "2026-11-26T10:00:00.000Z")
        self.assertEqual(meta["ended"], "2026-11-26T10:00:23.000Z")
        self.assertEqual(meta["duration_seconds"], 8)  # 5 s + 3 s, not the 15 s idle in between
        self.assertIs(meta["baseline"], True)
        self.assertEqual(read_experiment("exp")["metrics"], {"a": 1, "b": 2})


class HistoryTest(ProjectTestCase):
    def test_summary_is_highest_step_ties_latest(self):
        with track_experiment("h") as exp:
            exp.log_metric("loss", 3.0, step=5)
            exp.log_metric("loss", 1.0, step=2)   # lower step: summary stays
            self.assertEqual(exp.read()["metrics"]["loss"], 3.0)
            exp.log_metric("loss", 0.7)           # explicit summary without a step
            self.assertEqual(exp.read()["metrics"]["loss"], 0.7)
            exp.log_metric("loss", 4.0, step=5)   # tie on the highest step: the latest wins
            self.assertEqual(exp.read()["metrics"]["loss"], 4.0)
            exp.log_metrics({"loss": 2.0, "acc": 0.5}, step=6)
        r = read_experiment("h")
        self.assertEqual(r["metrics"], {"loss": 2.0, "acc": 0.5})
        self.assertEqual([(p["metric"], p["value"], p["step"]) for p in r["history"]],
                         [("loss", 3.0, 5), ("loss", 1.0, 2), ("loss", 4.0, 5), ("loss", 2.0, 6), ("acc", 0.5, 6)])

    def test_points_from_other_writers_count(self):
        d = self.exp_dir("h")
        d.mkdir(parents=True)
        # another writer's points, plus a line cut short by a crash (no newline at the end)
        (d / "history.jsonl").write_text('{"metric":"loss","value":0.1,"step":9,"timestamp":"t"}\n'
                                         'not json\n{"metric":"loss","val')
        with track_experiment("h") as exp:
            exp.log_metric("loss", 0.5, step=3)
            self.assertEqual(exp.read()["metrics"]["loss"], 0.1)
        text = (d / "history.jsonl").read_text()
        self.assertTrue(text.endswith('{"metric":"loss","val\n{"metric":"loss","value":0.5,"step":3,'
                                      '"timestamp":"%s"}\n' % read_experiment("h")["history"][1]["timestamp"]))
        self.assertEqual(read_experiment("h")["history_skipped"], 2)

    def test_non_finite_values_are_recorded(self):
        with track_experiment("nan") as exp:
            exp.log_metric("loss", float("nan"))
            exp.log_metric("grad", float("inf"), step=0)
            exp.log_metric("neg", -math.inf)
            exp.log_metric("s", "NaN")
        d = self.exp_dir("nan")
        self.assertEqual(loads_lenient((d / "metrics.json").read_bytes()),
                         {"grad": "Infinity", "loss": "NaN", "neg": "-Infinity", "s": "NaN"})
        self.assertIn('"value":"Infinity"', (d / "history.jsonl").read_text())

    def test_bad_values_and_steps(self):
        with track_experiment("bad") as exp:
            for value in ("high", None, True, [1]):
                with self.assertRaises(TypeError):
                    exp.log_metric("x", value)
            with self.assertRaises(ValueError):
                exp.log_metric("x", 1, step=-1)
            with self.assertRaises(ValueError):
                exp.log_metric("x", 1, step=1.5)
            exp.log_metric("x", 1, step=2.0)


class LifecycleTest(ProjectTestCase):
    def test_exception_marks_failed_keeps_traceback_and_reraises(self):
        def boom():
            raise ValueError("diverged at epoch 3")

        with self.assertRaises(ValueError):
            with track_experiment("fails") as exp:
                exp.log_metric("loss", 1.0, step=0)
                boom()
        meta = read_experiment("fails")["metadata"]
        self.assertEqual(meta["status"], "failed")
        self.assertIsNotNone(meta["ended"])
        self.assertIsInstance(meta["duration_seconds"], (int, float))
        note = meta["notes"][-1]["text"]
        self.assertIn("ValueError: diverged at epoch 3", note)
        self.assertIn("in boom", note)
        self.assertEqual(read_experiment("fails")["metrics"]["loss"], 1.0)
        self.assertEqual(exp.status, "failed")

    def test_keyboard_interrupt_is_killed(self):
        with self.assertRaises(KeyboardInterrupt):
            with track_experiment("ctrl-c"):
                raise KeyboardInterrupt()
        self.assertEqual(read_experiment("ctrl-c")["metadata"]["status"], "killed")

    def test_running_then_completed_and_set_status(self):
        with track_experiment("s") as exp:
            meta = read_experiment("s")["metadata"]
            self.assertEqual(meta["status"], "running")
            self.assertIsNone(meta["ended"])
            self.assertIsNone(meta["duration_seconds"])
        self.assertEqual(read_experiment("s")["metadata"]["status"], "completed")
        with track_experiment("k") as exp:
            exp.set_status("killed")
            self.assertEqual(read_experiment("k")["metadata"]["status"], "killed")
        self.assertEqual(read_experiment("k")["metadata"]["status"], "killed")
        with track_experiment("x") as exp:
            with self.assertRaises(ValueError):
                exp.set_status("done")
        with self.assertRaises(RuntimeError):
            exp.log_metric("late", 1)

    def test_invalid_names(self):
        for name in ("", "../x", "a..b", ".hidden", "_x", "a/b", "x" * 101):
            with self.assertRaises(InvalidNameError):
                track_experiment(name)


class ArtifactTest(ProjectTestCase):
    def test_copy_refresh_and_model(self):
        src = self.tmp / "report.txt"
        src.write_text("v1")
        with track_experiment("art") as exp:
            exp.save_artifact(src)
            src.write_text("version 2")
            exp.save_artifact(str(src), "report.txt")
            p = exp.save_model({"weights": [1, 2, 3]}, "model.pkl")
            with self.assertRaises(InvalidNameError):
                exp.save_artifact(b"x", "../escape.txt")
            with self.assertRaises(InvalidNameError):
                exp.save_artifact(b"x", "metrics.json")
            with self.assertRaises(InvalidNameError):
                exp.save_artifact(b"x", ".lock")
        arts = read_experiment("art")["metadata"]["artifacts"]
        self.assertEqual([a["path"] for a in arts], ["report.txt", "model.pkl"])
        self.assertEqual(arts[0]["bytes"], 9)
        with open(p, "rb") as f:
            self.assertEqual(pickle.load(f), {"weights": [1, 2, 3]})
        self.assertEqual(arts[1]["bytes"], p.stat().st_size)


class CorruptFileTest(ProjectTestCase):
    def test_unreadable_yaml_is_not_clobbered(self):
        d = self.exp_dir("c")
        d.mkdir(parents=True)
        bad = "name: c\nnotes: &a [x]\n"
        (d / "metadata.yaml").write_text(bad)
        with self.assertRaises(FormatError) as cm:
            with track_experiment("c"):
                pass
        self.assertIn("metadata.yaml", str(cm.exception))
        self.assertIn("line 2", str(cm.exception))
        self.assertEqual((d / "metadata.yaml").read_text(), bad)
        self.assertFalse((d / ".lock").exists())

    def test_unreadable_json_is_not_clobbered(self):
        with track_experiment("j") as exp:
            (self.exp_dir("j") / "params.json").write_text("{broken")
            with self.assertRaises(FormatError) as cm:
                exp.log_param("a", 1)
            self.assertIn("params.json", str(cm.exception))
            (self.exp_dir("j") / "params.json").write_text("{}")
        self.assertEqual((self.exp_dir("j") / "params.json").read_text(), "{}")


if __name__ == "__main__":
    import unittest
    unittest.main()
