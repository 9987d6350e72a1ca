/**
 * import_runs from a running MLflow tracking server over its REST API: one real `mlflow server` (SQLite store) for
 * the file, populated by the real mlflow client (mlflow-server.py), read through the MCP tool. Every value is checked
 * against what the script logged; failures (nothing listening, an HTTP server that is not MLflow) are isError
 * results that write nothing.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { MAX_RESPONSE_BYTES } from '../../mcp-server/src/core/http-mlflow.js';
import { scratchDir } from '../helpers/project.js';
import {
  freePort,
  mlflowScript,
  notMlflowServer,
  SKIP_MLFLOW_SERVER,
  SKIP_REASON,
  startMlflowServer,
  type RunningMlflow,
} from './mlflow-server.js';
import type { LoggedRun } from './helpers.js';

if (SKIP_MLFLOW_SERVER) console.warn(`Skipping the MLflow REST import test: ${SKIP_REASON}.`);

interface Logged {
  experiment_id: string;
  other_experiment_id: string;
  other_run_id: string;
  runs: LoggedRun[];
}

const asNumber = (v: unknown) => (typeof v === 'string' ? Number(v) : v);
const sortKey = (p: { metric: string; step: number }) => `${p.metric}\u0000${String(p.step).padStart(8, '0')}`;

describe.skipIf(SKIP_MLFLOW_SERVER)(
  `import_runs from an MLflow tracking server over REST${SKIP_MLFLOW_SERVER ? ` [skipped: ${SKIP_REASON}]` : ''}`,
  () => {
    let server: RunningMlflow;
    let logged: Logged;
    let c: TestClient;
    let root: string;
    let experimentsDir: string;

    beforeAll(async () => {
      server = await startMlflowServer();
      logged = mlflowScript<Logged>('populate', server.url);
    }, 120_000);
    afterAll(async () => server?.stop());

    beforeEach(async () => {
      root = scratchDir();
      c = await inMemoryClient(root);
      experimentsDir = path.join(root, (await c.ok('create_increment', { title: 'From a tracking server' })).path, 'experiments');
    });
    afterEach(async () => c.close());

    const folders = () => (fs.existsSync(experimentsDir) ? fs.readdirSync(experimentsDir).filter((n) => !n.startsWith('.')) : []);

    it('imports every run with its params, full histories, tags, note, status, times, git commit and parent; deleted runs skipped; idempotent', async () => {
      const r = await c.ok('import_runs', { increment: '1', source: server.url });
      const kept = logged.runs.filter((run) => !run.deleted);
      const deleted = logged.runs.filter((run) => run.deleted);
      // The "tabular" experiment's run comes too: the whole server is read.
      expect(r).toMatchObject({
        format: 'mlflow-rest',
        source: server.url,
        imported_count: kept.length + 1,
        already_imported: 0,
        warnings: [],
      });
      expect(r.skipped).toEqual(
        deleted.map((run) => ({ what: expect.stringContaining(run.run_id), reason: 'deleted run (lifecycle_stage: deleted)' })),
      );
      expect(r.imported.map((i: any) => i.run)).toContain(`mlflow:${logged.other_run_id}`);

      for (const run of kept) {
        const entry = r.imported.find((i: any) => i.run === `mlflow:${run.run_id}`);
        expect(entry, run.name).toBeTruthy();
        expect(entry.experiment).toBe(run.name);
        const exp = await c.ok('get_experiment', { increment: '1', name: entry.experiment });
        expect(exp.status).toBe(run.expect_status);
        expect(exp.started).toBe(new Date(run.start_time).toISOString());
        expect(exp.ended).toBe(run.end_time === null ? null : new Date(run.end_time).toISOString());
        expect(Object.fromEntries(Object.entries(exp.params).map(([k, v]) => [k, String(v)]))).toEqual(
          // Python's True is read back as the boolean true.
          Object.fromEntries(Object.entries(run.params).map(([k, v]) => [k, v === 'True' ? 'true' : v])),
        );
        const userTags = Object.entries(run.tags).filter(([k]) => !k.startsWith('mlflow.'));
        expect(exp.tags).toEqual(userTags.map(([k, v]) => `${k}=${v}`).sort());
        expect(exp.notes.map((n: any) => n.text)).toEqual(run.tags['mlflow.note.content'] ? [run.tags['mlflow.note.content']] : []);
        if (run.tags['mlflow.source.git.commit']) expect(exp.git.commit).toBe(run.tags['mlflow.source.git.commit']);
        expect(exp.source).toMatchObject({
          tool: 'mlflow',
          store: 'rest',
          tracking_uri: server.url,
          run_id: run.run_id,
          experiment_id: logged.experiment_id,
          experiment_name: 'vision',
          key: `mlflow:${run.run_id}`,
        });
        expect(exp.source.parent_run_id).toBe(run.parent);

        // The full step history, point by point (NaN and the infinities included), and the summary at the last step.
        const historyFile = path.join(experimentsDir, entry.experiment, 'history.jsonl');
        const history = fs.existsSync(historyFile)
          ? fs
              .readFileSync(historyFile, 'utf8')
              .trim()
              .split('\n')
              .map((line) => JSON.parse(line))
          : [];
        const expected = run.history.map((p) => ({ ...p, timestamp: new Date(p.timestamp).toISOString() }));
        expect([...history].sort((a, b) => sortKey(a).localeCompare(sortKey(b)))).toEqual(
          [...expected].sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
        );
        const lastByMetric = new Map<string, number>();
        for (const p of [...run.history].sort((a, b) => a.step - b.step)) lastByMetric.set(p.metric, Number(p.value));
        expect(Object.keys(exp.metrics).sort()).toEqual([...lastByMetric.keys()].sort());
        for (const [metric, value] of lastByMetric) expect(asNumber(exp.metrics[metric])).toBe(value);
      }
      expect(logged.runs.flatMap((run) => run.history.map((p) => p.value))).toEqual(
        expect.arrayContaining(['NaN', 'Infinity', '-Infinity']),
      );

      const again = await c.ok('import_runs', { increment: '1', source: server.url });
      expect(again).toMatchObject({ imported_count: 0, already_imported: kept.length + 1 });
      expect(folders().length).toBe(kept.length + 1);

      // The server's own database holds the same runs under the same keys: importing it adds nothing.
      fs.copyFileSync(server.dbPath, path.join(root, 'mlflow.db'));
      const fromDb = await c.ok('import_runs', { increment: '1', source: 'mlflow.db' });
      expect(fromDb).toMatchObject({ format: 'mlflow-sqlite', imported_count: 0, already_imported: kept.length + 1 });
    });

    it("the UI's link to one experiment imports only that experiment; ?experiment=<name> too", async () => {
      const one = await c.ok('import_runs', { increment: '1', source: `${server.url}/#/experiments/${logged.other_experiment_id}` });
      expect(one).toMatchObject({ imported_count: 1, imported: [{ run: `mlflow:${logged.other_run_id}` }], skipped: [] });
      const meta = load(fs.readFileSync(path.join(experimentsDir, one.imported[0].experiment, 'metadata.yaml'), 'utf8')) as any;
      expect(meta.source).toMatchObject({ experiment_name: 'tabular', experiment_id: logged.other_experiment_id });
      const byName = await c.ok('import_runs', { increment: '1', source: `${server.url}/?experiment=vision` });
      expect(byName.imported_count).toBe(logged.runs.filter((r) => !r.deleted).length);
      const missing = await c.fails('import_runs', { increment: '1', source: `${server.url}/?experiment=nope` });
      expect(missing).toMatch(/RESOURCE_DOES_NOT_EXIST/);
    });

    it('include_deleted brings the deleted run, marked deleted', async () => {
      const r = await c.ok('import_runs', {
        increment: '1',
        source: `${server.url}/#/experiments/${logged.experiment_id}`,
        include_deleted: true,
      });
      expect(r).toMatchObject({ imported_count: logged.runs.length, skipped_count: 0 });
      const meta = load(fs.readFileSync(path.join(experimentsDir, 'thrown-away', 'metadata.yaml'), 'utf8')) as any;
      expect(meta.source).toMatchObject({ deleted: true, store: 'rest' });
    });

    it('a port nothing listens on, an HTTP server that is not MLflow, a bad URL: clear errors, nothing written', async () => {
      const port = await freePort();
      const unreachable = await c.fails('import_runs', { increment: '1', source: `http://127.0.0.1:${port}` });
      expect(unreachable).toMatch(/No MLflow tracking server is reachable at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
      expect(unreachable).toMatch(/mlflow server --backend-store-uri/);

      const html = await notMlflowServer(404, '<!doctype html><title>Not Found</title>', 'text/html');
      const json = await notMlflowServer(200, '[1, 2, 3]', 'application/json');
      try {
        const e1 = await c.fails('import_runs', { increment: '1', source: html.url });
        expect(e1).toMatch(/is not an MLflow tracking server: experiments\/search answered HTTP 404 \(text\/html\)/);
        expect(html.requests).toEqual(['POST /api/2.0/mlflow/experiments/search']);
        const e2 = await c.fails('import_runs', { increment: '1', source: json.url });
        expect(e2).toMatch(/is not an MLflow tracking server/);
      } finally {
        await html.close();
        await json.close();
      }
      // A redirect is not followed (it could carry the credentials elsewhere).
      const moved = await notMlflowServer(302, '', 'text/html');
      try {
        expect(await c.fails('import_runs', { increment: '1', source: moved.url })).toMatch(
          /redirects experiments\/search to another address \(HTTP 302\)/,
        );
        expect(moved.requests.length).toBe(1);
      } finally {
        await moved.close();
      }
      // A JSON API that answers an empty object: nothing to import, and a warning that it does not look like MLflow.
      const empty = await notMlflowServer(200, '{}', 'application/json');
      try {
        const r = await c.ok('import_runs', { increment: '1', source: empty.url });
        expect(r).toMatchObject({
          imported_count: 0,
          warnings: [expect.stringMatching(/lists no experiments, not even MLflow's "Default"/)],
        });
      } finally {
        await empty.close();
      }

      expect(await c.fails('import_runs', { increment: '1', source: 'http://user:secret@127.0.0.1:1' })).toMatch(/MLFLOW_TRACKING_TOKEN/);
      expect(await c.fails('import_runs', { increment: '1', source: `${server.url}/#/runs` })).toMatch(/#\/experiments\/<id>/);
      expect(await c.fails('import_runs', { increment: '1', source: server.url, format: 'mlflow' })).toMatch(/reads a folder/);
      expect(await c.fails('import_runs', { increment: '1', source: '.', format: 'mlflow-rest' })).toMatch(/pass the server URL/i);
      expect(await c.fails('import_runs', { increment: '1', source: '127.0.0.1:5000' })).toMatch(
        /without http:\/\/\.\nPass "http:\/\/127\.0\.0\.1:5000"/,
      );
      expect(folders()).toEqual([]);
    });

    it('an answer larger than the cap is cut off with an error, whether or not it declares its length', async () => {
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const endless = http.createServer((req, res) => {
        if (req.url?.includes('declared')) {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_RESPONSE_BYTES + 1) });
          res.write('{');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        const more = () => {
          while (!res.destroyed && sent < 4 * MAX_RESPONSE_BYTES) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', more);
          }
          res.end();
        };
        more();
      });
      await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(endless.address() as AddressInfo).port}`;
      try {
        const streamed = await c.fails('import_runs', { increment: '1', source: base });
        expect(streamed).toMatch(/answered experiments\/search with more than 64 MiB/);
        // The client stopped reading soon after the cap, not at the end of the 256 MiB the server offered.
        expect(sent).toBeLessThan(2 * MAX_RESPONSE_BYTES);
        const declared = await c.fails('import_runs', { increment: '1', source: `${base}/declared` });
        expect(declared).toMatch(/more than 64 MiB/);
      } finally {
        endless.closeAllConnections();
        await new Promise<void>((resolve) => endless.close(() => resolve()));
      }
      expect(folders()).toEqual([]);
    });

    it('the tool says it may reach the network', async () => {
      const { tools } = await c.client.listTools();
      expect(tools.find((t) => t.name === 'import_runs')!.annotations).toMatchObject({ openWorldHint: true });
    });
  },
);
