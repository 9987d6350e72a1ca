"""A hostile repository: symbolic links planted where the client reads and writes must not let it read or write
outside the project's real .specweave folder, and must not leak what they point to."""

import json
import os
import pickle
import secrets
import subprocess
import sys
import time
import unittest
from pathlib import Path

from helpers import ProjectTestCase, make_increment
from specweave_ml import FormatError, SandboxError, configure_mlflow, read_experiment, track_experiment
from specweave_ml import _fs


def snapshot(folder: Path) -> dict:
    """Every entry under ``folder`` (links not followed) with its content or link target and modification time."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if p.is_symlink():
                out[str(p)] = ("link", os.readlink(p))
            elif p.is_dir():
                out[str(p)] = ("dir", st.st_mtime_ns)
            else:
                out[str(p)] = ("file", p.read_bytes(), st.st_mtime_ns)
    return out


class HostileRepoTest(ProjectTestCase):
    def setUp(self):
        super().setUp()
        self.token = "TOKEN-" + secrets.token_hex(8)
        self.outside = self.tmp / "outside"
        (self.outside / "dir").mkdir(parents=True)
        self.secret = self.outside / "secret.txt"
        # valid JSON and YAML, so that a reader that followed the link would happily return the token
        self.secret.write_text('{"status": "planning", "key": "%s"}\n' % self.token)
        (self.outside / "dir" / "keep.txt").write_text("outside folder " + self.token)
        self.fake_inc = self.outside / "inc"
        self.fake_inc.mkdir()
        (self.fake_inc / "metadata.json").write_text(json.dumps({"status": "planning", "key": self.token}))
        self.before = snapshot(self.outside)

    def tearDown(self):
        self.assertEqual(snapshot(self.outside), self.before, "something outside the project changed")
        for dirpath, _, filenames in os.walk(self.root):
            for name in filenames:
                p = Path(dirpath) / name
                if not p.is_symlink():
                    self.assertNotIn(self.token.encode(), p.read_bytes(), "the token leaked into %s" % p)
        super().tearDown()

    def refused(self, call, rel: str, fix: str = "is a symbolic link that leaves the project; remove it"):
        with self.assertRaises(SandboxError) as cm:
            call()
        message = str(cm.exception)
        self.assertIn(rel + " " + fix, message)
        self.assertNotIn(self.token, message)
        self.assertNotIn(str(self.outside), message)  # not even where the link points
        return message

    def exp_rel(self, name="run", inc="0001-demo"):
        return ".specweave/increments/%s/experiments/%s" % (inc, name)

    def plant(self, path: Path, target: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
        return path

    def test_summary_files_linked_outside_are_neither_read_nor_written(self):
        actions = {
            "params.json": lambda exp: exp.log_param("lr", 0.1),
            "metrics.json": lambda exp: exp.log_metric("acc", 0.9),
            "history.jsonl": lambda exp: exp.log_metric("loss", 0.5, step=0),
        }
        for target in (self.secret, self.outside / "dir"):
            for i, (file_name, action) in enumerate(actions.items()):
                name = "run-%s-%d" % (target.name, i)
                with track_experiment(name) as exp:
                    exp.log_metric("before", 1, step=0)
                    link = self.exp_dir(name) / file_name
                    link.unlink(missing_ok=True)
                    self.plant(link, target)
                    before = {p.name: p.read_bytes() for p in self.exp_dir(name).iterdir()
                              if p.is_file() and not p.is_symlink()}
                    self.refused(lambda: action(exp), self.exp_rel(name) + "/" + file_name)
                    after = {p.name: p.read_bytes() for p in self.exp_dir(name).iterdir()
                             if p.is_file() and not p.is_symlink() and p.name != ".lock"}
                    before.pop(".lock", None)
                    self.assertEqual(after, before, "a refused call wrote something (%s)" % file_name)
                    self.assertTrue(link.is_symlink())
                    link.unlink()  # let the run end normally
                self.assertEqual(read_experiment(name)["metadata"]["status"], "completed")

    def test_reading_a_linked_file_refuses_without_the_content(self):
        with track_experiment("run"):
            pass
        for file_name in ("params.json", "metrics.json", "metadata.yaml", "history.jsonl"):
            link = self.exp_dir("run") / file_name
            saved = link.read_bytes() if link.exists() else None
            link.unlink(missing_ok=True)
            self.plant(link, self.secret)
            self.refused(lambda: read_experiment("run"), self.exp_rel() + "/" + file_name)
            link.unlink()
            if saved is not None:
                link.write_bytes(saved)

    def test_linked_metadata_yaml_and_lock_refuse_the_run_before_anything_is_written(self):
        for file_name in ("metadata.yaml", ".lock"):
            name = "run-" + file_name.strip(".").replace(".", "-")
            self.plant(self.exp_dir(name) / file_name, self.secret)
            self.refused(lambda: track_experiment(name).__enter__(), self.exp_rel(name) + "/" + file_name)
            self.assertEqual(sorted(p.name for p in self.exp_dir(name).iterdir()), [file_name])

    def test_linked_folders_leaving_the_project_are_refused(self):
        inc = self.root / ".specweave" / "increments" / "0001-demo"
        placements = [
            (self.exp_dir("run"), lambda: track_experiment("run", increment="0001").__enter__(), self.exp_rel()),
            (self.exp_dir("a", "0003-exps"), lambda: track_experiment("a", increment="0003").__enter__(),
             ".specweave/increments/0003-exps/experiments"),
            (self.root / ".specweave" / "increments" / "0002-evil",
             lambda: track_experiment("x", increment="0002-evil").__enter__(), ".specweave/increments/0002-evil"),
            (inc.parent / "0004-away", lambda: configure_mlflow("0004"), ".specweave/increments/0004-away"),
        ]
        make_increment(self.root, "0003-exps", status="active")
        for i, (link, call, rel) in enumerate(placements):
            target = self.fake_inc if "evil" in str(link) else self.outside / "dir"
            if link.name == "a":
                link = link.parent  # the experiments folder itself
            self.plant(link, target)
            self.refused(call, rel)

    def test_linked_increments_folder_is_refused(self):
        incs = self.root / ".specweave" / "increments"
        (incs / "0001-demo").rename(self.tmp / "parked")
        incs.rmdir()
        (self.outside / "incs" / "0001-demo").mkdir(parents=True)
        (self.outside / "incs" / "0001-demo" / "metadata.json").write_text(json.dumps({"status": "planning",
                                                                                     "key": self.token}))
        self.before = snapshot(self.outside)
        incs.symlink_to(self.outside / "incs")
        self.refused(lambda: track_experiment("run").__enter__(), ".specweave/increments")
        self.refused(lambda: read_experiment("run", increment="0001"), ".specweave/increments")

    def test_linked_increment_lock_leaves_the_increment_status_alone_with_a_warning(self):
        import warnings
        self.plant(self.inc / ".lock", self.secret)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with track_experiment("run") as exp:
                exp.log_metric("a", 1)
        text = " ".join(str(w.message) for w in caught)
        self.assertIn(".specweave/increments/0001-demo/.lock is a symbolic link that leaves the project", text)
        self.assertNotIn(self.token, text)
        self.assertEqual(read_experiment("run")["metadata"]["status"], "completed")
        self.assertEqual(json.loads((self.inc / "metadata.json").read_text())["status"], "planning")

    def test_linked_increment_metadata_json_refuses_and_creates_nothing(self):
        meta = self.inc / "metadata.json"
        meta.unlink()
        self.plant(meta, self.secret)
        self.refused(lambda: track_experiment("run").__enter__(), ".specweave/increments/0001-demo/metadata.json")
        self.assertFalse((self.inc / "experiments").exists())

    def test_linked_artifact_destinations_are_refused_and_leave_nothing(self):
        src = self.tmp / "model-source.bin"
        src.write_bytes(b"weights")
        with track_experiment("run") as exp:
            self.plant(self.exp_dir("run") / "model.pkl", self.secret)
            self.refused(lambda: exp.save_model({"w": 1}, "model.pkl"), self.exp_rel() + "/model.pkl")
            self.refused(lambda: exp.save_artifact(src, "model.pkl"), self.exp_rel() + "/model.pkl")
            self.refused(lambda: exp.save_artifact(b"x", "model.pkl"), self.exp_rel() + "/model.pkl")
            self.plant(self.exp_dir("run") / "plots", self.outside / "dir")
            self.refused(lambda: exp.save_artifact(b"png", "plots/roc.png"), self.exp_rel() + "/plots")
            leftovers = [p.name for p in self.exp_dir("run").iterdir() if p.name.endswith(".tmp")]
            self.assertEqual(leftovers, [])
        self.assertEqual(read_experiment("run")["metadata"]["artifacts"], [])

    def test_specweave_linked_outside_is_refused(self):
        real = self.root / ".specweave"
        moved = self.outside / "dir" / "moved"
        real.rename(moved)
        self.before = snapshot(self.outside)
        (self.root / ".specweave").symlink_to(moved)
        self.refused(lambda: track_experiment("run").__enter__(), ".specweave")
        self.assertFalse((moved / "increments" / "0001-demo" / "experiments").exists())

    def test_final_link_inside_the_zone_is_refused_but_named_as_a_link(self):
        with track_experiment("run") as exp:
            other = self.exp_dir("other")
            other.mkdir()
            (other / "params.json").write_text("{}")
            link = self.exp_dir("run") / "params.json"
            link.unlink()
            link.symlink_to(other / "params.json")
            self.refused(lambda: exp.log_param("a", 1), self.exp_rel() + "/params.json",
                         "is a symbolic link; specweave_ml does not open files through links")
            link.unlink()


class LinksInsideTheZoneTest(ProjectTestCase):
    def test_linked_folders_that_stay_inside_work(self):
        # the experiment folder links to another folder of the same .specweave
        real = self.root / ".specweave" / "shared-runs" / "run"
        real.mkdir(parents=True)
        exps = self.exp_dir("run").parent
        exps.mkdir(parents=True)
        (exps / "run").symlink_to(real)
        with track_experiment("run") as exp:
            exp.log_metric("loss", 0.5, step=0)
            exp.save_artifact(b"x", "plots/a.txt")
        self.assertEqual(json.loads((real / "metrics.json").read_text()), {"loss": 0.5})
        self.assertEqual((real / "plots" / "a.txt").read_bytes(), b"x")

    def test_specweave_linked_inside_the_project_works(self):
        data = self.root / "data" / "specweave"
        data.parent.mkdir()
        (self.root / ".specweave").rename(data)
        (self.root / ".specweave").symlink_to(Path("data") / "specweave")
        with track_experiment("run") as exp:
            exp.log_param("a", 1)
        self.assertEqual(json.loads((data / "increments" / "0001-demo" / "experiments" / "run" / "params.json")
                                    .read_text()), {"a": 1})

    def test_specweave_linked_to_the_root_to_git_or_to_nothing_is_refused(self):
        (self.root / ".specweave").rename(self.root / "store")
        (self.root / ".git" / "store").mkdir(parents=True)
        for target, where in ((".", "the project root itself"), (".git/store", "a folder under .git"),
                              ("missing", "nothing")):
            link = self.root / ".specweave"
            if link.is_symlink():
                link.unlink()
            link.symlink_to(target)
            with self.assertRaises(SandboxError) as cm:
                track_experiment("run", increment="0001").__enter__()
            self.assertIn(".specweave is a symbolic link to %s; replace it with a real folder" % where,
                          str(cm.exception))
        self.assertEqual(sorted(p.name for p in (self.root / ".git" / "store").iterdir()), [])
        self.assertFalse((self.root / "missing").exists())


class PlanThenWriteTest(ProjectTestCase):
    def test_broken_metrics_json_appends_no_history(self):
        with track_experiment("run") as exp:
            exp.log_metric("loss", 1.0, step=0)
            history = (self.exp_dir("run") / "history.jsonl").read_bytes()
            (self.exp_dir("run") / "metrics.json").write_text("{broken")
            with self.assertRaises(FormatError):
                exp.log_metric("loss", 0.5, step=1)
            self.assertEqual((self.exp_dir("run") / "history.jsonl").read_bytes(), history)
            (self.exp_dir("run") / "metrics.json").write_text("{}")

    def test_save_model_with_broken_metadata_leaves_no_model(self):
        with track_experiment("run") as exp:
            meta = self.exp_dir("run") / "metadata.yaml"
            good = meta.read_bytes()
            meta.write_text("name: [unclosed\n")
            with self.assertRaises(FormatError):
                exp.save_model({"w": 1}, "models/model.pkl")
            self.assertEqual(sorted(p.name for p in self.exp_dir("run").iterdir() if p.name != ".lock"),
                             ["history.jsonl", "metadata.yaml", "metrics.json", "params.json"]
                             if (self.exp_dir("run") / "history.jsonl").exists() else
                             ["metadata.yaml", "metrics.json", "params.json"])
            meta.write_bytes(good)
            p = exp.save_model({"w": 1}, "models/model.pkl")
        with open(p, "rb") as f:
            self.assertEqual(pickle.load(f), {"w": 1})
        self.assertEqual([a["path"] for a in read_experiment("run")["metadata"]["artifacts"]], ["models/model.pkl"])

    def test_unpicklable_model_leaves_no_file_and_no_folder(self):
        with track_experiment("run") as exp:
            with self.assertRaises(Exception):
                exp.save_model(lambda: None, "sub/model.pkl")
            self.assertFalse((self.exp_dir("run") / "sub").exists())
            self.assertEqual([p.name for p in self.exp_dir("run").iterdir() if p.name.endswith(".tmp")], [])


class SizeCapTest(ProjectTestCase):
    def test_files_over_their_cap_are_refused_naming_them(self):
        with track_experiment("run") as exp:
            exp.log_metric("loss", 1.0, step=0)
        d = self.exp_dir("run")
        with open(d / "params.json", "r+b") as f:
            f.truncate(_fs.MAX_TEXT_BYTES + 1)  # sparse: nothing is written, the size is what counts
        with self.assertRaises(FormatError) as cm:
            read_experiment("run")
        self.assertIn(self.exp_rel() + "/params.json is over 16 MiB, the limit", str(cm.exception))
        (d / "params.json").write_text("{}")
        with open(d / "history.jsonl", "ab") as f:
            f.truncate(_fs.MAX_DATA_BYTES + 1)
        with self.assertRaises(FormatError) as cm:
            read_experiment("run")
        self.assertIn(self.exp_rel() + "/history.jsonl is over 64 MiB", str(cm.exception))

    def exp_rel(self, name="run"):
        return ".specweave/increments/0001-demo/experiments/" + name

    def test_the_writer_streams_a_history_of_any_size(self):
        from specweave_ml import _store
        with track_experiment("run") as exp:
            exp.log_metric("loss", 3.0, step=1)
        hist = self.exp_dir("run") / "history.jsonl"
        with open(hist, "ab") as f:  # a line far longer than a chunk, then valid points
            f.write(b'{"metric":"loss","value":9,"step":99,"junk":"' + b"x" * 500 + b'"}\n')
            f.write(b'{"metric":"loss","value":0.5,"step":7,"timestamp":"2026-11-26T10:00:00.000Z"}\n')
        original = _store.HistoryIndex.CHUNK_BYTES
        _store.HistoryIndex.CHUNK_BYTES = 128  # a point is ~90 bytes
        self.addCleanup(setattr, _store.HistoryIndex, "CHUNK_BYTES", original)
        with track_experiment("run") as exp:
            exp.log_metric("loss", 2.0, step=5)
            exp.log_metric("acc", 0.8, step=0)
        # step 7 beats 5; the 500-byte line is skipped by the streaming index, not read whole
        self.assertEqual(read_experiment("run")["metrics"], {"loss": 0.5, "acc": 0.8})


class GitConfigTest(ProjectTestCase):
    GIT = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]

    def setUp(self):
        super().setUp()
        import shutil
        if shutil.which("git") is None:
            self.skipTest("git is not installed")
        from specweave_ml import _gitenv
        self.gitenv = _gitenv
        _gitenv._git_cache.clear()
        self.marker = self.tmp / "ran"

    def repo(self, folder: Path, *config):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "train.py").write_text("print(1)\n")
        for args in (["init", "-q"], ["add", "train.py"], ["commit", "-qm", "init"]) + config:
            subprocess.run(self.GIT + list(args), cwd=folder, check=True, capture_output=True)

    def program(self) -> str:
        hook = self.tmp / "hook.sh"
        hook.write_text("#!/bin/sh\ntouch '%s'\ncat\n" % self.marker)
        hook.chmod(0o755)
        return str(hook)

    def test_a_repository_config_cannot_make_git_info_run_a_program(self):
        hook = self.program()
        self.repo(self.root, ["config", "core.fsmonitor", hook], ["config", "filter.evil.clean", hook])
        (self.root / ".gitattributes").write_text("*.py filter=evil\n")
        (self.root / "train.py").write_text("print(2)\n")  # changed: status must look at it
        info = self.gitenv.git_info(self.root)
        self.assertRegex(info["commit"], r"^[0-9a-f]{40}$")
        self.assertIs(info["dirty"], True)
        self.assertFalse(self.marker.exists(), "git ran a program the repository's config named")

    def test_a_git_pointer_leading_outside_the_project_is_not_used(self):
        other = self.tmp / "other-repo"
        self.repo(other)
        for kind in ("file", "link"):
            dot_git = self.root / ".git"
            if kind == "file":
                dot_git.write_text("gitdir: %s\n" % (other / ".git"))
            else:
                dot_git.unlink()
                dot_git.symlink_to(other / ".git")
            self.gitenv._git_cache.clear()
            self.assertIsNone(self.gitenv.git_info(self.root), kind)
            with track_experiment("run-" + kind):
                pass
            self.assertIsNone(read_experiment("run-" + kind)["metadata"]["git"])

    def test_a_git_folder_inside_the_project_is_used(self):
        self.repo(self.root)
        self.assertRegex(self.gitenv.git_info(self.root)["commit"], r"^[0-9a-f]{40}$")


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


class LeftoversTest(ProjectTestCase):
    def test_leftovers_of_dead_writers_go_those_of_live_ones_stay(self):
        live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        self.addCleanup(live.wait)
        self.addCleanup(live.kill)
        d = self.exp_dir("run")
        d.mkdir(parents=True)
        dead = dead_pid()
        old = time.time() - 120  # past the one-minute grace
        files = {
            ".lock.0a1b2c41.stale": (old, False),                       # abandoned tombstone: removed
            ".lock.0a1b2c42.stale": (time.time(), True),                # a breaker may be using it: kept
            ".params.json.%d.0a1b2c3d.tmp" % dead: (old, False),        # dead writer: removed
            ".params.json.%d.0a1b2c3e.tmp" % live.pid: (old, True),     # live writer: kept
            ".metrics.json.%d.0a1b2c3f.tmp" % dead: (time.time(), True),  # dead, but changed just now: kept
            ".metadata.yaml.%d.0a1b2c40.tmp" % live.pid: (time.time() - 2 * 3600, False),  # hours old: removed
            "notes.tmp": (old, True),                                   # not a writer's temp name
        }
        for name, (mtime, _) in files.items():
            (d / name).write_text("partial")
            os.utime(d / name, (mtime, mtime))
        stagings = {".staging-%d-ab12" % dead: False, ".staging-%d-cd34" % live.pid: True}
        for name in stagings:
            (d.parent / name / "exp").mkdir(parents=True)
            (d.parent / name / "exp" / "params.json").write_text("{}")
            os.utime(d.parent / name, (old, old))
        with track_experiment("run") as exp:
            exp.log_param("a", 1)
        for name, (_, kept) in files.items():
            self.assertEqual((d / name).exists(), kept, name)
        for name, kept in stagings.items():
            self.assertEqual((d.parent / name).exists(), kept, name)

    def test_gitignore_written_once_and_never_overwritten(self):
        with track_experiment("run"):
            pass
        ignore = self.root / ".specweave" / ".gitignore"
        self.assertEqual(ignore.read_bytes(), _fs.GITIGNORE)
        for line in ("*.tmp", ".staging-*", "*.lock", ".lock", "*.stale"):
            self.assertIn(line, ignore.read_text().splitlines())

    def test_gitignore_bytes_are_the_servers(self):
        import re
        source = Path(__file__).resolve().parents[2] / "mcp-server" / "src" / "core" / "store" / "leftovers.ts"
        if not source.exists():
            self.skipTest("the server's sources are not beside this checkout")
        found = re.search(r"SPECWEAVE_GITIGNORE = `([^`]*)`", source.read_text(encoding="utf-8"))
        self.assertIsNotNone(found, "SPECWEAVE_GITIGNORE not found in leftovers.ts")
        self.assertEqual(found.group(1).encode("utf-8"), _fs.GITIGNORE)

    def test_existing_gitignore_is_kept(self):
        ignore = self.root / ".specweave" / ".gitignore"
        ignore.write_text("mine\n")
        with track_experiment("run"):
            pass
        self.assertEqual(ignore.read_text(), "mine\n")


if __name__ == "__main__":
    unittest.main()
