import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';
import { passingIncrement } from '../helpers/scenario.js';

let c: TestClient;
let root: string;
beforeEach(async () => {
  root = scratchDir();
  c = await inMemoryClient(root);
});
afterEach(async () => c.close());

describe('the tool catalogue', () => {
  it('gives every tool a title, a description, input and output schemas and honest annotations', async () => {
    const { tools } = await c.client.listTools();
    const names = tools.map((t) => t.name);
    for (const required of [
      'create_increment',
      'track_experiment',
      'list_experiments',
      'get_experiment',
      'compare_experiments',
      'validate_increment',
      'sync_docs',
    ]) {
      expect(names).toContain(required);
    }
    for (const t of tools) {
      expect(t.title, t.name).toBeTruthy();
      expect(t.description!.length, t.name).toBeGreaterThan(80);
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type, t.name).toBe('object');
      // Only the tools that talk to an MLflow tracking server named in their arguments reach the network.
      expect(t.annotations?.openWorldHint, t.name).toBe(['import_runs', 'export_to_mlflow'].includes(t.name));
      expect(typeof t.annotations?.readOnlyHint, t.name).toBe('boolean');
    }
    const readOnly = tools
      .filter((t) => t.annotations?.readOnlyHint)
      .map((t) => t.name)
      .sort();
    expect(readOnly).toEqual(expect.arrayContaining(['get_experiment', 'list_experiments', 'list_increments', 'validate_increment']));
    expect(readOnly).not.toContain('track_experiment');
    // scaffold_deployment removes the stale files of its own earlier scaffold; no other tool deletes anything.
    const destructive = tools.filter((t) => t.annotations?.destructiveHint).map((t) => t.name);
    expect(destructive).toEqual(['scaffold_deployment']);
  });

  it('accepts null for every optional argument, as models send it', async () => {
    const { tools } = await c.client.listTools();
    const track = tools.find((t) => t.name === 'track_experiment')!;
    const optional = Object.keys(track.inputSchema.properties!).filter((k) => !track.inputSchema.required?.includes(k));
    await c.ok('create_increment', { title: 'x' });
    const args = Object.fromEntries(optional.map((k) => [k, null]));
    expect(await c.ok('track_experiment', { increment: '1', name: 'n', ...args })).toMatchObject({ experiment: 'n', created: true });
  });
});

describe('list_increments, list_experiments, get_experiment, update_task', () => {
  it('lists increments with their state', async () => {
    expect((await c.call('list_increments', {})).content[0]).toMatchObject({ text: expect.stringContaining('create_increment') });
    await passingIncrement(c, root);
    fs.mkdirSync(path.join(root, '.specweave/increments/0002-broken'));
    const r = await c.ok('list_increments', {});
    expect(r.increments).toEqual([
      {
        increment: '0001-churn-model',
        title: 'Churn model',
        status: 'active',
        problem_type: 'classification',
        primary_metric: 'roc_auc',
        experiments: 5,
      },
      expect.objectContaining({ increment: '0002-broken', error: expect.stringContaining('metadata.json is missing') }),
    ]);
  });

  it('pages through experiments', async () => {
    const inc = await passingIncrement(c, root);
    const page = await c.ok('list_experiments', { increment: inc, limit: 2, offset: 1 });
    expect(page).toMatchObject({ total: 5, offset: 1, has_more: true });
    expect(page.experiments.map((e: any) => e.name)).toEqual(['baseline-stratified', 'logreg']);
    const last = await c.ok('list_experiments', { increment: inc, offset: 4 });
    expect(last.experiments.map((e: any) => [e.name, e.status, e.metrics.roc_auc])).toEqual([['random-forest', 'completed', 0.88]]);
    expect(last.has_more).toBe(false);
  });

  it('summarises an experiment and its history', async () => {
    const inc = await passingIncrement(c, root);
    const e = await c.ok('get_experiment', { increment: inc, name: 'random-forest' });
    expect(e).toMatchObject({
      name: 'random-forest',
      status: 'completed',
      baseline: false,
      params: { model: 'random-forest', seed: 42 },
      tags: [],
    });
    expect(e.history).toEqual([{ metric: 'cv_roc_auc', points: 5, first_step: 0, last_step: 4, last: 0.89, min: 0.87, max: 0.89 }]);
    expect(e.files).toEqual(['feature_importance.csv', 'history.jsonl', 'metadata.yaml', 'metrics.json', 'model.pkl', 'params.json']);
    expect(e.artifacts.map((a: any) => a.path)).toEqual(['model.pkl', 'feature_importance.csv']);
    const failed = await c.ok('get_experiment', { increment: inc, name: 'mlp' });
    expect(failed).toMatchObject({ status: 'failed', metrics: { roc_auc: 'NaN' } });
    expect(failed.notes[0].text).toMatch(/diverged/);
    expect(await c.fails('get_experiment', { increment: inc, name: 'nope' })).toMatch(/No experiment "nope"[^]*list_experiments/);
  });

  it('summarises a very long history without failing', async () => {
    await c.ok('create_increment', { title: 'Long' });
    await c.ok('track_experiment', { increment: '1', name: 'long' });
    const dir = path.join(root, '.specweave/increments/0001-long/experiments/long');
    const lines = Array.from({ length: 300_000 }, (_, i) => `{"metric":"loss","value":${1 / (i + 1)},"step":${i},"timestamp":"t"}`);
    fs.appendFileSync(path.join(dir, 'history.jsonl'), `${lines.join('\n')}\n`);
    const e = await c.ok('get_experiment', { increment: '1', name: 'long' });
    expect(e.history).toEqual([
      { metric: 'loss', points: 300_000, first_step: 0, last_step: 299_999, last: 1 / 300_000, min: 1 / 300_000, max: 1 },
    ]);
  });

  it('says which tasks exist when one is unknown', async () => {
    await c.ok('create_increment', { title: 'x' });
    expect(await c.ok('update_task', { increment: '1', task: 'T-002', status: 'in_progress' })).toMatchObject({
      task: 'T-002',
      status: 'in_progress',
      done: false,
    });
    expect(await c.fails('update_task', { increment: '1', task: 'T-010', status: 'completed' })).toMatch(/No task T-010[^]*T-001, T-002/);
  });
});
