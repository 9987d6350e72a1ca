/**
 * export_experiments through the real MCP client on a real git repository. The CSV is read back by pandas in the
 * pinned venv (SPECWEAVE_TEST_PYTHON, else .venv-test): the experiments are trained there with scikit-learn, logged
 * with the Python client, and every exported number is checked against what scikit-learn and NumPy computed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { git, gitProject } from '../helpers/project.js';

const PYTHON = process.env.SPECWEAVE_TEST_PYTHON ?? path.resolve(__dirname, '../../.venv-test/bin/python');
const HAS_PANDAS = fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pandas, sklearn, numpy'], { stdio: 'ignore' }).status === 0;
const REQUIRED = process.env.SPECWEAVE_REQUIRE_PYENV === '1';
if (!HAS_PANDAS && !REQUIRED)
  console.warn(`Skipping the pandas read-back of export_experiments: pandas/sklearn not importable by ${PYTHON}.`);
const PY_PATH = path.resolve(__dirname, '../../python');

let c: TestClient;
let root: string;
let incDir: string;

beforeEach(async () => {
  root = gitProject();
  c = await inMemoryClient(root);
  incDir = path.join(root, (await c.ok('create_increment', { title: 'Churn', primary_metric: 'accuracy' })).path);
});
afterEach(async () => c.close());

const track = (name: string, extra: Record<string, unknown>) => c.ok('track_experiment', { increment: '1', name, ...extra });
const read = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');

function python(script: string, args: string[] = []): any {
  const out = spawnSync(PYTHON, ['-c', script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: PY_PATH, SPECWEAVE_ROOT: root },
    timeout: 120_000,
  });
  if (out.status !== 0) throw new Error(`python failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').pop()!);
}

describe('export_experiments', () => {
  it('writes the flattened table as CSV, JSON and markdown inside the increment', async () => {
    await track('b-logreg', {
      params: { C: 0.5, model: { kind: 'lr', layers: [64, 32] } },
      metrics: { accuracy: 0.81, cv_accuracy_mean: 0.8, cv_accuracy_std: 0.02, cv_accuracy_count: 5 },
      tags: ['linear', 'fast'],
    });
    await track('a-dummy', { baseline: true, params: { strategy: 'most_frequent' }, metrics: { accuracy: 0.6, cv_accuracy_mean: 0.61 } });
    await track('c-failed', { status: 'failed', params: { C: -2 } });
    fs.mkdirSync(path.join(incDir, 'experiments', 'd-broken'));
    fs.writeFileSync(path.join(incDir, 'experiments', 'd-broken', 'metrics.json'), '{"accuracy": "high"}');
    const commit = git(root, 'rev-parse', 'HEAD');

    const r = await c.ok('export_experiments', { increment: '1', format: 'csv' });
    expect(r).toMatchObject({
      rows: 3,
      path: path.relative(root, path.join(incDir, 'experiments', 'export.csv')),
      primary_metric: 'accuracy',
    });
    expect(r.selection_source).toBe('cv');
    expect(r.skipped.map((s: any) => s.name)).toEqual(['d-broken']);
    expect(r.columns).toEqual([
      'name',
      'status',
      'baseline',
      'tags',
      'params.C',
      'params.model.kind',
      'params.model.layers',
      'params.strategy',
      'metrics.accuracy',
      'metrics.cv_accuracy_count',
      'metrics.cv_accuracy_mean',
      'metrics.cv_accuracy_std',
      'cv_mean',
      'cv_std',
      'duration_seconds',
      'commit',
      'selection_source',
      'selection_metric',
      'selection_value',
    ]);
    const csv = read(r.path);
    const lines = csv.split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[0]).toBe(r.columns.join(','));
    // Sorted by name; the failed run keeps its negative number unprefixed; a list param is compact JSON, quoted.
    expect(lines[1]).toMatch(
      new RegExp(`^a-dummy,completed,true,,,,,most_frequent,0.6,,0.61,,0.61,,\\d*\\.?\\d*,${commit},cv,cv_accuracy_mean,0.61$`),
    );
    expect(lines[2]).toContain('b-logreg,completed,false,linear;fast,0.5,lr,"[64,32]",,0.81,5,0.8,0.02,0.8,0.02,');
    expect(lines[3]).toMatch(/^c-failed,failed,false,,-2,/);

    const json = await c.ok('export_experiments', { increment: '0001', format: 'json', columns: ['name', 'params.*', 'cv_mean'] });
    expect(json.path.endsWith(path.join('experiments', 'export.json'))).toBe(true);
    const rows = JSON.parse(read(json.path));
    expect(rows).toEqual([
      {
        name: 'a-dummy',
        'params.C': null,
        'params.model.kind': null,
        'params.model.layers': null,
        'params.strategy': 'most_frequent',
        cv_mean: 0.61,
      },
      {
        name: 'b-logreg',
        'params.C': 0.5,
        'params.model.kind': 'lr',
        'params.model.layers': [64, 32],
        'params.strategy': null,
        cv_mean: 0.8,
      },
      { name: 'c-failed', 'params.C': -2, 'params.model.kind': null, 'params.model.layers': null, 'params.strategy': null, cv_mean: null },
    ]);
    expect(Object.keys(rows[0])).toEqual(json.columns);

    const md = await c.ok('export_experiments', { increment: '1', format: 'markdown', columns: ['selection_value', 'name'] });
    expect(read(md.path)).toBe('| selection_value | name |\n| --- | --- |\n| 0.61 | a-dummy |\n| 0.8 | b-logreg |\n|  | c-failed |\n');
  });

  it('quotes per RFC 4180 and defuses formulas in text, never in numbers', async () => {
    await track('hostile', {
      params: { cmd: '=HYPERLINK("http://x","y")', plus: '+1', at: '@SUM(A1)', dash: '-2+3', tab: '\tx', text: 'a,b "c"\nd' },
      metrics: { loss: -0.25, nan: 'NaN', inf: '-Infinity' },
      note: 'x',
    });
    const r = await c.ok('export_experiments', { increment: '1', format: 'csv', columns: ['name', 'params.*', 'metrics.*'] });
    const csv = read(r.path);
    expect(csv).toBe(
      'name,params.at,params.cmd,params.dash,params.plus,params.tab,params.text,metrics.inf,metrics.loss,metrics.nan\r\n' +
        `hostile,'@SUM(A1),"'=HYPERLINK(""http://x"",""y"")",'-2+3,'+1,'\tx,"a,b ""c""\nd",-Infinity,-0.25,NaN\r\n`,
    );
    const md = await c.ok('export_experiments', { increment: '1', format: 'markdown', columns: ['params.text', 'params.cmd'] });
    expect(read(md.path)).toContain('| a,b "c" d | =HYPERLINK("http://x","y") |');
  });

  it('refuses an unknown column with the nearest names and writes nothing', async () => {
    await track('exp-1', { params: { max_depth: 6 }, metrics: { accuracy: 0.9 } });
    const err = await c.fails('export_experiments', { increment: '1', format: 'csv', columns: ['name', 'acuracy'] });
    expect(err).toMatch(/Unknown column "acuracy"; did you mean "metrics\.accuracy"/);
    const err2 = await c.fails('export_experiments', { increment: '1', format: 'csv', columns: ['params.max_dept'] });
    expect(err2).toMatch(/did you mean "params\.max_depth"/);
    expect(fs.existsSync(path.join(incDir, 'experiments', 'export.csv'))).toBe(false);
    expect(await c.fails('export_experiments', { increment: '1', format: 'xlsx' })).toMatch(/csv|json|markdown/);
  });

  it('refuses to write through a symbolic link at the export path', async () => {
    await track('exp-1', { metrics: { accuracy: 0.9 } });
    const outside = path.join(root, 'outside.csv');
    fs.writeFileSync(outside, 'keep\n');
    fs.symlinkSync(outside, path.join(incDir, 'experiments', 'export.csv'));
    expect(await c.fails('export_experiments', { increment: '1', format: 'csv' })).toMatch(/symbolic link|outside|link/i);
    expect(fs.readFileSync(outside, 'utf8')).toBe('keep\n');
    // A link leaving the project among the experiment files fails the export too (the Python client does the same).
    fs.unlinkSync(path.join(incDir, 'experiments', 'export.csv'));
    fs.mkdirSync(path.join(incDir, 'experiments', 'evil'));
    fs.writeFileSync(path.join(root, 'secret.json'), '{"accuracy": 0.99}');
    fs.symlinkSync(path.join(root, 'secret.json'), path.join(incDir, 'experiments', 'evil', 'metrics.json'));
    expect(await c.fails('export_experiments', { increment: '1', format: 'json' })).toMatch(/symbolic link that leads outside/);
    expect(fs.existsSync(path.join(incDir, 'experiments', 'export.json'))).toBe(false);
  });

  it.skipIf(!HAS_PANDAS && !REQUIRED)('pandas reads back the numbers scikit-learn computed', async () => {
    const expected = python(`
import json, numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from specweave_ml import track_experiment
X, y = load_breast_cancer(return_X_y=True)
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
out = {}
models = {"dummy": (DummyClassifier(strategy="most_frequent"), True, {"strategy": "most_frequent"}),
          "logreg": (make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=500)), False, {"C": 0.3}),
          "tree": (DecisionTreeClassifier(max_depth=3, random_state=0), False, {"max_depth": 3})}
for name, (model, base, params) in models.items():
    scores = cross_val_score(model, Xtr, ytr, cv=5, scoring="accuracy")
    model.fit(Xtr, ytr)
    test = float(model.score(Xte, yte))
    with track_experiment(name, increment="1", params=params, baseline=base) as exp:
        for i, s in enumerate(scores):
            exp.log_metric("cv_accuracy", float(s), step=i)
        exp.log_metric("accuracy", test)
    out[name] = {"mean": float(np.mean(scores)), "std": float(np.std(scores, ddof=1)), "test": test}
print(json.dumps(out))
`);
    const r = await c.ok('export_experiments', { increment: '1', format: 'csv' });
    expect(r.selection_source).toBe('cv');
    const back = python(
      `
import json, math, sys, pandas as pd
df = pd.read_csv(sys.argv[1])
rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in df.to_dict(orient="records")]
print(json.dumps({"dtypes": {c: str(t) for c, t in df.dtypes.items()}, "rows": rows}))
`,
      [path.join(root, r.path)],
    );
    expect(back.rows.map((x: any) => x.name)).toEqual(['dummy', 'logreg', 'tree']);
    expect(back.dtypes['cv_mean']).toBe('float64');
    expect(back.dtypes['baseline']).toBe('bool');
    for (const row of back.rows) {
      const e = expected[row.name];
      // Shortest round-trip text: pandas gets the very same doubles back (the client's mean may differ in the last bit).
      expect(row['metrics.accuracy']).toBe(e.test);
      expect(row.cv_mean).toBeCloseTo(e.mean, 14);
      expect(row.cv_std).toBeCloseTo(e.std, 14);
      expect(row['metrics.cv_accuracy_count']).toBe(5);
      expect(row.baseline).toBe(row.name === 'dummy');
      expect(row.selection_value).toBe(row.cv_mean);
    }
  });
});
