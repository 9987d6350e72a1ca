/**
 * export_to_mlflow against a real `mlflow server` (one per file, SQLite store), read back with the real mlflow
 * client (search_runs, get_metric_history) through test/importers/mlflow-server.py. Checks every exported value
 * against the increment's own files, that a second export creates nothing and duplicates no history point, that a
 * change is sent as an update, and that failures are isError results that touch neither side.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMlflowKey } from '../../mcp-server/src/core/mlflow-export.js';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';
import {
  freePort,
  mlflowScript,
  notMlflowServer,
  SKIP_MLFLOW_SERVER,
  SKIP_REASON,
  startMlflowServer,
  PYTHON,
  type RunningMlflow,
} from '../importers/mlflow-server.js';

if (SKIP_MLFLOW_SERVER) console.warn(`Skipping the export_to_mlflow test: ${SKIP_REASON}.`);

interface ReadRun {
  run_id: string;
  name: string;
  status: string;
  start_time: number;
  end_time: number | null;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, number | string>;
  history: { metric: string; value: number | string; step: number; timestamp: number }[];
}
interface ReadBack {
  experiment: { id: string; name: string } | null;
  runs: ReadRun[];
}

const DBL_MAX = 1.7976931348623157e308;
/** A value as the client reads it back: SQL stores keep ±Infinity as ±DBL_MAX. */
const norm = (v: number | string) =>
  v === DBL_MAX ? 'Infinity' : v === -DBL_MAX ? '-Infinity' : typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v;
const byPoint = (a: { metric: string; step: number; timestamp: number }, b: typeof a) =>
  a.metric.localeCompare(b.metric) || a.step - b.step || a.timestamp - b.timestamp;
const LONG = 1500; // more points than one log-batch request may carry

describe.skipIf(SKIP_MLFLOW_SERVER)(
  `export_to_mlflow to a real tracking server${SKIP_MLFLOW_SERVER ? ` [skipped: ${SKIP_REASON}]` : ''}`,
  () => {
    let server: RunningMlflow;
    let c: TestClient;
    let root: string;
    let incDir: string;
    let incId: string;
    let logged: any;

    const readBack = (name: string) => mlflowScript<ReadBack>('read', server.url, name);
    const runOf = (back: ReadBack, experiment: string) => back.runs.find((r) => r.tags['specweave.experiment'] === experiment)!;
    /** The specweave experiment's history file, as points with epoch-ms times. */
    const historyOf = (experiment: string) => {
      const file = path.join(incDir, 'experiments', experiment, 'history.jsonl');
      if (!fs.existsSync(file)) return [];
      return fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .map((p) => ({ metric: p.metric, value: p.value, step: p.step, timestamp: Date.parse(p.timestamp) }));
    };
    /** Every file under .specweave with its content, to prove a failed call wrote nothing. */
    const snapshot = (dir = path.join(root, '.specweave')): Record<string, string> =>
      Object.fromEntries(
        fs
          .readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => {
            const p = path.join(e.parentPath, e.name);
            return [path.relative(dir, p), fs.readFileSync(p, 'utf8')];
          }),
      );

    beforeAll(async () => {
      server = await startMlflowServer();
      logged = mlflowScript('populate', server.url);
      root = scratchDir();
      c = await inMemoryClient(root);
      const inc = await c.ok('create_increment', { title: 'Churn model' });
      incDir = path.join(root, inc.path);
      incId = path.basename(inc.path);
      await c.ok('track_experiment', {
        increment: '1',
        name: 'logreg',
        params: { lr: 0.01, depth: 3, use_bn: true, solver: 'lbfgs', grid: { c: [0.1, 1] } },
        metrics: { accuracy: 0.8, weird: 'Infinity', gap: 'NaN' },
        history: [0, 1, 2, 3, 4].map((step) => ({ metric: 'loss', value: 1 / (step + 1), step })),
        tags: ['team=churn', 'quick'],
        note: 'first try',
        baseline: true,
        status: 'completed',
      });
      await c.ok('track_experiment', {
        increment: '1',
        name: 'long-run',
        params: { epochs: LONG },
        history: Array.from({ length: LONG }, (_, step) => ({ metric: 'loss', value: Math.exp(-step / 300), step })),
        status: 'running',
      });
      // Wider than one log-batch request may carry (100 params, 100 tags), and a param name MLflow refuses.
      await c.ok('track_experiment', {
        increment: '1',
        name: 'wide',
        params: { ...Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`p${i}`, i])), 'odd@name': 1 },
        metrics: { score: 0.5 },
        tags: Array.from({ length: 150 }, (_, i) => `t${i}=${i}`),
      });
      // Runs imported from the server's "vision" experiment: a nested pair, git commit, NaN and infinities.
      await c.ok('import_runs', { increment: '1', source: `${server.url}/#/experiments/${logged.experiment_id}` });
    }, 180_000);
    afterAll(async () => {
      await c?.close();
      await server?.stop();
    });

    it('exports every experiment as a run: params, full histories, tags, note, status, times, git commit and parent', async () => {
      const names = fs.readdirSync(path.join(incDir, 'experiments')).filter((n) => !n.startsWith('.') && !n.startsWith('_'));
      expect(names.length).toBe(3 + logged.runs.filter((r: any) => !r.deleted).length);
      const r = await c.ok('export_to_mlflow', { increment: '1', tracking_uri: server.url, experiment_name: 'shared' });
      expect(r).toMatchObject({
        increment: incId,
        experiment_name: 'shared',
        created: names.length,
        updated: 0,
        unchanged: 0,
      });
      expect(r.warnings).toEqual(['wide: param "odd@name" not exported: MLflow refuses that name.']);
      expect(r.url).toBe(`${server.url}/#/experiments/${r.experiment_id}`);

      const back = readBack('shared');
      expect(back.experiment).toEqual({ id: r.experiment_id, name: 'shared' });
      expect(back.runs.length).toBe(names.length);
      for (const name of names) {
        const exp = await c.ok('get_experiment', { increment: '1', name });
        const run = runOf(back, name);
        expect(run, name).toBeTruthy();
        expect(r.runs).toContainEqual({ experiment: name, run_id: run.run_id, action: 'created' });
        expect(run.name).toBe(name);
        expect(run.tags['specweave.run_key']).toBe(`${incId}/${name}`);
        expect(run.status).toBe({ completed: 'FINISHED', running: 'RUNNING', failed: 'FAILED', killed: 'KILLED' }[exp.status as string]);
        expect(run.start_time).toBe(Date.parse(exp.started));
        if (exp.status !== 'running') expect(run.end_time).toBe(Date.parse(exp.ended));
        // Params as Python's mlflow.log_param writes the same values.
        const asText = (v: unknown) =>
          typeof v === 'boolean'
            ? v
              ? 'True'
              : 'False'
            : typeof v === 'string'
              ? v
              : typeof v === 'number'
                ? String(v)
                : JSON.stringify(v);
        const sent = Object.entries(exp.params).filter(([k]) => k !== 'odd@name');
        expect(run.params).toEqual(Object.fromEntries(sent.map(([k, v]) => [k, asText(v)])));
        for (const tag of exp.tags as string[]) {
          const [k, v = ''] = tag.split(/=(.*)/s);
          expect(run.tags[k!], tag).toBe(v);
        }
        expect(run.tags['mlflow.note.content']).toBe(exp.notes.length ? exp.notes.map((n: any) => n.text).join('\n\n') : undefined);
        expect(run.tags['mlflow.source.git.commit']).toBe(exp.git?.commit ?? undefined);
        expect(run.tags['specweave.baseline']).toBe(exp.baseline ? 'true' : undefined);
        // The latest value of every metric is the experiment's summary (NaN and infinities included).
        expect(Object.fromEntries(Object.entries(run.metrics).map(([k, v]) => [k, norm(v)]))).toEqual(
          Object.fromEntries(Object.entries(exp.metrics).map(([k, v]) => [k, norm(v as number | string)])),
        );
        // Every history point, exactly once; a summary metric without history is one point at the run's end.
        const end = Date.parse(exp.ended ?? exp.started);
        const summaryOnly = Object.entries(exp.metrics)
          .filter(([m]) => !historyOf(name).some((p) => p.metric === m))
          .map(([metric, value]) => ({ metric, value: norm(value as number), step: 0, timestamp: end }));
        const expected = [...historyOf(name).map((p) => ({ ...p, value: norm(p.value) })), ...summaryOnly].sort(byPoint);
        expect(run.history.map((p) => ({ ...p, value: norm(p.value) })).sort(byPoint), name).toEqual(expected);
      }
      expect(runOf(back, 'long-run').history.length).toBe(LONG);
      expect(Object.keys(runOf(back, 'wide').params).length).toBe(250);
      expect(Object.keys(runOf(back, 'wide').tags).filter((k) => /^t\d+$/.test(k)).length).toBe(150);
      // The nested pair keeps its nesting: the child's parent is the exported parent run.
      const child = logged.runs.find((x: any) => x.parent);
      const parentName = logged.runs.find((x: any) => x.run_id === child.parent).name;
      expect(runOf(back, child.name).tags['mlflow.parentRunId']).toBe(runOf(back, parentName).run_id);
      expect(runOf(back, 'logreg').tags['mlflow.parentRunId']).toBeUndefined();
    }, 120_000);

    it('exporting again creates nothing and duplicates no point; a change is sent as an update', async () => {
      const before = readBack('shared');
      const again = await c.ok('export_to_mlflow', { increment: '1', tracking_uri: server.url, experiment_name: 'shared' });
      expect(again).toMatchObject({ created: 0, updated: 0, unchanged: before.runs.length });
      const after = readBack('shared');
      expect(after.runs.map((r) => [r.run_id, r.history.length]).sort()).toEqual(
        before.runs.map((r) => [r.run_id, r.history.length]).sort(),
      );

      await c.ok('track_experiment', {
        increment: '1',
        name: 'long-run',
        params: { epochs: LONG, batch: 64 },
        history: [{ metric: 'loss', value: 0.001, step: LONG }],
        tags: ['finished-late'],
        status: 'completed',
      });
      await c.ok('track_experiment', { increment: '1', name: 'logreg', params: { lr: 0.02 } });
      const changed = await c.ok('export_to_mlflow', { increment: '1', tracking_uri: server.url, experiment_name: 'shared' });
      // logreg's only change is a param MLflow will not change: nothing is sent, and the warning says so.
      expect(changed).toMatchObject({ created: 0, updated: 1, unchanged: before.runs.length - 1 });
      expect(changed.runs.filter((x: any) => x.action !== 'unchanged').map((x: any) => x.experiment)).toEqual(['long-run']);
      expect(changed.warnings).toEqual([
        expect.stringMatching(/^logreg: param lr is "0\.01" in MLflow run \w+ and "0\.02" here; MLflow does not change a logged param/),
        'wide: param "odd@name" not exported: MLflow refuses that name.',
      ]);
      const final = readBack('shared');
      const longRun = runOf(final, 'long-run');
      expect(longRun.history.length).toBe(LONG + 1);
      expect(longRun).toMatchObject({ status: 'FINISHED', params: { epochs: String(LONG), batch: '64' }, metrics: { loss: 0.001 } });
      expect(longRun.tags['finished-late']).toBe('');
      expect(final.runs.length).toBe(before.runs.length);
    }, 120_000);

    it('the MLflow experiment defaults to the increment id; runs of another increment are not touched', async () => {
      const r = await c.ok('export_to_mlflow', { increment: '1', tracking_uri: `${server.url}/` });
      expect(r).toMatchObject({ experiment_name: incId, tracking_uri: server.url });
      expect(readBack(incId).runs.length).toBe(r.created);

      // A second increment exported into the same MLflow experiment: its own run, keyed by its own id.
      const other = await c.ok('create_increment', { title: 'Other model' });
      await c.ok('track_experiment', { increment: '2', name: 'logreg', params: { lr: 0.5 }, metrics: { accuracy: 0.6 } });
      const before = readBack('shared');
      const second = await c.ok('export_to_mlflow', { increment: '2', tracking_uri: server.url, experiment_name: 'shared' });
      expect(second).toMatchObject({ created: 1, updated: 0, unchanged: 0, warnings: [] });
      const after = readBack('shared');
      expect(after.runs.length).toBe(before.runs.length + 1);
      expect(after.runs.find((x) => x.run_id === second.runs[0].run_id)).toMatchObject({
        params: { lr: '0.5' },
        tags: { 'specweave.run_key': `${path.basename(other.path)}/logreg` },
      });
      const first = await c.ok('export_to_mlflow', { increment: '1', tracking_uri: server.url, experiment_name: 'shared' });
      expect(first).toMatchObject({ created: 0, updated: 0, unchanged: before.runs.length });
    }, 120_000);

    it('nothing listening, an HTTP server that is not MLflow, a URL with a fragment: clear errors, nothing written', async () => {
      const files = snapshot();
      const port = await freePort();
      const unreachable = await c.fails('export_to_mlflow', { increment: '1', tracking_uri: `http://127.0.0.1:${port}` });
      expect(unreachable).toMatch(/No MLflow tracking server is reachable at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)[^]*mlflow server/);
      const html = await notMlflowServer(200, '<html>hello</html>', 'text/html');
      try {
        const e = await c.fails('export_to_mlflow', { increment: '1', tracking_uri: html.url, experiment_name: 'never' });
        expect(e).toMatch(/is not an MLflow tracking server: experiments\/get-by-name answered HTTP 200 \(text\/html\)/);
        expect(html.requests).toEqual(['GET /api/2.0/mlflow/experiments/get-by-name?experiment_name=never']);
      } finally {
        await html.close();
      }
      expect(await c.fails('export_to_mlflow', { increment: '1', tracking_uri: `${server.url}/#/experiments/1` })).toMatch(
        /experiment_name/,
      );
      expect(await c.fails('export_to_mlflow', { increment: '1', tracking_uri: 'mlruns' })).toMatch(/not a URL|not an http/);
      expect(readBack('never').experiment).toBeNull();
      expect(snapshot()).toEqual(files);
    }, 120_000);
  },
);

describe.skipIf(SKIP_MLFLOW_SERVER)('the names export_to_mlflow leaves out', () => {
  it("are exactly those MLflow's own validator refuses", () => {
    const names = [
      'loss',
      'val loss',
      'a/b',
      'a:b',
      'a.b-c_d',
      'é_1',
      '日本',
      '/a',
      'a/',
      'a//b',
      'a/./b',
      '../a',
      '.',
      '..',
      'a@b',
      'a=b',
      'f1[0]',
      '',
      'x'.repeat(250),
      'x'.repeat(251),
    ];
    const script = [
      'import json, sys',
      'from mlflow.utils.validation import validate_param_and_metric_name, path_not_unique, MAX_ENTITY_KEY_LENGTH',
      'names = json.load(sys.stdin)',
      'print(json.dumps([bool(n) and bool(validate_param_and_metric_name(n)) and not path_not_unique(n) and len(n) <= MAX_ENTITY_KEY_LENGTH for n in names]))',
    ].join('\n');
    const accepted = JSON.parse(execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(names), encoding: 'utf8', timeout: 60_000 }));
    expect(names.map(isMlflowKey)).toEqual(accepted);
    expect(accepted).toContain(false);
    expect(accepted).toContain(true);
  }, 60_000);
});
