"""Runs ```python blocks of the plugin's Markdown (skills, commands, agents) as a reader would: in a fresh project.

    python scripts/run-doc-block.py PROJECT RESULTS.jsonl [--locust] < program.json

``program.json`` is ``{"blocks": [{"file": "skills/x/SKILL.md", "line": 31, "code": "..."}, ...]}``: one block, or a
block followed by the blocks that continue it (``# continues the block above``), which run in order in this one
process and share its variables. For each block, in order:

1. its first line must be ``# requires: lib>=x.y, ...`` (distribution names as pip spells them), naming every
   third-party library the block imports; every floor is checked against the installed version, and an import
   without a floor, a missing library or a version below the floor stops the program;
2. the set-ups named by a ``# setup: name, ...`` header line run first, each scripts/doc-block-setup/<name>.py in
   its own namespace (they make what the reader already has at that point, such as the chosen model saved in its
   experiment);
3. it is executed as ``__main__`` in a project made for it: the folder PROJECT (created), ``git init``'d with one commit,
   holding increment ``0042`` in status ``active`` (what the blocks' ``increment="0042"`` names). Tracebacks point at
   the Markdown file and line of the failing statement.

One JSON line per block goes to RESULTS.jsonl: ``{"index", "status": "ok"|"floor"|"failed"|"not-reached",
"seconds", "message"}``. The exit code is 0 when every block ran. The block's own output goes to stdout and stderr.

With ``--locust`` (a block requires locust), locust is imported before anything else in this process: locust monkey-patches the
standard library through gevent, which breaks (RecursionError) once ``ssl`` is imported.
"""

import sys

if "--locust" in sys.argv[3:]:  # the caller saw locust in a requires line; it must come before any other import
    import locust  # noqa: F401

import ast
import importlib.util
import json
import linecache
import os
import re
import subprocess
import sysconfig
import time
import traceback
from importlib import metadata

REQUIRES = re.compile(r"^#\s*requires:\s*(.+)$")
FLOOR = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*([0-9][0-9A-Za-z.+-]*)$")
SETUP = re.compile(r"^#\s*setup:\s*(.+)$")
SETUP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "doc-block-setup")
INCREMENT = "0042-doc-blocks"
PROJECT_MODULES = {"specweave_ml"}  # this repository's client, on PYTHONPATH


def version_tuple(text):
    """Release numbers of a version (``2.15.0+cu132`` -> (2, 15, 0)); pre-release suffixes are ignored."""
    parts = []
    for piece in re.split(r"[.+-]", text):
        m = re.match(r"^(\d+)", piece)
        if not m:
            break
        parts.append(int(m.group(1)))
        if m.group(1) != piece:
            break
    return tuple(parts)


def floors_of(code):
    """The ``(distribution, floor)`` pairs of the block's first line, or an error message."""
    first = code.lstrip("\n").split("\n", 1)[0].strip()
    m = REQUIRES.match(first)
    if not m:
        return None, "the block does not start with '# requires: lib>=x.y, ...' stating its version floors"
    floors = []
    for item in (s.strip() for s in m.group(1).split(",")):
        f = FLOOR.match(item)
        if not f:
            return None, "cannot read the floor %r in the requires line: write it as name>=x.y" % item
        floors.append((f.group(1), f.group(2)))
    return floors, None


def undeclared_imports(code, floors):
    """Third-party modules the block imports whose distribution has no floor in its requires line."""
    declared = {normalize(d) for d, _ in floors}
    # Python 3.10+; on 3.9 an imported module is taken to be its own distribution's name.
    owners = metadata.packages_distributions() if hasattr(metadata, "packages_distributions") else {}
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []  # exec reports it, with the line
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module.split(".")[0])
    missing = []
    for module in sorted(modules):
        if is_stdlib(module) or module in PROJECT_MODULES:
            continue
        dists = owners.get(module, [module])
        if not any(normalize(d) in declared for d in dists):
            missing.append("the block imports %s but its requires line states no floor for %s"
                           % (module, " or ".join(sorted(set(dists)))))
    return missing


def is_stdlib(module):
    names = getattr(sys, "stdlib_module_names", None)  # Python 3.10+
    if names is not None:
        return module in names
    spec = importlib.util.find_spec(module)
    origin = (spec.origin or "") if spec else ""
    return origin in ("built-in", "frozen") or origin.startswith(sysconfig.get_paths()["stdlib"])


def normalize(dist):
    return re.sub(r"[-_.]+", "-", dist).lower()


def unmet_floors(floors):
    problems = []
    for dist, floor in floors:
        try:
            installed = metadata.version(dist)
        except metadata.PackageNotFoundError:
            problems.append("%s>=%s is required but %s is not installed" % (dist, floor, dist))
            continue
        if version_tuple(installed) < version_tuple(floor):
            problems.append("%s>=%s is required but %s %s is installed" % (dist, floor, dist, installed))
    return problems


def setups_of(code):
    """The names of the ``# setup: name, ... (what it makes)`` line among the comment lines that open the block."""
    names = []
    for line in code.lstrip("\n").split("\n"):
        if not line.startswith("#"):
            break
        m = SETUP.match(line.strip())
        if m:
            names += [n.strip() for n in re.sub(r"\(.*?\)", "", m.group(1)).split(",") if n.strip()]
    return names


def run_setup(name):
    """Runs scripts/doc-block-setup/<name>.py in its own namespace: the block sees its files, not its variables."""
    path = os.path.join(SETUP_DIR, name + ".py")
    if not re.match(r"^[a-z0-9-]+$", name) or not os.path.isfile(path):
        raise LookupError("no set-up %r: the '# setup:' line names a file scripts/doc-block-setup/<name>.py" % name)
    with open(path, encoding="utf-8") as f:
        exec(compile(f.read(), path, "exec"), {"__name__": "__doc_block_setup__", "__file__": path})


def make_project(root):
    """A git repository with one commit and increment 0042 (active), as create_increment leaves one."""
    inc = os.path.join(root, ".specweave", "increments", INCREMENT)
    os.makedirs(inc)
    with open(os.path.join(inc, "metadata.json"), "w", encoding="utf-8") as f:
        json.dump({"id": INCREMENT, "status": "active", "title": "Doc blocks", "type": "feature",
                   "created": "2026-12-02T00:00:00.000Z", "lastActivity": "2026-12-02T00:00:00.000Z"}, f, indent=2)
    with open(os.path.join(inc, "spec.md"), "w", encoding="utf-8") as f:
        f.write("# Doc blocks\n\nThe increment the documentation's Python blocks record into.\n")
    git = ["git", "-c", "user.name=doc-blocks", "-c", "user.email=doc-blocks@example.invalid", "-c", "init.defaultBranch=main"]
    subprocess.run(git + ["init", "-q"], cwd=root, check=True)
    subprocess.run(git + ["add", "."], cwd=root, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "project for a documentation block"], cwd=root, check=True)
    return root


def compiled(block):
    """The block compiled so that line numbers in tracebacks are the Markdown file's (the fence is line ``line``)."""
    source = "\n" * block["line"] + block["code"] + "\n"
    # The file's path is relative to the repository, not to the project the block runs in: give linecache the text.
    linecache.cache[block["file"]] = (len(source), None, source.splitlines(True), block["file"])
    return compile(source, block["file"], "exec")


def error_message(block, exc):
    """The exception, with the deepest frame that is in the Markdown file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == block["file"]]
    where = " at %s:%d (%s)" % (block["file"], frames[-1].lineno, (frames[-1].line or "").strip()) if frames else ""
    return "%s: %s%s" % (type(exc).__name__, exc, where)


def main():
    root, results_path = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    blocks = json.load(sys.stdin)["blocks"]
    os.chdir(make_project(root))
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    failed = False
    with open(results_path, "a", encoding="utf-8") as out:
        def report(index, status, seconds=0.0, message=""):
            out.write(json.dumps({"index": index, "status": status, "seconds": round(seconds, 2), "message": message}) + "\n")
            out.flush()

        for i, block in enumerate(blocks):
            if failed:
                report(i, "not-reached", message="an earlier block of the same program failed")
                continue
            floors, problem = floors_of(block["code"])
            unmet = [problem] if problem else undeclared_imports(block["code"], floors) + unmet_floors(floors)
            if unmet:
                report(i, "floor", message="; ".join(unmet))
                failed = True
                continue
            namespace["__file__"] = block["file"]
            start = time.perf_counter()
            try:
                for name in setups_of(block["code"]):
                    run_setup(name)
                exec(compiled(block), namespace)
            except BaseException as e:  # SystemExit and KeyboardInterrupt from a block are failures too
                traceback.print_exc()
                report(i, "failed", time.perf_counter() - start, error_message(block, e))
                failed = True
                continue
            report(i, "ok", time.perf_counter() - start)
    sys.stdout.flush()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
