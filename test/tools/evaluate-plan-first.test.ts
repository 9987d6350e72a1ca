/**
 * evaluate_predictions plans, then writes: a problem found while planning (a broken summary file of the
 * experiment, bad predictions) leaves the increment byte-for-byte as it was; a good call writes every file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';

let c: TestClient;
let root: string;
let incDir: string;
const expDir = () => path.join(incDir, 'experiments', 'rf');

const CSV = 'y_true,y_pred,score\n1,1,0.9\n1,1,0.8\n1,0,0.4\n0,0,0.3\n0,1,0.6\n0,0,0.2\n';

/** Every file and folder under dir, with the bytes of each file and the target of each link. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (e.isSymbolicLink()) out.set(rel, `link:${fs.readlinkSync(p)}`);
      else if (e.isDirectory()) {
        out.set(rel, 'dir');
        walk(p);
      } else out.set(rel, `file:${fs.readFileSync(p).toString('base64')}`);
    }
  };
  walk(dir);
  return out;
}

beforeEach(async () => {
  root = scratchDir();
  c = await inMemoryClient(root);
  incDir = path.join(root, (await c.ok('create_increment', { title: 'Plan first' })).path);
  await c.ok('track_experiment', { increment: '1', name: 'rf', params: { trees: 10 }, metrics: { accuracy: 0.5 } });
  fs.writeFileSync(path.join(expDir(), 'predictions.csv'), CSV);
});
afterEach(async () => c.close());

const evaluate = (extra: Record<string, unknown> = {}) =>
  c.call('evaluate_predictions', {
    increment: '1',
    experiment: 'rf',
    predictions: 'predictions.csv',
    task: 'binary',
    bootstrap_resamples: 50,
    ...extra,
  });

describe('evaluate_predictions plans before it writes', () => {
  it('a broken metrics.json is an error naming it, and nothing in the increment changes', async () => {
    fs.writeFileSync(path.join(expDir(), 'metrics.json'), '{"accuracy": 0.5,');
    const before = snapshot(incDir);
    const r = await evaluate();
    expect(r.isError).toBe(true);
    expect((r.content[0] as { text: string }).text).toMatch(/experiments\/rf\/metrics\.json/);
    expect(snapshot(incDir)).toEqual(before);
  });

  it('a broken metadata.yaml is an error naming it, and nothing in the increment changes', async () => {
    fs.writeFileSync(path.join(expDir(), 'metadata.yaml'), 'name: rf\nstatus: [unclosed\n');
    const before = snapshot(incDir);
    const r = await evaluate();
    expect(r.isError).toBe(true);
    expect((r.content[0] as { text: string }).text).toMatch(/metadata\.yaml/);
    expect(snapshot(incDir)).toEqual(before);
  });

  it('a bad cell is an error naming the row, and nothing in the increment changes', async () => {
    fs.writeFileSync(path.join(expDir(), 'predictions.csv'), `${CSV}0,0,oops\n`);
    const before = snapshot(incDir);
    const text = await c.fails('evaluate_predictions', {
      increment: '1',
      experiment: 'rf',
      predictions: 'predictions.csv',
      task: 'binary',
    });
    expect(text).toMatch(/predictions\.csv row 7, column "score"/);
    expect(snapshot(incDir)).toEqual(before);
  });

  it('the success path writes the metrics, evaluation.json, the report and every plot', async () => {
    const before = snapshot(incDir);
    const r = await evaluate();
    expect(r.isError).toBeFalsy();
    const out = r.structuredContent as { plots: string[]; report: string };
    const after = snapshot(incDir);
    const added = [...after.keys()].filter((k) => !before.has(k)).map((k) => path.basename(k));
    expect(added).toEqual(expect.arrayContaining(['evaluation.json', 'evaluation-report.md', 'confusion-matrix.svg', 'roc-curve.svg']));
    for (const p of [out.report, ...out.plots]) expect(fs.existsSync(path.join(root, p))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(expDir(), 'metrics.json'), 'utf8')).accuracy).toBeCloseTo(4 / 6, 12);
    expect(JSON.parse(fs.readFileSync(path.join(expDir(), 'evaluation.json'), 'utf8'))).toMatchObject({
      predictions: 'experiments/rf/predictions.csv',
      task: 'binary',
    });
  });
});
