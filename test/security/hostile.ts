/**
 * The hostile repository, as an attacker builds it: a real project made through the tools, then one symbolic link
 * planted where the server (or an importer) reads or writes, pointing at a file or a folder outside the project that
 * holds a unique secret token. A case escapes when, after one tool call, anything outside changed, the token shows
 * in the result, in the server's stderr or in a file of the project, or the server no longer answers.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { BUNDLE, scratchDir } from '../helpers/project.js';

export const INC = '.specweave/increments/0001-hostile';
export const EXP = `${INC}/experiments/exp`;
export const DOCS = '.specweave/docs/internal';
/** A second increment, completed in the template (a completed increment refuses complete_increment again). */
export const INC2 = '.specweave/increments/0002-closed';
export const MODEL = '.specweave/registry/churn';
/** The scaffold_deployment output folder: inside the project, outside .specweave. */
export const DEPLOY = 'deploy';
const EXPLAIN_FILE = 'explain/permutation_importance.csv';
export const MLFLOW_RUN = 'mlruns/1/aaaa0000000000000000000000000001';
export const WANDB_RUN = 'wandb/offline-run-20250105_101500-abc123xy';

/**
 * Where the link goes: an outside file holding the token, an outside folder holding it, a file or folder (the kind
 * of the place) inside the project but outside the zone (`<root>/elsewhere/`: outside `.specweave/`, or outside the
 * import source), or (for `.git`) a real git file naming an outside repository.
 */
export type Target = 'file' | 'folder' | 'project' | 'gitfile';

export interface Placement {
  /** Path inside the project where the link is planted. */
  at: string;
  /** Whether the real thing there is a file or a folder (decides what the outside stand-in holds). */
  kind: 'file' | 'dir';
  /** For an import source's files: the source to import. */
  source?: 'mlruns' | 'wandb' | 'dvc';
  /** The outside targets tried here (default: file, folder, project). */
  targets?: Target[];
  /**
   * A crash leftover of a dead writer (a temp file, a staging folder, a lock tombstone), planted with the link's
   * own time two hours back, so that the next writer there, which removes such leftovers, acts on it.
   */
  leftover?: boolean;
  /** Not in the template: the attacker adds it (a source's `.git`, W&B's `latest-run` link). */
  absent?: boolean;
}

/** Every place the server and its importers read or write, from docs/format.md, core/docs-sync.ts and the importers. */
/** The server's own store: every tool is tried against each of these. */
export const STORE_PLACEMENTS: Placement[] = [
  { at: '.specweave', kind: 'dir', targets: ['file', 'folder'] },
  { at: '.specweave/.gitignore', kind: 'file' },
  { at: '.specweave/increments', kind: 'dir' },
  { at: '.specweave/increments/.create.lock', kind: 'file' },
  { at: '.specweave/increments/_archive', kind: 'dir' },
  { at: INC, kind: 'dir' },
  { at: `${INC}/metadata.json`, kind: 'file' },
  { at: `${INC}/spec.md`, kind: 'file' },
  { at: `${INC}/plan.md`, kind: 'file' },
  { at: `${INC}/tasks.md`, kind: 'file' },
  { at: `${INC}/tests.md`, kind: 'file' },
  { at: `${INC}/.lock`, kind: 'file' },
  { at: `${INC}/experiments`, kind: 'dir' },
  { at: `${INC}/experiments/comparison.md`, kind: 'file' },
  { at: `${INC}/experiments/.comparison.lock`, kind: 'file' },
  { at: `${INC}/experiments/.import.lock`, kind: 'file' },
  { at: EXP, kind: 'dir' },
  { at: `${EXP}/params.json`, kind: 'file' },
  { at: `${EXP}/metrics.json`, kind: 'file' },
  { at: `${EXP}/metadata.yaml`, kind: 'file' },
  { at: `${EXP}/history.jsonl`, kind: 'file' },
  { at: `${EXP}/.lock`, kind: 'file' },
  { at: `${EXP}/model.pkl`, kind: 'file' },
  { at: `${EXP}/predictions.csv`, kind: 'file' },
  { at: `${EXP}/evaluation.json`, kind: 'file' },
  { at: `${EXP}/evaluation-report.md`, kind: 'file' },
  { at: `${EXP}/roc-curve.svg`, kind: 'file' },
  { at: `${EXP}/metrics-over-steps.svg`, kind: 'file' },
  { at: '.specweave/docs', kind: 'dir' },
  { at: DOCS, kind: 'dir' },
  { at: `${DOCS}/.sync.lock`, kind: 'file' },
  { at: `${DOCS}/architecture`, kind: 'dir' },
  { at: `${DOCS}/architecture/ml-models.md`, kind: 'file' },
  { at: `${DOCS}/architecture/adr`, kind: 'dir' },
  { at: `${DOCS}/architecture/adr/0001-ml-model-choice-hostile.md`, kind: 'file' },
  { at: `${DOCS}/operations`, kind: 'dir' },
  { at: `${DOCS}/operations/runbook-hostile-retraining.md`, kind: 'file' },
  // The lifecycle files: completion, exports, reports, the input schema, the model registry.
  { at: INC2, kind: 'dir' },
  { at: `${INC2}/metadata.json`, kind: 'file' },
  { at: `${INC2}/COMPLETION-SUMMARY.md`, kind: 'file' },
  { at: `${INC}/COMPLETION-SUMMARY.md`, kind: 'file', absent: true }, // complete_increment writes it
  { at: `${INC}/report.html`, kind: 'file' },
  { at: '.specweave/report.html', kind: 'file' },
  { at: `${INC}/experiments/export.csv`, kind: 'file' },
  { at: `${INC}/experiments/export.json`, kind: 'file' },
  { at: `${INC}/experiments/export.md`, kind: 'file' },
  { at: `${EXP}/input_schema.json`, kind: 'file' },
  { at: `${EXP}/explain`, kind: 'dir' },
  { at: `${EXP}/explain/permutation_importance.csv`, kind: 'file' },
  { at: '.specweave/registry', kind: 'dir' },
  { at: MODEL, kind: 'dir' },
  { at: `${MODEL}/versions`, kind: 'dir' },
  { at: `${MODEL}/versions/1.0.0.json`, kind: 'file' },
  { at: `${MODEL}/versions/1.1.0.json`, kind: 'file' },
  { at: `${MODEL}/events.jsonl`, kind: 'file' },
  { at: `${MODEL}/.lock`, kind: 'file' },
  // Leftovers of a dead writer (pid 4194303 is above Linux's pid_max) where the next writer cleans up.
  { at: '.specweave/increments/.staging-4194303-deadbeef', kind: 'dir', leftover: true },
  { at: `${INC}/.tasks.md.4194303.deadbeef.tmp`, kind: 'file', leftover: true },
  { at: `${INC}/experiments/.staging-4194303-deadbeef`, kind: 'dir', leftover: true },
  { at: `${EXP}/.metrics.json.4194303.deadbeef.tmp`, kind: 'file', leftover: true },
  { at: `${EXP}/.lock.deadbeef.stale`, kind: 'file', leftover: true },
  { at: `${DOCS}/architecture/.ml-models.md.4194303.deadbeef.tmp`, kind: 'file', leftover: true },
  // A real, dead staging folder holding the link: removing the folder must remove the link, not what it points to.
  { at: '.specweave/increments/.staging-4194303-feedface/0009-inner', kind: 'dir', leftover: true },
  { at: `${INC}/experiments/.staging-4194303-feedface/exp`, kind: 'dir', leftover: true },
  { at: `${MODEL}/versions/.1.2.0.json.4194303.deadbeef.tmp`, kind: 'file', leftover: true },
  { at: `${MODEL}/.lock.deadbeef.stale`, kind: 'file', leftover: true },
];

/**
 * The scaffold's output folder, inside the project but outside .specweave: the one place a tool writes outside the
 * store, so these are tried with scaffold_deployment (every other tool leaves the folder alone).
 */
export const DEPLOY_PLACEMENTS: Placement[] = [
  { at: DEPLOY, kind: 'dir', targets: ['file', 'folder', 'project'] },
  { at: `${DEPLOY}/app.py`, kind: 'file' },
  { at: `${DEPLOY}/model`, kind: 'dir' },
  { at: `${DEPLOY}/model/model.pkl`, kind: 'file' },
  { at: `${DEPLOY}/monitoring/alerts.yml`, kind: 'file' },
  { at: `${DEPLOY}/scaffold-manifest.json`, kind: 'file' },
  // A killed scaffold's temp file: skipped as a crash leftover when real, refused as a link.
  { at: `${DEPLOY}/monitoring/.alerts.yml.4194303.deadbeef.tmp`, kind: 'file', leftover: true },
];

/**
 * An import source's files. Only import_runs takes a source (every other tool's arguments name increments and
 * experiments, which live under .specweave/), so these are tried with import_runs.
 */
export const SOURCE_PLACEMENTS: Placement[] = [
  { at: 'mlruns', kind: 'dir', source: 'mlruns', targets: ['file', 'folder'] },
  { at: 'mlruns/1', kind: 'dir', source: 'mlruns' },
  { at: 'mlruns/1/meta.yaml', kind: 'file', source: 'mlruns' },
  { at: MLFLOW_RUN, kind: 'dir', source: 'mlruns' },
  { at: `${MLFLOW_RUN}/meta.yaml`, kind: 'file', source: 'mlruns' },
  { at: `${MLFLOW_RUN}/metrics/val_auc`, kind: 'file', source: 'mlruns' },
  { at: `${MLFLOW_RUN}/params/max_depth`, kind: 'file', source: 'mlruns' },
  { at: `${MLFLOW_RUN}/tags/mlflow.runName`, kind: 'file', source: 'mlruns' },
  { at: 'wandb', kind: 'dir', source: 'wandb', targets: ['file', 'folder'] },
  { at: WANDB_RUN, kind: 'dir', source: 'wandb' },
  { at: 'wandb/latest-run', kind: 'dir', source: 'wandb', absent: true }, // W&B makes this link itself, inside
  { at: `${WANDB_RUN}/files`, kind: 'dir', source: 'wandb' },
  { at: `${WANDB_RUN}/files/config.yaml`, kind: 'file', source: 'wandb' },
  { at: `${WANDB_RUN}/files/wandb-summary.json`, kind: 'file', source: 'wandb' },
  { at: `${WANDB_RUN}/files/wandb-metadata.json`, kind: 'file', source: 'wandb' },
  { at: `${WANDB_RUN}/files/wandb-history.jsonl`, kind: 'file', source: 'wandb' },
  { at: 'dvc', kind: 'dir', source: 'dvc', targets: ['file', 'folder'] },
  { at: 'dvc/dvc.yaml', kind: 'file', source: 'dvc' },
  { at: 'dvc/params.yaml', kind: 'file', source: 'dvc' },
  { at: 'dvc/metrics.json', kind: 'file', source: 'dvc' },
  { at: 'dvc/dvclive', kind: 'dir', source: 'dvc' },
  { at: 'dvc/dvclive/acc.tsv', kind: 'file', source: 'dvc' },
  { at: 'dvc/exps/cnn-32', kind: 'dir', source: 'dvc' },
  { at: 'dvc/.git', kind: 'dir', source: 'dvc', targets: ['file', 'folder', 'gitfile'], absent: true },
];

export const PLACEMENTS = [...STORE_PLACEMENTS, ...SOURCE_PLACEMENTS, ...DEPLOY_PLACEMENTS];

/** What each tool is called with: arguments that make it touch the placements above. */
export const TOOL_CALLS: Record<string, (p: Placement) => Record<string, unknown>> = {
  create_increment: () => ({
    title: 'Second model',
    problem_type: 'classification',
    primary_metric: 'roc_auc',
    success_criteria: ['roc_auc >= 0.7'],
  }),
  list_increments: () => ({}),
  track_experiment: () => ({
    increment: '1',
    name: 'exp',
    params: { depth: 3 },
    metrics: { roc_auc: 0.71 },
    tags: ['again'],
    note: 'tracked again',
    history: [{ metric: 'loss', value: 0.3, step: 9 }],
    artifacts: ['model.pkl', 'input_schema.json', EXPLAIN_FILE],
  }),
  list_experiments: () => ({ increment: '1' }),
  get_experiment: () => ({ increment: '1', name: 'exp' }),
  compare_experiments: () => ({ increment: '1' }),
  evaluate_predictions: () => ({
    increment: '1',
    experiment: 'exp',
    predictions: 'predictions.csv',
    task: 'binary',
    bootstrap_resamples: 0,
  }),
  compare_predictions: () => ({ increment: '1', a: 'exp2', b: 'exp' }),
  validate_increment: () => ({ increment: '1' }),
  sync_docs: () => ({ increment: '1' }),
  update_task: () => ({ increment: '1', task: 'T-002', status: 'completed' }),
  update_increment: () => ({ increment: '1', primary_metric: 'roc_auc', success_criteria: ['roc_auc >= 0.65'] }),
  import_runs: (p) => ({ increment: '1', source: p.source ?? 'mlruns' }),
  // The lifecycle tools. The template registered churn 1.0.0 and 1.1.0 (both promoted to staging in turn),
  // scaffolded staging into deploy/, rendered the reports, exported the table and completed increment 0002.
  register_model: () => ({ name: 'churn', increment: '1', experiment: 'exp', description: 'registered again' }),
  promote_model: () => ({ name: 'churn', version: '1.0.0', stage: 'production', force: true, reason: 'hostile test' }),
  rollback_model: () => ({ name: 'churn', stage: 'staging' }),
  get_model: () => ({ name: 'churn' }),
  list_models: () => ({}),
  scaffold_deployment: () => ({ model: 'churn', stage: 'staging', output: DEPLOY }),
  complete_increment: () => ({ increment: '1', force: true, reason: 'hostile test' }),
  export_experiments: () => ({ increment: '1', format: 'json' }),
  render_report: () => ({}),
  // A stand-in MLflow server in the test process, which records every request: no secret may reach it.
  export_to_mlflow: () => ({ increment: '1', tracking_uri: mlflowStub.url, experiment_name: 'hostile' }),
};
export const TOOLS = Object.keys(TOOL_CALLS);

/**
 * Enough of MLflow's REST API for export_to_mlflow (an experiment found by name, no runs yet, runs created and
 * logged to), in the test process. It records every request line and body, so the judge can check that no secret
 * was sent over the network; `url` points at a closed port until it is started.
 */
export const mlflowStub = {
  url: 'http://127.0.0.1:9',
  received: [] as string[],
  server: undefined as http.Server | undefined,
  async start(): Promise<void> {
    if (this.server) return;
    let runs = 0;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push(`${req.method} ${req.url} ${Buffer.concat(chunks).toString('utf8')}`);
        const endpoint = (req.url ?? '').replace(/^\/api\/2\.0\/mlflow\//, '').split('?')[0];
        const body =
          endpoint === 'experiments/get-by-name'
            ? { experiment: { experiment_id: '1', name: 'hostile', lifecycle_stage: 'active' } }
            : endpoint === 'runs/search'
              ? { runs: [] }
              : endpoint === 'runs/create'
                ? { run: { info: { run_id: (runs += 1).toString(16).padStart(32, '0'), status: 'RUNNING' } } }
                : {};
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
    server.unref();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  },
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise((resolve) => server.close(resolve));
  },
};

export function targetsOf(p: Placement): Target[] {
  return p.targets ?? ['file', 'folder', 'project'];
}

// ---------------------------------------------------------------------------------------------------------------
// The template project, built once through the tools as an agent would.

const PREDICTIONS = (shift: number) =>
  [
    'id,y_true,score',
    ...[0, 1, 0, 1, 1, 0, 1, 0, 1, 0].map(
      (y, i) => `${i},${y},${Math.min(0.99, Math.max(0.01, (y ? 0.7 : 0.3) + ((i % 3) - 1) * 0.25 + shift)).toFixed(2)}`,
    ),
  ].join('\n') + '\n';

/** An input_schema.json of two features, canonical JSON (sorted keys). */
const INPUT_SCHEMA = (model: string, feature: string) =>
  JSON.stringify({
    classes: [0, 1],
    example: { [feature]: 41, income: 52000.5 },
    features: [
      { dtype: 'int64', name: feature, type: 'integer' },
      { dtype: 'float64', name: 'income', type: 'number' },
    ],
    format: 'specweave-input-schema/1',
    input: 'dataframe',
    model,
    requirements: { joblib: '1.4.2', numpy: '2.0.0', pandas: '2.2.2', 'scikit-learn': '1.5.0' },
    task: 'classification',
  });

export async function buildTemplate(c: TestClient, root: string): Promise<void> {
  await c.ok('create_increment', {
    title: 'Hostile',
    problem_type: 'classification',
    primary_metric: 'roc_auc',
    success_criteria: ['roc_auc >= 0.6'],
  });
  for (const [name, shift, baseline] of [
    ['exp2', -0.1, true],
    ['exp', 0.05, false],
  ] as const) {
    const dir = path.join(root, INC, 'experiments', name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'predictions.csv'), PREDICTIONS(shift));
    fs.writeFileSync(path.join(dir, 'model.pkl'), `model ${name}`);
    // The input schema as the Python client's save_model(..., input_example=X) writes it (docs/format.md).
    fs.writeFileSync(path.join(dir, 'input_schema.json'), INPUT_SCHEMA('model.pkl', 'age'));
    // An explanation file as specweave_ml.explain() writes it (docs/format.md, "Explanation files").
    fs.mkdirSync(path.join(dir, 'explain'));
    fs.writeFileSync(path.join(dir, EXPLAIN_FILE), 'feature,mean,std,ci_low,ci_high,repeat_0\nage,0.12,0.01,0.1,0.14,0.12\n');
    await c.ok('track_experiment', {
      increment: '1',
      name,
      baseline,
      params: { depth: 2 },
      metrics: { roc_auc: baseline ? 0.6 : 0.8 },
      note: `${name} trained`,
      history: [0, 1, 2].map((step) => ({ metric: 'loss', value: 1 - step / 10, step })),
      artifacts: ['model.pkl', 'input_schema.json', EXPLAIN_FILE],
    });
    await c.ok('evaluate_predictions', {
      increment: '1',
      experiment: name,
      predictions: 'predictions.csv',
      task: 'binary',
      bootstrap_resamples: 0,
    });
  }
  await c.ok('compare_experiments', { increment: '1' });
  await c.ok('compare_predictions', { increment: '1', a: 'exp2', b: 'exp' });
  await c.ok('update_task', { increment: '1', task: 'T-001', status: 'completed' });
  await c.ok('sync_docs', { increment: '1' });
  // The lifecycle, as an agent ends an increment: two registered versions, each promoted to staging in turn (so
  // rollback_model has a previous holder), a deployment scaffold of staging, the exports, the reports, and a second
  // increment completed (the first stays open for the other tools; complete_increment refuses a completed one).
  for (const version of ['1.0.0', '1.1.0']) {
    await c.ok('register_model', { name: 'churn', increment: '1', experiment: 'exp', version });
    await c.ok('promote_model', { name: 'churn', version, stage: 'staging' });
  }
  await c.ok('scaffold_deployment', { model: 'churn', stage: 'staging', output: DEPLOY });
  for (const format of ['csv', 'json', 'markdown']) await c.ok('export_experiments', { increment: '1', format });
  await c.ok('create_increment', { title: 'Closed', problem_type: 'classification', primary_metric: 'roc_auc' });
  await c.ok('complete_increment', { increment: '2', force: true, reason: 'closed without experiments' });
  await c.ok('render_report', {});
  fs.mkdirSync(path.join(root, '.specweave/increments/_archive/0002-old'), { recursive: true });
  writeSources(root);
  for (const p of PLACEMENTS) {
    // Lock files exist only while held, leftovers only after a crash, and the attacker adds the absent ones.
    if (p.absent || p.at.endsWith('.lock') || p.leftover) continue;
    if (!fs.existsSync(path.join(root, p.at))) throw new Error(`template lacks ${p.at}: the placement table is out of date`);
  }
}

/** Small, valid import sources of the three formats, inside the project. */
function writeSources(root: string): void {
  const w = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  };
  w(
    'mlruns/1/meta.yaml',
    "artifact_location: mlflow-artifacts:/1\ncreation_time: 1735725600000\nexperiment_id: '1'\nlast_update_time: 1735725600000\nlifecycle_stage: active\nname: churn-model\n",
  );
  w(
    `${MLFLOW_RUN}/meta.yaml`,
    "artifact_uri: mlflow-artifacts:/1/aaaa0000000000000000000000000001/artifacts\nend_time: 1735725900000\nexperiment_id: '1'\nlifecycle_stage: active\nrun_id: aaaa0000000000000000000000000001\nrun_name: xgb-depth6\nrun_uuid: aaaa0000000000000000000000000001\nstart_time: 1735725600000\nstatus: 3\nuser_id: ada\n",
  );
  w(`${MLFLOW_RUN}/metrics/val_auc`, '1735725600000 0.81 0\n1735725660000 0.84 1\n');
  w(`${MLFLOW_RUN}/params/max_depth`, '6');
  w(`${MLFLOW_RUN}/tags/mlflow.runName`, 'xgb-depth6');
  w(`${WANDB_RUN}/files/config.yaml`, 'lr:\n  value: 0.001\nepochs:\n  value: 20\n');
  w(`${WANDB_RUN}/files/wandb-summary.json`, '{"val_acc": 0.93, "_step": 2}\n');
  w(`${WANDB_RUN}/files/wandb-metadata.json`, '{"startedAt": "2025-01-05T10:15:00.123456", "program": "train.py", "host": "gpu-box"}\n');
  w(`${WANDB_RUN}/files/wandb-history.jsonl`, '{"_step": 0, "val_acc": 0.9}\n{"_step": 1, "val_acc": 0.93}\n');
  w(
    'dvc/dvc.yaml',
    'stages:\n  train:\n    cmd: python train.py\n    params:\n    - lr\n    metrics:\n    - metrics.json:\n        cache: false\n',
  );
  w('dvc/params.yaml', 'lr: 0.01\nepochs: 10\n');
  w('dvc/metrics.json', '{"acc": 0.9, "loss": 0.2}\n');
  w('dvc/dvclive/acc.tsv', 'timestamp\tstep\tacc\n1644420777053\t0\t0.5\n1644420778053\t1\t0.7\n');
  w('dvc/exps/cnn-32/params.yaml', 'lr: 0.02\n');
  w('dvc/exps/cnn-32/metrics.json', '{"acc": 0.91}\n');
}

// ---------------------------------------------------------------------------------------------------------------
// The secret: content an attacker would choose so that, read by the parser of that place, the token surfaces.

export function newToken(): string {
  return `SWSECRET${randomBytes(8).toString('hex')}`;
}

function tokenContent(name: string, t: string): string {
  const when = '2026-01-01T00:00:00.000Z';
  const lockOwner = JSON.stringify({ host: os.hostname(), pid: 2147480000, time: when, token: t }) + '\n';
  const byName: Record<string, string> = {
    'params.json': JSON.stringify({ api_key: t }),
    'metrics.json': JSON.stringify({ [t]: 0.5 }),
    'metadata.yaml': `name: "exp"\nstatus: "completed"\ntags:\n  - "${t}"\nnotes:\n  - time: "${when}"\n    text: "${t}"\n`,
    'history.jsonl': `{"metric":"${t}","value":1,"step":0,"timestamp":"${when}"}\n`,
    'evaluation.json': JSON.stringify({ predictions: `experiments/exp/${t}.csv`, task: 'binary', columns: {} }),
    'predictions.csv': `id,y_true,${t}\n0,1,0.9\n1,0,0.1\n2,1,0.8\n3,0,0.3\n`,
    'metadata.json': JSON.stringify({
      id: '0001-hostile',
      title: t,
      status: 'active',
      type: 'feature',
      created: when,
      ml: { problem_type: 'classification', primary_metric: t, direction: 'maximize' },
    }),
    'spec.md': `# ${t}\n\n## Success Criteria\n\n- ${t} >= 0.5\n`,
    'tasks.md': `# Tasks\n\n### T-001: ${t}\n\n**Status**: [ ] pending\n\n### T-002: ${t}\n\n**Status**: [ ] pending\n`,
    '.lock': lockOwner,
    '.create.lock': lockOwner,
    '.comparison.lock': lockOwner,
    '.sync.lock': lockOwner,
    '.import.lock': lockOwner,
    'meta.yaml': `experiment_id: '1'\nlifecycle_stage: active\nname: ${t}\nrun_id: aaaa0000000000000000000000000001\nrun_name: ${t}\nstatus: 3\nstart_time: 1735725600000\n`,
    val_auc: `1735725600000 ${t} 0\n1735725660000 0.84 1\n`,
    max_depth: t,
    'mlflow.runName': t,
    'config.yaml': `secret:\n  value: ${t}\n`,
    'wandb-summary.json': JSON.stringify({ [t]: 1 }),
    'wandb-metadata.json': JSON.stringify({ startedAt: '2025-01-05T10:15:00.123456', program: t, host: t }),
    'wandb-history.jsonl': `{"_step": 0, "${t}": 1}\n`,
    'dvc.yaml': `stages:\n  train:\n    cmd: ${t}\n    params:\n    - ${t}\n    metrics:\n    - metrics.json:\n        cache: false\n`,
    'params.yaml': `lr: ${t}\n${t}: 1\n`,
    'acc.tsv': `timestamp\tstep\t${t}\n1\t0\t0.5\n`,
    'events.jsonl': [
      { seq: 1, time: when, event: 'register', model: 'churn', version: '1.0.0', stage: null, previous: null },
      { seq: 2, time: when, event: 'promote', model: 'churn', version: '1.0.0', stage: 'staging', previous: null },
    ]
      .map((e) => JSON.stringify({ ...e, actor: t, reason: t, forced: false, gates: null }))
      .join('\n')
      .concat('\n'),
    'input_schema.json': INPUT_SCHEMA('model.pkl', t),
    'scaffold-manifest.json': JSON.stringify({
      generator: 'specweave-ml scaffold_deployment',
      model: { name: t, version: '1.1.0', sha256: t },
      files: [{ path: 'app.py', sha256: createHash('sha256').update(`# ${t}\n\n${t}\n`).digest('hex') }],
    }),
    'export.json': JSON.stringify([{ experiment: t, roc_auc: 0.5 }]),
    'export.csv': `experiment,roc_auc\r\n${t},0.5\r\n`,
    'permutation_importance.csv': `feature,mean,std,ci_low,ci_high,repeat_0\n${t},0.12,0.01,0.1,0.14,0.12\n`,
  };
  const version = /^(\d+\.\d+\.\d+)\.json$/.exec(name)?.[1];
  if (version) return versionRecord(version, t);
  return byName[name] ?? `# ${t}\n\n${t}\n`;
}

/** A registry version record (docs/format.md, "Model registry") whose description and metric carry the token. */
function versionRecord(version: string, t: string): string {
  const sha = createHash('sha256').update('model exp').digest('hex');
  const record = {
    actor: t,
    artifact: { bytes: 9, format: 'pickle', path: `${EXP}/model.pkl`, sha256: sha },
    created: '2026-01-01T00:00:00.000Z',
    data_files: [],
    description: t,
    environment: { node: t },
    experiment: 'exp',
    format: 1,
    git: null,
    increment: '0001-hostile',
    metrics: { [t]: 0.5, roc_auc: 0.8 },
    model: 'churn',
    params: { api_key: t },
    registered_git: null,
    selection: null,
    test_metrics: {},
    version,
  };
  return `${JSON.stringify(record, null, 2)}\n`;
}

/** Rewrites every file of a copied folder with the token content of its name. */
function tokenizeTree(dir: string, t: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) tokenizeTree(p, t);
    else fs.writeFileSync(p, tokenContent(e.name, t));
  }
}

/** A git repository outside the project whose committed DVC experiment carries the token (for `.git` placements). */
function outsideDvcRepo(dir: string, t: string): string {
  const g = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: dir,
      env: { ...process.env, GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@x', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@x' },
    })
      .toString()
      .trim();
  fs.mkdirSync(dir, { recursive: true });
  g('init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(dir, 'dvc.yaml'), 'stages:\n  train:\n    cmd: python train.py\n');
  fs.writeFileSync(path.join(dir, 'params.yaml'), 'lr: 0.01\n');
  g('add', '.');
  g('commit', '-qm', 'baseline');
  const baseline = g('rev-parse', 'HEAD');
  fs.writeFileSync(path.join(dir, 'params.yaml'), `lr: ${t}\n`);
  fs.writeFileSync(path.join(dir, 'metrics.json'), JSON.stringify({ [t]: 1 }));
  g('add', '.');
  g('commit', '-qm', t);
  g('update-ref', `refs/exps/${baseline.slice(0, 2)}/${baseline.slice(2)}/${t.toLowerCase()}`, 'HEAD');
  // A hook and an fsmonitor that would run if git were let loose in this repository: both write outside.
  fs.appendFileSync(path.join(dir, '.git/config'), `[core]\n\tfsmonitor = "touch ${path.join(dir, 'FSMONITOR-RAN')}"\n`);
  return path.join(dir, '.git');
}

// ---------------------------------------------------------------------------------------------------------------
// One case: a copy of the template, the link planted, the outside world hashed.

/** A plain recursive copy: about twice as fast as fs.cpSync for a small tree, and this runs once per case. */
function copyTree(from: string, to: string): void {
  fs.mkdirSync(to);
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const a = path.join(from, e.name);
    const b = path.join(to, e.name);
    if (e.isDirectory()) copyTree(a, b);
    else if (e.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(a), b);
    else fs.copyFileSync(a, b);
  }
}

export interface Case {
  sandbox: string;
  root: string;
  outside: string;
  token: string;
  /** How many requests the MLflow stand-in had received before the call. */
  sentBefore: number;
}

/**
 * The project the cases of one suite run in, reset to the template between cases: only what differs is put back
 * (a case changes a few files; copying the whole tree each time made the suite several times slower), and a reset
 * that does not reproduce the template byte for byte falls back to a full copy.
 */
export class Workspace {
  /** Stat signatures of the workspace when it last matched the template. */
  private clean: Map<string, string>;
  private readonly templateTypes: Map<string, string>;
  constructor(
    readonly template: string,
    readonly root: string,
  ) {
    copyTree(template, root);
    this.templateTypes = statSignatures(template);
    this.clean = statSignatures(root);
  }

  reset(): void {
    const now = statSignatures(this.root);
    const differing = [...new Set([...now.keys(), ...this.clean.keys()])].filter((p) => now.get(p) !== this.clean.get(p)).sort();
    const restored: string[] = [];
    for (const rel of differing) {
      if (restored.some((r) => rel.startsWith(`${r}${path.sep}`))) continue;
      const at = path.join(this.root, rel);
      fs.rmSync(at, { recursive: true, force: true });
      const want = this.templateTypes.get(rel);
      const from = path.join(this.template, rel);
      if (want?.startsWith('dir')) copyTree(from, at);
      else if (want?.startsWith('link')) fs.symlinkSync(fs.readlinkSync(from), at);
      else if (want) fs.copyFileSync(from, at);
      restored.push(rel);
    }
    this.clean = statSignatures(this.root);
  }
}

/** Path → type, mode, size, mtime and inode: any write, rename or new entry changes it; nothing is read. */
function statSignatures(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      const rel = path.relative(dir, p);
      if (st.isSymbolicLink()) out.set(rel, `link ${fs.readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.set(rel, `dir ${st.mode} ${st.ino}`);
        walk(p);
      } else out.set(rel, `file ${st.mode} ${st.size} ${st.mtimeMs} ${st.ino}`);
    }
  };
  walk(dir);
  return out;
}

export function prepareCase(ws: Workspace, p: Placement, target: Target, under: string): Case {
  ws.reset();
  const sandbox = fs.mkdtempSync(path.join(under, 'case-'));
  const root = ws.root;
  // The 'project' target lies in the project but outside the zone; the next reset removes it.
  const outside = target === 'project' ? path.join(root, 'elsewhere') : path.join(sandbox, 'outside');
  fs.mkdirSync(outside);
  const shape = target === 'project' ? (p.kind === 'file' ? 'file' : 'folder') : target;
  const token = newToken();
  const at = path.join(root, p.at);
  let linkTo: string;
  if (p.at === 'dvc/.git') {
    const gitDir = outsideDvcRepo(path.join(outside, 'repo'), token);
    linkTo = target === 'folder' ? gitDir : path.join(outside, 'gitfile');
    fs.writeFileSync(path.join(outside, 'gitfile'), `gitdir: ${gitDir}\n`);
  } else if (shape === 'file') {
    linkTo = path.join(outside, 'secret');
    fs.writeFileSync(linkTo, p.kind === 'file' ? tokenContent(path.basename(p.at), token) : `${token}\n`);
  } else {
    linkTo = path.join(outside, 'folder');
    if (p.kind === 'dir' && fs.existsSync(at)) {
      fs.cpSync(at, linkTo, { recursive: true, verbatimSymlinks: true });
      tokenizeTree(linkTo, token);
    } else {
      fs.mkdirSync(path.join(linkTo, `0009-${token.toLowerCase()}`), { recursive: true });
      fs.writeFileSync(path.join(linkTo, 'secret.txt'), `${token}\n`);
    }
  }
  fs.rmSync(at, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(at), { recursive: true });
  if (target === 'gitfile') fs.writeFileSync(at, `gitdir: ${path.join(outside, 'repo/.git')}\n`);
  else fs.symlinkSync(linkTo, at);
  if (p.leftover) {
    const past = new Date(Date.now() - 2 * 3600_000);
    fs.lutimesSync(at, past, past);
    fs.utimesSync(linkTo, past, past);
    if (/^\.staging-/.test(path.basename(path.dirname(at)))) fs.utimesSync(path.dirname(at), past, past);
  }
  return { sandbox, root, outside, token, sentBefore: mlflowStub.received.length };
}

/** Path → type and content hash of every entry below `dir`, links not followed. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      const rel = path.relative(dir, p);
      if (st.isSymbolicLink()) out.set(rel, `link ${fs.readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.set(rel, `dir ${(st.mode & 0o7777).toString(8)}`);
        walk(p);
      } else out.set(rel, `file ${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out;
}

export function changedPaths(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const [k, v] of before) if (after.get(k) !== v) changed.push(after.has(k) ? `changed ${k}` : `removed ${k}`);
  for (const k of after.keys()) if (!before.has(k)) changed.push(`created ${k}`);
  return changed;
}

/** Files of the project (links not followed, `.git` and the planted target `skip` left out) whose bytes contain the token. */
export function projectFilesWithToken(root: string, token: string, skip?: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (p === skip) continue;
      if (e.isDirectory() && e.name !== '.git') walk(p);
      else if (e.isFile() && fs.readFileSync(p).includes(token)) found.push(path.relative(root, p));
    }
  };
  walk(root);
  return found;
}

export interface Verdict {
  tool: string;
  placement: string;
  target: Target;
  via: 'memory' | 'stdio';
  escapes: string[];
  /** isError text, kept so a report can say how each case was refused. */
  error?: string;
}

/** Judges one call: the outside world untouched, the token nowhere it should not be, the server still answering. */
export async function judge(
  c: TestClient,
  k: Case,
  before: Map<string, string>,
  result: CallToolResult | Error,
  extraText = '',
): Promise<{ escapes: string[]; error?: string }> {
  const escapes: string[] = [];
  const changed = changedPaths(before, snapshot(k.outside));
  if (changed.length) escapes.push(`outside modified: ${changed.slice(0, 5).join(', ')}`);
  const text =
    result instanceof Error ? String(result.stack ?? result.message) : JSON.stringify([result.content, result.structuredContent]);
  if (text.includes(k.token))
    escapes.push(
      `token in the ${result instanceof Error || (result as CallToolResult).isError ? 'error' : 'result'}: ${excerpt(text, k.token)}`,
    );
  if (extraText.includes(k.token)) escapes.push(`token on stderr: ${excerpt(extraText, k.token)}`);
  // Where the link points is the attacker's business, not the model's: refusals name the link, never its target.
  if (text.includes(k.outside))
    escapes.push(
      `link target in the ${result instanceof Error || (result as CallToolResult).isError ? 'error' : 'result'}: ${excerpt(text, k.outside)}`,
    );
  const sent = mlflowStub.received.slice(k.sentBefore).find((r) => r.includes(k.token));
  if (sent) escapes.push(`token sent over the network: ${excerpt(sent, k.token)}`);
  const files = projectFilesWithToken(k.root, k.token, k.outside);
  if (files.length) escapes.push(`token copied into the project: ${files.join(', ')}`);
  try {
    await c.call('list_increments', {});
  } catch (e) {
    escapes.push(`server no longer answers: ${(e as Error).message}`);
  }
  const error =
    result instanceof Error ? `thrown: ${result.message}` : result.isError ? (result.content[0] as { text: string }).text : undefined;
  return { escapes, error };
}

function excerpt(text: string, token: string): string {
  const i = text.indexOf(token);
  return text.slice(Math.max(0, i - 80), i + token.length + 40).replace(/\s+/g, ' ');
}

/** Figures for docs/security.md: written per suite, summed into .test-results/security.json. */
export function writeFigures(suite: string, verdicts: Verdict[], extra: Record<string, unknown> = {}): void {
  if (verdicts.length === 0) return; // the suite did not run (setup failed or filtered): keep the last figures
  const dir = path.resolve(__dirname, '../../.test-results/security');
  fs.mkdirSync(dir, { recursive: true });
  const escaped = verdicts.filter((v) => v.escapes.length);
  const part = {
    suite,
    placements: new Set(verdicts.map((v) => v.placement)).size,
    placement_list: [...new Set(verdicts.map((v) => v.placement))].sort(),
    cases: verdicts.length,
    escapes: escaped.length,
    // How the cases that did not escape ended: refused with an error, or answered without touching the link.
    refused: verdicts.filter((v) => v.error !== undefined).length,
    internal_errors: verdicts
      .filter((v) => v.error !== undefined && /internal error|thrown:/i.test(v.error))
      .map((v) => ({ tool: v.tool, placement: v.placement, target: v.target, error: v.error!.slice(0, 300) })),
    escaped: escaped.map((v) => ({ tool: v.tool, placement: v.placement, target: v.target, via: v.via, what: v.escapes })),
    ...extra,
  };
  fs.writeFileSync(path.join(dir, `${suite}.json`), JSON.stringify(part, null, 2) + '\n');
  const parts = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
  const total = {
    note: 'written by test/security/*.test.ts; quoted in docs/security.md',
    cases: parts.reduce((n, p) => n + (p.cases ?? 0), 0),
    escapes: parts.reduce((n, p) => n + (p.escapes ?? 0), 0),
    // Distinct places, per side: the stdio suite retries places the in-memory suites already counted.
    placements: {
      server: new Set(parts.filter((p) => p.suite !== 'python-client').flatMap((p) => p.placement_list ?? [])).size,
      python_client: new Set(parts.filter((p) => p.suite === 'python-client').flatMap((p) => p.placement_list ?? [])).size,
    },
    suites: Object.fromEntries(
      parts.map((p) => [p.suite, { placements: p.placements, cases: p.cases, escapes: p.escapes, refused: p.refused }]),
    ),
  };
  const tmp = path.join(dir, `../.security.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(total, null, 2) + '\n');
  fs.renameSync(tmp, path.join(dir, '../security.json'));
  console.log(
    `security figures, ${suite}: ${part.cases} cases at ${part.placements} places, ${part.escapes} escapes; all suites so far: ${total.cases} cases, ${total.escapes} escapes (.test-results/security.json)`,
  );
}

/**
 * The suites' scratch folder: in memory (/dev/shm) where the machine has it, since a suite makes a few thousand
 * small files and links and a busy disk made that the bulk of its run time; symlinks behave the same there.
 */
/** A project built once through the tools in `<work>/template`, and the workspace each case copies it into. */
export async function templateWorkspace(work: string): Promise<Workspace> {
  const template = path.join(work, 'template');
  fs.mkdirSync(template);
  const c = await inMemoryClient(template);
  await buildTemplate(c, template);
  await c.close();
  return new Workspace(template, path.join(work, 'project'));
}

export function workDir(): string {
  const shm = '/dev/shm';
  let base = os.tmpdir();
  try {
    fs.accessSync(shm, fs.constants.W_OK);
    base = shm;
  } catch {
    // no /dev/shm (macOS, Windows): the system temp folder
  }
  return fs.realpathSync(fs.mkdtempSync(path.join(base, 'swml-hostile-')));
}

/**
 * Defines the cases of one suite: for each placement, each of its tools × each outside target, through the
 * in-memory client. Each case gets its own copy of a template project built once per suite.
 */
export function runMatrix(suite: string, placements: Placement[], toolsFor: (p: Placement) => string[]): void {
  let work = '';
  let ws: Workspace;
  const verdicts: Verdict[] = [];
  const removals: Promise<void>[] = [];
  beforeAll(async () => {
    work = workDir();
    ws = await templateWorkspace(work);
    if (placements.some((p) => toolsFor(p).includes('export_to_mlflow'))) await mlflowStub.start();
  });
  afterAll(async () => {
    writeFigures(suite, verdicts);
    await mlflowStub.stop();
    await Promise.all(removals);
    fs.rmSync(work, { recursive: true, force: true });
  });
  // Controls: without a link every call of this suite succeeds, so a refusal in a case is the link's doing.
  const controls = [
    ...new Map(
      placements.flatMap((p) =>
        toolsFor(p).map((tool) => {
          const args = TOOL_CALLS[tool]!(p);
          return [JSON.stringify([tool, args]), { tool, args, placement: p }] as const;
        }),
      ),
    ).values(),
  ];
  it.each(controls)('control: $tool $args succeeds with no link planted', async ({ tool, placement }) => {
    ws.reset();
    const c = await inMemoryClient(ws.root);
    try {
      const sentBefore = mlflowStub.received.length;
      const r = await c.call(tool, TOOL_CALLS[tool]!(placement));
      expect(r.isError, JSON.stringify(r.content).slice(0, 400)).not.toBe(true);
      // The export reached the stand-in with both runs' data, so the judge's network check has something to read.
      if (tool === 'export_to_mlflow') {
        const sent = mlflowStub.received.slice(sentBefore);
        expect(sent.filter((line) => line.startsWith('POST /api/2.0/mlflow/runs/create'))).toHaveLength(2);
        expect(sent.some((line) => line.startsWith('POST /api/2.0/mlflow/runs/log-batch') && line.includes('"depth"'))).toBe(true);
      }
    } finally {
      await c.close();
    }
  });

  describe.each(placements)('a symbolic link at $at', (placement) => {
    const cases = toolsFor(placement).flatMap((tool) => targetsOf(placement).map((target) => ({ tool, target })));
    it.each(cases)('$tool, link to $target', async ({ tool, target }) => {
      const t0 = performance.now();
      const k = prepareCase(ws, placement, target, work);
      const t1 = performance.now();
      const before = snapshot(k.outside);
      const c = await inMemoryClient(k.root);
      try {
        const t2 = performance.now();
        const result = await c.call(tool, TOOL_CALLS[tool]!(placement)).catch((e: Error) => e);
        const t3 = performance.now();
        const { escapes, error } = await judge(c, k, before, result);
        if (process.env.SWML_PROFILE)
          console.error('PROFILE', tool, Math.round(t1 - t0), Math.round(t2 - t1), Math.round(t3 - t2), Math.round(performance.now() - t3));
        verdicts.push({ tool, placement: placement.at, target, via: 'memory', escapes, error });
        expect(escapes).toEqual([]);
      } finally {
        await c.close();
        // Removed in the background: deleting a tree is slow on a busy disk and nothing reads it again.
        removals.push(fs.promises.rm(k.sandbox, { recursive: true, force: true }));
      }
    });
  });
}

/** A raw JSON-RPC session with the bundle: lines in, parsed responses out by id. */
export function rawSession(root: string) {
  const child = spawn(process.execPath, [BUNDLE, '--root', root], { stdio: ['pipe', 'pipe', 'pipe'] });
  const responses = new Map<number, any>();
  const waiters = new Map<number, (r: any) => void>();
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.trim()) continue;
      const msg = JSON.parse(line);
      if (typeof msg.id === 'number') {
        responses.set(msg.id, msg);
        waiters.get(msg.id)?.(msg);
      }
    }
  });
  const response = (id: number, ms = 20_000) =>
    responses.has(id)
      ? Promise.resolve(responses.get(id))
      : new Promise<any>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no response to request ${id} within ${ms} ms`)), ms);
          waiters.set(id, (r) => {
            clearTimeout(timer);
            resolve(r);
          });
        });
  const send = (msg: object | string) => child.stdin.write(`${typeof msg === 'string' ? msg : JSON.stringify(msg)}\n`);
  let nextId = 100;
  /** initialize + initialized, as a client does before calling tools. */
  const open = async () => {
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'hostile', version: '0' } },
    });
    await response(1);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  };
  /** Sends a tools/call and returns its id (await response(id) for the answer). */
  const callTool = (name: string, args: Record<string, unknown>) => {
    nextId += 1;
    send({ jsonrpc: '2.0', id: nextId, method: 'tools/call', params: { name, arguments: args } });
    return nextId;
  };
  return { child, send, response, open, callTool, answered: (id: number) => responses.has(id) };
}
