"""Interop with the TypeScript MCP server: both write one experiment at the same time and nothing is lost.

Runs only when ``node`` and the server bundle (mcp-server/dist/server.mjs, built by ``npm run build``) exist.
The Node side is a raw JSON-RPC exchange over stdio (no npm packages needed).
"""

import json
import statistics
import shutil
import subprocess
import sys
import time
import unittest
from pathlib import Path

from helpers import PYTHON_DIR, ProjectTestCase, subprocess_env
from specweave_ml import track_experiment
from specweave_ml._store import read_experiment_dir

BUNDLE = PYTHON_DIR.parent / "mcp-server" / "dist" / "server.mjs"
NODE = shutil.which("node")
WORKER = str(Path(__file__).with_name("_worker.py"))

CLIENT_JS = r"""
// usage: node client.mjs <bundle> <root> <calls as JSON> [window]
import { spawn } from 'node:child_process';
const [bundle, root, callsJson, windowArg] = process.argv.slice(2);
const calls = JSON.parse(callsJson);
const windowSize = Number(windowArg || 1);
const server = spawn(process.execPath, [bundle, '--root', root], { stdio: ['pipe', 'pipe', 'inherit'] });
let buffer = '';
const pending = new Map();
server.stdout.on('data', (chunk) => {
  buffer += chunk;
  let nl;
  while ((nl = buffer.indexOf('\n')) >= 0) {
    const line = buffer.slice(0, nl).trim();
    buffer = buffer.slice(nl + 1);
    if (!line) continue;
    const msg = JSON.parse(line);
    if (msg.id !== undefined && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
  }
});
let nextId = 1;
const request = (method, params) => new Promise((resolve) => {
  const id = nextId++;
  pending.set(id, resolve);
  server.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
});
const init = await request('initialize', {
  protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'specweave-ml-python-tests', version: '0' },
});
if (init.error) { console.error(JSON.stringify(init.error)); process.exit(2); }
server.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
const results = new Array(calls.length);
let next = 0;
async function worker() {
  while (next < calls.length) {
    const i = next++;
    const res = await request('tools/call', { name: calls[i].name, arguments: calls[i].arguments });
    results[i] = res;
  }
}
await Promise.all(Array.from({ length: windowSize }, worker));
server.stdin.end();
server.kill();
let failed = 0;
for (const r of results) if (r.error || r.result?.isError) failed += 1;
process.stdout.write(JSON.stringify({ failed, results }) + '\n');
process.exit(failed ? 1 : 0);
"""


@unittest.skipUnless(NODE and BUNDLE.exists(), "node or mcp-server/dist/server.mjs is missing (npm run build)")
class ServerInteropTest(ProjectTestCase):
    def setUp(self):
        super().setUp()
        shutil.rmtree(self.root / ".specweave")
        (self.root / ".specweave").mkdir()
        self.client = self.tmp / "client.mjs"
        self.client.write_text(CLIENT_JS, encoding="utf-8")

    def call_server(self, calls, window=1, timeout=120):
        out = subprocess.run([NODE, str(self.client), str(BUNDLE), str(self.root), json.dumps(calls), str(window)],
                             capture_output=True, timeout=timeout)
        self.assertEqual(out.returncode, 0, out.stdout.decode()[-3000:] + out.stderr.decode()[-3000:])
        return json.loads(out.stdout.decode().strip().splitlines()[-1])["results"]

    def test_server_and_python_write_one_experiment_concurrently(self):
        created = self.call_server([{"name": "create_increment",
                                     "arguments": {"title": "Interop check", "primary_metric": "accuracy"}}])
        inc = created[0]["result"]["structuredContent"]["increment"]
        self.assertRegex(inc, r"^0001-")

        n_node, n_py, per_py = 120, 4, 50
        calls = [{"name": "track_experiment", "arguments": {
            "increment": inc, "name": "shared", "params": {"node_p%d" % i: i}, "metrics": {"node_m%d" % i: i / 100},
            "history": [{"metric": "node_loss", "value": i, "step": i}], "tags": ["node_t%d" % i],
            "note": "node note %d" % i}} for i in range(n_node)]
        env = subprocess_env(self.root)
        t0 = time.monotonic()
        node = subprocess.Popen([NODE, str(self.client), str(BUNDLE), str(self.root), json.dumps(calls), "8"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        pys = [subprocess.Popen([sys.executable, WORKER, "mixed", inc, "shared", str(w), str(per_py)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for w in range(n_py)]
        node_out, node_err = node.communicate(timeout=180)
        py_errs = [p.communicate(timeout=180)[1] for p in pys]
        elapsed = time.monotonic() - t0
        self.assertEqual(node.returncode, 0, node_out.decode()[-3000:] + node_err.decode()[-3000:])
        for p, err in zip(pys, py_errs):
            self.assertEqual(p.returncode, 0, err.decode())

        r = read_experiment_dir(self.root / ".specweave" / "increments" / inc / "experiments" / "shared")
        notes = [n["text"] for n in r["metadata"]["notes"]]
        for i in range(n_node):
            self.assertEqual(r["params"]["node_p%d" % i], i)
            self.assertEqual(r["metrics"]["node_m%d" % i], i / 100)
            self.assertIn("node_t%d" % i, r["metadata"]["tags"])
            self.assertIn("node note %d" % i, notes)
        for w in range(n_py):
            for j in range(per_py):
                kind = j % 5
                if kind == 0:
                    self.assertEqual(r["params"]["w%d_p%d" % (w, j)], j)
                elif kind == 1:
                    self.assertEqual(r["metrics"]["w%d_m%d" % (w, j)], j / 10)
                elif kind == 3:
                    self.assertIn("w%d note %d" % (w, j), notes)
                elif kind == 4:
                    self.assertIn("w%d_t%d" % (w, j), r["metadata"]["tags"])
        steps = sorted((p["metric"], p["step"]) for p in r["history"])
        expected = sorted([("node_loss", i) for i in range(n_node)] +
                          [("shared_loss", w * 1000 + j) for w in range(n_py) for j in range(per_py) if j % 5 == 2])
        self.assertEqual(steps, expected)
        self.assertEqual(r["history_skipped"], 0)
        self.assertEqual(r["metrics"]["node_loss"], n_node - 1)
        env_keys = set(r["metadata"]["environment"])
        self.assertTrue({"node", "python", "platform"} <= env_keys, env_keys)
        self.assertEqual(r["metadata"]["source"]["tool"] in ("mcp", "python"), True)

        # the server reads back what both wrote
        got = self.call_server([{"name": "get_experiment", "arguments": {"increment": inc, "name": "shared"}}])
        text = json.dumps(got[0]["result"])
        self.assertIn("w3_m46", text)
        self.assertIn("node_m119", text)
        if __import__("os").environ.get("SPECWEAVE_TEST_VERBOSE"):
            print("\nserver %d calls + %d python processes x %d calls: %.2f s" % (n_node, n_py, per_py, elapsed))

    def test_python_rewrites_server_files_byte_for_byte(self):
        calls = [{"name": "create_increment", "arguments": {"title": "Bytes"}},
                 {"name": "track_experiment", "arguments": {
                     "increment": "1", "name": "s", "status": "running", "tags": ["t", "ü"],
                     "params": {"lr": 1e-7, "n": 100, "big": 2e21, "nested": {"z": [1.5, 0.1], "a": "é\u2028\"q\""}},
                     "metrics": {"a": 0.1, "b": 1e-7, "c": 100, "d": "NaN"}, "note": "x\u007fy\nz\u0085",
                     "history": [{"metric": "loss", "value": 0.25, "step": 0}]}}]
        self.call_server(calls)
        from specweave_ml._store import (normalize_metadata, read_json_object, read_metadata, write_json,
                                         write_metadata)
        d = next((self.root / ".specweave" / "increments").glob("0001-*")) / "experiments" / "s"
        before = {f: (d / f).read_bytes() for f in ("params.json", "metrics.json", "metadata.yaml")}
        write_json(d / "params.json", read_json_object(d / "params.json"))
        write_json(d / "metrics.json", read_json_object(d / "metrics.json"))
        write_metadata(d / "metadata.yaml", normalize_metadata(read_metadata(d / "metadata.yaml")))
        for f, data in before.items():
            self.assertEqual((d / f).read_bytes().decode("utf-8"), data.decode("utf-8"), f)

    def test_fold_scores_give_the_same_summary_bytes_from_server_and_python(self):
        # Awkward values on purpose: their sum depends on the order and kind of summation.
        folds = [0.8123456789012345, 0.7000000000000001, 0.9333333333333333, 0.1 + 0.2, 0.85]
        negated = [-55.123456789, -61.5, -58.25]
        self.call_server([{"name": "create_increment", "arguments": {"title": "Folds"}},
                          {"name": "track_experiment", "arguments": {"increment": "1", "name": "server", "history": (
                              [{"metric": "cv_roc_auc", "value": v, "step": i} for i, v in enumerate(folds)]
                              + [{"metric": "cv_neg_root_mean_squared_error", "value": v, "step": i}
                                 for i, v in enumerate(negated)])}}])
        with track_experiment("python", increment="1") as exp:
            for i, v in enumerate(folds):
                exp.log_metric("cv_roc_auc", v, step=i)
            for i, v in enumerate(negated):
                exp.log_metric("cv_neg_root_mean_squared_error", v, step=i)
        exps = next((self.root / ".specweave" / "increments").glob("0001-*")) / "experiments"
        server = (exps / "server" / "metrics.json").read_bytes().decode("utf-8")
        python = (exps / "python" / "metrics.json").read_bytes().decode("utf-8")
        self.assertEqual(python, server)
        m = json.loads(server)
        self.assertEqual(sorted(m), ["cv_rmse_count", "cv_rmse_mean", "cv_rmse_std", "cv_roc_auc_count",
                                     "cv_roc_auc_mean", "cv_roc_auc_std"])
        self.assertAlmostEqual(m["cv_roc_auc_mean"], statistics.mean(folds), places=14)
        self.assertAlmostEqual(m["cv_roc_auc_std"], statistics.stdev(folds), places=14)
        self.assertAlmostEqual(m["cv_rmse_mean"], -statistics.mean(negated), places=12)


if __name__ == "__main__":
    unittest.main()
