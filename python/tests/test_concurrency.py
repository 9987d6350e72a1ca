import os
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

from helpers import ProjectTestCase, subprocess_env
from specweave_ml import track_experiment
from specweave_ml._store import read_experiment_dir

WORKER = str(Path(__file__).with_name("_worker.py"))


class ManyProcessesTest(ProjectTestCase):
    def test_eight_processes_fifty_calls_nothing_lost(self):
        n_proc, n_calls = 8, 50
        env = subprocess_env(self.root)
        t0 = time.monotonic()
        procs = [subprocess.Popen([sys.executable, WORKER, "mixed", "0001-demo", "shared", str(w), str(n_calls)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for w in range(n_proc)]
        errors = [p.communicate(timeout=120)[1] for p in procs]
        elapsed = time.monotonic() - t0
        for p, err in zip(procs, errors):
            self.assertEqual(p.returncode, 0, err.decode())
        r = read_experiment_dir(self.exp_dir("shared"))
        for w in range(n_proc):
            for j in range(n_calls):
                kind = j % 5
                if kind == 0:
                    self.assertEqual(r["params"]["w%d_p%d" % (w, j)], j)
                elif kind == 1:
                    self.assertEqual(r["metrics"]["w%d_m%d" % (w, j)], j / 10)
                elif kind == 3:
                    self.assertIn("w%d note %d" % (w, j), [n["text"] for n in r["metadata"]["notes"]])
                elif kind == 4:
                    self.assertIn("w%d_t%d" % (w, j), r["metadata"]["tags"])
            self.assertIn("w%d" % w, r["metadata"]["tags"])
        points = [(p["metric"], p["step"]) for p in r["history"]]
        expected = {("shared_loss", w * 1000 + j) for w in range(n_proc) for j in range(n_calls) if j % 5 == 2}
        self.assertEqual(sorted(points), sorted(expected))
        self.assertEqual(r["history_skipped"], 0)
        self.assertEqual(r["metrics"]["shared_loss"], max(s for _, s in expected))  # highest step wins
        self.assertEqual(r["metadata"]["status"], "completed")
        leftovers = [p.name for p in self.exp_dir("shared").iterdir() if p.name.startswith(".")]
        self.assertEqual(leftovers, [])
        if os.environ.get("SPECWEAVE_TEST_VERBOSE"):
            print("\n%d processes x %d calls: %.2f s" % (n_proc, n_calls, elapsed))


class CrashTest(ProjectTestCase):
    def test_killed_writer_leaves_parseable_files_and_recoverable_lock(self):
        env = subprocess_env(self.root)
        d = self.exp_dir("crash")
        for round_ in range(4):
            p = subprocess.Popen([sys.executable, WORKER, "loop", "0001-demo", "crash", str(round_), "0"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            self.assertEqual(p.stdout.readline().strip(), b"started")
            time.sleep(0.15 + 0.1 * round_)
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            p.stdout.close()
            r = read_experiment_dir(d)  # every file parses
            self.assertEqual(r["history_skipped"], 0)
            self.assertEqual(r["metadata"]["status"], "running")  # it never finished
            self.assertGreater(len(r["history"]), 0)
            # Each file is whole, but a kill between appending a point and rewriting metrics.json leaves the
            # summary one point behind the history; the metric's next point puts it right.
            loss = "loss%d" % round_
            loss_points = [(p["step"], p["value"]) for p in r["history"] if p["metric"] == loss]
            self.assertEqual([s for s, _ in loss_points], list(range(len(loss_points))))
            self.assertIn(r["metrics"][loss], [v for _, v in loss_points[-2:]])
            # the dead writer may still hold the lock: the next writer breaks it at once (dead pid)
            t0 = time.monotonic()
            with track_experiment("crash") as exp:
                exp.log_metric("after_crash_%d" % round_, 1)
                exp.log_metric(loss, 0.5, step=loss_points[-1][0])  # a tie on the highest step: latest wins
            self.assertLess(time.monotonic() - t0, 3)
            self.assertEqual(read_experiment_dir(d)["metrics"][loss], 0.5)
            self.assertEqual(read_experiment_dir(d)["metadata"]["status"], "completed")
        stray = [x.name for x in d.iterdir() if x.name.startswith(".") and not x.name.endswith(".tmp")]
        self.assertEqual(stray, [])


if __name__ == "__main__":
    unittest.main()
