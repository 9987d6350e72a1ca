"""Talks to a running MLflow tracking server with the real mlflow client, for the REST importer and exporter tests.

Usage:
  python mlflow-server.py populate <tracking uri>
      Logs runs and prints, as JSON, what it logged: experiment "vision" with a finished run (params, step
      histories, tags, a note, a git commit), a parent with a nested child, a failed run, a run with NaN and
      infinities, a deleted run; experiment "tabular" with one run. Metric points carry explicit timestamps so the
      test compares every point exactly. NaN and infinities are printed as strings (JSON has none).
  python mlflow-server.py read <tracking uri> <experiment name>
      Prints every active run of the experiment as the client reads it back: info, params, tags and the full
      history of each metric (search_runs + get_metric_history), or {"experiment": null} when it does not exist.
"""
import json
import os
import sys

os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import mlflow  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from mlflow_logging import BASE_MS, RunLog, number  # noqa: E402


def populate(client):
    run_log = RunLog(client)
    logged = run_log.runs
    record, log_history, log_params, set_tags = run_log.record, run_log.log_history, run_log.log_params, run_log.set_tags

    exp_id = mlflow.set_experiment("vision").experiment_id
    with mlflow.start_run(run_name="baseline") as run:
        rid = run.info.run_id
        record(rid, name="baseline", expect_status="completed")
        log_params(rid, {"lr": 0.01, "epochs": 3, "optimizer": "adam", "use_bn": True})
        log_history(rid, "loss", [0.9, 0.5, 0.3, 0.25], 0)
        log_history(rid, "accuracy", [0.6, 0.8, 0.85, 0.9], 100)
        set_tags(rid, {"team": "vision", "mlflow.source.git.commit": "0123456789abcdef0123456789abcdef01234567", "mlflow.note.content": "first try"})

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
        entry.update(run_id=run_id, experiment_id=exp_id, start_time=info.start_time, end_time=info.end_time)

    other_id = mlflow.set_experiment("tabular").experiment_id
    with mlflow.start_run(run_name="xgb") as run:
        client.log_param(run.info.run_id, "max_depth", 6)
        client.log_metric(run.info.run_id, "auc", 0.81, timestamp=BASE_MS, step=0)
    return {"mlflow_version": mlflow.__version__, "experiment_id": exp_id, "other_experiment_id": other_id, "other_run_id": run.info.run_id, "runs": list(logged.values())}


def read(client, name):
    exp = client.get_experiment_by_name(name)
    if exp is None:
        return {"experiment": None, "runs": []}
    runs = []
    for run in client.search_runs([exp.experiment_id], max_results=50000):
        history = []
        for key in sorted(run.data.metrics):
            for m in client.get_metric_history(run.info.run_id, key):
                history.append({"metric": key, "value": number(m.value), "step": m.step, "timestamp": m.timestamp})
        runs.append(
            {
                "run_id": run.info.run_id,
                "name": run.info.run_name,
                "status": run.info.status,
                "start_time": run.info.start_time,
                "end_time": run.info.end_time,
                "params": run.data.params,
                "tags": run.data.tags,
                "metrics": {k: number(v) for k, v in run.data.metrics.items()},
                "history": history,
            }
        )
    return {"experiment": {"id": exp.experiment_id, "name": exp.name}, "runs": runs}


if __name__ == "__main__":
    mode, uri = sys.argv[1], sys.argv[2]
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    out = populate(client) if mode == "populate" else read(client, sys.argv[3])
    print(json.dumps(out))
