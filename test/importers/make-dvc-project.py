"""Builds a DVC project with the real dvc and dvclive, for dvc-real.test.ts.

Usage: python make-dvc-project.py <empty folder>
In the folder: a git repository with a dvclive training stage, two experiments run with `dvc exp run -S`
(kept in refs/exps) and two queued ones run with `dvc exp run --run-all`. The last line printed is JSON:
{"dvc_version", "dvclive_version", "exp_show": <`dvc exp show --json`>, "refs": [<refs/exps/...>]}.
Runs offline; it never touches a remote.
"""
import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap

import dvc
import dvclive

ROOT = sys.argv[1]
BIN = os.path.dirname(sys.executable)
DVC = os.path.join(BIN, "dvc")

TRAIN = textwrap.dedent(
    '''
    import yaml
    from dvclive import Live

    params = yaml.safe_load(open("params.yaml"))
    lr = params["train"]["lr"]
    epochs = params["train"]["epochs"]
    with Live(save_dvc_exp=False) as live:
        live.log_param("seed", 7)
        loss = 1.0
        for epoch in range(epochs):
            loss = round(loss * (1 - lr), 6)
            live.log_metric("train/loss", loss)
            live.log_metric("acc", round(1 - loss / 2, 6))
            live.next_step()
        live.log_sklearn_plot("confusion_matrix", [0, 1, 1, 0], [0, 1, 0, 0])
        live.summary["best_epoch"] = epochs - 1
    '''
)


def run(*args):
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", ""), "DVC_NO_ANALYTICS": "1",
           # DVC keeps per-repository state under /var/tmp/dvc by default; keep it beside the project instead.
           "DVC_SITE_CACHE_DIR": ROOT.rstrip(os.sep) + "-dvc-site-cache",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(args, cwd=ROOT, check=True, env=env, capture_output=True, text=True).stdout


os.makedirs(ROOT, exist_ok=True)
run("git", "init", "-q", "-b", "main")
run(DVC, "init", "-q")
run(DVC, "config", "core.analytics", "false")
with open(os.path.join(ROOT, "train.py"), "w") as f:
    f.write(TRAIN)
with open(os.path.join(ROOT, "params.yaml"), "w") as f:
    f.write("train:\n  lr: 0.1\n  epochs: 3\nmodel:\n  name: tiny\n")
with open(os.path.join(ROOT, "dvc.yaml"), "w") as f:
    f.write(textwrap.dedent(
        f'''
        stages:
          train:
            cmd: {sys.executable} train.py
            deps: [train.py]
            params: [train]
            outs: [dvclive/plots:  {{cache: false}}]
            metrics: [dvclive/metrics.json: {{cache: false}}]
        '''
    ))
run("git", "add", "-A")
run("git", "commit", "-q", "-m", "baseline")
run(DVC, "exp", "run", "-n", "lr-fast", "-S", "train.lr=0.3")
run(DVC, "exp", "run", "-n", "long", "-S", "train.epochs=5", "-S", "model.name=wide")
run(DVC, "exp", "run", "--queue", "-n", "q-slow", "-S", "train.lr=0.05")
run(DVC, "exp", "run", "--queue", "-n", "q-short", "-S", "train.epochs=2")
run(DVC, "exp", "run", "--run-all")
shown = json.loads(run(DVC, "exp", "show", "--json"))
refs = run("git", "for-each-ref", "--format=%(refname)", "refs/exps/").split()
print(json.dumps({"dvc_version": dvc.__version__, "dvclive_version": importlib.metadata.version("dvclive"), "exp_show": shown, "refs": refs}))
