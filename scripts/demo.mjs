// `npm run demo`: the built MCP server, driven over stdio by the MCP SDK's client, in a scratch project.
// It trains small but real models in plain JavaScript on a seeded synthetic data set (no downloads, no Python),
// and records the work the way Claude does with the plugin: create an increment, track two baselines and three
// candidates (with cross-validation fold scores, saved models and predictions), evaluate the predictions, compare,
// test whether the winner is significantly better, tick the tasks, validate against the quality gates, and sync
// the living docs.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const bundle = path.join(here, '..', 'mcp-server', 'dist', 'server.mjs');
const keep = process.argv.includes('--keep');

// ---- a scratch project: a git repository with one commit, as a user's would be -------------------------------
const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'specweave-ml-demo-')));
const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'demo', GIT_AUTHOR_EMAIL: 'demo@example.com', GIT_COMMITTER_NAME: 'demo', GIT_COMMITTER_EMAIL: 'demo@example.com' };
fs.writeFileSync(path.join(root, 'train.js'), '// the training code the experiments were run with\n');
try {
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: root });
  execFileSync('git', ['add', '.'], { cwd: root, env: gitEnv });
  execFileSync('git', ['commit', '-qm', 'training code'], { cwd: root, env: gitEnv });
} catch {
  console.log('(git is not available: experiments are recorded without commit information)');
}

// ---- data: two informative features, three noise features, 20 % positives ------------------------------------
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(7);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const rows = Array.from({ length: 1500 }, () => {
  const y = rand() < 0.2 ? 1 : 0;
  const x = [gauss() + 1.3 * y, gauss() - 0.9 * y, gauss(), gauss(), gauss()];
  return { x, y };
});
const train = rows.slice(0, 1000);
const test = rows.slice(1000);
const FEATURES = ['amount_z', 'account_age_z', 'noise_a', 'noise_b', 'noise_c'];

// ---- models -------------------------------------------------------------------------------------------------
const sigmoid = (z) => 1 / (1 + Math.exp(-z));
const models = {
  'baseline-majority': {
    baseline: true,
    params: { strategy: 'most_frequent' },
    fit(data) {
      const p = data.filter((r) => r.y === 1).length / data.length;
      return { predict: () => (p >= 0.5 ? 1 : 0), score: () => p, state: { positive_rate: p } };
    },
  },
  'baseline-stratified': {
    baseline: true,
    params: { strategy: 'stratified', seed: 1 },
    fit(data) {
      const p = data.filter((r) => r.y === 1).length / data.length;
      const r = rng(1);
      return { predict: () => (r() < p ? 1 : 0), score: () => r(), state: { positive_rate: p } };
    },
  },
  'logistic-regression': {
    params: { learning_rate: 0.1, epochs: 60, l2: 0.001 },
    fit(data, history) {
      const w = new Array(FEATURES.length).fill(0);
      let b = 0;
      for (let epoch = 0; epoch < 60; epoch += 1) {
        const g = new Array(w.length).fill(0);
        let gb = 0;
        let loss = 0;
        for (const { x, y } of data) {
          const p = sigmoid(x.reduce((s, xi, i) => s + xi * w[i], b));
          loss -= y * Math.log(p + 1e-12) + (1 - y) * Math.log(1 - p + 1e-12);
          x.forEach((xi, i) => (g[i] += (p - y) * xi));
          gb += p - y;
        }
        w.forEach((_, i) => (w[i] -= 0.1 * (g[i] / data.length + 0.001 * w[i])));
        b -= (0.1 * gb) / data.length;
        history?.push({ metric: 'train_loss', value: loss / data.length, step: epoch });
      }
      const score = (x) => sigmoid(x.reduce((s, xi, i) => s + xi * w[i], b));
      return { predict: (x) => (score(x) >= 0.5 ? 1 : 0), score, state: { weights: w, bias: b }, importance: w.map(Math.abs) };
    },
  },
  'gaussian-naive-bayes': {
    params: { var_smoothing: 1e-9 },
    fit(data) {
      const stats = [0, 1].map((c) => {
        const rowsC = data.filter((r) => r.y === c);
        const mean = FEATURES.map((_, i) => rowsC.reduce((s, r) => s + r.x[i], 0) / rowsC.length);
        const vr = FEATURES.map((_, i) => rowsC.reduce((s, r) => s + (r.x[i] - mean[i]) ** 2, 0) / rowsC.length + 1e-9);
        return { prior: rowsC.length / data.length, mean, vr };
      });
      const logLik = (x, s) => Math.log(s.prior) + x.reduce((a, xi, i) => a - 0.5 * Math.log(2 * Math.PI * s.vr[i]) - (xi - s.mean[i]) ** 2 / (2 * s.vr[i]), 0);
      const score = (x) => sigmoid(logLik(x, stats[1]) - logLik(x, stats[0]));
      return { predict: (x) => (score(x) >= 0.5 ? 1 : 0), score, state: stats };
    },
  },
  'knn-k25': {
    params: { k: 25, metric: 'euclidean' },
    fit(data) {
      const score = (x) => {
        const near = data.map((r) => ({ d: r.x.reduce((s, xi, i) => s + (xi - x[i]) ** 2, 0), y: r.y })).sort((a, b) => a.d - b.d).slice(0, 25);
        return near.reduce((s, n) => s + n.y, 0) / 25;
      };
      return { predict: (x) => (score(x) >= 0.5 ? 1 : 0), score, state: { training_rows: data.length } };
    },
  },
};

const accuracy = (model, data) => data.filter((r) => model.predict(r.x) === r.y).length / data.length;
/** ROC AUC as the Mann-Whitney statistic: the share of (positive, negative) pairs ranked right, ties half. */
function rocAuc(model, data) {
  const pos = data.filter((r) => r.y === 1).map((r) => model.score(r.x));
  const neg = data.filter((r) => r.y === 0).map((r) => model.score(r.x));
  let right = 0;
  for (const p of pos) for (const n of neg) right += p > n ? 1 : p === n ? 0.5 : 0;
  return right / (pos.length * neg.length);
}

// ---- the MCP session ----------------------------------------------------------------------------------------
const client = new Client({ name: 'specweave-ml-demo', version: '0.1.0' });
await client.connect(new StdioClientTransport({ command: process.execPath, args: [bundle, '--root', root], stderr: 'ignore' }));

async function call(name, args) {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name}: ${r.content[0].text}`);
  return r.structuredContent;
}

const step = (text) => console.log(`\n▸ ${text}`);

step('create_increment');
const inc = await call('create_increment', {
  title: 'Fraud detection',
  problem_type: 'classification',
  primary_metric: 'roc_auc',
  success_criteria: ['roc_auc >= 0.75', 'recall >= 0.3'],
});
console.log(`  ${inc.increment} at ${inc.path}`);
const incDir = path.join(root, inc.path);

for (const [name, spec] of Object.entries(models)) {
  step(`train and track ${name}${spec.baseline ? ' (baseline)' : ''}`);
  const expDir = path.join(incDir, 'experiments', name);
  fs.mkdirSync(expDir, { recursive: true });
  // 5-fold cross-validation on the training set, on the primary metric: its mean selects the best candidate, its
  // spread is what the stability gate reads. The test set only reports.
  const folds = [0, 1, 2, 3, 4].flatMap((k) => {
    const held = train.filter((_, i) => i % 5 === k);
    const fitted = spec.fit(train.filter((_, i) => i % 5 !== k));
    return [
      { metric: 'cv_roc_auc', value: rocAuc(fitted, held), step: k },
      { metric: 'cv_accuracy', value: accuracy(fitted, held), step: k },
    ];
  });
  const history = [];
  const model = spec.fit(train, history);
  fs.writeFileSync(path.join(expDir, 'model.json'), `${JSON.stringify(model.state)}\n`);
  const artifacts = ['model.json', 'predictions.csv'];
  if (model.importance) {
    fs.writeFileSync(path.join(expDir, 'feature_importance.csv'), `feature,importance\n${FEATURES.map((f, i) => `${f},${model.importance[i].toFixed(6)}`).join('\n')}\n`);
    artifacts.push('feature_importance.csv');
  }
  if (!spec.baseline) {
    // Permutation importance on the training rows: how much ROC AUC drops when one feature's values are shuffled.
    // Every candidate gets one, so whichever is selected is explained (the explainability gate reads the selected one).
    const base = rocAuc(model, train);
    const shuffle = rng(7);
    const drops = FEATURES.map((_, j) => {
      const column = train.map((r) => r.x[j]).sort(() => shuffle() - 0.5);
      return base - rocAuc(model, train.map((r, i) => ({ ...r, x: r.x.map((v, k) => (k === j ? column[i] : v)) })));
    });
    fs.writeFileSync(path.join(expDir, 'permutation_importance.csv'), `feature,roc_auc_drop\n${FEATURES.map((f, j) => `${f},${drops[j].toFixed(6)}`).join('\n')}\n`);
    artifacts.push('permutation_importance.csv');
  }
  const lines = test.map((r, i) => `${i},${r.y},${model.predict(r.x)},${model.score(r.x).toFixed(6)}`);
  fs.writeFileSync(path.join(expDir, 'predictions.csv'), `id,y_true,y_pred,score\n${lines.join('\n')}\n`);
  await call('track_experiment', {
    increment: inc.increment, name, params: spec.params, baseline: spec.baseline ?? false, status: 'completed',
    history: [...folds, ...history], artifacts, tags: spec.baseline ? ['baseline'] : ['candidate'],
    note: `trained on ${train.length} rows, evaluated on ${test.length}`,
  });
  const ev = await call('evaluate_predictions', { increment: inc.increment, experiment: name, predictions: `experiments/${name}/predictions.csv`, task: 'binary' });
  const m = ev.metrics;
  const cvAuc = folds.filter((f) => f.metric === 'cv_roc_auc').reduce((s, f) => s + f.value, 0) / 5;
  console.log(`  cv_roc_auc ${cvAuc.toFixed(3)}, test roc_auc ${m.roc_auc ?? 'undefined'}, recall ${m.recall}, accuracy ${m.accuracy}`);
}

step('compare_experiments');
const cmp = await call('compare_experiments', { increment: inc.increment, metrics: ['accuracy', 'recall', 'f1'] });
const table = fs.readFileSync(path.join(root, cmp.report), 'utf8').split('\n').filter((l) => l.startsWith('|'));
console.log(table.map((l) => `  ${l}`).join('\n'));
console.log(`  best: ${cmp.best.experiment}; improvement over ${cmp.improvement.baseline}: ${(cmp.improvement.relative * 100).toFixed(1)}% (${cmp.improvement.rule})`);

step('compare_predictions: is the best model really better than the runner-up?');
const runnerUp = cmp.top.find((t) => !t.baseline && t.experiment !== cmp.best.experiment);
const sig = await call('compare_predictions', { increment: inc.increment, a: runnerUp.experiment, b: cmp.best.experiment });
console.log(`  ${sig.verdict}`);
console.log(`  p-values: ${Object.entries(sig.p_values).map(([k, p]) => `${k} ${typeof p === 'number' ? p.toFixed(3) : p}`).join(', ')}`);

step('update_task: every task of the increment is done');
for (let i = 1; i <= 9; i += 1) await call('update_task', { increment: inc.increment, task: `T-00${i}`, status: 'completed' });

step('validate_increment');
const v = await call('validate_increment', { increment: inc.increment });
for (const c of v.checks) console.log(`  ${c.status.toUpperCase().padEnd(4)} ${c.id}: ${c.message}`);
console.log(`  verdict: ${v.verdict.toUpperCase()}`);

step('sync_docs');
const docs = await call('sync_docs', { increment: inc.increment });
for (const c of docs.changes) console.log(`  ${c.action} ${c.path}`);

await client.close();
console.log(`\nProject: ${root}${keep ? '' : ' (removed; pass --keep to look around)'}`);
if (!keep) fs.rmSync(root, { recursive: true, force: true });
process.exit(v.verdict === 'fail' ? 1 : 0);
