/**
 * Success criteria and the primary metric resolve against the metric vocabulary at create time and through
 * update_increment; an unknown name is an error with suggestions (or a declared custom metric); spec.md and
 * metadata.json change together.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';

let c: TestClient;
let root: string;

beforeEach(async () => {
  root = scratchDir();
  c = await inMemoryClient(root);
});
afterEach(async () => c.close());

const files = (rel: string) => {
  const dir = path.join(root, rel);
  return {
    meta: JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8')),
    spec: fs.readFileSync(path.join(dir, 'spec.md'), 'utf8'),
  };
};

describe('criteria and metric names at create time', () => {
  it('resolves the phrasings people write to the keys evaluate_predictions writes', async () => {
    const r = await c.ok('create_increment', {
      title: 'Wine',
      primary_metric: 'macro F1',
      success_criteria: ['macro F1 > 0.9', 'R^2 > 0.4', 'AUC >= .85', 'precision@10=0.28 > 0.25 target'],
    });
    expect(r.primary_metric).toBe('f1_macro');
    expect(r.direction).toBe('maximize');
    expect(r.success_criteria.map((x: any) => `${x.metric} ${x.op} ${x.value}`)).toEqual([
      'f1_macro > 0.9',
      'r2 > 0.4',
      'roc_auc >= 0.85',
      'precision_at_10 > 0.25',
    ]);
    expect(files(r.path).meta.ml.success_criteria.map((x: any) => x.metric)).toEqual(['f1_macro', 'r2', 'roc_auc', 'precision_at_10']);
  });

  it('refuses a metric nobody knows, says what was meant, and accepts it when declared custom', async () => {
    const msg = await c.fails('create_increment', { title: 'x', success_criteria: ['acuracy > 0.9'] });
    expect(msg).toMatch(/"acuracy" is not a known metric\. Did you mean "accuracy"/);
    expect(msg).toMatch(/custom_metrics: \["acuracy"\]/);
    expect(fs.existsSync(path.join(root, '.specweave/increments'))).toBe(false); // nothing written
    expect(await c.fails('create_increment', { title: 'x', primary_metric: 'rmsee' })).toMatch(
      /"rmsee" is not a known metric; did you mean "rmse"/,
    );
    const ok = await c.ok('create_increment', {
      title: 'Revenue',
      primary_metric: 'revenue_error',
      custom_metrics: ['revenue_error'],
      success_criteria: ['revenue error < 1250'],
    });
    expect(ok.primary_metric).toBe('revenue_error');
    expect(ok.direction).toBe('minimize');
    expect(ok.success_criteria[0]).toMatchObject({ metric: 'revenue_error', op: '<', value: 1250, custom: true });
  });

  it("refuses a threshold outside the metric's range, suggesting the percentage that was meant", async () => {
    expect(await c.fails('create_increment', { title: 'x', success_criteria: ['accuracy > 90'] })).toMatch(/write 90% \(= 0\.9\)/);
  });
});

describe('update_increment', () => {
  it('replaces the criteria in metadata.json and in spec.md, keeping the prose around them', async () => {
    const { increment, path: rel } = await c.ok('create_increment', { title: 'Churn', success_criteria: ['roc_auc >= 0.8'] });
    const specFile = path.join(root, rel, 'spec.md');
    fs.writeFileSync(
      specFile,
      fs.readFileSync(specFile, 'utf8').replace('- roc_auc >= 0.8', 'Agreed with the risk team.\n\n- roc_auc >= 0.8'),
    );
    const r = await c.ok('update_increment', { increment, success_criteria: ['F1 (macro) >= 0.75', 'recall > 0.6'] });
    expect(r.changed).toEqual(['success_criteria']);
    const { meta, spec } = files(rel);
    expect(meta.ml.success_criteria.map((x: any) => x.metric)).toEqual(['f1_macro', 'recall']);
    const section = spec.slice(spec.indexOf('## Success Criteria'), spec.indexOf('## Data Requirements'));
    expect(section).toContain('- F1 (macro) >= 0.75\n- recall > 0.6');
    expect(section).toContain('Agreed with the risk team.');
    expect(section).not.toContain('roc_auc >= 0.8');
    // The two files agree, so the gate that compares them passes.
    const v = await c.ok('validate_increment', { increment });
    expect(v.checks.find((x: any) => x.id === 'criteria-sync')).toBeUndefined();
  });

  it('changes thresholds and the selection rule, and refuses unknown keys without writing', async () => {
    const { increment, path: rel } = await c.ok('create_increment', {
      title: 'Diabetes',
      problem_type: 'regression',
      primary_metric: 'R²',
    });
    expect(files(rel).meta.ml.primary_metric).toBe('r2');
    const before = fs.readFileSync(path.join(root, rel, 'metadata.json'), 'utf8');
    expect(await c.fails('update_increment', { increment, thresholds: { max_std: 0.1 } })).toMatch(
      /Unknown threshold "max_std"[^]*max_cv_std[^]*max_cv_relative_std/,
    );
    expect(await c.fails('update_increment', { increment, success_criteria: ['r2 > 0.4', 'mystery > 1'] })).toMatch(
      /"mystery" is not a known metric/,
    );
    expect(fs.readFileSync(path.join(root, rel, 'metadata.json'), 'utf8')).toBe(before);
    const r = await c.ok('update_increment', {
      increment,
      thresholds: { max_cv_relative_std: 0.15 },
      selection: 'cv',
      primary_metric: 'neg_root_mean_squared_error',
    });
    expect(r).toMatchObject({
      changed: ['primary_metric', 'thresholds', 'selection'],
      primary_metric: 'rmse',
      direction: 'minimize',
      selection: 'cv',
    });
    expect(r.thresholds).toEqual({ min_improvement: 0.05, max_cv_std: 0.05, max_cv_relative_std: 0.15 });
    expect(await c.fails('update_increment', { increment })).toMatch(/Nothing to change/);
  });
});
