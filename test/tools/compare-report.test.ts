/** compare_experiments rewrites the increment's HTML report with each comparison, and never fails because of it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { gitProject, scratchDir } from '../helpers/project.js';

let c: TestClient;
let root: string;
let inc: string;

beforeEach(async () => {
  root = gitProject();
  c = await inMemoryClient(root);
  inc = (await c.ok('create_increment', { title: 'Report follows compare', problem_type: 'regression', primary_metric: 'rmse' })).increment;
  await c.ok('track_experiment', { increment: inc, name: 'mean', baseline: true, metrics: { rmse: 3 } });
  await c.ok('track_experiment', { increment: inc, name: 'ridge', metrics: { rmse: 2 } });
});
afterEach(async () => c.close());

describe('compare_experiments and the HTML report', () => {
  it('writes report.html and the index with the ranking the comparison made', async () => {
    const r = await c.ok('compare_experiments', { increment: inc });
    expect(r.html_report).toBe(`.specweave/increments/${inc}/report.html`);
    expect(r.html_report_note).toBeNull();
    const html = fs.readFileSync(path.join(root, r.html_report), 'utf8');
    expect(html).toContain('ridge');
    expect(fs.existsSync(path.join(root, '.specweave/report.html'))).toBe(true);
    // A new experiment shows up in the report after the next comparison, not before.
    await c.ok('track_experiment', { increment: inc, name: 'gbm-after', metrics: { rmse: 1.5 } });
    expect(fs.readFileSync(path.join(root, r.html_report), 'utf8')).not.toContain('gbm-after');
    await c.ok('compare_experiments', { increment: inc });
    expect(fs.readFileSync(path.join(root, r.html_report), 'utf8')).toContain('gbm-after');
  });

  it('keeps the comparison when the report target is refused, and says why', async () => {
    const outside = path.join(scratchDir(), 'elsewhere.html');
    fs.writeFileSync(outside, 'untouched');
    fs.symlinkSync(outside, path.join(root, '.specweave/increments', inc, 'report.html'));
    const r = await c.ok('compare_experiments', { increment: inc });
    expect(r.html_report).toBeNull();
    expect(r.html_report_note).toMatch(/report\.html/);
    expect(fs.readFileSync(outside, 'utf8')).toBe('untouched');
    expect(fs.existsSync(path.join(root, r.report))).toBe(true);
  });

  it('html_report: false leaves the report as it is', async () => {
    const first = await c.ok('compare_experiments', { increment: inc });
    const before = fs.readFileSync(path.join(root, first.html_report), 'utf8');
    await c.ok('track_experiment', { increment: inc, name: 'later', metrics: { rmse: 1 } });
    const r = await c.ok('compare_experiments', { increment: inc, html_report: false });
    expect(r.html_report).toBeNull();
    expect(r.html_report_note).toMatch(/render_report/);
    expect(r.ranked).toBe(3);
    expect(fs.readFileSync(path.join(root, first.html_report), 'utf8')).toBe(before);
  });
});
