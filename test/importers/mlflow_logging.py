"""What the test scripts that write MLflow runs share: log through the real client and remember every value logged,
with explicit timestamps, so the test can compare each point exactly. NaN and infinities are kept as strings
(JSON has none). Imported by make-mlflow-db.py and mlflow-server.py, which run with this folder on sys.path."""
import math

BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def number(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


class RunLog:
    """Logs through ``client`` and keeps, per run id, the params, history points and tags it logged."""

    def __init__(self, client):
        self.client = client
        self.runs = {}

    def record(self, run_id, **extra):
        self.runs.setdefault(run_id, {"params": {}, "history": [], "tags": {}})
        self.runs[run_id].update(extra)
        return self.runs[run_id]

    def log_history(self, run_id, key, values, offset):
        for step, value in enumerate(values):
            ts = BASE_MS + offset + step * 1000
            self.client.log_metric(run_id, key, value, timestamp=ts, step=step)
            self.record(run_id)["history"].append({"metric": key, "value": number(value), "step": step, "timestamp": ts})

    def log_params(self, run_id, params):
        for k, v in params.items():
            self.client.log_param(run_id, k, v)
            self.record(run_id)["params"][k] = str(v)

    def set_tags(self, run_id, tags):
        for k, v in tags.items():
            self.client.set_tag(run_id, k, v)
            self.record(run_id)["tags"][k] = v
