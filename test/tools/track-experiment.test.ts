import * as fs from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { git, gitProject, scratchDir } from '../helpers/project.js';

let c: TestClient;
let root: string;
let incDir: string;
const inc = '1';
const expDir = (name: string) => path.join(incDir, 'experiments', name);
const read = (name: string, file: string) => fs.readFileSync(path.join(expDir(name), file), 'utf8');
const meta = (name: string) => load(read(name, 'metadata.yaml')) as Record<string, any>;

beforeEach(async () => {
  root = gitProject();
  c = await inMemoryClient(root);
  incDir = path.join(root, (await c.ok('create_increment', { title: 'Fraud' })).path);
});
afterEach(async () => c.close());

describe('track_experiment', () => {
  it('records params, metrics, history, git and environment in the documented files', async () => {
    const r = await c.ok('track_experiment', {
      increment: inc,
      name: 'xgb-v1',
      params: { n_estimators: 100, model: { depth: 6 } },
      metrics: { auc: 0.87 },
      history: [
        { metric: 'loss', value: 0.5, step: 0 },
        { metric: 'loss', value: 0.3, step: 1 },
      ],
      tags: ['candidate'],
      note: 'first try',
      status: null,
      baseline: null,
      artifacts: null,
    });
    expect(r).toMatchObject({
      experiment: 'xgb-v1',
      created: true,
      status: 'completed',
      baseline: false,
      metrics: { auc: 0.87, loss: 0.3 },
      params_count: 2,
      history_points_added: 2,
    });
    expect(read('xgb-v1', 'params.json')).toBe('{\n  "model": {\n    "depth": 6\n  },\n  "n_estimators": 100\n}\n');
    expect(JSON.parse(read('xgb-v1', 'metrics.json'))).toEqual({ auc: 0.87, loss: 0.3 });
    const lines = read('xgb-v1', 'history.jsonl')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => Object.keys(l))).toEqual([
      ['metric', 'value', 'step', 'timestamp'],
      ['metric', 'value', 'step', 'timestamp'],
    ]);
    const m = meta('xgb-v1');
    expect(m).toMatchObject({ name: 'xgb-v1', status: 'completed', baseline: false, tags: ['candidate'], source: { tool: 'mcp' } });
    expect(m.notes[0].text).toBe('first try');
    expect(m.git).toEqual({ commit: git(root, 'rev-parse', 'HEAD'), branch: 'main', dirty: false });
    expect(m.environment.node).toBe(process.version);
    expect(m.ended).toBeTruthy();
    expect(m.duration_seconds).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(fs.readFileSync(path.join(incDir, 'metadata.json'), 'utf8')).status).toBe('active');
  });

  it('merges params and metrics, appends notes, tags and history', async () => {
    await c.ok('track_experiment', {
      increment: inc,
      name: 'e',
      params: { a: 1, b: 2 },
      metrics: { f1: 0.5 },
      tags: ['x'],
      note: 'one',
      status: 'running',
    });
    const r = await c.ok('track_experiment', {
      increment: inc,
      name: 'e',
      params: { b: 3 },
      metrics: { auc: 0.7 },
      tags: ['x', 'y'],
      note: 'two',
      status: 'completed',
    });
    expect(r.created).toBe(false);
    expect(JSON.parse(read('e', 'params.json'))).toEqual({ a: 1, b: 3 });
    expect(JSON.parse(read('e', 'metrics.json'))).toEqual({ auc: 0.7, f1: 0.5 });
    const m = meta('e');
    expect(m.tags).toEqual(['x', 'y']);
    expect(m.notes.map((n: any) => n.text)).toEqual(['one', 'two']);
    expect(m.ended).not.toBeNull();
  });

  it('keeps ended empty while running and stamps it when the run finishes', async () => {
    await c.ok('track_experiment', { increment: inc, name: 'long', status: 'running' });
    expect(meta('long').ended).toBeNull();
    await c.ok('track_experiment', { increment: inc, name: 'long', history: [{ metric: 'loss', value: 1, step: 0 }] });
    expect(meta('long')).toMatchObject({ status: 'running', ended: null });
    await c.ok('track_experiment', { increment: inc, name: 'long', status: 'failed', note: 'OOM' });
    expect(meta('long').status).toBe('failed');
    expect(meta('long').ended).not.toBeNull();
  });

  it('takes the highest step as the summary, not the last point sent, unless a summary is given', async () => {
    await c.ok('track_experiment', {
      increment: inc,
      name: 'h',
      history: [
        { metric: 'loss', value: 0.2, step: 5 },
        { metric: 'loss', value: 0.9, step: 1 },
      ],
    });
    expect(JSON.parse(read('h', 'metrics.json')).loss).toBe(0.2);
    await c.ok('track_experiment', { increment: inc, name: 'h', history: [{ metric: 'loss', value: 0.4, step: 3 }] });
    expect(JSON.parse(read('h', 'metrics.json')).loss).toBe(0.2);
    await c.ok('track_experiment', {
      increment: inc,
      name: 'h',
      history: [{ metric: 'loss', value: 0.1, step: 6 }],
      metrics: { loss: 0.15 },
    });
    expect(JSON.parse(read('h', 'metrics.json')).loss).toBe(0.15);
    expect(read('h', 'history.jsonl').trimEnd().split('\n')).toHaveLength(4);
  });

  it('records non-finite values as strings, never rejects them', async () => {
    const r = await c.ok('track_experiment', {
      increment: inc,
      name: 'diverged',
      metrics: { loss: 'NaN', grad: 'Infinity' },
      history: [{ metric: 'loss', value: 'NaN', step: 3 }],
      status: 'failed',
    });
    expect(r.metrics).toEqual({ loss: 'NaN', grad: 'Infinity' });
    expect(JSON.parse(read('diverged', 'metrics.json'))).toEqual({ grad: 'Infinity', loss: 'NaN' });
    expect(read('diverged', 'history.jsonl')).toContain('"value":"NaN"');
  });

  it('records artifacts from the experiment folder and from the increment, with size and sha256', async () => {
    fs.mkdirSync(expDir('rf'), { recursive: true });
    fs.writeFileSync(path.join(expDir('rf'), 'model.pkl'), 'abc');
    fs.writeFileSync(path.join(incDir, 'models', 'model-v3.pkl'), 'model-v3');
    const r = await c.ok('track_experiment', { increment: inc, name: 'rf', artifacts: ['model.pkl', 'models/model-v3.pkl'] });
    expect(r.artifacts).toEqual([
      { path: 'model.pkl', bytes: 3, sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
      { path: '../../models/model-v3.pkl', bytes: 8, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
    fs.writeFileSync(path.join(expDir('rf'), 'model.pkl'), 'abcd');
    const again = await c.ok('track_experiment', { increment: inc, name: 'rf', artifacts: ['model.pkl'] });
    expect(again.artifacts).toHaveLength(2);
    expect(again.artifacts[0].bytes).toBe(4);
  });

  it('refuses artifacts that are missing or outside the increment', async () => {
    const outside = scratchDir();
    fs.writeFileSync(path.join(outside, 'secret'), 's');
    fs.symlinkSync(path.join(outside, 'secret'), path.join(incDir, 'models', 'link.pkl'));
    expect(await c.fails('track_experiment', { increment: inc, name: 'a', artifacts: ['nope.pkl'] })).toMatch(
      /not found: looked for .*experiments\/a\/nope.pkl and .*0001-fraud\/nope.pkl[^]*relative to the experiment folder/,
    );
    expect(await c.fails('track_experiment', { increment: inc, name: 'a', artifacts: ['../../../../train.py'] })).toMatch(
      /Refused artifact path/,
    );
    expect(await c.fails('track_experiment', { increment: inc, name: 'a', artifacts: [path.join(outside, 'secret')] })).toMatch(/Refused/);
    expect(await c.fails('track_experiment', { increment: inc, name: 'a', artifacts: ['models/link.pkl'] })).toMatch(/symlink/);
    expect(fs.existsSync(expDir('a'))).toBe(false);
  });

  it('refuses bad names and unknown increments with the fix', async () => {
    expect(await c.fails('track_experiment', { increment: inc, name: '../escape' })).toMatch(/Invalid experiment name[^]*letters, digits/);
    expect(await c.fails('track_experiment', { increment: inc, name: '.hidden' })).toMatch(/Invalid experiment name/);
    expect(await c.fails('track_experiment', { increment: '77', name: 'x' })).toMatch(/No increment "77"[^]*0001-fraud/);
    expect(await c.fails('track_experiment', { increment: '../..', name: 'x' })).toMatch(/Invalid increment reference/);
    expect(await c.fails('track_experiment', { increment: inc, name: 'x', history: [{ metric: 'loss', value: 1, step: -1 }] })).toMatch(
      /step/,
    );
    expect(await c.fails('track_experiment', { increment: inc, name: 'x', metrics: { f1: 'good' } })).toMatch(/metrics/);
    expect(fs.readdirSync(path.join(incDir, 'experiments'))).toEqual([]);
  });

  it('names the ambiguous increments', async () => {
    await c.ok('create_increment', { title: 'Fraud v2' });
    fs.mkdirSync(path.join(root, '.specweave/increments/0001-fraud-copy'));
    expect(await c.fails('track_experiment', { increment: '1', name: 'x' })).toMatch(
      /"1" matches 2 folders: 0001-fraud, 0001-fraud-copy[^]*full folder name/,
    );
    expect(await c.fails('track_experiment', { increment: '0001-fr', name: 'x' })).toMatch(/matches 2 folders/);
    expect((await c.ok('track_experiment', { increment: '0002-fraud-v2', name: 'x' })).path).toContain('0002-fraud-v2');
    expect((await c.ok('track_experiment', { increment: '2', name: 'y' })).path).toContain('0002-fraud-v2');
  });

  it('does not overwrite a corrupt file; it reports it', async () => {
    await c.ok('track_experiment', { increment: inc, name: 'e', params: { a: 1 } });
    fs.writeFileSync(path.join(expDir('e'), 'params.json'), '{ broken');
    expect(await c.fails('track_experiment', { increment: inc, name: 'e', params: { b: 2 } })).toMatch(/params.json is not valid JSON/);
    expect(read('e', 'params.json')).toBe('{ broken');
    expect(fs.existsSync(path.join(expDir('e'), '.lock'))).toBe(false);
  });

  it('reads files other writers produce: Python NaN, BOM, CRLF, missing optional files', async () => {
    fs.mkdirSync(expDir('py'), { recursive: true });
    fs.writeFileSync(path.join(expDir('py'), 'metrics.json'), '\ufeff{"loss": NaN,\r\n "acc": 0.9}\r\n');
    await c.ok('track_experiment', { increment: inc, name: 'py', metrics: { f1: 0.8 } });
    expect(JSON.parse(read('py', 'metrics.json'))).toEqual({ acc: 0.9, f1: 0.8, loss: 'NaN' });
    const got = await c.ok('get_experiment', { increment: inc, name: 'py' });
    expect(got.metrics).toEqual({ acc: 0.9, f1: 0.8, loss: 'NaN' });
  });

  it('keeps a recorded duration when a later call adds a note or a metric, and re-measures it at a new end', async () => {
    await c.ok('track_experiment', { increment: inc, name: 'd', status: 'completed' });
    // As the Python client leaves it after a reopened session: the sum of the sessions, not the span.
    const file = path.join(expDir('d'), 'metadata.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/duration_seconds: .*/, 'duration_seconds: 8'));
    await c.ok('track_experiment', { increment: inc, name: 'd', note: 'looked at it', metrics: { f1: 0.7 } });
    expect(meta('d').duration_seconds).toBe(8);
    await c.ok('track_experiment', { increment: inc, name: 'd', status: 'running' });
    await c.ok('track_experiment', { increment: inc, name: 'd', status: 'completed' });
    expect(meta('d').duration_seconds).not.toBe(8);
  });

  it('does not count experiment files as a dirty work tree, but does count code changes', async () => {
    await c.ok('track_experiment', { increment: inc, name: 'a' });
    expect(meta('a').git.dirty).toBe(false);
    const fresh = await inMemoryClient(root); // a new server: no cached git answer
    fs.appendFileSync(path.join(root, 'train.py'), '# edit\n');
    await fresh.ok('track_experiment', { increment: inc, name: 'b' });
    expect(meta('b').git.dirty).toBe(true);
    await fresh.close();
  });
});
