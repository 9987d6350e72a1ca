"""Checks the ```python blocks of the plugin's skills, commands and agent (read as JSON from stdin).

For each block: it parses (``ast``); every import of this project's package (``specweave_ml``, or the seeds'
fictional ``specweave``) names a module and names that exist; keyword arguments passed to the project's functions
are in their signatures; and attributes used on an experiment opened with ``track_experiment(...)`` (``exp.log_metric``,
``exp.save_model``, ...) exist on ``specweave_ml.Experiment`` and accept the keywords given.

Prints a JSON list of problems, each ``{"file", "line", "message"}``.
"""

import ast
import importlib
import inspect
import json
import sys

PROJECT_PACKAGES = ("specweave_ml", "specweave")


def accepts(func, keywords):
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    params = sig.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return []
    names = {p.name for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    return [k for k in keywords if k not in names]


def check_block(code):
    problems = []
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        return [(e.lineno or 0, "does not parse: %s" % e.msg)]

    imported = {}  # local name -> object from the project
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in PROJECT_PACKAGES:
                    try:
                        importlib.import_module(a.name)
                    except ImportError as e:
                        problems.append((node.lineno, "import %s: %s" % (a.name, e)))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PROJECT_PACKAGES:
            try:
                mod = importlib.import_module(node.module)
            except ImportError as e:
                problems.append((node.lineno, "from %s import ...: %s" % (node.module, e)))
                continue
            for a in node.names:
                if a.name == "*":
                    continue
                if not hasattr(mod, a.name):
                    problems.append((node.lineno, "%s has no %s" % (node.module, a.name)))
                else:
                    imported[a.asname or a.name] = getattr(mod, a.name)

    if not imported:
        return problems

    experiment_cls = importlib.import_module("specweave_ml").Experiment
    experiment_vars = set()

    def is_tracker_call(expr):
        return (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name)
                and imported.get(expr.func.id) is importlib.import_module("specweave_ml").track_experiment)

    for node in ast.walk(tree):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if is_tracker_call(item.context_expr) and isinstance(item.optional_vars, ast.Name):
                    experiment_vars.add(item.optional_vars.id)
        elif isinstance(node, ast.Assign) and is_tracker_call(node.value):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    experiment_vars.add(t.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for arg in node.args.args:
                ann = arg.annotation
                if isinstance(ann, ast.Name) and imported.get(ann.id) is experiment_cls:
                    experiment_vars.add(arg.arg)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            kws = [k.arg for k in node.keywords if k.arg]
            f = node.func
            if isinstance(f, ast.Name) and f.id in imported and callable(imported[f.id]):
                for bad in accepts(imported[f.id], kws):
                    problems.append((node.lineno, "%s() has no keyword argument %r" % (f.id, bad)))
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in experiment_vars:
                method = getattr(experiment_cls, f.attr, None)
                if method is not None:
                    for bad in accepts(method, kws):
                        problems.append((node.lineno, "Experiment.%s() has no keyword argument %r" % (f.attr, bad)))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in experiment_vars:
            if not hasattr(experiment_cls, node.attr) and node.attr not in ("name", "increment", "root", "increment_dir", "path", "status", "baseline"):
                problems.append((node.lineno, "an Experiment has no attribute %r" % node.attr))
    return problems


def main():
    sys.path.insert(0, sys.argv[1])  # the python/ folder of the repository
    blocks = json.load(sys.stdin)
    out = []
    for b in blocks:
        for line, message in check_block(b["code"]):
            out.append({"file": b["file"], "line": b["line"] + line, "message": message})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
