/**
 * scaffold_deployment through the MCP client on hand-built experiments: what it serves and pins, the request model
 * it writes from the recorded schema (hostile feature names included), and every refusal — no schema, a tampered
 * model, an output folder outside the project, in .specweave, through a link, or holding someone's files — with
 * nothing written. Also: load-test experiments are never model candidates in compare_experiments.
 * The generated service itself is run for real in test/e2e/deployment.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Project } from '../../mcp-server/src/core/project.js';
import { withWriteZone, writeAtomic } from '../../mcp-server/src/core/store/disk.js';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';

const PYTHON = process.env.SPECWEAVE_TEST_PYTHON ?? path.resolve(__dirname, '../../.venv-test/bin/python');
const HAS_PYTHON = fs.existsSync(PYTHON) || process.env.SPECWEAVE_REQUIRE_PYENV === '1';

let root: string;
let c: TestClient;
let inc: string;
let incDir: string;

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface FakeExperiment {
  name: string;
  accuracy?: number;
  baseline?: boolean;
  tags?: string[];
  features?: { name: string; dtype: string; type: string }[];
  schema?: boolean;
  modelBytes?: Buffer;
  environment?: Record<string, string>;
  input?: string;
  metrics?: Record<string, number>;
}

/** Writes an experiment as the Python client would: summary files, a model file and its input schema. */
function writeExperiment(e: FakeExperiment): { dir: string; model: Buffer } {
  const dir = path.join(incDir, 'experiments', e.name);
  fs.mkdirSync(dir, { recursive: true });
  const model = e.modelBytes ?? Buffer.from(`model bytes of ${e.name}`);
  const features = e.features ?? [
    { name: 'age', dtype: 'int64', type: 'integer' },
    { name: 'income', dtype: 'float64', type: 'number' },
  ];
  const artifacts: { path: string; bytes: number; sha256: string }[] = [];
  if (!e.tags?.includes('load-test')) {
    fs.writeFileSync(path.join(dir, 'model.joblib'), model);
    artifacts.push({ path: 'model.joblib', bytes: model.length, sha256: sha(model) });
  }
  if (e.schema !== false && !e.tags?.includes('load-test')) {
    const schema = JSON.stringify({
      format: 'specweave-input-schema/1',
      input: e.input ?? 'dataframe',
      features,
      example: Object.fromEntries(features.map((f, i) => [f.name, f.type === 'string' ? 'a' : i + 1])),
      task: 'classification',
      classes: [0, 1],
      model: 'model.joblib',
      requirements: { numpy: '2.0.0', 'scikit-learn': '1.5.0', joblib: '1.4.2', lightgbm: '4.5.0' },
    });
    fs.writeFileSync(path.join(dir, 'input_schema.json'), schema);
    artifacts.push({ path: 'input_schema.json', bytes: schema.length, sha256: sha(schema) });
  }
  fs.writeFileSync(path.join(dir, 'params.json'), '{}\n');
  fs.writeFileSync(
    path.join(dir, 'metrics.json'),
    `${JSON.stringify(e.metrics ?? (e.accuracy === undefined ? {} : { accuracy: e.accuracy }))}\n`,
  );
  const env = e.environment ?? { python: '3.11.2', numpy: '2.4.6', 'scikit-learn': '1.9.1', torch: '2.5.0' };
  fs.writeFileSync(
    path.join(dir, 'metadata.yaml'),
    [
      `name: "${e.name}"`,
      'status: "completed"',
      `baseline: ${e.baseline ? 'true' : 'false'}`,
      `tags: [${(e.tags ?? []).map((t) => `"${t}"`).join(', ')}]`,
      'environment:',
      ...Object.entries(env).map(([k, v]) => `  "${k}": "${v}"`),
      artifacts.length ? 'artifacts:' : 'artifacts: []',
      ...artifacts.flatMap((a) => [`  - path: "${a.path}"`, `    bytes: ${a.bytes}`, `    sha256: "${a.sha256}"`]),
      '',
    ].join('\n'),
  );
  return { dir, model };
}

/** Every file below dir, relative, sorted. */
function tree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();
}

beforeEach(async () => {
  root = scratchDir();
  c = await inMemoryClient(root);
  const created = await c.ok('create_increment', { title: 'Churn', primary_metric: 'accuracy' });
  inc = created.increment;
  incDir = path.join(root, created.path);
  writeExperiment({ name: 'majority', accuracy: 0.6, baseline: true, schema: false });
  writeExperiment({ name: 'forest', accuracy: 0.91 });
  writeExperiment({ name: 'tree', accuracy: 0.85 });
});
afterEach(async () => c.close());

describe('scaffold_deployment', () => {
  it('serves the best experiment: every file, the recorded sha256, the schema and pinned requirements', async () => {
    const r = await c.ok('scaffold_deployment', { increment: inc, output: 'deploy/churn' });
    const out = path.join(root, 'deploy', 'churn');
    expect(r.model).toMatchObject({ source: 'experiment', experiment: 'forest', format: 'joblib', version: null });
    expect(r.features).toBe(2);
    expect(tree(out)).toEqual(
      [
        '.dockerignore',
        'DEPLOYMENT.md',
        'Dockerfile',
        'app.py',
        'loadtest/locustfile.py',
        'loadtest/payload.json',
        'model/model.joblib',
        'monitoring/alerts.yml',
        'monitoring/grafana-dashboard.json',
        'monitoring/prometheus.yml',
        'requirements.txt',
        'rollout/rollout.yaml',
        'scaffold-manifest.json',
        'serve.py',
      ].sort(),
    );
    const model = fs.readFileSync(path.join(incDir, 'experiments', 'forest', 'model.joblib'));
    expect(fs.readFileSync(path.join(out, 'model', 'model.joblib'))).toEqual(model);
    const app = fs.readFileSync(path.join(out, 'app.py'), 'utf8');
    expect(app).toContain(`MODEL_SHA256 = "${sha(model)}"`);
    expect(app).toContain('age: int = Field(alias="age"');
    expect(app).toContain('income: float = Field(alias="income"');
    expect(r.model.sha256).toBe(sha(model));
    // Pinned: the environment's versions win over the schema's; libraries the schema lists but the run did not record
    // come from the schema; torch, recorded but not used by the model, is left out.
    const req = fs.readFileSync(path.join(out, 'requirements.txt'), 'utf8');
    expect(req).toMatch(/^numpy==2\.4\.6$/m);
    expect(req).toMatch(/^scikit-learn==1\.9\.1$/m);
    expect(req).toMatch(/^pandas$/m); // a DataFrame input, no version recorded anywhere: unpinned, with a warning
    expect(req).toMatch(/^lightgbm==4\.5\.0$/m);
    expect(req).toMatch(/^joblib==1\.4\.2$/m);
    expect(req).toMatch(/^fastapi==\S+$/m);
    expect(req).not.toMatch(/torch/);
    expect(r.warnings.join(' ')).toContain('pandas');
    const docker = fs.readFileSync(path.join(out, 'Dockerfile'), 'utf8');
    expect(docker).toContain('FROM python:3.11-slim');
    expect(docker).toMatch(/^USER 10001$/m);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'scaffold-manifest.json'), 'utf8'));
    for (const f of manifest.files) expect(sha(fs.readFileSync(path.join(out, f.path))), f.path).toBe(f.sha256);
    const dashboard = JSON.parse(fs.readFileSync(path.join(out, 'monitoring', 'grafana-dashboard.json'), 'utf8'));
    expect(dashboard.panels.map((p: any) => p.title)).toContain('Latency');
    expect(JSON.parse(fs.readFileSync(path.join(out, 'loadtest', 'payload.json'), 'utf8'))).toEqual({ age: 1, income: 2 });
  });

  it.skipIf(!HAS_PYTHON)('writes valid Python whatever the feature names are', async () => {
    const hostile = [
      { name: 'mean radius', dtype: 'float64', type: 'number' },
      { name: 'class', dtype: 'int64', type: 'integer' },
      { name: '1st"); import os; os.system("x")  #', dtype: 'object', type: 'string' },
      { name: 'model_id', dtype: 'int64', type: 'integer' },
      { name: 'a-b', dtype: 'bool', type: 'boolean' },
      { name: 'a b', dtype: 'float32', type: 'number' },
      { name: 'json', dtype: 'float64', type: 'number' },
      { name: '\u00e9t\u00e9\n', dtype: 'float64', type: 'number' },
    ];
    writeExperiment({ name: 'forest', accuracy: 0.91, features: hostile });
    await c.ok('scaffold_deployment', { increment: inc, output: 'svc' });
    const app = path.join(root, 'svc', 'app.py');
    // Parsed by Python: the names are string literals and the identifiers are safe and distinct.
    const check = spawnSync(
      PYTHON,
      [
        '-c',
        'import ast,sys; t=ast.parse(open(sys.argv[1]).read()); c=[n for n in t.body if isinstance(n, ast.ClassDef) and n.name=="Features"][0]; ' +
          'fs=[(s.target.id, s.value.keywords[0].value.value) for s in c.body if isinstance(s, ast.AnnAssign)]; ' +
          'import json; print(json.dumps(fs))',
        app,
      ],
      { encoding: 'utf8' },
    );
    expect(check.status, check.stderr).toBe(0);
    const fields: [string, string][] = JSON.parse(check.stdout);
    expect(fields.map((f) => f[1])).toEqual(hostile.map((h) => h.name));
    const ids = fields.map((f) => f[0]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-z0-9_]*$/);
    expect(ids).not.toContain('class');
    expect(ids).not.toContain('json');
    expect(ids.some((id) => id.startsWith('model_') && !id.endsWith('_'))).toBe(false);
    // The only top-level imports are the template's own.
    expect(fs.readFileSync(app, 'utf8')).not.toMatch(/^import os; os\.system/m);
  });

  it('serves a registered version at a stage, and says which stages exist when the asked one is empty', async () => {
    const reg = await c.ok('register_model', { name: 'churn', increment: inc, experiment: 'tree' });
    await c.ok('promote_model', { name: 'churn', version: reg.version, stage: 'staging' });
    const r = await c.ok('scaffold_deployment', { model: 'churn', stage: 'staging', output: 'deploy/staging' });
    expect(r.model).toMatchObject({ source: 'registry', name: 'churn', version: reg.version, stage: 'staging', experiment: 'tree' });
    const app = fs.readFileSync(path.join(root, 'deploy', 'staging', 'app.py'), 'utf8');
    expect(app).toContain(`MODEL_VERSION = "${reg.version}"`);
    const err = await c.fails('scaffold_deployment', { model: 'churn', output: 'deploy/prod' });
    expect(err).toContain('production');
    expect(err).toContain('staging');
    expect(fs.existsSync(path.join(root, 'deploy', 'prod'))).toBe(false);
    expect(await c.fails('scaffold_deployment', { model: 'nope', output: 'deploy/x' })).toMatch(/nope/);
    // increment with model is a check: the served version's own increment passes, another one is refused.
    await c.ok('scaffold_deployment', { model: 'churn', stage: 'staging', increment: inc, output: 'deploy/staging' });
    // The canary's control is the version in production now; the recorded primary metric is a promotion criterion.
    await c.ok('promote_model', { name: 'churn', version: reg.version, stage: 'production', force: true, reason: 'test' });
    const next = await c.ok('register_model', { name: 'churn', increment: inc, experiment: 'forest' });
    await c.ok('promote_model', { name: 'churn', version: next.version, stage: 'staging' });
    await c.ok('scaffold_deployment', { model: 'churn', stage: 'staging', output: 'deploy/canary' });
    const rollout = fs.readFileSync(path.join(root, 'deploy', 'canary', 'rollout', 'rollout.yaml'), 'utf8');
    expect(rollout).toContain(`candidate:\n  model: "churn"\n  version: "${next.version}"`);
    expect(rollout).toMatch(new RegExp(`control:\\n.*\\n  version: "${reg.version.replace(/\./g, '\\.')}"`));
    expect(rollout).toContain('"accuracy": {recorded: 0.91');
    const other = (await c.ok('create_increment', { title: 'Other' })).increment;
    expect(await c.fails('scaffold_deployment', { model: 'churn', stage: 'staging', increment: other, output: 'deploy/y' })).toContain(
      'trained in',
    );
  });

  it('refuses a model without a recorded input schema, saying how to record it', async () => {
    writeExperiment({ name: 'forest', accuracy: 0.91, schema: false });
    const err = await c.fails('scaffold_deployment', { increment: inc, output: 'deploy/x' });
    expect(err).toContain('input schema');
    expect(err).toContain('input_example=X_train');
    expect(fs.existsSync(path.join(root, 'deploy'))).toBe(false);
  });

  it('serves the model file the schema names when an experiment records several', async () => {
    const { dir } = writeExperiment({ name: 'forest', accuracy: 0.91 });
    const other = Buffer.from('another model');
    fs.writeFileSync(path.join(dir, 'calibrated.pkl'), other);
    const meta = fs.readFileSync(path.join(dir, 'metadata.yaml'), 'utf8');
    fs.writeFileSync(
      path.join(dir, 'metadata.yaml'),
      meta.replace('artifacts:\n', `artifacts:\n  - path: "calibrated.pkl"\n    bytes: ${other.length}\n    sha256: "${sha(other)}"\n`),
    );
    const r = await c.ok('scaffold_deployment', { increment: inc, output: 'svc' });
    expect(r.model.artifact).toMatch(/forest\/model\.joblib$/);
  });

  it('refuses an input schema changed since it was recorded', async () => {
    const schema = path.join(incDir, 'experiments', 'forest', 'input_schema.json');
    fs.writeFileSync(schema, fs.readFileSync(schema, 'utf8').replace('"income"', '"salary"'));
    const err = await c.fails('scaffold_deployment', { increment: inc, output: 'svc' });
    expect(err).toContain('input_schema.json');
    expect(err).toContain('changed since it was recorded');
    expect(fs.existsSync(path.join(root, 'svc'))).toBe(false);
  });

  it('refuses a model file that changed since it was recorded, writing nothing', async () => {
    fs.appendFileSync(path.join(incDir, 'experiments', 'forest', 'model.joblib'), 'x');
    const err = await c.fails('scaffold_deployment', { increment: inc, output: 'deploy/x' });
    expect(err).toContain('sha256');
    expect(err).toContain('model.joblib');
    expect(fs.existsSync(path.join(root, 'deploy'))).toBe(false);
  });

  it('refuses output folders outside the project, in .specweave or .git, the root, or through a link', async () => {
    fs.mkdirSync(path.join(root, '.git'));
    const outside = scratchDir();
    fs.symlinkSync(outside, path.join(root, 'linked'));
    for (const output of ['../elsewhere', outside, '.', '.specweave/deploy', '.git/deploy', 'linked', 'linked/sub']) {
      const err = await c.fails('scaffold_deployment', { increment: inc, output });
      expect(err, output).toMatch(/Refused|outside|symbolic link/);
    }
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(fs.existsSync(path.join(root, '.specweave', 'deploy'))).toBe(false);
    expect(fs.readdirSync(path.join(root, '.git'))).toEqual([]);
  });

  it('refuses a folder holding other files; replaces its own unchanged scaffold and removes what it no longer writes', async () => {
    const mine = path.join(root, 'mine');
    fs.mkdirSync(mine);
    fs.writeFileSync(path.join(mine, 'notes.txt'), 'keep me');
    const err = await c.fails('scaffold_deployment', { increment: inc, output: 'mine' });
    expect(err).toContain('not empty');
    expect(tree(mine)).toEqual(['notes.txt']);

    await c.ok('scaffold_deployment', { increment: inc, output: 'svc' });
    const out = path.join(root, 'svc');
    fs.mkdirSync(path.join(out, '__pycache__'));
    fs.writeFileSync(path.join(out, '__pycache__', 'app.cpython-311.pyc'), 'bytecode');
    // The best model changes (a new file name): the old model file goes, the new one comes.
    const better = writeExperiment({ name: 'boosted', accuracy: 0.95 });
    fs.renameSync(path.join(better.dir, 'model.joblib'), path.join(better.dir, 'model-v2.joblib'));
    const meta = fs.readFileSync(path.join(better.dir, 'metadata.yaml'), 'utf8').replace('path: "model.joblib"', 'path: "model-v2.joblib"');
    fs.writeFileSync(path.join(better.dir, 'metadata.yaml'), meta);
    const again = await c.ok('scaffold_deployment', { increment: inc, output: 'svc' });
    expect(again.replaced_previous).toBe(true);
    expect(again.model.experiment).toBe('boosted');
    expect(again.removed).toEqual(['model/model.joblib']);
    expect(fs.existsSync(path.join(out, 'model', 'model.joblib'))).toBe(false);
    expect(fs.readFileSync(path.join(out, 'model', 'model-v2.joblib'))).toEqual(better.model);

    // A file of the scaffold edited since: refused, the edit kept.
    fs.appendFileSync(path.join(out, 'DEPLOYMENT.md'), '\nmy notes\n');
    const edited = await c.fails('scaffold_deployment', { increment: inc, output: 'svc' });
    expect(edited).toContain('DEPLOYMENT.md');
    expect(fs.readFileSync(path.join(out, 'DEPLOYMENT.md'), 'utf8')).toContain('my notes');
  });

  it('needs a model or an increment, and stage only with model', async () => {
    expect(await c.fails('scaffold_deployment', { output: 'x' })).toContain('model');
    expect(await c.fails('scaffold_deployment', { increment: inc, stage: 'production', output: 'x' })).toContain('stage');
    expect(fs.existsSync(path.join(root, 'x'))).toBe(false);
  });
});

describe('load tests are never model candidates', () => {
  it('compare_experiments skips them, even when they outnumber the models and the increment names no primary metric', async () => {
    const meta = path.join(incDir, 'metadata.json');
    const m = JSON.parse(fs.readFileSync(meta, 'utf8'));
    delete m.ml;
    fs.writeFileSync(meta, JSON.stringify(m));
    const serving = {
      latency_p50_ms: 3,
      latency_p95_ms: 9,
      latency_p99_ms: 12,
      latency_mean_ms: 4,
      throughput_rps: 300,
      request_error_rate: 0,
    };
    for (const n of [1, 2, 3, 4]) writeExperiment({ name: `load-test-${n}`, tags: ['load-test'], metrics: serving });
    const cmp = await c.ok('compare_experiments', { increment: inc });
    expect(cmp.primary_metric).toBe('accuracy');
    expect(cmp.best.experiment).toBe('forest');
    expect(cmp.ranked).toBe(3);
    expect(
      cmp.skipped
        .filter((s: any) => /load test/.test(s.reason))
        .map((s: any) => s.experiment)
        .sort(),
    ).toEqual(['load-test-1', 'load-test-2', 'load-test-3', 'load-test-4']);
    // Even ranked by a serving metric, a load test is not a candidate.
    const byLatency = await c.ok('compare_experiments', { increment: inc, primary_metric: 'latency_p95_ms' });
    expect(byLatency.best).toBeNull();
  });
});

describe('the output zone (store/disk.ts withWriteZone)', () => {
  it('writes only inside the named folder, and refuses links and files on the way to it', async () => {
    const project = new Project(root);
    const out = path.join(project.root, 'a', 'b');
    await withWriteZone(out, project.root, 'a/b', async () => {
      await writeAtomic(path.join(out, 'x', 'file.txt'), 'inside');
      // The rest of the project stays read-only while the zone is open.
      await expect(writeAtomic(path.join(project.root, 'a', 'beside.txt'), 'no')).rejects.toThrow(/outside/);
    });
    expect(fs.readFileSync(path.join(out, 'x', 'file.txt'), 'utf8')).toBe('inside');
    expect(fs.existsSync(path.join(project.root, 'a', 'beside.txt'))).toBe(false);
    // Closed: the folder is no longer writable.
    await expect(writeAtomic(path.join(out, 'late.txt'), 'no')).rejects.toThrow(/outside/);

    const elsewhere = scratchDir();
    fs.symlinkSync(elsewhere, path.join(project.root, 'link'));
    await expect(withWriteZone(path.join(project.root, 'link', 'sub'), project.root, 'link/sub', async () => {})).rejects.toThrow(
      /symbolic link/,
    );
    expect(fs.readdirSync(elsewhere)).toEqual([]);
    fs.writeFileSync(path.join(project.root, 'plain'), 'x');
    await expect(withWriteZone(path.join(project.root, 'plain', 'sub'), project.root, 'plain/sub', async () => {})).rejects.toThrow(
      /file where a folder/,
    );
    for (const bad of [project.root, path.join(project.root, '.git', 'x'), path.join(project.root, '.specweave', 'x'), elsewhere])
      await expect(withWriteZone(bad, project.root, 'bad', async () => {})).rejects.toThrow(/outside/);
  });
});
