"""Shared test helpers: a throw-away project with increments, isolated from the real environment."""

import json
import os
import shutil
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

PYTHON_DIR = Path(__file__).resolve().parent.parent
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))


def make_increment(root: Path, name: str, status="planning", **extra) -> Path:
    d = root / ".specweave" / "increments" / name
    d.mkdir(parents=True, exist_ok=True)
    if status is not None:
        meta = {"id": name, "status": status, "title": name, "type": "feature",
                "created": "2026-11-26T10:00:00.000Z", "lastActivity": "2026-11-26T10:00:00.000Z"}
        meta.update(extra)
        (d / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return d


def subprocess_env(root: Path, **extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PYTHON_DIR) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["SPECWEAVE_ROOT"] = str(root)
    env.pop("SPECWEAVE_INCREMENT", None)
    env.update(extra)
    return env


class ProjectTestCase(unittest.TestCase):
    """Each test gets a fresh project root (SPECWEAVE_ROOT) with one increment ``0001-demo`` in planning."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="specweave-ml-test-")).resolve()
        self.root = self.tmp / "project"
        self.root.mkdir()
        self.inc = make_increment(self.root, "0001-demo")
        patcher = mock.patch.dict(os.environ, {"SPECWEAVE_ROOT": str(self.root)})
        patcher.start()
        self.addCleanup(patcher.stop)
        os.environ.pop("SPECWEAVE_INCREMENT", None)
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def exp_dir(self, name: str, inc: str = "0001-demo") -> Path:
        return self.root / ".specweave" / "increments" / inc / "experiments" / name
