"""Writes real W&B offline runs with the installed wandb library and prints, as JSON, what each run logged.

Usage: python make-wandb-runs.py <folder>. The runs land in <folder>/wandb/offline-run-*; stdout's last line is
{"runs": [{id, name, config, history: [{_step, metric: value...}], summary, exit_code, tags, notes}]}, which
test/importers/wandb-real.test.ts checks the importer against value by value.
"""

import json
import math
import os
import sys

os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"
os.environ.setdefault("WANDB_DISABLE_CODE", "true")

import wandb  # noqa: E402

out = sys.argv[1]
logged = []


def trained():
    config = {"lr": 0.003, "epochs": 4, "optimizer": {"name": "adam", "betas": [0.9, 0.999], "schedule": {"warmup": 2}},
              "use_amp": False, "note": "baseline"}
    run = wandb.init(project="churn", dir=out, config=config, name="resnet-small", tags=["baseline", "cpu"],
                     notes="first real run")
    history = []
    for step in range(4):
        row = {"train/loss": 1.0 / (step + 1), "val_acc": 0.5 + 0.1 * step, "val": {"f1": 0.4 + 0.05 * step}}
        run.log(row)
        history.append({"_step": step, "train/loss": row["train/loss"], "val_acc": row["val_acc"],
                        "val.f1": row["val"]["f1"]})
    run.config.update({"batch_size": 32})
    run.summary["best_val_acc"] = 0.8
    run.summary["val_acc"] = 0.77  # an explicit summary wins over the last logged value
    run.finish()
    config["batch_size"] = 32
    logged.append({"id": run.id, "name": "resnet-small", "config": config, "history": history,
                   "summary": {"train/loss": 0.25, "val_acc": 0.77, "val.f1": history[-1]["val.f1"],
                               "best_val_acc": 0.8},
                   "exit_code": 0, "tags": ["baseline", "cpu"], "notes": "first real run"})


def crashed():
    run = wandb.init(project="churn", dir=out, config={"lr": 0.1})
    try:
        with run:
            run.log({"loss": 2.5}, step=0)
            run.log({"loss": float("nan")}, step=1)
            raise RuntimeError("diverged")
    except RuntimeError:
        pass
    logged.append({"id": run.id, "name": None, "config": {"lr": 0.1},
                   "history": [{"_step": 0, "loss": 2.5}, {"_step": 1, "loss": "NaN"}],
                   "summary": {"loss": "NaN"}, "exit_code": 1, "tags": [], "notes": None})


trained()
crashed()
print(json.dumps({"runs": logged, "wandb": wandb.__version__}))
