/** sync_docs names the version in production now, from the registry's event log: after a rollback, only the old one. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { gitProject } from '../helpers/project.js';
import { passingIncrement } from '../helpers/scenario.js';

let c: TestClient;
let root: string;
let inc: string;
const read = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');
const sha = (rel: string) => JSON.parse(read(rel)).artifact.sha256 as string;

beforeEach(async () => {
  root = gitProject();
  c = await inMemoryClient(root);
  inc = await passingIncrement(c, root);
});
afterEach(async () => c.close());

describe('sync_docs with the model registry', () => {
  it('shows the production version in ml-models.md and the runbook, and follows a rollback', async () => {
    const before = await c.ok('sync_docs', { increment: inc });
    const [modelsDoc, , runbook] = before.changes.map((ch: { path: string }) => ch.path);
    expect(read(modelsDoc)).not.toMatch(/In production/);

    const v1 = await c.ok('register_model', { name: 'churn', increment: inc, experiment: 'logreg' });
    const v2 = await c.ok('register_model', { name: 'churn', increment: inc, experiment: 'random-forest' });
    let sync = await c.ok('sync_docs', { increment: inc });
    expect(read(modelsDoc)).toMatch(
      /- Registered as churn \(latest 1\.0\.1\); no version in production yet; registry `\.specweave\/registry\/churn`/,
    );

    await c.ok('promote_model', { name: 'churn', version: '1.0.0', stage: 'production' });
    const promoted = await c.call('promote_model', { name: 'churn', version: '1.0.1', stage: 'production' });
    expect((promoted.content[0] as { text: string }).text).toMatch(
      /churn 1\.0\.1 now holds production \(was 1\.0\.0\)[^]*sync_docs updates/,
    );
    sync = await c.ok('sync_docs', { increment: inc });
    expect(sync.changes.map((ch: { action: string }) => ch.action)).toEqual(['update', 'unchanged', 'update']);
    const line = (v: string, exp: string, file: string) =>
      `- In production: **churn ${v}** (${inc}/${exp}, sha256 ${sha(file).slice(0, 12)}…`;
    expect(read(modelsDoc)).toContain(line('1.0.1', 'random-forest', v2.path));
    expect(read(runbook)).toContain(line('1.0.1', 'random-forest', v2.path));
    expect(read(runbook)).toMatch(/Roll back with rollback_model/);

    await c.ok('rollback_model', { name: 'churn', stage: 'production' });
    await c.ok('sync_docs', { increment: inc });
    for (const doc of [read(modelsDoc), read(runbook)]) {
      expect(doc).toContain(line('1.0.0', 'logreg', v1.path));
      // Exactly one production line: never both versions.
      expect(doc.match(/In production:/g)).toHaveLength(1);
      expect(doc).not.toContain('churn 1.0.1**');
    }
    // A second sync changes nothing: the text depends only on the files.
    const again = await c.ok('sync_docs', { increment: inc });
    expect(again.changes.map((ch: { action: string }) => ch.action)).toEqual(['unchanged', 'unchanged', 'unchanged']);
  });
});
