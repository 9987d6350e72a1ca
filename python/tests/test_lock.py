import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

from helpers import ProjectTestCase
from specweave_ml import LockTimeoutError, track_experiment
from specweave_ml import _fs


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


class LockTest(ProjectTestCase):
    def lock_path(self, name="exp"):
        d = self.exp_dir(name)
        d.mkdir(parents=True, exist_ok=True)
        return d / ".lock"

    def test_lock_file_content_and_release(self):
        path = self.lock_path()
        with _fs.FileLock(str(path)):
            owner = json.loads(path.read_text())
            self.assertEqual(owner["host"], socket.gethostname())
            self.assertEqual(owner["pid"], os.getpid())
            self.assertRegex(owner["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertRegex(owner["token"], r"^[0-9a-f]{16}$")
            with _fs.FileLock(str(path)):  # re-entrant in one thread
                pass
            self.assertTrue(path.exists())
        self.assertFalse(path.exists())

    def test_dead_pid_lock_is_broken(self):
        path = self.lock_path()
        path.write_text(json.dumps({"host": socket.gethostname(), "pid": dead_pid(), "time": "x", "token": "t1"}))
        t = time.monotonic()
        with track_experiment("exp") as exp:
            exp.log_metric("a", 1)
        self.assertLess(time.monotonic() - t, 2)
        self.assertFalse(path.exists())
        self.assertEqual([p.name for p in path.parent.iterdir() if "stale" in p.name], [])

    def test_old_lock_is_broken_even_from_another_host_or_empty(self):
        for content in (json.dumps({"host": "other-host", "pid": 1, "time": "x", "token": "t"}), ""):
            path = self.lock_path()
            path.write_text(content)
            old = time.time() - 31
            os.utime(path, (old, old))
            with track_experiment("exp") as exp:
                exp.log_metric("a", 1)
            self.assertFalse(path.exists())

    def test_empty_lock_is_broken_after_two_seconds_not_before(self):
        # A writer killed between creating the lock and writing its owner line leaves it empty.
        path = self.lock_path()
        path.write_text("")
        old = time.time() - 3
        os.utime(path, (old, old))
        with _fs.FileLock(str(path), timeout=0.5):
            pass
        self.assertFalse(path.exists())
        path.write_text("")  # fresh: possibly a live writer filling it, so it is waited for
        with self.assertRaises(LockTimeoutError):
            _fs.FileLock(str(path), timeout=0.2).acquire()

    def test_live_lock_is_waited_for_then_named(self):
        path = self.lock_path()
        path.write_text(json.dumps({"host": "other-host", "pid": 4242, "time": "2026-11-26T10:00:00.000Z",
                                    "token": "t"}))
        lock = _fs.FileLock(str(path), timeout=0.3)
        with self.assertRaises(LockTimeoutError) as cm:
            lock.acquire()
        self.assertIn("process 4242 on other-host", str(cm.exception))
        self.assertTrue(path.exists())
        # released by its holder while we wait: we get it
        timer = threading.Timer(0.2, path.unlink)
        timer.start()
        with _fs.FileLock(str(path), timeout=5):
            self.assertEqual(json.loads(path.read_text())["pid"], os.getpid())
        timer.join()

    def test_breaker_restores_a_lock_retaken_meanwhile(self):
        path = self.lock_path()
        fresh = {"host": socket.gethostname(), "pid": os.getpid(), "time": "x", "token": "fresh"}
        path.write_text(json.dumps(fresh))
        _fs._break_stale(str(path), {"token": "the-stale-one"})  # judged stale earlier, but retaken since
        self.assertEqual(json.loads(path.read_text())["token"], "fresh")
        self.assertEqual([p.name for p in path.parent.iterdir()], [".lock"])
        _fs._break_stale(str(path), {"token": "fresh"})
        self.assertFalse(path.exists())

    def test_release_keeps_a_lock_that_is_no_longer_ours(self):
        path = self.lock_path()
        lock = _fs.FileLock(str(path))
        lock.acquire()
        path.write_text(json.dumps({"host": "h", "pid": 1, "time": "x", "token": "someone-else"}))
        lock.release()
        self.assertTrue(path.exists())

    def test_threads_share_nothing_lost(self):
        with track_experiment("threads") as exp:
            def work(k):
                for j in range(20):
                    exp.log_metric("t%d_%d" % (k, j), j)
            threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        self.assertEqual(len(exp.read()["metrics"]), 80)


if __name__ == "__main__":
    unittest.main()
