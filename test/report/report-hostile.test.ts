/**
 * File contents are data: notes, tags, params and SVG artifacts that carry markup and script reach the report as
 * text, and an SVG shown as an image can neither run script nor fetch. Links leaving the project are named, never
 * read. A target that cannot be written fails the call with nothing written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';
import { chromiumMissing, launch, openReport, REQUIRE_BROWSER } from './browser.js';

if (chromiumMissing && REQUIRE_BROWSER) throw new Error(`The report tests need Chromium under CI: ${chromiumMissing}`);

const NOTE = '<img src=x onerror="window.__pwned=1"></script><script>window.__pwned=2</script>';
const PARAM = '</script><script>window.__pwned=3</script><!--';
const TAG = '<b onmouseover="window.__pwned=4">bold</b>';
const EVIL_SVG = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="200" height="100" onload="window.top.__pwned=5">
<title>Evil plot</title><script>window.top.__pwned=6</script>
<image href="https://example.com/beacon.png" width="10" height="10"/><image xlink:href="http://127.0.0.1:9/leak.png" width="10" height="10"/>
<rect width="200" height="100" fill="#3366cc"/></svg>
`;
const SECRET = 'TOP-SECRET-OUTSIDE-THE-PROJECT-4711';

let root: string;
let c: TestClient;
let inc: string;
let html: string;

beforeAll(async () => {
  root = scratchDir();
  c = await inMemoryClient(root);
  inc = (await c.ok('create_increment', { title: 'Hostile <script>alert(1)</script>', primary_metric: 'accuracy' })).increment;
  const expDir = path.join(root, '.specweave/increments', inc, 'experiments', 'evil');
  fs.mkdirSync(expDir, { recursive: true });
  fs.writeFileSync(path.join(expDir, 'evil.svg'), EVIL_SVG);
  fs.writeFileSync(path.join(expDir, 'page.svg'), `<html><body><script>window.top.__pwned=7</script></body></html>`);
  await c.ok('track_experiment', {
    increment: inc,
    name: 'evil',
    params: { payload: PARAM, nested: { html: '<i>x</i>' } },
    metrics: { accuracy: 0.9 },
    tags: [TAG],
    note: NOTE,
    artifacts: ['evil.svg', 'page.svg'],
  });
  await c.ok('track_experiment', { increment: inc, name: 'majority', metrics: { accuracy: 0.5 }, baseline: true });
  // A plot recorded by hand that is a link to a file outside the project: named in the report, never read.
  const outside = path.join(scratchDir('swml-outside-'), 'secret.svg');
  fs.writeFileSync(outside, `<svg xmlns="http://www.w3.org/2000/svg"><title>${SECRET}</title></svg>`);
  fs.symlinkSync(outside, path.join(expDir, 'link.svg'));
  const metaFile = path.join(expDir, 'metadata.yaml');
  fs.writeFileSync(
    metaFile,
    fs
      .readFileSync(metaFile, 'utf8')
      .replace('artifacts:\n', `artifacts:\n  - path: "link.svg"\n    bytes: 10\n    sha256: "${'0'.repeat(64)}"\n`),
  );
  // A run whose history is a link to a file outside the project: drawn without curves, the link named.
  await c.ok('track_experiment', { increment: inc, name: 'linked', metrics: { accuracy: 0.6 } });
  const outsideHistory = path.join(path.dirname(outside), 'history.jsonl');
  fs.writeFileSync(outsideHistory, `{"metric":"${SECRET}","value":1,"step":0,"timestamp":""}\n`);
  fs.symlinkSync(outsideHistory, path.join(expDir, '..', 'linked', 'history.jsonl'));
  const out = await c.ok('render_report', { increment: inc });
  html = fs.readFileSync(path.join(root, out.reports[0].file), 'utf8');
}, 60_000);

afterAll(async () => c?.close());

describe('hostile content in the report', () => {
  it('keeps every file string inside the JSON data block, escaped', () => {
    // Two script elements only: the data block and the hashed app script.
    expect(html.match(/<script/gi)!.length).toBe(2);
    expect(html).not.toContain('window.__pwned=2</script>');
    expect(html).not.toContain(SECRET);
    const data = /<script id="report-data" type="application\/json">([^<]*)<\/script>/.exec(html);
    expect(data).not.toBeNull();
    const payload = JSON.parse(data![1]!);
    expect(payload.notes[0].text).toBe(NOTE);
    expect(payload.runs.tag_names).toContain(TAG);
    expect(payload.best_plots.files.map((f: { name: string }) => f.name)).toEqual(['evil.svg']);
    const skipped = payload.best_plots.skipped.join('\n');
    expect(skipped).toContain('page.svg: not an SVG document');
    expect(skipped).toMatch(/link\.svg: .*symbolic link/);
    expect(payload.unreadable_histories).toEqual([
      { run: 'linked', reason: expect.stringContaining('linked/history.jsonl is a symbolic link') },
    ]);
    expect(payload.runs.name).toContain('linked');
    // The title is escaped in the static markup.
    expect(html).toContain('<h1>0001-hostile-script-alert-1-script: Hostile &lt;script&gt;alert(1)&lt;/script&gt;</h1>');
  });

  it.skipIf(chromiumMissing)('runs no injected script and makes no request in Chromium', async () => {
    const browser: Browser = await launch();
    try {
      const file = path.join(root, '.specweave/increments', inc, 'report.html');
      const opened = await openReport(browser, file);
      const page = opened.page;
      // Hover and click what could carry handlers; let images settle.
      await page.hover('.grid-row[data-run="evil"]');
      await page
        .locator('#best-plots img')
        .first()
        .evaluate((img) => (img as HTMLImageElement).decode());
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(opened.requests).toEqual([]);
      expect(opened.errors).toEqual([]);
      expect(await page.locator('#notes li').first().textContent()).toContain(NOTE);
      expect(await page.locator('.grid-row[data-run="evil"] [data-col="tags"]').textContent()).toBe(TAG);
      expect(await page.locator('.grid-row[data-run="evil"] [data-col^="p"]').allTextContents()).toContain(PARAM);
      // The SVG rendered as a picture (its blue rectangle), not as a document.
      expect(
        await page
          .locator('#best-plots img')
          .first()
          .evaluate((img) => (img as HTMLImageElement).naturalWidth),
      ).toBe(200);
      await opened.close();
      // An increment with no experiment, and one whose experiments log no metric at all, render and load cleanly.
      const empty = (await c.ok('create_increment', { title: 'Empty' })).increment;
      const unranked = (await c.ok('create_increment', { title: 'Unranked' })).increment;
      await c.ok('track_experiment', { increment: unranked, name: 'no-metrics', params: { a: 1 } });
      await c.ok('render_report', {});
      for (const [id, runs] of [
        [empty, 0],
        [unranked, 1],
      ] as const) {
        const o = await openReport(browser, path.join(root, '.specweave/increments', id, 'report.html'));
        expect(o.errors).toEqual([]);
        expect(o.requests).toEqual([]);
        expect(await o.page.locator('#row-count').getAttribute('data-total')).toBe(String(runs));
        await o.close();
      }
      expect(fs.readFileSync(path.join(root, '.specweave/increments', empty, 'report.html'), 'utf8')).toContain(
        '"no_ranking":"no experiments tracked yet"',
      );
      // The run that logged no metric is in the table, unranked.
      const o = await openReport(browser, path.join(root, '.specweave/increments', unranked, 'report.html'));
      expect(await o.page.locator('.grid-row[data-run="no-metrics"] [data-col="rank"]').textContent()).toBe('');
      await o.close();
    } finally {
      await browser.close();
    }
  });
});

describe('writing the report', () => {
  it('fails with nothing written when a target is a folder', async () => {
    const fresh = scratchDir();
    const cc = await inMemoryClient(fresh);
    const id = (await cc.ok('create_increment', { title: 'Blocked', primary_metric: 'accuracy' })).increment;
    await cc.ok('track_experiment', { increment: id, name: 'a', metrics: { accuracy: 0.7 } });
    fs.mkdirSync(path.join(fresh, '.specweave/increments', id, 'report.html'));
    const text = await cc.fails('render_report', { increment: id });
    expect(text).toContain(`.specweave/increments/${id}/report.html is a folder where a file is written; nothing was written.`);
    expect(fs.existsSync(path.join(fresh, '.specweave/report.html'))).toBe(false);
    // Unknown increment: a clear error.
    expect(await cc.fails('render_report', { increment: '0099' })).toContain('No increment "0099"');
    await cc.close();
  });

  it('renders every increment when none is named, and is idempotent', async () => {
    const fresh = scratchDir();
    const cc = await inMemoryClient(fresh);
    for (const title of ['One', 'Two']) {
      const id = (await cc.ok('create_increment', { title, primary_metric: 'accuracy' })).increment;
      await cc.ok('track_experiment', { increment: id, name: 'a', metrics: { accuracy: 0.7 } });
    }
    const first = await cc.ok('render_report', {});
    expect(first.reports.map((r: { increment: string }) => r.increment)).toEqual(['0001-one', '0002-two']);
    const files = [...first.reports.map((r: { file: string }) => r.file), first.index];
    const before = files.map((f: string) => fs.readFileSync(path.join(fresh, f), 'utf8'));
    await cc.ok('render_report', {});
    expect(files.map((f: string) => fs.readFileSync(path.join(fresh, f), 'utf8'))).toEqual(before);
    await cc.close();
  });
});

const WEIRD = 'we"ird\\name \u00e9';

describe('histories in the payload', () => {
  it('match what the format reader reads, whatever the writer wrote (bare NaN, broken lines, steps out of order)', async () => {
    const fresh = scratchDir();
    const cc = await inMemoryClient(fresh);
    const id = (await cc.ok('create_increment', { title: 'Histories', primary_metric: 'accuracy' })).increment;
    for (const name of ['clean', 'messy']) await cc.ok('track_experiment', { increment: id, name, metrics: { accuracy: 0.7 } });
    const exp = (name: string) => path.join(fresh, '.specweave/increments', id, 'experiments', name);
    const line = (metric: string, value: unknown, step: number) =>
      `{"metric":${JSON.stringify(metric)},"value":${value},"step":${step},"timestamp":"2026-01-01T00:00:00.000Z"}`;
    fs.writeFileSync(
      path.join(exp('clean'), 'history.jsonl'),
      [line('loss', 1, 0), line('loss', 0.5, 1), line('loss', '"NaN"', 2), line(WEIRD, 3, 0)].join('\n') + '\n',
    );
    fs.writeFileSync(
      path.join(exp('messy'), 'history.jsonl'),
      [
        line('loss', 0.9, 2),
        line('loss', 'NaN', 0),
        '{"metric":"loss","val',
        line('loss', 0.7, 1),
        line('loss', 0.65, 1),
        '',
        '{"step":3,"metric":"loss","value":0.1}',
        line('loss', 1, -1),
      ].join('\r\n'),
    );
    const out = await cc.ok('render_report', { increment: id });
    const html = fs.readFileSync(path.join(fresh, out.reports[0].file), 'utf8');
    const payload = JSON.parse(/<script id="report-data" type="application\/json">([^<]*)<\/script>/.exec(html)![1]!);
    const curve = (metric: string, run: string) => {
      const m = payload.curves.metrics.indexOf(metric);
      const k = payload.curves.series[m].runs.indexOf(payload.runs.name.indexOf(run));
      return { x: payload.curves.series[m].x[k], y: payload.curves.series[m].y[k] };
    };
    expect(curve('loss', 'clean')).toEqual({ x: [0, 1, 2], y: [1, 0.5, 'NaN'] });
    expect(curve(WEIRD, 'clean')).toEqual({ x: [0], y: [3] });
    // Steps sorted, the repeated step 1 keeps its last point, keys in any order read, bad lines skipped.
    expect(curve('loss', 'messy')).toEqual({ x: [0, 1, 2, 3], y: ['NaN', 0.65, 0.9, 0.1] });
    await cc.close();
  });
});
