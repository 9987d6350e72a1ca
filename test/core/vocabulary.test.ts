import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { evaluatePredictionsFile } from '../../mcp-server/src/core/evaluation/index.js';
import {
  METRICS,
  fallbackDirection,
  metricDirection,
  normalizeName,
  parseCriterionText,
  resolveMetric,
  suggestMetrics,
  toCanonical,
  vocabulary,
} from '../../mcp-server/src/core/metrics/vocabulary.js';
import { inferDirection } from '../../mcp-server/src/core/ranking.js';
// @ts-expect-error -- plain ESM script without type declarations
import { DOC_PATH, generatedMetricsDoc } from '../../scripts/gen-metrics-doc.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PYTHON_DIR = path.join(ROOT, 'python');
const SYSTEM_PYTHON = '/usr/bin/python3';

interface Fixture {
  resolve: { name: string; expect: Record<string, unknown> | null }[];
  direction: { name: string; expect: string }[];
  suggest: { name: string; first: string | null }[];
  criteria: { text: string; expect: Record<string, unknown> | null; suggestion?: string }[];
}
const fixture: Fixture = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/metric-phrasings.json'), 'utf8'));

describe('metric vocabulary: the shared table of phrasings', () => {
  it.each(fixture.resolve.map((c) => [c.name, c.expect] as const))('resolves %j', (name, expected) => {
    const r = resolveMetric(name);
    if (expected === null) expect(r).toBeUndefined();
    else expect(r).toMatchObject({ known: true, ...expected });
  });
  it.each(fixture.direction.map((c) => [c.name, c.expect] as const))('direction of %j is %s', (name, expected) => {
    expect(metricDirection(name)).toBe(expected);
  });
  it.each(fixture.suggest.map((c) => [c.name, c.first] as const))('suggests for %j first %j', (name, first) => {
    expect(suggestMetrics(name)[0] ?? null).toBe(first);
  });
  it.each(fixture.criteria.map((c) => [c.text, c.expect, c.suggestion] as const))('parses criterion %j', (text, expected, suggestion) => {
    const c = parseCriterionText(text);
    if (expected === null) return expect(c).toBeUndefined();
    const { value, ...rest } = expected;
    expect(c).toMatchObject(rest);
    if (value !== undefined) expect(c!.value).toBeCloseTo(value as number, 12);
    if (suggestion) expect(c!.ok === false && c!.suggestions).toContain(suggestion);
  });
});

describe('metric vocabulary: semantics', () => {
  it('records neg_* scores as the positive metric, and a std unnegated', () => {
    expect(toCanonical('neg_root_mean_squared_error', -55)).toEqual({ name: 'rmse', value: 55, known: true });
    expect(toCanonical('mean_test_neg_mean_absolute_error', -3.5)).toEqual({ name: 'cv_mae_mean', value: 3.5, known: true });
    expect(toCanonical('cv_neg_log_loss_std', 0.02)).toEqual({ name: 'cv_log_loss_std', value: 0.02, known: true });
    expect(toCanonical('my_custom', 7)).toEqual({ name: 'my_custom', value: 7, known: false });
  });
  it('ranks a neg_* score the right way round: −55 beats −90', () => {
    const better = (a: number, b: number) => (metricDirection('neg_root_mean_squared_error') === 'maximize' ? a > b : a < b);
    expect(better(-55, -90)).toBe(true);
    expect(metricDirection('rmse')).toBe('minimize');
  });
  it('explains an unknown criterion metric with suggestions and a slug to accept it as custom', () => {
    const c = parseCriterionText('macro_f > 0.9');
    expect(c).toMatchObject({ ok: false, known: false, reason: 'unknown_metric', slug: 'macro_f' });
    expect(c!.ok === false && c!.message).toMatch(/not a known metric\. Did you mean "f1_macro"/);
  });
  it('says what to write instead of an impossible threshold', () => {
    const c = parseCriterionText('accuracy > 90');
    expect(c!.ok === false && c!.message).toBe(
      'Accuracy lies in [0, 1], so "> 90" can never hold. If you meant a percentage, write 90% (= 0.9).',
    );
  });
  it('has a coherent data file: valid directions, bounded only with a finite best end, fractions inside [0, 2]', () => {
    for (const m of METRICS) {
      expect(['maximize', 'minimize', 'none'], m.key).toContain(m.direction);
      const [lo, hi] = m.bounds;
      if (lo !== null && hi !== null) expect(lo, m.key).toBeLessThan(hi);
      if (m.bounded) expect(m.direction === 'maximize' ? hi : m.direction === 'minimize' ? lo : 0, m.key).not.toBeNull();
      if (m.fraction) expect(hi === null || hi <= 2, m.key).toBe(true);
      expect(m.key, 'keys are already normalised').toBe(normalizeName(m.key));
      if (m.family === 'at_k') expect(m.key).toMatch(/_at_k$/);
    }
    expect(new Set(METRICS.map((m) => m.key)).size).toBe(METRICS.length);
  });
  it('resolves every key, alias and scorer name to its own metric', () => {
    for (const m of METRICS) {
      for (const alias of [m.key, ...m.aliases, ...(m.sklearn_scorers ?? []).map((s) => s.name)]) {
        expect(resolveMetric(alias)?.key, alias).toBe(m.key);
      }
      expect(resolveMetric(`val_${m.key}`)?.name, m.key).toBe(`val_${m.key}`);
      expect(resolveMetric(`cv_${m.key}_std`)?.name, m.key).toBe(`cv_${m.key}_std`);
    }
  });
  it('falls back to the name-based rule for unknown names, and ranking uses it for them', () => {
    const unknown = [
      ...fixture.resolve.map((c) => c.name),
      ...fixture.direction.map((c) => c.name),
      'p97_latency_ms',
      'throughput',
      'revenue',
      'model_size_mb',
      'Inference Time',
      'train_memory_gb',
      'uplift@10',
      'fnr',
    ].filter((n) => resolveMetric(n) === undefined);
    expect(unknown.length).toBeGreaterThan(8);
    for (const n of unknown) {
      expect(metricDirection(n), n).toBe(fallbackDirection(n));
      expect(inferDirection(n), n).toBe(fallbackDirection(n));
    }
    const minimized = unknown.filter((n) => fallbackDirection(n) === 'minimize').sort();
    expect(minimized).toEqual(
      ['Inference Time', 'fnr', 'latency_ms', 'latency_ms', 'model_size_mb', 'p97_latency_ms', 'train_memory_gb'].sort(),
    );
    for (const w of vocabulary.fallback_minimize_words) expect(fallbackDirection(`my_${w}`), w).toBe('minimize');
    expect(resolveMetric('p97_latency_ms')).toBeUndefined();
    // The load-test metrics are named in the vocabulary, so their aliases resolve.
    expect(resolveMetric('p95_latency_ms')?.key).toBe('latency_p95_ms');
  });
});

describe('metric vocabulary: every key evaluate_predictions writes', () => {
  const files: Record<string, { text: string; k?: number[] }> = {
    binary: { text: 'y_true,score\n1,0.9\n0,0.2\n1,0.6\n0,0.7\n1,0.4\n0,0.1\n' },
    multiclass: {
      text: 'y_true,y_pred,proba_a,proba_b,proba_c\na,a,0.7,0.2,0.1\nb,b,0.1,0.8,0.1\nc,b,0.2,0.5,0.3\nc,c,0.1,0.1,0.8\na,c,0.3,0.3,0.4\nb,b,0.2,0.6,0.2\n',
    },
    regression: { text: 'y_true,y_pred\n3,2.5\n1,1.5\n4,4.2\n6,5\n2,2.4\n' },
    forecast: { text: 'y_true,y_pred\n3,2.5\n1,1.5\n4,4.2\n6,5\n2,2.4\n' },
    ranking: { text: 'query,item,relevance,score\nq1,a,1,0.9\nq1,b,0,0.8\nq1,c,1,0.3\nq2,a,0,0.7\nq2,d,1,0.6\n', k: [3, 5] },
  };
  it.each(Object.keys(files))('%s: each written key is a canonical key of that task, and each key of the task is written', (task) => {
    const f = files[task]!;
    const written = new Set<string>();
    for (const targetPrecision of task === 'binary' ? [undefined, 0.5] : [undefined]) {
      const r = evaluatePredictionsFile({
        text: f.text,
        fileName: `${task}.csv`,
        task: task as 'binary',
        bootstrap: false,
        ...(f.k ? { k: f.k } : {}),
        ...(targetPrecision !== undefined ? { targetPrecision } : {}),
      });
      for (const k of Object.keys(r.metrics)) written.add(k);
    }
    for (const key of written) {
      const r = resolveMetric(key);
      expect(r, key).toMatchObject({ known: true, key, name: key, sign: 1 });
    }
    // The families' keys are written once per k; the data file lists each family once.
    const familyOf = (key: string) => (resolveMetric(key)!.k !== undefined ? key.replace(/_at_\d+$/, '_at_k') : key);
    const declared = METRICS.filter((m) => m.evaluate_predictions?.includes(task))
      .map((m) => m.key)
      .sort();
    expect([...new Set([...written].map(familyOf))].sort()).toEqual(declared);
    if (f.k) for (const k of f.k) expect(written.has(`ndcg_at_${k}`)).toBe(true);
  });
});

/** Runs the Python client's resolver on many names in one process; null when no Python 3 is installed. */
function pythonResults(payload: unknown, python = 'python3'): any {
  const script = [
    'import json, sys',
    'from specweave_ml.metrics import resolve_metric, metric_direction, suggest_metrics, parse_criterion',
    'p = json.load(sys.stdin)',
    'out = {',
    '  "resolve": [resolve_metric(n) for n in p["names"]],',
    '  "direction": [metric_direction(n) for n in p["names"]],',
    '  "suggest": [suggest_metrics(n) for n in p["suggest"]],',
    '  "criteria": [parse_criterion(t) for t in p["criteria"]],',
    '}',
    'json.dump(out, sys.stdout)',
  ].join('\n');
  const run = spawnSync(python, ['-c', script], {
    input: JSON.stringify(payload),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, PYTHONPATH: PYTHON_DIR },
  });
  if (run.error) return null;
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout);
}

const hasPython = spawnSync('python3', ['--version']).status === 0;

describe.runIf(hasPython)('metric vocabulary: TypeScript and Python agree', () => {
  it('on every alias (bare, with a split, with a CV summary, negated), every fixture case and typos', () => {
    const names = new Set<string>();
    for (const m of METRICS) {
      for (const a of [m.key, ...m.aliases, ...(m.sklearn_scorers ?? []).map((s) => s.name)]) {
        for (const n of [a, `eval/${a}`, `validation_0-${a}`, `cv_${a}_mean`, `neg_${a}`, `mean_test_${a}`, `${a}@7`, a.toUpperCase()])
          names.add(n);
      }
    }
    for (const c of fixture.resolve) names.add(c.name);
    for (const c of fixture.direction) names.add(c.name);
    const suggest = [
      ...fixture.suggest.map((c) => c.name),
      ...fixture.resolve.filter((c) => c.expect === null).map((c) => c.name),
      'precison',
      'ndgc@10',
      'balanced_acc',
      'f1-macro-score',
      'mean_abs_err',
    ];
    const criteria = [
      ...fixture.criteria.map((c) => c.text),
      ...METRICS.flatMap((m) => [`${m.display} > 0.5`, `at least 50% ${m.aliases[0] ?? m.key}`, `neg_${m.key} >= -1`, `${m.key} < 200`]),
    ];
    const py = pythonResults({ names: [...names], suggest, criteria });
    const ts = {
      resolve: [...names].map((n) => resolveMetric(n) ?? null),
      direction: [...names].map((n) => metricDirection(n)),
      suggest: suggest.map((n) => suggestMetrics(n)),
      criteria: criteria.map((t) => parseCriterionText(t) ?? null),
    };
    // JSON round trip on the TS side too: both sides are compared as the JSON they would hand over.
    expect(py).toEqual(JSON.parse(JSON.stringify(ts)));
  });
});

const sklearnScorers = (() => {
  const run = spawnSync(
    SYSTEM_PYTHON,
    [
      '-c',
      [
        'import json',
        'from sklearn.metrics import get_scorer, get_scorer_names',
        'print(json.dumps({n: get_scorer(n)._sign for n in get_scorer_names()}))',
      ].join('\n'),
    ],
    { encoding: 'utf8' },
  );
  return run.status === 0 ? (JSON.parse(run.stdout) as Record<string, number>) : null;
})();

describe.runIf(sklearnScorers !== null)('metric vocabulary: scikit-learn scorer names', () => {
  // scikit-learn's scorer "max_error" is negated although its name has no neg_; the vocabulary documents why the
  // name resolves to the positive metric (its note), and only that scorer may disagree with scikit-learn's sign.
  const documentedExceptions = new Set(METRICS.filter((m) => /scorer named `[a-z_]+` returns −/.test(m.note ?? '')).map((m) => m.key));
  it('resolves every name from get_scorer_names(), neg_* with sign −1, and a logged score improves upwards', () => {
    expect(Object.keys(sklearnScorers!).length).toBeGreaterThan(40);
    for (const [name, sklearnSign] of Object.entries(sklearnScorers!)) {
      const r = resolveMetric(name);
      expect(r, name).toBeDefined();
      if (documentedExceptions.has(r!.key)) {
        expect(sklearnSign, name).toBe(-1);
        expect(r!.sign, name).toBe(1);
        continue;
      }
      expect(r!.sign, name).toBe(name.startsWith('neg_') ? -1 : 1);
      expect(r!.sign, name).toBe(sklearnSign);
      // A scorer is always "greater is better", so the direction of the metric times the sign is maximize.
      expect(r!.value_direction, name).toBe('maximize');
      expect(metricDirection(name), name).toBe('maximize');
      expect(r!.direction, name).toBe(sklearnSign === -1 ? 'minimize' : 'maximize');
    }
    expect(documentedExceptions).toEqual(new Set(['max_error']));
  });
});

describe('metric vocabulary: packaging', () => {
  it('bundles into the server: esbuild inlines metrics.json and the bundle resolves names', async () => {
    const out = await build({
      stdin: { contents: "export { resolveMetric } from './mcp-server/src/core/metrics/vocabulary.ts';", resolveDir: ROOT, loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    const code = out.outputFiles[0]!.text;
    expect(code).toContain('"neg_root_mean_squared_error"');
    const mod = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
    expect(mod.resolveMetric('macro F1').key).toBe('f1_macro');
  });
  it('docs/metrics.md is what scripts/gen-metrics-doc.mjs generates from metrics.json', () => {
    expect(readFileSync(DOC_PATH, 'utf8')).toBe(generatedMetricsDoc());
    const doc = generatedMetricsDoc();
    for (const m of METRICS) expect(doc).toContain(`| \`${m.key}\` |`);
    expect(execFileSync('node', [path.join(ROOT, 'scripts/gen-metrics-doc.mjs'), '--check'], { encoding: 'utf8' })).toBe('');
  });
});
