"""The Python half of the MLflow comparison rows in scripts/bench.ts (docs/benchmarks.md).

Each command is one whole process, so the bench can time it from outside as a user's script would run:
    log-specweave <project>      1,000 runs x 10 metrics x 20 params through specweave_ml (cwd-independent)
    log-mlflow <folder>          the same data through MLflow, SQLite backend <folder>/mlflow.db
    load-mlflow <increment> <db> copies an increment's experiments into MLflow (set-up, not timed)
    search-mlflow <db>           times mlflow.search_runs ordered by metrics.metric_0 DESC; prints JSON
Both loggers use each library's idiomatic per-run batch calls: specweave_ml's log_params/log_metrics (one write
each) and MLflow's log_params/log_metrics (each one log_batch call).
"""
import json
import os
import random
import sys
import time

RUNS, METRICS, PARAMS = 1000, 10, 20


def run_data():
    """The same deterministic runs for both libraries: names, 20 params (strings and floats), 10 metrics."""
    rnd = random.Random(1)
    for i in range(RUNS):
        params = {f"param_{k}": (rnd.random() if k % 3 else f"value-{k}") for k in range(PARAMS)}
        metrics = {f"metric_{k}": rnd.random() for k in range(METRICS)}
        yield f"run-{i:04d}", params, metrics


def log_specweave(project):
    os.environ["SPECWEAVE_ROOT"] = project
    from specweave_ml import track_experiment
    for name, params, metrics in run_data():
        with track_experiment(name, increment="1") as exp:
            exp.log_params(params)
            exp.log_metrics(metrics)


def quiet_mlflow(db):
    import logging
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    import mlflow
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    return mlflow


def log_mlflow(folder):
    mlflow = quiet_mlflow(os.path.join(folder, "mlflow.db"))
    mlflow.set_experiment("bench")
    for name, params, metrics in run_data():
        with mlflow.start_run(run_name=name):
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)


def load_mlflow(inc_dir, db):
    """Set-up for the ranking row (untimed). Logging 10,000 runs through MLflow's client takes ~35 ms a run on
    this machine (six minutes), so MLflow creates the database, the experiment and the first run itself
    (create_run + log_batch + set_terminated); the other runs are copies of that run's rows, one per experiment,
    inserted with sqlite3 into the tables MLflow made: runs, tags, params, metrics and latest_metrics."""
    quiet_mlflow(db)
    import sqlite3
    import uuid
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient
    client = MlflowClient()
    exp_id = client.create_experiment("bench")
    exps = os.path.join(inc_dir, "experiments")
    now = int(time.time() * 1000)

    def read(name):
        with open(os.path.join(exps, name, "params.json")) as f:
            params = json.load(f)
        with open(os.path.join(exps, name, "metrics.json")) as f:
            metrics = json.load(f)
        return params, metrics

    names = sorted(os.listdir(exps))
    params, metrics = read(names[0])
    first = client.create_run(exp_id, run_name=names[0])
    client.log_batch(first.info.run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
                     params=[Param(k, str(v)) for k, v in params.items()])
    client.set_terminated(first.info.run_id)

    con = sqlite3.connect(db)
    template = con.execute("SELECT * FROM runs WHERE run_uuid = ?", (first.info.run_id,)).fetchone()
    cols = [r[1] for r in con.execute("PRAGMA table_info(runs)")]
    tags = con.execute("SELECT key, value FROM tags WHERE run_uuid = ?", (first.info.run_id,)).fetchall()
    for name in names[1:]:
        params, metrics = read(name)
        run_id = uuid.uuid4().hex
        row = dict(zip(cols, template), run_uuid=run_id, name=name,
                   artifact_uri=template[cols.index("artifact_uri")].replace(first.info.run_id, run_id))
        con.execute(f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [row[c] for c in cols])
        con.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                        [(k, name if k == "mlflow.runName" else v, run_id) for k, v in tags])
        con.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                        [(k, str(v), run_id) for k, v in params.items()])
        for table in ("metrics", "latest_metrics"):
            con.executemany(f"INSERT INTO {table} (key, value, timestamp, run_uuid, step, is_nan) "
                            "VALUES (?, ?, ?, ?, 0, 0)", [(k, float(v), now, run_id) for k, v in metrics.items()])
    con.commit()
    con.close()
    print(json.dumps({"experiment_id": exp_id, "runs": len(names)}))


def search_mlflow(db):
    mlflow = quiet_mlflow(db)
    exp_id = mlflow.get_experiment_by_name("bench").experiment_id
    t = time.perf_counter()
    df = mlflow.search_runs(experiment_ids=[exp_id], order_by=["metrics.metric_0 DESC"], max_results=10000)
    ms = (time.perf_counter() - t) * 1000
    print(json.dumps({"ms": ms, "rows": len(df), "best": df["metrics.metric_0"].iloc[0]}))


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    {"log-specweave": log_specweave, "log-mlflow": log_mlflow, "load-mlflow": load_mlflow,
     "search-mlflow": search_mlflow}[cmd](*args)
