/**
 * The hostile repository, part 1: every tool × a symbolic link at each place of the increment level of the store
 * (the .specweave folder, increments, increment files, lock files) × a link to an outside file and to an outside
 * folder. Nothing outside may change, the secret token may show nowhere, the server must go on answering.
 * Figures go to .test-results/security.json (see docs/security.md). The other parts: hostile-experiments.test.ts,
 * hostile-sources.test.ts, hostile-stdio.test.ts, hostile-bombs.test.ts, hostile-crash.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { inMemoryClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';
import {
  buildTemplate,
  DOCS,
  INC,
  judge,
  mlflowStub,
  prepareCase,
  runMatrix,
  snapshot,
  STORE_PLACEMENTS,
  TOOLS,
  workDir,
  Workspace,
} from './hostile.js';

it('the table calls every tool the server lists', async () => {
  const dir = scratchDir();
  const c = await inMemoryClient(dir);
  const listed = (await c.client.listTools()).tools.map((t) => t.name).sort();
  await c.close();
  expect(listed).toEqual([...TOOLS].sort());
});

const INCREMENT_LEVEL = STORE_PLACEMENTS.filter(
  (p) => !p.at.startsWith(`${INC}/experiments/`) && !p.at.startsWith('.specweave/docs') && !p.at.startsWith('.specweave/registry'),
);

runMatrix('store-increments', INCREMENT_LEVEL, () => TOOLS);

it('the judge catches a writer that follows the link, a leaked token and a copied secret', async () => {
  const work = workDir();
  try {
    const template = path.join(work, 'template');
    fs.mkdirSync(template);
    const c = await inMemoryClient(template);
    await buildTemplate(c, template);
    await c.close();
    const ws = new Workspace(template, path.join(work, 'project'));
    const placement = STORE_PLACEMENTS.find((p) => p.at.endsWith('/history.jsonl'))!;
    const k = prepareCase(ws, placement, 'file', work);
    const before = snapshot(k.outside);
    const fake = await inMemoryClient(k.root);
    // What the server did before the sandbox: appended through the link, echoed the file, copied it into the docs.
    fs.appendFileSync(path.join(k.root, placement.at), 'echo pwned\n');
    fs.writeFileSync(path.join(k.root, DOCS, 'architecture/ml-models.md'), fs.readFileSync(path.join(k.root, placement.at)));
    // And an exporter that sent what it read to the MLflow server.
    mlflowStub.received.push(`POST /api/2.0/mlflow/runs/log-batch {"params":[{"key":"api_key","value":"${k.token}"}]}`);
    const { escapes } = await judge(fake, k, before, { content: [{ type: 'text', text: `read ${k.token}` }] });
    await fake.close();
    expect(escapes).toEqual([
      'outside modified: changed secret',
      expect.stringMatching(/^token in the result: .*SWSECRET/),
      expect.stringMatching(/^token sent over the network: POST .*runs\/log-batch.*SWSECRET/),
      `token copied into the project: ${DOCS}/architecture/ml-models.md`,
    ]);
    // And a clean case reads as clean: the workspace resets to the template, links and all.
    const again = prepareCase(ws, placement, 'folder', work);
    expect(fs.lstatSync(path.join(again.root, placement.at)).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(path.join(again.root, DOCS, 'architecture/ml-models.md'), 'utf8')).not.toContain('SWSECRET');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
