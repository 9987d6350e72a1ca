"""Writes a small MLflow SQLite store with the real mlflow library and prints, as JSON, what it logged.

Usage: python make-mlflow-db.py <folder>   (creates <folder>/mlflow.db)

Runs: a finished run with params, step histories, tags, a note, a git commit and a registered model version; a parent with a nested child; a
failed run; a run with NaN and infinite values; a deleted run. Metric values are logged with explicit timestamps so
the test can compare every point exactly. NaN and infinities are printed as strings (JSON has none).
"""
import json
import os
import sys

folder = os.path.abspath(sys.argv[1])
os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{os.path.join(folder, 'mlflow.db')}"
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import mlflow  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from mlflow_logging import RunLog  # noqa: E402

client = MlflowClient()
run_log = RunLog(client)
logged = run_log.runs
record, log_history, log_params, set_tags = run_log.record, run_log.log_history, run_log.log_params, run_log.set_tags

exp_id = mlflow.set_experiment("vision").experiment_id

with mlflow.start_run(run_name="baseline") as run:
    rid = run.info.run_id
    record(rid, name="baseline", expect_status="completed")
    log_params(rid, {"lr": 0.01, "epochs": 3, "optimizer": "adam"})
    log_history(rid, "loss", [0.9, 0.5, 0.3, 0.25], 0)
    log_history(rid, "accuracy", [0.6, 0.8, 0.85, 0.9], 100)
    set_tags(rid, {"team": "vision", "mlflow.source.git.commit": "0123456789abcdef0123456789abcdef01234567", "mlflow.note.content": "first try"})

version = client.create_model_version(client.create_registered_model("churn").name, source=f"runs:/{rid}/model", run_id=rid)
record(rid, registered=[{"name": "churn", "version": int(version.version), "stage": version.current_stage}])

with mlflow.start_run(run_name="sweep") as parent:
    pid = parent.info.run_id
    record(pid, name="sweep", expect_status="completed")
    log_params(pid, {"grid": "lr"})
    with mlflow.start_run(run_name="sweep-child", nested=True) as child:
        cid = child.info.run_id
        record(cid, name="sweep-child", expect_status="completed", parent=pid)
        log_params(cid, {"lr": 0.1})
        log_history(cid, "loss", [0.7, 0.4], 200)

with mlflow.start_run(run_name="crashed") as run:
    fid = run.info.run_id
    record(fid, name="crashed", expect_status="failed")
    log_history(fid, "loss", [1.5], 300)
mlflow.end_run()
client.set_terminated(fid, status="FAILED")

with mlflow.start_run(run_name="odd-values") as run:
    oid = run.info.run_id
    record(oid, name="odd-values", expect_status="completed")
    log_history(oid, "weird", [float("nan"), float("inf"), float("-inf"), 2.5], 400)

with mlflow.start_run(run_name="thrown-away") as run:
    did = run.info.run_id
    record(did, name="thrown-away", expect_status="completed", deleted=True)
    log_params(did, {"x": 1})
client.delete_run(did)

for run_id, entry in logged.items():
    info = client.get_run(run_id).info
    entry.update(run_id=run_id, experiment_id=exp_id, start_time=info.start_time, end_time=info.end_time, status=info.status)

print(json.dumps({"mlflow_version": mlflow.__version__, "experiment_id": exp_id, "runs": list(logged.values())}))
