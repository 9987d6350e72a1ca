/**
 * MCP resources through the SDK's real client: what resources/list shows (paged), what each read returns compared
 * with the files on disk, the links tool results carry, the MCP Apps view, and refusals for hostile URIs and links.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { RESOURCE_PAGE_SIZE, REPORT_APP_URI, MCP_APP_MIME } from '../../mcp-server/src/mcp/resources.js';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { gitProject, scratchDir } from '../helpers/project.js';
import { passingIncrement } from '../helpers/scenario.js';

let root: string;
let c: TestClient;
let incId: string;

beforeAll(async () => {
  root = gitProject();
  c = await inMemoryClient(root);
  const inc = await c.ok('create_increment', {
    title: 'Churn model',
    problem_type: 'classification',
    primary_metric: 'roc_auc',
  });
  incId = inc.increment;
  await c.ok('track_experiment', { increment: incId, name: 'baseline', baseline: true, params: { C: 1 }, metrics: { roc_auc: 0.7 } });
  await c.ok('track_experiment', { increment: incId, name: 'rf', params: { n_estimators: 100 }, metrics: { roc_auc: 0.81 } });
});

afterAll(async () => {
  await c.close();
});

async function listAll(client: TestClient['client']) {
  const all: { uri: string; name: string; mimeType?: string }[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const r = await client.listResources(cursor ? { cursor } : undefined);
    all.push(...r.resources);
    cursor = r.nextCursor;
    pages++;
  } while (cursor);
  return { all, pages };
}

const links = (r: CallToolResult) => r.content.filter((x) => x.type === 'resource_link') as { uri: string; name: string }[];

describe('MCP resources', () => {
  it('lists increments and experiments, and reads each back as the files say', async () => {
    const { all } = await listAll(c.client);
    const uris = all.map((r) => r.uri);
    expect(uris).toContain(`specweave://increments/${incId}`);
    expect(uris).toContain(`specweave://increments/${incId}/experiments/baseline`);
    expect(uris).toContain(`specweave://increments/${incId}/experiments/rf`);
    expect(uris).toContain(REPORT_APP_URI);
    // No comparison yet, so none is listed.
    expect(uris).not.toContain(`specweave://increments/${incId}/comparison`);

    const inc = await c.client.readResource({ uri: `specweave://increments/${incId}` });
    const body = JSON.parse((inc.contents[0] as { text: string }).text);
    const onDisk = JSON.parse(fs.readFileSync(path.join(root, '.specweave/increments', incId, 'metadata.json'), 'utf8'));
    expect(body.metadata).toEqual(onDisk);
    expect(body.experiments.map((e: { name: string }) => e.name).sort()).toEqual(['baseline', 'rf']);

    const exp = await c.client.readResource({ uri: `specweave://increments/${incId}/experiments/rf` });
    const rec = JSON.parse((exp.contents[0] as { text: string }).text);
    expect(rec.metrics).toEqual(
      JSON.parse(fs.readFileSync(path.join(root, '.specweave/increments', incId, 'experiments/rf/metrics.json'), 'utf8')),
    );
    expect(rec.params).toEqual({ n_estimators: 100 });
    expect(rec.baseline).toBe(false);
  });

  it('tool results link the files they name; the links read back the same bytes', async () => {
    const r = (await c.client.callTool({ name: 'compare_experiments', arguments: { increment: incId } })) as CallToolResult;
    expect(r.isError).toBeFalsy();
    expect(r.content[0]!.type).toBe('text');
    const l = links(r);
    const comparison = l.find((x) => x.uri === `specweave://increments/${incId}/comparison`);
    expect(comparison, JSON.stringify(l)).toBeDefined();
    const read = await c.client.readResource({ uri: comparison!.uri });
    expect((read.contents[0] as { text: string }).text).toBe(
      fs.readFileSync(path.join(root, '.specweave/increments', incId, 'experiments/comparison.md'), 'utf8'),
    );
    // Now the comparison exists it is listed too.
    const { all } = await listAll(c.client);
    expect(all.map((x) => x.uri)).toContain(comparison!.uri);

    const g = (await c.client.callTool({ name: 'get_experiment', arguments: { increment: incId, name: 'rf' } })) as CallToolResult;
    expect(links(g).map((x) => x.uri)).toContain(`specweave://increments/${incId}/experiments/rf`);
  });

  it('reads any file under .specweave/ through specweave://files/, and refuses traversal, links and missing files', async () => {
    const spec = await c.client.readResource({ uri: `specweave://files/increments/${incId}/spec.md` });
    expect(spec.contents[0]!.mimeType).toBe('text/markdown');
    expect((spec.contents[0] as { text: string }).text).toBe(
      fs.readFileSync(path.join(root, '.specweave/increments', incId, 'spec.md'), 'utf8'),
    );

    const secret = path.join(scratchDir(), 'secret.txt');
    fs.writeFileSync(secret, 'TOKEN-outside-the-project');
    fs.symlinkSync(secret, path.join(root, '.specweave/increments', incId, 'leak.md'));
    for (const uri of [
      `specweave://files/increments/${incId}/leak.md`,
      'specweave://files/..%2F..%2Fetc%2Fpasswd',
      'specweave://files/increments/%2E%2E/%2E%2E/train.py',
      `specweave://increments/${incId}/experiments/..%2F..%2F..`,
      'specweave://files/increments/nothing-here.md',
      'specweave://increments/9999',
    ]) {
      const err = await c.client.readResource({ uri }).then(
        () => null,
        (e: Error) => e,
      );
      expect(err, uri).toBeInstanceOf(Error);
      expect(err!.message).not.toContain('TOKEN-outside');
    }
  });

  it('pages resources/list: every resource once, in pages of at most RESOURCE_PAGE_SIZE', async () => {
    const big = gitProject();
    const client = await inMemoryClient(big);
    try {
      const inc = await client.ok('create_increment', { title: 'Many', problem_type: 'regression', primary_metric: 'rmse' });
      const expDir = path.join(big, '.specweave/increments', inc.increment, 'experiments');
      // Written as files directly: the listing is what is under test, not the tracking tool.
      const n = RESOURCE_PAGE_SIZE + 37;
      for (let i = 0; i < n; i++) {
        const d = path.join(expDir, `run-${String(i).padStart(4, '0')}`);
        fs.mkdirSync(d, { recursive: true });
        fs.writeFileSync(path.join(d, 'params.json'), '{}\n');
        fs.writeFileSync(path.join(d, 'metrics.json'), `{"rmse": ${i}}\n`);
      }
      const { all, pages } = await listAll(client.client);
      expect(pages).toBe(2);
      const experiments = all.filter((r) => r.uri.includes('/experiments/'));
      expect(experiments).toHaveLength(n);
      expect(new Set(all.map((r) => r.uri)).size).toBe(all.length);
      await expect(client.client.listResources({ cursor: 'not-a-cursor' })).rejects.toThrow(/cursor/);
    } finally {
      await client.close();
    }
  });

  it('offers the report as an MCP Apps view, linked from render_report when that tool exists', async () => {
    const { tools } = await c.client.listTools();
    const render = tools.find((t) => t.name === 'render_report');
    if (render) expect((render._meta as { ui?: { resourceUri?: string } })?.ui?.resourceUri).toBe(REPORT_APP_URI);
    for (const t of tools.filter((x) => x.name !== 'render_report')) expect(t._meta?.ui).toBeUndefined();
    const before = await c.client.readResource({ uri: REPORT_APP_URI });
    expect(before.contents[0]!.mimeType).toBe(MCP_APP_MIME);
    expect((before.contents[0] as { text: string }).text).toMatch(/render_report/);
    // The view shows the newest report written.
    const report = path.join(root, '.specweave/increments', incId, 'report.html');
    fs.writeFileSync(report, '<!doctype html><title>r</title><p>the increment report</p>');
    const after = await c.client.readResource({ uri: REPORT_APP_URI });
    expect((after.contents[0] as { text: string }).text).toContain('the increment report');
    const direct = await c.client.readResource({ uri: `specweave://increments/${incId}/report` });
    expect((direct.contents[0] as { text: string }).text).toContain('the increment report');
    fs.rmSync(report);
  });

  it('lists and reads registered models; register_model links its version record and the model', async () => {
    const proj = gitProject();
    const client = await inMemoryClient(proj);
    try {
      const inc = await passingIncrement(client, proj);
      const r = (await client.client.callTool({
        name: 'register_model',
        arguments: { name: 'churn', increment: inc, experiment: 'logreg' },
      })) as CallToolResult;
      expect(r.isError).toBeFalsy();
      expect(links(r).length).toBeGreaterThan(0);
      await client.ok('promote_model', { name: 'churn', version: '1.0.0', stage: 'staging' });
      const { all } = await listAll(client.client);
      expect(all.map((x) => x.uri)).toContain('specweave://registry/churn');
      const read = await client.client.readResource({ uri: 'specweave://registry/churn' });
      const model = JSON.parse((read.contents[0] as { text: string }).text);
      expect(model.versions.map((v: { version: string }) => v.version)).toEqual(['1.0.0']);
      expect(model.stages).toEqual([expect.objectContaining({ stage: 'staging', version: '1.0.0' })]);
      const got = await client.ok('get_model', { name: 'churn' });
      expect(model.events).toEqual(got.events);
      await expect(client.client.readResource({ uri: 'specweave://registry/nope' })).rejects.toThrow(/No model "nope"/);
    } finally {
      await client.close();
    }
  });
});
