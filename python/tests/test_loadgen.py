"""specweave_ml.loadgen: percentiles against numpy, a real HTTP server counting what it received, the recorded
load-test experiment, and the input schema that save_model records for scaffold_deployment."""

import json
import random
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from helpers import ProjectTestCase
from specweave_ml import read_experiment, track_experiment
from specweave_ml.loadgen import LoadTestError, main, percentile, record_load_test, run_load_test
from specweave_ml.errors import SpecweaveError
from specweave_ml.tracking import InputSchemaError, input_schema

try:
    import numpy as np
    HAVE_NUMPY = True
except ImportError:
    HAVE_NUMPY = False

try:
    import pandas  # noqa: F401
    import sklearn  # noqa: F401
    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False


class CountingServer:
    """A real HTTP server on 127.0.0.1: answers 500 to every `fail_every`-th request, 200 otherwise, and keeps the
    bodies it received."""

    def __init__(self, fail_every=0):
        outer = self
        self.bodies = []
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _answer(self, body):
                with outer.lock:
                    outer.bodies.append(body)
                    n = len(outer.bodies)
                status = 500 if fail_every and n % fail_every == 0 else 200
                data = b'{"ok": true}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                self._answer(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

            def do_GET(self):
                self._answer(None)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/predict" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@unittest.skipUnless(HAVE_NUMPY, "numpy is not installed for this interpreter")
class PercentileTest(unittest.TestCase):
    def test_matches_numpy_linear_interpolation(self):
        rng = random.Random(7)
        for n in (1, 2, 3, 10, 101, 1000):
            values = [rng.lognormvariate(0, 1) for _ in range(n)]
            for q in (0, 1, 50, 90, 95, 99, 99.9, 100):
                self.assertAlmostEqual(percentile(values, q), float(np.percentile(values, q)), places=12,
                                       msg="n=%d q=%s" % (n, q))

    def test_ties_and_order_do_not_matter(self):
        values = [5.0, 1.0, 1.0, 3.0, 9.0, 1.0]
        for q in (25, 50, 75, 95):
            self.assertAlmostEqual(percentile(values, q), float(np.percentile(values, q)), places=12)

    def test_empty_and_out_of_range(self):
        self.assertTrue(percentile([], 50) != percentile([], 50))  # NaN
        with self.assertRaises(ValueError):
            percentile([1.0], 101)


class RunLoadTestTest(unittest.TestCase):
    def test_sends_exactly_the_requests_with_the_payload(self):
        payload = {"mean radius": 17.99, "flag": True}
        with CountingServer() as server:
            result = run_load_test(server.url, payload, requests=57, concurrency=5)
        self.assertEqual(len(server.bodies), 57)
        self.assertTrue(all(json.loads(b) == payload for b in server.bodies))
        self.assertEqual(result.statuses, {200: 57})
        self.assertEqual(len(result.latencies_ms), 57)
        m = result.metrics()
        self.assertEqual(m["request_error_rate"], 0.0)
        self.assertAlmostEqual(m["throughput_rps"], 57 / result.wall_seconds, places=9)
        self.assertLessEqual(m["latency_p50_ms"], m["latency_p95_ms"])
        self.assertLessEqual(m["latency_p95_ms"], m["latency_p99_ms"])
        self.assertLessEqual(m["latency_p99_ms"], max(result.latencies_ms))
        self.assertAlmostEqual(m["latency_mean_ms"], sum(result.latencies_ms) / 57, places=9)
        # Every request took part of the wall time; none can have been longer than all of it.
        self.assertLess(max(result.latencies_ms), result.wall_seconds * 1000 + 1e-6)

    def test_error_rate_counts_failed_statuses_and_latency_only_successes(self):
        with CountingServer(fail_every=4) as server:
            result = run_load_test(server.url, b"{}", requests=40, concurrency=1)
        self.assertEqual(result.statuses, {200: 30, 500: 10})
        self.assertEqual(result.metrics()["request_error_rate"], 0.25)
        self.assertEqual(len(result.latencies_ms), 30)

    def test_connection_refused_is_an_error_not_a_crash(self):
        with CountingServer() as server:
            url = server.url
        result = run_load_test(url, None, requests=3, concurrency=2, timeout=2)
        self.assertEqual(result.statuses, {0: 3})
        self.assertEqual(result.metrics()["request_error_rate"], 1.0)
        self.assertNotIn("latency_p50_ms", result.metrics())
        self.assertTrue(result.errors)

    def test_bad_arguments(self):
        for kwargs in ({"requests": 0}, {"concurrency": 0}, {"requests": 2.5}):
            with self.assertRaises(LoadTestError):
                run_load_test("http://127.0.0.1:1/x", None, **kwargs)
        with self.assertRaises(LoadTestError):
            run_load_test("ftp://example.com/x", None)


class RecordLoadTestTest(ProjectTestCase):
    def test_cli_records_a_load_test_experiment(self):
        payload = self.tmp / "payload.json"
        payload.write_text('{"x0": 1.5}')
        with CountingServer() as server:
            code = main(["--url", server.url, "--payload", str(payload), "--requests", "25", "--concurrency", "3",
                         "--increment", "0001", "--record", "--name", "load-test-a", "--workers", "2",
                         "--model-name", "churn", "--model-version", "1.0.0", "--model-sha256", "ab" * 32])
        self.assertEqual(code, 0)
        self.assertEqual(len(server.bodies), 25)
        r = read_experiment("load-test-a", increment="0001")
        self.assertEqual(r["metadata"]["tags"], ["load-test"])
        self.assertEqual(r["metadata"]["status"], "completed")
        self.assertEqual(r["params"]["requests"], 25)
        self.assertEqual(r["params"]["concurrency"], 3)
        self.assertEqual(r["params"]["workers"], 2)
        self.assertEqual(r["params"]["model_version"], "1.0.0")
        self.assertEqual(r["params"]["url"], server.url)
        for name in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "latency_mean_ms", "throughput_rps",
                     "request_error_rate"):
            self.assertIn(name, r["metrics"])
        self.assertEqual(r["metrics"]["request_error_rate"], 0)

    def test_recorded_values_are_the_measured_ones(self):
        with CountingServer() as server:
            result = run_load_test(server.url, {"a": 1}, requests=30, concurrency=2)
        record_load_test(result, increment="0001", name="load-test-b", params={"workers": 1})
        r = read_experiment("load-test-b", increment="0001")
        for k, v in result.metrics().items():
            self.assertAlmostEqual(r["metrics"][k], v, places=9)

    def test_cli_rejects_a_payload_that_is_not_json(self):
        bad = self.tmp / "bad.json"
        bad.write_text("{not json")
        self.assertEqual(main(["--url", "http://127.0.0.1:1/", "--payload", str(bad), "--requests", "1"]), 2)


@unittest.skipUnless(HAVE_SKLEARN, "scikit-learn and pandas are not installed for this interpreter")
class InputSchemaTest(ProjectTestCase):
    def test_save_model_records_the_schema_of_a_dataframe(self):
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        X, y = load_iris(return_X_y=True, as_frame=True)
        X["big"] = (X["petal length (cm)"] > 4).astype(int)
        model = LogisticRegression(max_iter=500).fit(X, y)
        with track_experiment("lr", increment="0001") as exp:
            exp.save_model(model, "model", input_example=X)
        schema = json.loads((self.exp_dir("lr") / "input_schema.json").read_text())
        self.assertEqual([f["name"] for f in schema["features"]], list(X.columns))
        self.assertEqual([f["dtype"] for f in schema["features"]], [str(d) for d in X.dtypes])
        self.assertEqual(schema["features"][-1]["type"], "integer")
        self.assertEqual(schema["features"][0]["type"], "number")
        self.assertEqual(schema["input"], "dataframe")
        self.assertEqual(schema["classes"], model.classes_.tolist())
        self.assertEqual(schema["task"], "classification")
        self.assertEqual(schema["model"], "model.joblib")
        self.assertEqual(schema["example"]["sepal length (cm)"], float(X.iloc[0, 0]))
        self.assertIn("scikit-learn", schema["requirements"])
        self.assertIn("pandas", schema["requirements"])
        arts = [a["path"] for a in read_experiment("lr", increment="0001")["metadata"]["artifacts"]]
        self.assertEqual(arts, ["model.joblib", "input_schema.json"])

    def test_array_names_come_from_the_model_and_mismatch_is_refused(self):
        from sklearn.linear_model import LinearRegression

        X = np.arange(12, dtype=float).reshape(4, 3)
        model = LinearRegression().fit(X, [1.0, 2.0, 3.0, 5.0])
        schema = input_schema(X, model)
        self.assertEqual([f["name"] for f in schema["features"]], ["x0", "x1", "x2"])
        self.assertEqual(schema["task"], "regression")
        self.assertIsNone(schema["classes"])
        with self.assertRaises(InputSchemaError):
            input_schema(X[:, :2], model)
        with self.assertRaises(InputSchemaError):
            input_schema(X[:0], model)
        with self.assertRaises(InputSchemaError):
            input_schema(X.reshape(-1), model)
        with self.assertRaises(InputSchemaError):
            input_schema(np.array([[1 + 2j]]))

    def test_a_bad_example_writes_neither_model_nor_schema(self):
        from sklearn.linear_model import LinearRegression

        model = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
        with track_experiment("bad", increment="0001") as exp:
            with self.assertRaises(InputSchemaError) as caught:
                exp.save_model(model, "model", input_example=[[0.0, 1.0]])
        self.assertIsInstance(caught.exception, SpecweaveError)
        self.assertIn("fitted on 1", str(caught.exception))
        self.assertFalse((self.exp_dir("bad") / "model.joblib").exists())
        self.assertFalse((self.exp_dir("bad") / "input_schema.json").exists())


if __name__ == "__main__":
    unittest.main()
