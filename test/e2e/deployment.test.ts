/**
 * Acceptance of scaffold_deployment with the real libraries: a scikit-learn model trained and saved with the Python
 * client (save_model with input_example records the schema), scaffolded through the MCP client, served by the
 * generated app under the test venv's uvicorn on 127.0.0.1 — one worker, then two with Prometheus' multiprocess
 * mode — answering with the model's own predictions (computed by scikit-learn in this test), load-tested by the
 * shipped load generator (recorded as a load-test experiment) and by locust, and refusing to start on a tampered
 * model file. Also: the registry path (a promoted version), and a re-scaffold over an edited folder refused.
 *
 * The Python is SPECWEAVE_TEST_PYTHON, else the repository's .venv-test. Without it (or without scikit-learn,
 * fastapi, uvicorn or prometheus_client in it) the test skips, saying why; SPECWEAVE_REQUIRE_PYENV=1 (CI) makes that
 * a failure instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';

const HERE = __dirname;
const PYTHON = process.env.SPECWEAVE_TEST_PYTHON ?? path.resolve(HERE, '../../.venv-test/bin/python');
const PYTHON_PKG = path.resolve(HERE, '../../python');
const NEEDED = 'import sklearn, pandas, joblib, fastapi, uvicorn, prometheus_client, pydantic';
const HAS_STACK = fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', NEEDED], { stdio: 'ignore' }).status === 0;
const HAS_LOCUST = HAS_STACK && spawnSync(PYTHON, ['-c', 'import locust'], { stdio: 'ignore' }).status === 0;
const REQUIRED = process.env.SPECWEAVE_REQUIRE_PYENV === '1';
const SKIP = !HAS_STACK && !REQUIRED;
if (SKIP) console.warn(`Skipping the deployment acceptance test: ${PYTHON} cannot "${NEEDED}" (set SPECWEAVE_TEST_PYTHON).`);

/** Trains the baseline and the candidate, saves the candidate with its schema, prints the test rows and its answers. */
const TRAIN = `
import json, sys
from sklearn.datasets import load_breast_cancer
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from specweave_ml import track_experiment

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
base = DummyClassifier(strategy="most_frequent").fit(X_train, y_train)
with track_experiment("majority", increment=sys.argv[1], baseline=True) as exp:
    exp.log_metric("accuracy", accuracy_score(y_test, base.predict(X_test)))
model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=5000)).fit(X_train, y_train)
with track_experiment("logreg", increment=sys.argv[1], params={"C": 0.5}) as exp:
    exp.log_metric("accuracy", accuracy_score(y_test, model.predict(X_test)))
    exp.save_model(model, "model", input_example=X_train)
rows = X_test.head(40)
print(json.dumps({
    "rows": rows.to_dict(orient="records"),
    "predictions": model.predict(rows).tolist(),
    "probabilities": model.predict_proba(rows).tolist(),
    "classes": [str(c) for c in model.classes_],
}))
`;

interface Trained {
  rows: Record<string, number>[];
  predictions: number[];
  probabilities: number[][];
  classes: string[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

interface Service {
  proc: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** Runs a command without blocking the event loop (the services' output pipes keep draining meanwhile). */
function run(
  args: string[],
  opts: { cwd: string; env: Record<string, string | undefined>; timeout: number },
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(PYTHON, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeout);
    p.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Starts the generated service with `args` (after the python executable) on a free port; resolves once /health answers. */
async function serve(cwd: string, args: (port: number) => string[], env: Record<string, string> = {}): Promise<Service> {
  const port = await freePort();
  const proc = spawn(PYTHON, args(port), {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => (running.delete(proc), resolve(code))));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  let gone = false;
  void exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) return { proc, url, output: () => out, exited };
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) return { proc, url, output: () => out, exited };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`the service did not answer /health within 60 s:\n${out}`);
}

async function stop(s: Service): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  process.kill(-s.proc.pid!, 'SIGTERM'); // its own process group: uvicorn and its workers
  const timer = setTimeout(() => s.proc.exitCode === null && process.kill(-s.proc.pid!, 'SIGKILL'), 10_000);
  await s.exited;
  clearTimeout(timer);
}

const post = async (url: string, body: unknown) => {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as any };
};

/** The value of one sample of a Prometheus text exposition, or 0 when absent. */
function sample(metricsText: string, name: string, labels: Record<string, string>): number {
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    const got = Object.fromEntries([...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe.skipIf(SKIP)(
  `scaffold_deployment served for real${SKIP ? ' [skipped: no scikit-learn/fastapi/uvicorn in the test Python]' : ''}`,
  () => {
    let root: string;
    let c: TestClient;
    let inc: string;
    let trained: Trained;
    let out: string;
    const pyEnv = () => ({ PYTHONPATH: PYTHON_PKG, SPECWEAVE_ROOT: root });

    beforeAll(async () => {
      if (!HAS_STACK) throw new Error(`SPECWEAVE_REQUIRE_PYENV=1 but ${PYTHON} cannot "${NEEDED}"`);
      root = scratchDir();
      c = await inMemoryClient(root);
      inc = (await c.ok('create_increment', { title: 'Served tumour classifier', primary_metric: 'accuracy' })).increment;
      const r = spawnSync(PYTHON, ['-c', TRAIN, inc], {
        cwd: root,
        env: { ...process.env, ...pyEnv() },
        encoding: 'utf8',
        timeout: 120_000,
      });
      if (r.status !== 0) throw new Error(`training failed:\n${r.stderr}`);
      trained = JSON.parse(r.stdout.trim().split('\n').pop()!);
      const result = await c.ok('scaffold_deployment', { increment: inc, output: 'deploy/tumour' });
      expect(result.model).toMatchObject({ source: 'experiment', experiment: 'logreg', format: 'joblib' });
      out = path.join(root, 'deploy', 'tumour');
    }, 180_000);

    afterEach(async () => {
      for (const p of running) if (p.exitCode === null) process.kill(-p.pid!, 'SIGKILL');
    });
    afterAll(async () => c?.close());

    it("serves the model's own predictions, validates requests and counts them in /metrics", async () => {
      const svc = await serve(out, (port) => ['-m', 'uvicorn', 'app:app', '--host', '127.0.0.1', '--port', String(port)]);
      try {
        const health = await (await fetch(`${svc.url}/health`)).json();
        expect(health).toMatchObject({ status: 'ok', model: 'logreg', features: 30 });
        const batch = await post(`${svc.url}/predict/batch`, { rows: trained.rows });
        expect(batch.status).toBe(200);
        expect(batch.body.predictions).toEqual(trained.predictions);
        // Probabilities agree to rounding: scikit-learn's own answer for the same rows, from another process.
        expect(batch.body.probabilities).toHaveLength(trained.rows.length);
        batch.body.probabilities.forEach((p: Record<string, number>, i: number) => {
          expect(Object.keys(p)).toEqual(trained.classes);
          trained.classes.forEach((k, j) => expect(Math.abs(p[k]! - trained.probabilities[i]![j]!)).toBeLessThan(1e-12));
        });
        for (let i = 0; i < 5; i++) {
          const one = await post(`${svc.url}/predict`, trained.rows[i]);
          expect(one.status).toBe(200);
          expect(one.body.prediction).toBe(trained.predictions[i]);
        }
        // The request model is the recorded schema: a missing feature and an unknown one are refused by name.
        const { ['mean radius']: _dropped, ...missing } = trained.rows[0]!;
        const bad = await post(`${svc.url}/predict`, missing);
        expect(bad.status).toBe(422);
        expect(JSON.stringify(bad.body)).toContain('mean radius');
        expect((await post(`${svc.url}/predict`, { ...trained.rows[0], extra: 1 })).status).toBe(422);
        expect((await post(`${svc.url}/predict`, { ...trained.rows[0], 'mean radius': 'big' })).status).toBe(422);
        const metrics = await (await fetch(`${svc.url}/metrics`)).text();
        expect(sample(metrics, 'inference_requests_total', { endpoint: '/predict', status: '200' })).toBe(5);
        expect(sample(metrics, 'inference_requests_total', { endpoint: '/predict', status: '422' })).toBe(3);
        expect(sample(metrics, 'inference_requests_total', { endpoint: '/predict/batch', status: '200' })).toBe(1);
        expect(sample(metrics, 'inference_rows_total', { endpoint: '/predict/batch' })).toBe(trained.rows.length);
        expect(sample(metrics, 'inference_request_duration_seconds_count', { endpoint: '/predict' })).toBe(8);
        // Every series the alert rules and the dashboard query is one the service exposes.
        const exposed = new Set([...metrics.matchAll(/^(inference_\w+?)(?:\{| )/gm)].map((m) => m[1]));
        for (const file of ['monitoring/alerts.yml', 'monitoring/grafana-dashboard.json']) {
          const queried = new Set([...fs.readFileSync(path.join(out, file), 'utf8').matchAll(/\b(inference_\w+)\{/g)].map((m) => m[1]));
          expect(queried.size, file).toBeGreaterThanOrEqual(2);
          for (const name of queried) expect(exposed, `${file} queries ${name}`).toContain(name);
        }
      } finally {
        await stop(svc);
      }
    }, 120_000);

    it('records a bounded load test from the shipped generator as a load-test experiment, never a candidate', async () => {
      const svc = await serve(out, (port) => ['-m', 'uvicorn', 'app:app', '--host', '127.0.0.1', '--port', String(port)]);
      let printed: Record<string, number>;
      try {
        const r = await run(
          [
            '-m',
            'specweave_ml.loadgen',
            '--url',
            `${svc.url}/predict`,
            '--payload',
            path.join(out, 'loadtest', 'payload.json'),
            '--requests',
            '300',
            '--concurrency',
            '4',
            '--increment',
            inc,
            '--record',
            '--name',
            'load-test-1',
            '--workers',
            '1',
            '--model-name',
            'logreg',
            '--json',
          ],
          { cwd: root, env: { ...process.env, ...pyEnv() }, timeout: 120_000 },
        );
        expect(r.status, r.stderr).toBe(0);
        printed = JSON.parse(r.stdout.trim().split('\n').pop()!);
        const metrics = await (await fetch(`${svc.url}/metrics`)).text();
        expect(sample(metrics, 'inference_requests_total', { endpoint: '/predict', status: '200' })).toBe(300);
      } finally {
        await stop(svc);
      }
      const exp = await c.ok('get_experiment', { increment: inc, name: 'load-test-1' });
      expect(exp.tags ?? exp.metadata?.tags).toContain('load-test');
      for (const k of ['latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms', 'latency_mean_ms', 'throughput_rps']) {
        expect(exp.metrics[k]).toBeCloseTo(printed[k]!, 9);
        expect(exp.metrics[k]).toBeGreaterThan(0);
      }
      expect(exp.metrics.request_error_rate).toBe(0);
      expect(exp.metrics.latency_p50_ms).toBeLessThanOrEqual(exp.metrics.latency_p95_ms);
      expect(exp.metrics.latency_p95_ms).toBeLessThanOrEqual(exp.metrics.latency_p99_ms);
      const cmp = await c.ok('compare_experiments', { increment: inc });
      expect(cmp.best.experiment).toBe('logreg');
      expect(cmp.top.map((r: any) => r.experiment)).not.toContain('load-test-1');
      expect(cmp.ranked).toBe(2);
      const v = await c.ok('validate_increment', { increment: inc });
      expect(v.best_experiment).toBe('logreg');
    }, 180_000);

    it("counts every worker's requests in /metrics with two uvicorn workers", async () => {
      const multiproc = scratchDir('swml-prom-');
      const svc = await serve(
        out,
        (port) => ['-m', 'uvicorn', 'app:app', '--host', '127.0.0.1', '--port', String(port), '--workers', '2'],
        {
          PROMETHEUS_MULTIPROC_DIR: multiproc,
        },
      );
      try {
        // One connection per request, many at once, so both workers accept some.
        const sent = 120;
        await Promise.all(
          Array.from({ length: sent }, async (_, i) => {
            const r = await post(`${svc.url}/predict`, trained.rows[i % trained.rows.length]);
            expect(r.status).toBe(200);
          }),
        );
        for (let i = 0; i < 40; i++) expect((await fetch(`${svc.url}/health`, { headers: { connection: 'close' } })).ok).toBe(true);
        // A worker creates its counter file when it counts its first request: two files, both workers served.
        const counted = fs.readdirSync(multiproc).filter((f) => /^counter_\d+\.db$/.test(f));
        expect(counted.length).toBeGreaterThanOrEqual(2);
        const metrics = await (await fetch(`${svc.url}/metrics`)).text();
        expect(sample(metrics, 'inference_requests_total', { endpoint: '/predict', status: '200' })).toBe(sent);
        expect(sample(metrics, 'inference_requests_total', { endpoint: '/health', status: '200' })).toBeGreaterThanOrEqual(40);
        expect(sample(metrics, 'inference_request_duration_seconds_count', { endpoint: '/predict' })).toBe(sent);
      } finally {
        await stop(svc);
      }
    }, 120_000);

    it.skipIf(!HAS_LOCUST && !REQUIRED)(
      'runs the generated locustfile headless for a few seconds',
      async () => {
        if (!HAS_LOCUST) throw new Error(`SPECWEAVE_REQUIRE_PYENV=1 but ${PYTHON} cannot import locust`);
        const svc = await serve(out, (port) => ['-m', 'uvicorn', 'app:app', '--host', '127.0.0.1', '--port', String(port)]);
        try {
          const r = await run(
            [
              '-m',
              'locust',
              '-f',
              path.join(out, 'loadtest', 'locustfile.py'),
              '--host',
              svc.url,
              '--headless',
              '-u',
              '4',
              '-r',
              '4',
              '-t',
              '3s',
              '--only-summary',
            ],
            { cwd: out, env: { ...process.env, ...pyEnv() }, timeout: 60_000 },
          );
          expect(r.status, r.stderr.slice(-2000)).toBe(0);
          // The summary locust prints when it stops (its CSV is written on an interval and may lag behind).
          const total = /Aggregated\s+(\d+)\s+(\d+)\(/.exec(r.stdout + r.stderr);
          expect(total, r.stderr.slice(-2000)).not.toBeNull();
          const requests = Number(total![1]);
          expect(requests).toBeGreaterThan(0);
          expect(Number(total![2])).toBe(0);
          const metrics = await (await fetch(`${svc.url}/metrics`)).text();
          const served =
            sample(metrics, 'inference_requests_total', { endpoint: '/predict', status: '200' }) +
            sample(metrics, 'inference_requests_total', { endpoint: '/predict/batch', status: '200' });
          // Locust counts what completed before it stopped its 4 users; the service may have answered up to 4 more.
          expect(served).toBeGreaterThanOrEqual(requests);
          expect(served).toBeLessThanOrEqual(requests + 4);
        } finally {
          await stop(svc);
        }
      },
      90_000,
    );

    it('serves a regression model trained on a numpy array (features named x0, x1, …) with its own predictions', async () => {
      const reg = await c.ok('create_increment', { title: 'Disease progression', problem_type: 'regression', primary_metric: 'rmse' });
      const train = [
        'import sys',
        'from sklearn.datasets import load_diabetes',
        'from sklearn.linear_model import Ridge',
        'from sklearn.metrics import mean_squared_error',
        'from specweave_ml import track_experiment',
        'X, y = load_diabetes(return_X_y=True)',
        'model = Ridge(alpha=0.3).fit(X[:300], y[:300])',
        'with track_experiment("ridge", increment=sys.argv[1]) as exp:',
        '    exp.log_metric("rmse", mean_squared_error(y[300:], model.predict(X[300:])) ** 0.5)',
        '    exp.save_model(model, "model.pkl", input_example=X[:300])',
      ].join('\n');
      const t = await run(['-c', train, reg.increment], { cwd: root, env: { ...process.env, ...pyEnv() }, timeout: 120_000 });
      expect(t.status, t.stderr).toBe(0);
      const r = await c.ok('scaffold_deployment', { increment: reg.increment, output: 'deploy/ridge' });
      expect(r.model).toMatchObject({ experiment: 'ridge', format: 'pickle' });
      expect(r.task).toBe('regression');
      // The oracle is the experiment's own model file, loaded by pickle here, not the service's copy.
      const check = [
        'import json, pickle, sys',
        'from sklearn.datasets import load_diabetes',
        'from fastapi.testclient import TestClient',
        'import app',
        'X, _ = load_diabetes(return_X_y=True)',
        'model = pickle.load(open(sys.argv[1], "rb"))',
        'rows = [{"x%d" % j: float(v) for j, v in enumerate(row)} for row in X[300:340]]',
        'with TestClient(app.app) as client:',
        '    got = client.post("/predict/batch", json={"rows": rows}).json()',
        '    one = client.post("/predict", json=rows[0]).json()',
        'print(json.dumps({"got": got, "one": one, "want": model.predict(X[300:340]).tolist()}))',
      ].join('\n');
      const modelPath = path.join(root, r.model.artifact);
      const out2 = path.join(root, 'deploy', 'ridge');
      const res = await run(['-c', check, modelPath], { cwd: out2, env: { ...process.env, PYTHONPATH: out2 }, timeout: 120_000 });
      expect(res.status, res.stderr).toBe(0);
      const { got, one, want } = JSON.parse(res.stdout.trim().split('\n').pop()!);
      expect(got.probabilities).toBeNull();
      expect(got.predictions).toHaveLength(40);
      got.predictions.forEach((p: number, i: number) => expect(Math.abs(p - want[i])).toBeLessThan(1e-9));
      expect(Math.abs(one.prediction - want[0])).toBeLessThan(1e-9);
    }, 120_000);

    it('refuses to start on a tampered model file, under uvicorn and under serve.py with two workers', async () => {
      const copy = path.join(root, 'deploy', 'tampered');
      fs.cpSync(out, copy, { recursive: true });
      const modelFile = path.join(copy, 'model', 'model.joblib');
      const bytes = fs.readFileSync(modelFile);
      bytes[bytes.length - 1] ^= 0xff;
      fs.writeFileSync(modelFile, bytes);
      for (const args of [
        (port: number) => ['-m', 'uvicorn', 'app:app', '--host', '127.0.0.1', '--port', String(port)],
        (port: number) => ['serve.py', '--host', '127.0.0.1', '--port', String(port), '--workers', '2'],
      ]) {
        const svc = await serve(copy, args);
        const code = await Promise.race([svc.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 20_000))]);
        expect(code, svc.output()).not.toBe('running');
        expect(code).not.toBe(0);
        expect(svc.output()).toContain('refusing to start: model file');
        expect(svc.output()).toContain('sha256');
      }
      // And an untouched copy starts through serve.py, so the refusal above is the check, not the launcher.
      const good = await serve(out, (port) => ['serve.py', '--host', '127.0.0.1', '--port', String(port), '--workers', '2']);
      try {
        expect((await post(`${good.url}/predict`, trained.rows[0])).body.prediction).toBe(trained.predictions[0]);
      } finally {
        await stop(good);
      }
    }, 120_000);

    it('serves a registered version from its stage, and refuses to overwrite an edited scaffold', async () => {
      const reg = await c.ok('register_model', { name: 'tumour', increment: inc, experiment: 'logreg' });
      await c.ok('promote_model', { name: 'tumour', version: reg.version, stage: 'staging' });
      const r = await c.ok('scaffold_deployment', { model: 'tumour', stage: 'staging', output: 'deploy/registry' });
      expect(r.model).toMatchObject({ source: 'registry', name: 'tumour', stage: 'staging', experiment: 'logreg' });
      const dir = path.join(root, 'deploy', 'registry');
      const app = fs.readFileSync(path.join(dir, 'app.py'), 'utf8');
      expect(app).toContain(`MODEL_VERSION = "${r.model.version}"`);
      const svc = await serve(dir, (port) => ['-m', 'uvicorn', 'app:app', '--host', '127.0.0.1', '--port', String(port)]);
      try {
        const batch = await post(`${svc.url}/predict/batch`, { rows: trained.rows });
        expect(batch.body.predictions).toEqual(trained.predictions);
        expect((await (await fetch(`${svc.url}/health`)).json()).version).toBe(r.model.version);
      } finally {
        await stop(svc);
      }
      // Scaffolding again over an unchanged scaffold is fine; over an edited one it is refused and nothing changes.
      await c.ok('scaffold_deployment', { model: 'tumour', stage: 'staging', output: 'deploy/registry' });
      fs.appendFileSync(path.join(dir, 'app.py'), '\n# my edit\n');
      const err = await c.fails('scaffold_deployment', { model: 'tumour', stage: 'staging', output: 'deploy/registry' });
      expect(err).toContain('app.py');
      expect(fs.readFileSync(path.join(dir, 'app.py'), 'utf8')).toContain('# my edit');
    }, 120_000);
  },
);
