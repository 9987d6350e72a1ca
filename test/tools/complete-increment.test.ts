/**
 * complete_increment through the real MCP client on real git repositories: refusal on a failing gate (nothing
 * written), force with a recorded reason, the summary's facts, the status SpecWeave reads, the living docs, and a
 * second call. The last test trains real scikit-learn models in the pinned venv (SPECWEAVE_TEST_PYTHON, else
 * .venv-test), records a load test of real predictions, registers and promotes the model, and checks every number
 * of the summary against what scikit-learn and NumPy computed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { gitProject } from '../helpers/project.js';
import { passingIncrement } from '../helpers/scenario.js';
import { fmt } from '../../mcp-server/src/render/format.js';

const PYTHON = process.env.SPECWEAVE_TEST_PYTHON ?? path.resolve(__dirname, '../../.venv-test/bin/python');
const HAS_SKLEARN = fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import sklearn, numpy, joblib'], { stdio: 'ignore' }).status === 0;
const REQUIRED = process.env.SPECWEAVE_REQUIRE_PYENV === '1';
if (!HAS_SKLEARN && !REQUIRED) console.warn(`Skipping the scikit-learn completion test: sklearn/joblib not importable by ${PYTHON}.`);

let c: TestClient;
let root: string;

beforeEach(async () => {
  root = gitProject();
  c = await inMemoryClient(root);
});
afterEach(async () => c.close());

/** Every file under .specweave with its bytes, to prove a refused call wrote nothing. */
function snapshot(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && !e.name.startsWith('.')) out.set(path.relative(root, p), fs.readFileSync(p, 'utf8'));
    }
  };
  walk(path.join(root, '.specweave'));
  return out;
}

const incDir = (inc: string) => path.join(root, '.specweave', 'increments', inc);
const meta = (inc: string) => JSON.parse(fs.readFileSync(path.join(incDir(inc), 'metadata.json'), 'utf8'));

describe('complete_increment', () => {
  it('refuses on a failing gate and writes nothing; force needs a reason; forced completion records it', async () => {
    const inc = await passingIncrement(c, root);
    // Reopen one task: the tasks gate fails.
    await c.ok('update_task', { increment: inc, task: 'T-009', status: 'pending' });
    const v = await c.ok('validate_increment', { increment: inc });
    const failing = v.checks.filter((x: any) => x.status === 'fail').map((x: any) => x.id);
    expect(failing.length).toBeGreaterThan(0);

    const before = snapshot();
    const refused = await c.fails('complete_increment', { increment: inc });
    expect(refused).toMatch(/cannot be completed/);
    for (const id of failing) expect(refused).toContain(id);
    expect(refused).toMatch(/force: true and a reason/);
    expect(await c.fails('complete_increment', { increment: inc, force: true })).toMatch(/force: true needs a reason/);
    expect(await c.fails('complete_increment', { increment: inc, force: true, reason: '   ' })).toMatch(/needs a reason/);
    expect(snapshot()).toEqual(before);
    expect(fs.existsSync(path.join(incDir(inc), 'COMPLETION-SUMMARY.md'))).toBe(false);

    const reason = 'T-009 (stakeholder demo) moved to the next increment; agreed with the PM';
    const r = await c.ok('complete_increment', { increment: inc, force: true, reason });
    expect(r).toMatchObject({ status: 'completed', forced: true, reason, verdict: 'fail', failing_gates: failing });
    const m = meta(inc);
    expect(m.status).toBe('completed');
    expect(m.ml.completion).toMatchObject({ forced: true, reason, failing_gates: failing, verdict: 'fail', completed_at: r.completed_at });
    expect(m.ml.completion.previous_status).toBe('active');
    expect(m.approvedAt).toBe(r.completed_at);
    expect(m.ml.primary_metric).toBe('roc_auc'); // unknown and existing keys are kept
    const spec = fs.readFileSync(path.join(incDir(inc), 'spec.md'), 'utf8');
    expect(spec).toMatch(/^---\n[\s\S]*\nstatus: completed\n[\s\S]*---\n/);
    const summary = fs.readFileSync(path.join(root, r.summary), 'utf8');
    expect(summary).toMatch(/\*\*Status\*\*: COMPLETE \(forced past failing gates\)/);
    expect(summary).toContain(`Reason recorded: ${reason}`);
    expect(summary).toMatch(/## Deployment readiness: NOT READY/);
  });

  it('completes a passing increment: summary facts, living docs, status, and a second call is refused', async () => {
    const inc = await passingIncrement(c, root);
    const cmp = await c.ok('compare_experiments', { increment: inc });
    const r = await c.ok('complete_increment', { increment: inc });
    expect(r).toMatchObject({
      status: 'completed',
      forced: false,
      reason: null,
      verdict: 'pass',
      failing_gates: [],
      best_experiment: 'random-forest',
    });
    expect(r.best_experiment).toBe(cmp.best.experiment);
    expect(r.docs.map((d: any) => d.action)).toEqual(['create', 'create', 'create']);
    for (const d of r.docs) expect(fs.existsSync(path.join(root, d.path))).toBe(true);
    expect(fs.readFileSync(path.join(root, r.docs[0].path), 'utf8')).toContain('random-forest');
    expect(r.readiness).toMatchObject({ gates_pass: true, production: null, load_test: null, ready: false });
    // The HTML report is written after the status changed, so it shows the increment as completed.
    expect(r.report).toBe(path.relative(root, path.join(incDir(inc), 'report.html')));
    expect(r.report_note).toBeNull();
    const html = fs.readFileSync(path.join(root, r.report), 'utf8');
    expect(html).toContain('"title":"Churn model","status":"completed"');
    expect(html).not.toMatch(/"status":\s*"active"/);

    const summary = fs.readFileSync(path.join(root, r.summary), 'utf8');
    expect(summary).toMatch(/^# Completion summary: Churn model\n/);
    expect(summary).toMatch(/\*\*Status\*\*: COMPLETE {2}\n/);
    expect(summary).toMatch(/## Experiments run: 5/);
    // The CV mean and sample std of the logged folds, as the summary shows them.
    const folds = [0, 1, 2, 3, 4].map((s) => 0.88 + (s - 2) * 0.005);
    const mean = folds.reduce((a, b) => a + b) / folds.length;
    const std = Math.sqrt(folds.reduce((a, v) => a + (v - mean) ** 2, 0) / (folds.length - 1));
    expect(summary).toContain(`| 1 | random-forest | candidate ✅ **best** | completed | ${fmt(mean)} ± ${fmt(std)} (5) | 0.88 |`);
    expect(summary).toContain('| # | Experiment | Role | Status | roc_auc: CV mean ± std (folds) | roc_auc: test | accuracy | recall |\n');
    expect(summary).toContain(`| 0.88 | 0.8 | 0.7 |\n`);
    // Baselines logged no folds: unranked, with why, and their test value still shown.
    expect(summary).toContain('| baseline-stratified | baseline | completed | no cv_roc_auc_mean metric | 0.52 | 0.6 | 0.3 |');
    expect(summary).toContain('| mlp | candidate | failed |');
    expect(summary).toMatch(/Selected on the 5-fold cross-validation mean of roc_auc/);
    expect(summary).toMatch(/Against the best baseline baseline-stratified on the test set: 0\.52 → 0\.88/);
    expect(summary).toContain(`Model size: ${'model random-forest'.length} bytes, from the recorded model artifact model.pkl`);
    expect(summary).toMatch(/Inference latency: no load test recorded/);
    expect(summary).toMatch(/## Quality gates: PASS/);

    const before = snapshot();
    const again = await c.fails('complete_increment', { increment: inc });
    expect(again).toMatch(/already completed \(.*\); COMPLETION-SUMMARY\.md records it\. Nothing was written/);
    expect(again).toMatch(/reopen it/);
    expect(snapshot()).toEqual(before);
  });

  it('completes once when two calls race; a symbolic link at the summary path is refused', async () => {
    const inc = await passingIncrement(c, root);
    const other = await inMemoryClient(root); // a second server on the same project
    try {
      const results = await Promise.all([
        c.call('complete_increment', { increment: inc }),
        other.call('complete_increment', { increment: inc }),
      ]);
      expect(results.map((r) => r.isError === true).sort()).toEqual([false, true]);
      const loser = results.find((r) => r.isError)!;
      expect((loser.content[0] as { text: string }).text).toMatch(/already completed/);
    } finally {
      await other.close();
    }

    const second = await passingIncrement(c, root);
    const outside = path.join(root, 'notes.md');
    fs.writeFileSync(outside, 'mine\n');
    fs.symlinkSync(outside, path.join(incDir(second), 'COMPLETION-SUMMARY.md'));
    const before = snapshot();
    expect(await c.fails('complete_increment', { increment: second })).toMatch(/symbolic link/);
    expect(fs.readFileSync(outside, 'utf8')).toBe('mine\n');
    expect(snapshot()).toEqual(before);
    expect(meta(second).status).toBe('active');
  });

  it('writes nothing when a living doc has broken markers', async () => {
    const inc = await passingIncrement(c, root);
    const models = path.join(root, '.specweave', 'docs', 'internal', 'architecture', 'ml-models.md');
    fs.mkdirSync(path.dirname(models), { recursive: true });
    fs.writeFileSync(models, `# ML models\n\n<!-- specweave-ml:begin ${inc} -->\nhalf a section\n`);
    const before = snapshot();
    expect(await c.fails('complete_increment', { increment: inc })).toMatch(/markers/);
    expect(snapshot()).toEqual(before);
    expect(meta(inc).status).toBe('active');
  });

  it.skipIf(!HAS_SKLEARN && !REQUIRED)('states the numbers scikit-learn, joblib and a timed load test produced', async () => {
    const { increment: inc } = await c.ok('create_increment', {
      title: 'Iris',
      primary_metric: 'accuracy',
      success_criteria: ['accuracy >= 0.8'],
    });
    const script = `
import json, os, sys, time
import numpy as np
from sklearn.datasets import load_iris
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score, train_test_split
from specweave_ml import track_experiment
X, y = load_iris(return_X_y=True)
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=1, stratify=y)
out = {}
for name, model, base in (("dummy", DummyClassifier(strategy="prior"), True),
                          ("logreg", LogisticRegression(max_iter=1000), False)):
    scores = cross_val_score(model, Xtr, ytr, cv=5)
    t0 = time.perf_counter(); model.fit(Xtr, ytr); fit = time.perf_counter() - t0
    test = float(model.score(Xte, yte))
    with track_experiment(name, increment=sys.argv[1], baseline=base, params={"model": name}) as exp:
        for i, s in enumerate(scores):
            exp.log_metric("cv_accuracy", float(s), step=i)
        exp.log_metrics({"accuracy": test, "training_time_s": fit})
        p = exp.save_model(model, "model.joblib")
        exp.save_artifact(b"feature,importance\\npetal_length,0.6\\n", "feature_importance.csv")
    out[name] = {"mean": float(np.mean(scores)), "std": float(np.std(scores, ddof=1)), "test": test, "fit": fit,
                 "bytes": os.path.getsize(p)}
# A load test of the trained model: single-row predictions, timed.
model = LogisticRegression(max_iter=1000).fit(Xtr, ytr)
lat = []
t0 = time.perf_counter()
for row in Xte[:60]:
    s = time.perf_counter(); model.predict(row.reshape(1, -1)); lat.append((time.perf_counter() - s) * 1000)
wall = time.perf_counter() - t0
m = {"latency_p50_ms": float(np.percentile(lat, 50)), "latency_p95_ms": float(np.percentile(lat, 95)),
     "latency_p99_ms": float(np.percentile(lat, 99)), "throughput_rps": len(lat) / wall, "request_error_rate": 0.0}
with track_experiment("load-test-1", increment=sys.argv[1], params={"requests": 60, "concurrency": 1, "model": "iris"}) as exp:
    exp.add_tag("load-test")
    exp.log_metrics(m)
out["load"] = m
print(json.dumps(out))
`;
    const py = spawnSync(PYTHON, ['-c', script, inc], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: path.resolve(__dirname, '../../python'), SPECWEAVE_ROOT: root },
      timeout: 120_000,
    });
    expect(py.status, py.stderr).toBe(0);
    const expected = JSON.parse(py.stdout.trim().split('\n').pop()!);
    for (let i = 1; i <= 9; i += 1) await c.ok('update_task', { increment: inc, task: `T-00${i}`, status: 'completed' });

    const tools = (await c.client.listTools()).tools.map((t) => t.name);
    let production = false;
    if (tools.includes('register_model') && tools.includes('promote_model')) {
      const reg = await c.ok('register_model', { name: 'iris', increment: inc, experiment: 'logreg' });
      await c.ok('promote_model', { name: 'iris', version: reg.version, stage: 'production' });
      production = true;
    }
    const r = await c.ok('complete_increment', { increment: inc });
    expect(r).toMatchObject({ verdict: 'pass', best_experiment: 'logreg', forced: false });
    expect(r.readiness.load_test).toBe('load-test-1');
    if (production) {
      expect(r.readiness.production).toMatchObject({ model: 'iris', experiment: 'logreg' });
      expect(r.deployment_ready).toBe(true);
    }
    const s = fs.readFileSync(path.join(root, r.summary), 'utf8');
    const e = expected.logreg;
    expect(s).toContain(`| logreg | candidate ✅ **best** | completed | ${fmt(e.mean)} ± ${fmt(e.std)} (5) | ${fmt(e.test)} |`);
    expect(s).toContain(
      `| dummy | baseline | completed | ${fmt(expected.dummy.mean)} ± ${fmt(expected.dummy.std)} (5) | ${fmt(expected.dummy.test)} |`,
    );
    expect(s).not.toMatch(/\| load-test-1 \|/); // a load test is no experiment of the ranking
    expect(s).toContain(`Training time: `);
    expect(s).toContain(`(${fmt(e.fit)} s, from the training_time_s metric)`);
    expect(s).toMatch(new RegExp(`[ (]${e.bytes} bytes\\)?, from the recorded model artifact model\\.joblib`));
    const L = expected.load;
    expect(s).toContain(
      `Inference latency: p50 ${fmt(L.latency_p50_ms)} ms, p95 ${fmt(L.latency_p95_ms)} ms, p99 ${fmt(L.latency_p99_ms)} ms, throughput ${fmt(L.throughput_rps)} requests/s, error rate 0.0%`,
    );
    expect(s).toMatch(/requests 60, concurrency 1/);
    expect(s).toMatch(
      new RegExp(
        `Against the best baseline dummy on the test set: ${fmt(expected.dummy.test).replace('.', '\\.')} → ${fmt(e.test).replace('.', '\\.')}`,
      ),
    );
  });
});
