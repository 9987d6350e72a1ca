/**
 * The wire contract: every tool's input and output JSON schema, as tools/list sends them, is snapshotted in
 * test/fixtures/tool-schemas/<tool>.json. A change to any of them fails here until it is accepted on purpose with
 * `npx vitest run test/tools/wire-contract.test.ts -u`, and the diff of the snapshot shows reviewers what changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';

/** Claude Code sends every description to the model on every turn: keep each one a paragraph, not a manual. */
const MAX_DESCRIPTION = 900;
const MAX_PROPERTY_DESCRIPTION = 300;

let c: TestClient;
let tools: Awaited<ReturnType<TestClient['client']['listTools']>>['tools'];
beforeAll(async () => {
  c = await inMemoryClient(scratchDir());
  tools = (await c.client.listTools()).tools;
});
afterAll(async () => c.close());

describe('the wire contract', () => {
  it('lists the tools in a fixed order', () => {
    expect(tools.map((t) => t.name)).toMatchSnapshot();
  });

  it('has the snapshotted input and output schema for every tool', async () => {
    for (const t of tools) {
      await expect(
        `${JSON.stringify({ name: t.name, title: t.title, annotations: t.annotations, inputSchema: t.inputSchema, outputSchema: t.outputSchema }, null, 2)}\n`,
      ).toMatchFileSnapshot(`../fixtures/tool-schemas/${t.name}.json`);
    }
  });

  it('keeps descriptions short enough to send on every turn', () => {
    for (const t of tools) {
      expect(t.description!.length, `${t.name} description`).toBeLessThanOrEqual(MAX_DESCRIPTION);
      for (const [key, prop] of Object.entries(t.inputSchema.properties ?? {})) {
        const d = (prop as { description?: string }).description ?? '';
        expect(d.length, `${t.name}.${key} description`).toBeLessThanOrEqual(MAX_PROPERTY_DESCRIPTION);
      }
    }
  });
});
