/**
 * The hostile repository through the real bundle over stdio (run `npm run build` first): a subset of the symlink
 * placements, each tool against the places it reads or writes, served one after another by ONE server process,
 * which must answer every case and the next; and a request of 10 MB, which must get an error while the server goes
 * on answering.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stdioClient, type TestClient } from '../helpers/client.js';
import { BUNDLE } from '../helpers/project.js';
import {
  DOCS,
  EXP,
  INC,
  judge,
  DEPLOY,
  MLFLOW_RUN,
  mlflowStub,
  MODEL,
  PLACEMENTS,
  prepareCase,
  rawSession,
  snapshot,
  targetsOf,
  TOOL_CALLS,
  type Verdict,
  templateWorkspace,
  workDir,
  Workspace,
  writeFigures,
} from './hostile.js';

/** For each tool, the places it reads or writes most directly. */
const SUBSET: Record<string, string[]> = {
  create_increment: ['.specweave/increments', '.specweave/increments/.create.lock'],
  list_increments: ['.specweave/increments', `${INC}/metadata.json`],
  track_experiment: [EXP, `${EXP}/history.jsonl`],
  list_experiments: [`${INC}/experiments`, `${EXP}/metrics.json`],
  get_experiment: [`${EXP}/params.json`, `${EXP}/metadata.yaml`],
  compare_experiments: [`${INC}/experiments/comparison.md`, `${EXP}/metrics.json`],
  evaluate_predictions: [`${EXP}/predictions.csv`, `${EXP}/evaluation-report.md`],
  compare_predictions: [`${EXP}/evaluation.json`, `${INC}/experiments/comparison.md`],
  validate_increment: [`${INC}/spec.md`, `${INC}/metadata.json`],
  sync_docs: [DOCS, `${DOCS}/architecture/ml-models.md`],
  update_task: [`${INC}/tasks.md`, `${INC}/.lock`],
  update_increment: [`${INC}/spec.md`, `${INC}/metadata.json`],
  import_runs: [`${MLFLOW_RUN}/meta.yaml`, 'dvc/.git'],
  register_model: [`${MODEL}/versions`, `${EXP}/model.pkl`],
  promote_model: [`${MODEL}/events.jsonl`, `${MODEL}/versions/1.0.0.json`],
  rollback_model: [`${MODEL}/events.jsonl`, `${MODEL}/.lock`],
  get_model: [`${MODEL}/versions/1.1.0.json`, `${MODEL}/events.jsonl`],
  list_models: ['.specweave/registry', MODEL],
  scaffold_deployment: [DEPLOY, `${EXP}/input_schema.json`],
  complete_increment: [`${INC}/COMPLETION-SUMMARY.md`, `${INC}/metadata.json`],
  export_experiments: [`${INC}/experiments/export.json`, `${EXP}/metrics.json`],
  render_report: [`${INC}/report.html`, '.specweave/report.html'],
  export_to_mlflow: [`${EXP}/params.json`, `${EXP}/history.jsonl`],
};

const cases = Object.entries(SUBSET).flatMap(([tool, ats]) =>
  ats.flatMap((at) => {
    const placement = PLACEMENTS.find((p) => p.at === at);
    if (!placement) throw new Error(`no placement ${at}`);
    return targetsOf(placement).map((target) => ({ tool, at, placement, target }));
  }),
);

describe('the bundle over stdio', () => {
  let work = '';
  let ws: Workspace;
  let server: TestClient & { stderr: () => string };
  const verdicts: Verdict[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build`);
    work = workDir();
    ws = await templateWorkspace(work);
    server = await stdioClient(['--root', ws.root]);
    await mlflowStub.start();
  });

  afterAll(async () => {
    writeFigures('symlinks-stdio', verdicts);
    await mlflowStub.stop();
    await server?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('lists the same tools as the table', async () => {
    const listed = (await server.client.listTools()).tools.map((t) => t.name).sort();
    expect(listed).toEqual(Object.keys(TOOL_CALLS).sort());
    expect(Object.keys(SUBSET).sort()).toEqual(listed);
  });

  it.each(cases)('$tool with a link at $at to $target', async ({ tool, placement, target }) => {
    const k = prepareCase(ws, placement, target, work);
    const before = snapshot(k.outside);
    const stderrBefore = server.stderr().length;
    const result = await server.call(tool, TOOL_CALLS[tool]!(placement)).catch((e: Error) => e);
    const { escapes, error } = await judge(server, k, before, result, server.stderr().slice(stderrBefore));
    verdicts.push({ tool, placement: placement.at, target, via: 'stdio', escapes, error });
    fs.rmSync(k.sandbox, { recursive: true, force: true });
    expect(escapes).toEqual([]);
  });
});

describe('an oversized request over stdio', () => {
  it('gets a JSON-RPC error for a 10 MB line, and the server answers the requests before and after it', async () => {
    const work = workDir();
    const s = rawSession(work);
    try {
      s.send({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'hostile', version: '0' } },
      });
      expect((await s.response(1)).result.serverInfo).toBeTruthy();
      s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      const huge = JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'create_increment', arguments: { title: 'x'.repeat(10 * 1024 * 1024) } },
      });
      expect(huge.length).toBeGreaterThan(10 * 1024 * 1024);
      s.send(huge);
      s.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_increments', arguments: {} } });
      const refused = await s.response(2);
      expect(refused.error?.message).toMatch(/too large|limit/i);
      expect(refused.result).toBeUndefined();
      const after = await s.response(3);
      expect(after.result.isError).not.toBe(true);
      // Nothing of the oversized request was acted on: no increment was created.
      const incDir = path.join(work, '.specweave/increments');
      expect(fs.existsSync(incDir) ? fs.readdirSync(incDir).filter((n) => /^\d/.test(n)) : []).toEqual([]);
      // Twice in a row, and a last ordinary call still answered.
      s.send(huge.replace('"id":2', '"id":4'));
      s.send({ jsonrpc: '2.0', id: 5, method: 'tools/list', params: {} });
      expect((await s.response(4)).error).toBeTruthy();
      expect((await s.response(5)).result.tools.length).toBeGreaterThan(10);
      expect(s.child.exitCode).toBeNull();
    } finally {
      s.child.kill();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
