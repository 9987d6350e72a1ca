"""Where a run happened: git commit/branch/dirty of the project and the Python environment."""

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

from . import _fs

_git_cache: Dict[str, Optional[dict]] = {}
_env_cache: Optional[dict] = None

#: Libraries whose versions are recorded when installed (by distribution name; nothing is imported).
LIBRARIES = ("numpy", "pandas", "scikit-learn", "torch", "xgboost")

_ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64", "i386": "ia32", "i686": "ia32",
         "x86": "ia32", "armv7l": "arm", "ppc64le": "ppc64", "s390x": "s390x"}


# Settings that would make git run a program named by the repository's config, switched off for every call (the
# command line beats the config): the server's list, mcp-server/src/core/importers/git-read.ts.
SAFE_GIT_CONFIG = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "-c", "core.pager=cat",
                   "-c", "diff.external=", "-c", "core.sshCommand=false", "-c", "protocol.allow=never",
                   "-c", "credential.helper=")
_DROPPED_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CEILING_DIRECTORIES")


def _git_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update({"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"})
    return env


def _git(root: str, *args: str) -> Optional[str]:
    try:
        out = subprocess.run(["git", *SAFE_GIT_CONFIG, *args], cwd=root, capture_output=True, timeout=15,
                             stdin=subprocess.DEVNULL, env=_git_env())
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.decode("utf-8", "replace")


def _filter_overrides(root: str) -> List[str]:
    """``-c filter.<driver>.<clean|smudge|process>=`` for every filter driver the config defines: status may run
    them on changed files, and an empty command switches one off."""
    out = _git(root, "config", "--name-only", "--get-regexp", r"^filter\..*\.(clean|smudge|process)$") or ""
    return [arg for key in out.split("\n") if key.strip() for arg in ("-c", key.strip() + "=")]


def git_info(root: Path) -> Optional[dict]:
    """``{commit, branch, dirty}`` of the repository holding ``root``, or ``None`` outside git (or without git).

    ``branch`` is ``None`` on a detached HEAD, ``commit`` before the first commit. ``dirty`` is true when files
    under the project root, other than ``.specweave/``, differ from HEAD (untracked files that are not ignored
    count). Computed once per process and root. git is not run when the project's ``.git`` is a link or a
    ``gitdir:`` file leading outside the project, and runs with every program-running setting switched off.
    """
    key = str(root)
    if key in _git_cache:
        return _git_cache[key]
    info = None
    if _fs.git_refusal(key) is None:
        inside = _git(key, "rev-parse", "--is-inside-work-tree")
        if inside is not None and inside.strip() == "true":
            commit = (_git(key, "rev-parse", "--verify", "-q", "HEAD") or "").strip() or None
            branch = (_git(key, "rev-parse", "--abbrev-ref", "HEAD") or "").strip() or None
            if branch == "HEAD":
                branch = None
            status = _git(key, *_filter_overrides(key), "status", "--porcelain", "--untracked-files=normal", "--",
                          ".", ":(exclude).specweave")
            info = {"commit": commit, "branch": branch, "dirty": bool(status and status.strip())}
    _git_cache[key] = info
    return info


def _version(dist: str) -> Optional[str]:
    try:
        from importlib import metadata
    except ImportError:  # pragma: no cover - Python < 3.8
        return None
    try:
        return metadata.version(dist)
    except Exception:
        return None


def environment_info() -> dict:
    """``python``, ``platform`` (``linux-x64``, as Node names it) and the installed versions of numpy, pandas,
    scikit-learn, torch and xgboost, read from package metadata (nothing heavy is imported)."""
    global _env_cache
    if _env_cache is None:
        machine = platform.machine().lower()
        env = {"python": platform.python_version(), "platform": "%s-%s" % (sys.platform, _ARCH.get(machine, machine))}
        for dist in LIBRARIES:
            v = _version(dist)
            if v:
                env[dist] = v
        _env_cache = env
    return dict(_env_cache)
