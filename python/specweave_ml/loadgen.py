"""A dependency-free HTTP load generator that records its result as an experiment tagged ``load-test``.

    python -m specweave_ml.loadgen --url http://127.0.0.1:8000/predict --payload loadtest/payload.json \\
        --requests 2000 --concurrency 16 --increment 0042 --record

Sends ``--requests`` POST requests (GET without ``--payload``) from ``--concurrency`` threads, each thread holding
one keep-alive connection (``--new-connections`` opens one per request, which spreads requests over a server's
workers). Measures each request from sending to the last byte of the response. Reports the p50/p95/p99/mean latency
of the successful (2xx) requests in milliseconds, the throughput (completed requests per second of wall time) and
the share of requests that failed (non-2xx status or no response). With ``--record`` the figures are written into
the increment as an experiment tagged ``load-test`` (metrics latency_p50_ms, latency_p95_ms, latency_p99_ms,
latency_mean_ms, throughput_rps, request_error_rate; params url, requests, concurrency, workers and the model's
name, version and sha256 when given). Load tests are never candidates for the best model. Standard library only.
"""

import argparse
import http.client
import json
import math
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union
from urllib.parse import urlsplit

from .errors import SpecweaveError

__all__ = ["LoadTestResult", "LoadTestError", "percentile", "run_load_test", "record_load_test", "main"]

LOAD_TEST_TAG = "load-test"


class LoadTestError(SpecweaveError, ValueError):
    """A load test that cannot run as asked (bad URL, payload or counts); the message says how to fix the call."""


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks: numpy's default method."""
    if not values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100, not %r" % (q,))
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


class LoadTestResult:
    """What one load test measured. ``latencies_ms`` holds every successful request's latency, in order of
    completion; ``statuses`` counts responses by status code (0: no response)."""

    def __init__(self, url: str, requests: int, concurrency: int, wall_seconds: float, latencies_ms: List[float],
                 statuses: Dict[int, int], errors: List[str]):
        self.url = url
        self.requests = requests
        self.concurrency = concurrency
        self.wall_seconds = wall_seconds
        self.latencies_ms = latencies_ms
        self.statuses = statuses
        self.errors = errors

    @property
    def failed(self) -> int:
        return sum(n for code, n in self.statuses.items() if not 200 <= code < 300)

    def metrics(self) -> Dict[str, float]:
        """The vocabulary's serving metrics; latencies are omitted when no request succeeded."""
        out = {
            "throughput_rps": self.requests / self.wall_seconds if self.wall_seconds > 0 else math.nan,
            "request_error_rate": self.failed / self.requests if self.requests else math.nan,
        }
        if self.latencies_ms:
            out.update({
                "latency_p50_ms": percentile(self.latencies_ms, 50),
                "latency_p95_ms": percentile(self.latencies_ms, 95),
                "latency_p99_ms": percentile(self.latencies_ms, 99),
                "latency_mean_ms": sum(self.latencies_ms) / len(self.latencies_ms),
            })
        return out

    def summary(self) -> str:
        m = self.metrics()
        lat = ("p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, mean %.2f ms" % (
            m["latency_p50_ms"], m["latency_p95_ms"], m["latency_p99_ms"], m["latency_mean_ms"])
            if "latency_p50_ms" in m else "no successful request")
        return "%d requests, concurrency %d, %.2f s: %s; %.1f requests/s; error rate %.4f" % (
            self.requests, self.concurrency, self.wall_seconds, lat, m["throughput_rps"], m["request_error_rate"])


def _target(url: str):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LoadTestError("--url must be an http(s) URL such as http://127.0.0.1:8000/predict, not %r" % url)
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    return parts.scheme, parts.hostname, parts.port, path


def run_load_test(url: str, payload: Optional[Union[bytes, str, Dict[str, Any], List[Any]]] = None,
                  requests: int = 100, concurrency: int = 4, timeout: float = 30.0,
                  new_connections: bool = False, headers: Optional[Dict[str, str]] = None) -> LoadTestResult:
    """Sends ``requests`` requests to ``url`` from ``concurrency`` threads and measures them (see the module
    docstring). ``payload`` is sent as the JSON body of a POST (bytes or str as they are; dicts and lists encoded);
    without it, GET."""
    if not isinstance(requests, int) or requests < 1:
        raise LoadTestError("requests must be a whole number >= 1, not %r" % (requests,))
    if not isinstance(concurrency, int) or concurrency < 1:
        raise LoadTestError("concurrency must be a whole number >= 1, not %r" % (concurrency,))
    scheme, host, port, path = _target(url)
    if isinstance(payload, (dict, list)):
        body: Optional[bytes] = json.dumps(payload).encode("utf-8")
    elif isinstance(payload, str):
        body = payload.encode("utf-8")
    else:
        body = payload
    method = "POST" if body is not None else "GET"
    send_headers = {"Content-Type": "application/json", "Accept": "application/json"} if body is not None else {}
    send_headers.update(headers or {})
    connection_class = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection

    counter = iter(range(requests))
    counter_lock = threading.Lock()
    results_lock = threading.Lock()
    latencies: List[float] = []
    statuses: Dict[int, int] = {}
    errors: List[str] = []

    def take() -> bool:
        with counter_lock:
            return next(counter, None) is not None

    def worker() -> None:
        conn = None
        while take():
            if conn is None:
                conn = connection_class(host, port, timeout=timeout)
            started = time.perf_counter()
            status = 0
            try:
                conn.request(method, path, body=body, headers=send_headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                elapsed = (time.perf_counter() - started) * 1000.0
                if new_connections or response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                elapsed = None
                conn.close()
                conn = None
                with results_lock:
                    if len(errors) < 20:
                        errors.append("%s: %s" % (type(e).__name__, e))
            with results_lock:
                statuses[status] = statuses.get(status, 0) + 1
                if elapsed is not None and 200 <= status < 300:
                    latencies.append(elapsed)
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(concurrency, requests))]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return LoadTestResult(url, requests, concurrency, wall, latencies, statuses, errors)


def record_load_test(result: LoadTestResult, increment: Optional[Union[str, int]] = None, name: Optional[str] = None,
                     params: Optional[Dict[str, Any]] = None, root: Optional[Union[str, Path]] = None):
    """Records ``result`` in the increment as an experiment tagged ``load-test`` (named ``load-test-<UTC time>``
    unless ``name`` is given) and returns its :class:`~specweave_ml.tracking.Experiment`."""
    from .tracking import Experiment

    exp_name = name or time.strftime("load-test-%Y%m%dT%H%M%SZ", time.gmtime())
    recorded = {"url": result.url, "requests": result.requests, "concurrency": result.concurrency}
    recorded.update({k: v for k, v in (params or {}).items() if v is not None})
    exp = Experiment(exp_name, increment=increment, params=recorded, tags=[LOAD_TEST_TAG], root=root)
    with exp:
        exp.log_metrics(result.metrics())
        exp.log_note(result.summary() + (("; first errors: " + " | ".join(result.errors[:3])) if result.errors else ""))
    return exp


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m specweave_ml.loadgen", description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="the endpoint, e.g. http://127.0.0.1:8000/predict")
    parser.add_argument("--requests", type=int, default=1000, help="requests to send in total (default 1000)")
    parser.add_argument("--concurrency", type=int, default=8, help="threads sending at once (default 8)")
    parser.add_argument("--payload", help="a JSON file sent as the body of each POST (GET without it)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for one response")
    parser.add_argument("--new-connections", action="store_true", help="one connection per request")
    parser.add_argument("--increment", help="the increment to record into (number or folder name)")
    parser.add_argument("--record", action="store_true", help="record the result as a load-test experiment")
    parser.add_argument("--name", help="experiment name (default load-test-<UTC time>)")
    parser.add_argument("--workers", type=int, help="server workers, recorded as a param")
    parser.add_argument("--model-name", help="recorded as a param")
    parser.add_argument("--model-version", help="recorded as a param")
    parser.add_argument("--model-sha256", help="recorded as a param")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    args = parser.parse_args(argv)
    try:
        payload = None
        if args.payload:
            try:
                payload = Path(args.payload).read_bytes()
                json.loads(payload.decode("utf-8"))
            except (OSError, ValueError) as e:
                raise LoadTestError("--payload %s is not a readable JSON file: %s" % (args.payload, e))
        result = run_load_test(args.url, payload, requests=args.requests, concurrency=args.concurrency,
                               timeout=args.timeout, new_connections=args.new_connections)
        print(result.summary(), file=sys.stderr)
        if args.record:
            exp = record_load_test(result, increment=args.increment, name=args.name, params={
                "workers": args.workers, "model_name": args.model_name, "model_version": args.model_version,
                "model_sha256": args.model_sha256, "payload": args.payload,
                "new_connections": args.new_connections or None})
            print("recorded experiment %s in %s" % (exp.name, exp.increment), file=sys.stderr)
        if args.json:
            print(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v)
                              for k, v in result.metrics().items()}))
    except SpecweaveError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    return 0 if result.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
