"""configure_wandb with the real wandb library: offline runs land in the increment and become experiments when they
finish. The runs are made in a subprocess by SPECWEAVE_TEST_PYTHON (else the repository's .venv-test), which has
wandb; without it these tests skip, saying why, and SPECWEAVE_REQUIRE_PYENV=1 (CI) makes that a failure."""

import json
import os
import struct
import subprocess
import sys
import textwrap
import unittest
import zlib
from pathlib import Path
from unittest import mock

from helpers import PYTHON_DIR, ProjectTestCase, make_increment, subprocess_env
from specweave_ml import configure_wandb, read_experiment
from specweave_ml._store import read_metadata
from specweave_ml.errors import SandboxError, SpecweaveError
from specweave_ml.wandb_integration import convert_run_folder, read_run_log

TEST_PYTHON = os.environ.get("SPECWEAVE_TEST_PYTHON") or str(PYTHON_DIR.parent / ".venv-test" / "bin" / "python")
REQUIRED = os.environ.get("SPECWEAVE_REQUIRE_PYENV") == "1"


def _has_wandb() -> bool:
    if not os.path.exists(TEST_PYTHON):
        return False
    return subprocess.run([TEST_PYTHON, "-c", "import wandb"], capture_output=True).returncode == 0


HAS_WANDB = _has_wandb()
SKIP_REASON = "no wandb importable by %s (set SPECWEAVE_TEST_PYTHON)" % TEST_PYTHON

SCRIPT = textwrap.dedent('''
    import json, math, wandb
    from specweave_ml import configure_wandb

    folder = configure_wandb("1")
    run = wandb.init(project="churn", name="rf-small", tags=["baseline"], notes="first try",
                     config={"lr": 0.01, "model": {"depth": 6, "act": "relu", "sizes": [64, 32]}, "seed": 7})
    history = []
    for step in range(5):
        row = {"loss": 1.0 / (step + 1), "acc": 0.6 + step * 0.05}
        run.log(row)
        history.append(dict(row, _step=step))
    run.summary["best_acc"] = 0.95
    run.finish()

    try:
        with wandb.init(project="churn", config={"lr": 0.5}) as crashed:
            crashed.log({"loss": 4.0})
            raise ValueError("diverged")
    except ValueError:
        pass
    left = wandb.init(project="churn", config={"lr": 0.2})  # never finished: wandb's exit teardown ends it
    left.log({"loss": 0.5})
    print(json.dumps({"folder": folder, "ok": run.id, "crashed": crashed.id, "left": left.id, "history": history}))
    raise RuntimeError("uncaught at the top")
''')


class ConfigureWandbWithoutWandbTest(ProjectTestCase):
    def test_says_to_install_wandb(self):
        with mock.patch.dict(sys.modules, {"wandb": None}):
            with self.assertRaisesRegex(ImportError, "pip install wandb"):
                configure_wandb("1")
        self.assertFalse((self.inc / "experiments" / ".wandb").exists())  # nothing written


def _log_bytes(*records: bytes) -> bytes:
    """A W&B transaction log holding ``records`` (each one whole piece), framed as wandb frames it."""
    out = bytearray(b":W&B" + struct.pack("<HB", 0xBEE1, 0))
    for r in records:
        out += struct.pack("<IHB", zlib.crc32(r, zlib.crc32(b"\x01")) & 0xFFFFFFFF, len(r), 1) + r
    return bytes(out)


class RunLogReaderTest(ProjectTestCase):
    """The log reader on damaged input: it reads what it can, says what it skipped and stays in the sandbox."""

    EXIT_CODE_2 = bytes([0x92, 0x01, 0x02, 0x08, 0x02])  # Record.exit (18) = RunExitRecord{exit_code: 2}

    def _log(self, data: bytes) -> Path:
        folder = self.inc / "experiments" / ".wandb" / "wandb" / "offline-run-20260101_000000-abc"
        folder.mkdir(parents=True)
        (folder / "run-abc.wandb").write_bytes(data)
        return folder / "run-abc.wandb"

    def test_undecodable_records_are_skipped_with_a_warning(self):
        path = self._log(_log_bytes(b"\xff\xff\xff", self.EXIT_CODE_2))
        with self.assertWarnsRegex(UserWarning, "1 undecodable record skipped"):
            run = read_run_log(path)
        self.assertEqual((run["status"], run["meta"]["exitcode"]), ("failed", 2))

    def test_a_damaged_checksum_stops_the_reading(self):
        data = bytearray(_log_bytes(self.EXIT_CODE_2))
        data[7] ^= 0xFF
        with self.assertWarnsRegex(UserWarning, "damaged at byte 7"):
            run = read_run_log(self._log(bytes(data)))
        self.assertEqual(run["status"], "running")  # no exit record read: not claimed finished

    def test_a_record_cut_short_is_a_run_still_writing(self):
        run = read_run_log(self._log(_log_bytes(self.EXIT_CODE_2)[:-2]))
        self.assertEqual(run["status"], "running")

    def test_not_a_log(self):
        with self.assertRaisesRegex(SpecweaveError, "not a W&B transaction log"):
            read_run_log(self._log(b"binary log (not read)"))

    def test_a_log_outside_the_project_is_refused(self):
        with self.assertRaises(SandboxError):
            read_run_log(self.tmp / "run-abc.wandb")


@unittest.skipUnless(HAS_WANDB or REQUIRED, SKIP_REASON)
class ConfigureWandbTest(ProjectTestCase):
    def setUp(self):
        super().setUp()
        if not HAS_WANDB:
            self.fail("SPECWEAVE_REQUIRE_PYENV=1 but " + SKIP_REASON)
        env = subprocess_env(self.root, WANDB_SILENT="true", WANDB_DISABLE_CODE="true")
        env.pop("WANDB_DIR", None)
        env.pop("WANDB_MODE", None)
        done = subprocess.run([TEST_PYTHON, "-c", SCRIPT], cwd=str(self.root), env=env, capture_output=True,
                              text=True, timeout=180)
        self.assertEqual(done.returncode, 1, done.stderr[-2000:])
        self.assertIn("uncaught at the top", done.stderr)
        self.out = json.loads(done.stdout.strip().splitlines()[-1])

    def _experiment_of(self, run_id: str) -> str:
        experiments = self.inc / "experiments"
        found = [d.name for d in experiments.iterdir() if not d.name.startswith(".")
                 and read_metadata(d / "metadata.yaml").get("source", {}).get("key") == "wandb:" + run_id]
        self.assertEqual(len(found), 1, found)
        return found[0]

    def test_runs_are_written_offline_inside_the_increment(self):
        folder = Path(self.out["folder"])
        self.assertEqual(folder, (self.inc / "experiments" / ".wandb").resolve())
        runs = sorted(p.name for p in (folder / "wandb").iterdir() if p.name.startswith("offline-run-"))
        self.assertEqual(len(runs), 3)
        # offline-run-<start second>-<id>: runs started in the same second sort by their random ids
        self.assertEqual(sum(r.endswith("-" + self.out["ok"]) for r in runs), 1, runs)

    def test_a_finished_run_becomes_an_experiment(self):
        name = self._experiment_of(self.out["ok"])
        self.assertEqual(name, "rf-small")
        exp = read_experiment(name, "1")
        self.assertEqual(exp["params"], {"lr": 0.01, "model.depth": 6, "model.act": "relu", "model.sizes": [64, 32],
                                         "seed": 7})
        last = self.out["history"][-1]
        self.assertEqual(exp["metrics"], {"loss": last["loss"], "acc": last["acc"], "best_acc": 0.95})
        got = sorted((p["step"], p["metric"], p["value"]) for p in exp["history"])
        expected = sorted((row["_step"], k, v) for row in self.out["history"] for k, v in row.items() if k != "_step")
        self.assertEqual(got, expected)
        meta = exp["metadata"]
        self.assertEqual(meta["status"], "completed")
        self.assertEqual(meta["tags"], ["baseline"])
        self.assertIn("first try", [n["text"] for n in meta["notes"]])
        self.assertEqual(meta["source"]["tool"], "wandb")
        self.assertEqual(meta["source"]["run_id"], self.out["ok"])
        self.assertLessEqual(meta["started"], min(p["timestamp"] for p in exp["history"]))
        self.assertGreaterEqual(meta["ended"], max(p["timestamp"] for p in exp["history"]))
        self.assertGreaterEqual(meta["duration_seconds"], 0)

    def test_a_run_that_raised_is_failed(self):
        exp = read_experiment(self._experiment_of(self.out["crashed"]), "1")
        self.assertEqual(exp["metadata"]["status"], "failed")
        self.assertEqual(exp["params"], {"lr": 0.5})
        self.assertEqual(exp["metrics"], {"loss": 4.0})
        self.assertIn("W&B run exited with code 1", [n["text"] for n in exp["metadata"]["notes"]])

    def test_a_run_never_finished_is_converted_at_exit_with_the_exit_code(self):
        exp = read_experiment(self._experiment_of(self.out["left"]), "1")
        self.assertEqual(exp["metadata"]["status"], "failed")  # the script died of an uncaught exception
        self.assertEqual((exp["params"], exp["metrics"]), ({"lr": 0.2}, {"loss": 0.5}))
        self.assertEqual([(p["metric"], p["value"], p["step"]) for p in exp["history"]], [("loss", 0.5, 0)])

    def test_converting_again_adds_nothing(self):
        folder = Path(self.out["folder"]) / "wandb"
        for run in folder.iterdir():
            if run.name.startswith("offline-run-"):
                self.assertIsNone(convert_run_folder(run, self.root, "1"))
        names = [d.name for d in (self.inc / "experiments").iterdir() if not d.name.startswith(".")]
        self.assertEqual(len(names), 3, names)


@unittest.skipUnless(HAS_WANDB or REQUIRED, SKIP_REASON)
class ConfigureWandbTwiceTest(ProjectTestCase):
    def test_a_second_increment_gets_the_runs_started_after_it(self):
        if not HAS_WANDB:
            self.fail("SPECWEAVE_REQUIRE_PYENV=1 but " + SKIP_REASON)
        second = make_increment(self.root, "0002-next")
        script = textwrap.dedent('''
            import wandb
            from specweave_ml import configure_wandb
            configure_wandb("1"); run = wandb.init(project="p", name="first"); run.log({"m": 1}); run.finish()
            configure_wandb("2"); run = wandb.init(project="p", name="second"); run.log({"m": 2}); run.finish()
        ''')
        env = subprocess_env(self.root, WANDB_SILENT="true", WANDB_DISABLE_CODE="true")
        env.pop("WANDB_DIR", None)
        done = subprocess.run([TEST_PYTHON, "-c", script], cwd=str(self.root), env=env, capture_output=True,
                              text=True, timeout=180)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        names = lambda inc: sorted(d.name for d in (inc / "experiments").iterdir() if not d.name.startswith("."))
        self.assertEqual((names(self.inc), names(second)), (["first"], ["second"]))
        self.assertEqual(read_experiment("second", "2")["metrics"], {"m": 2})


if __name__ == "__main__":
    unittest.main()
