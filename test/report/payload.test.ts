/**
 * The pure parts of the report: downsampling keeps the shape of a curve, the payload is column-oriented with
 * strings stored once and non-finite numbers as strings, and what goes into the page cannot leave its data block.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { downsampleLttb, pointsPerSeries } from '../../mcp-server/src/core/report/downsample.js';
import { buildReportPayload, type ReportInput } from '../../mcp-server/src/core/report/payload.js';
import type { Experiment } from '../../mcp-server/src/core/experiments.js';
import { contentSecurityPolicy, jsonForScript } from '../../mcp-server/src/render/report/html.js';
import { renderIncrementReport } from '../../mcp-server/src/render/report/increment-page.js';

describe('downsampleLttb', () => {
  const xs = Array.from({ length: 1000 }, (_, i) => i);
  const ys = xs.map((x) => Math.sin(x / 50));

  it('returns short series whole and long ones at exactly the budget, first and last kept', () => {
    expect(downsampleLttb([0, 1, 2], [5, 6, 7], 10)).toEqual({ x: [0, 1, 2], y: [5, 6, 7] });
    const d = downsampleLttb(xs, ys, 50);
    expect(d.x.length).toBe(50);
    expect(d.x[0]).toBe(0);
    expect(d.x.at(-1)).toBe(999);
    // Steps stay ascending and every kept point is a logged one.
    for (let i = 1; i < d.x.length; i += 1) expect(d.x[i]!).toBeGreaterThan(d.x[i - 1]!);
    d.x.forEach((x, i) => expect(d.y[i]).toBe(ys[x]));
  });

  it('keeps a one-step spike that taking every n-th point loses', () => {
    const flat = xs.map((x) => (x === 333 ? 10 : 1));
    const d = downsampleLttb(xs, flat, 40);
    expect(d.y).toContain(10);
    const everyNth = xs.filter((_, i) => i % Math.ceil(1000 / 40) === 0).map((x) => flat[x]);
    expect(everyNth).not.toContain(10);
  });

  it('keeps a diverged (non-finite) point only when its bucket has nothing else', () => {
    const y = xs.map((x) => (x >= 990 ? Number.NaN : 1 / (x + 1)));
    const d = downsampleLttb(xs, y, 30);
    expect(d.x.length).toBe(30);
    expect(Number.isNaN(d.y.at(-1)!)).toBe(true);
  });

  it('shares the point budget between series within bounds', () => {
    expect(pointsPerSeries(30)).toBe(500);
    expect(pointsPerSeries(10_000)).toBe(20);
    expect(pointsPerSeries(1_000_000)).toBe(20);
    expect(pointsPerSeries(1000)).toBe(200);
  });
});

function experiment(name: string, params: Record<string, unknown>, metrics: Record<string, number>, tags: string[] = []): Experiment {
  return {
    name,
    dir: `/x/${name}`,
    params,
    metrics,
    baseline: false,
    status: 'completed',
    meta: {
      name,
      status: 'completed',
      baseline: false,
      tags,
      notes: [],
      created: null,
      started: null,
      ended: null,
      duration_seconds: null,
      updated: null,
      git: null,
      environment: {},
      artifacts: [],
      source: {},
      extra: {},
    },
  };
}

function input(experiments: Experiment[]): ReportInput {
  return {
    increment: { id: '0001-x', title: 'X', status: 'active', created: null, lastActivity: null },
    ml: null,
    experiments,
    broken: [],
    comparison: null,
    comparisonError: 'no primary metric',
    series: new Map(),
    folds: new Map(),
    foldMetric: null,
    unreadableHistories: [],
    plots: null,
    gates: null,
    registry: { rows: [], note: null },
  };
}

describe('the payload', () => {
  it('stores params as columns: numbers as numbers, repeated strings once, objects as canonical text', () => {
    const p = buildReportPayload(
      input([
        experiment('b', { lr: 0.1, opt: 'adam', layers: { a: 1 } }, { acc: Number.NaN }, ['t1']),
        experiment('a', { lr: 0.2, opt: 'adam' }, { acc: 0.5 }, ['t1', 't2']),
        experiment('c', { opt: 'sgd', lr: Number.POSITIVE_INFINITY }, { acc: 0.7 }),
      ]),
      ['#000'],
    );
    // No ranking: runs by name.
    expect(p.runs.name).toEqual(['a', 'b', 'c']);
    const byName = Object.fromEntries(p.params.map((c) => [c.name, c.column]));
    expect(byName.lr).toEqual({ kind: 'num', values: [0.2, 0.1, 'Infinity'] });
    expect(byName.opt).toEqual({ kind: 'str', dict: ['adam', 'sgd'], idx: [0, 0, 1] });
    expect(byName.layers).toEqual({ kind: 'str', dict: ['{\n  "a": 1\n}'], idx: [-1, 0, -1] });
    expect(p.metrics).toEqual([{ name: 'acc', column: { kind: 'num', values: [0.5, 'NaN', 0.7] } }]);
    expect(p.runs.tag_names).toEqual(['t1', 't2']);
    expect(p.runs.tags).toEqual([[0, 1], [0], []]);
    expect(p.no_ranking).toBe('no primary metric');
  });

  it('downsamples curves to the budget and counts what it kept', () => {
    const inp = input([experiment('a', {}, {}), experiment('b', {}, {})]);
    const long = { x: Array.from({ length: 2000 }, (_, i) => i), y: Array.from({ length: 2000 }, (_, i) => 1 / (i + 1)) };
    inp.series.set('a', new Map([['loss', long]]));
    inp.series.set('b', new Map([['loss', { x: [0, 1], y: [0.123456789, 2] }]]));
    const p = buildReportPayload(inp, []);
    expect(p.curves.metrics).toEqual(['loss']);
    expect(p.curves.series[0]!.runs).toEqual([0, 1]);
    expect(p.curves.series[0]!.x[0]!.length).toBe(500);
    expect(p.curves.series[0]!.y[1]).toEqual([0.123457, 2]);
    expect(p.curves.points_logged).toBe(2002);
    expect(p.curves.points_kept).toBe(502);
  });
});

describe('the page', () => {
  it('escapes everything that could close the data block', () => {
    const hostile = { s: '</script><script>alert(1)</script>\u2028<!-- & -->' };
    const text = jsonForScript(hostile);
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(text)).toEqual(hostile);
  });

  it('allows exactly its own script and style by hash', () => {
    const p = buildReportPayload(input([experiment('a', {}, { acc: 1 })]), []);
    const html = renderIncrementReport(p);
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const hash = (t: string) => createHash('sha256').update(t).digest('base64');
    const csp = contentSecurityPolicy(script, style);
    expect(csp).toBe(
      `default-src 'none'; script-src 'sha256-${hash(script)}'; style-src 'sha256-${hash(style)}'; img-src data:; base-uri 'none'; form-action 'none'`,
    );
    expect(html).toContain(`content="${csp.replace(/'/g, '&#39;')}"`);
  });
});
