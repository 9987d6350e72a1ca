/**
 * Several server processes (the built bundle over stdio) register and promote one model at once: every version is
 * unique, no event is lost, the log stays in order. Needs `npm run build`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryClient, stdioClient, type TestClient } from '../helpers/client.js';
import { BUNDLE, gitProject } from '../helpers/project.js';
import { passingIncrement } from '../helpers/scenario.js';

let root: string;
let inc: string;
let setup: TestClient;

beforeAll(async () => {
  if (!fs.existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build first.`);
  root = gitProject();
  setup = await inMemoryClient(root);
  inc = await passingIncrement(setup, root);
});
afterAll(async () => setup.close());

describe('concurrent registry writers', () => {
  it('three processes registering and promoting at once lose nothing and never share a version', async () => {
    const PROCESSES = 3;
    const EACH = 4;
    const clients = await Promise.all(Array.from({ length: PROCESSES }, () => stdioClient(['--root', root])));
    try {
      const registered = await Promise.all(
        clients.map(async (c, i) => {
          const mine: string[] = [];
          for (let k = 0; k < EACH; k += 1) {
            const r = await c.ok('register_model', { name: 'churn', increment: inc, experiment: k % 2 ? 'logreg' : 'random-forest' });
            mine.push(r.version);
            await c.ok('promote_model', { name: 'churn', version: r.version, stage: `lane-${i}` });
          }
          return mine;
        }),
      );
      const all = registered.flat();
      expect(new Set(all).size).toBe(PROCESSES * EACH);
      expect([...all].sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]))).toEqual(
        Array.from({ length: PROCESSES * EACH }, (_, i) => `1.0.${i}`),
      );
      const m = await setup.ok('get_model', { name: 'churn' });
      expect(m.versions).toHaveLength(PROCESSES * EACH);
      expect(m.events.map((e: { seq: number }) => e.seq)).toEqual(Array.from({ length: 2 * PROCESSES * EACH }, (_, i) => i + 1));
      expect(m.skipped_lines).toBe(0);
      // Each lane ends on the last version its own process registered.
      for (let i = 0; i < PROCESSES; i += 1)
        expect(m.stages.find((s: { stage: string }) => s.stage === `lane-${i}`).version).toBe(registered[i]![EACH - 1]);
      const lines = fs.readFileSync(path.join(root, '.specweave/registry/churn/events.jsonl'), 'utf8').split('\n');
      expect(lines.pop()).toBe('');
      expect(lines.every((l) => l.startsWith('{"seq":') && l.endsWith('}'))).toBe(true);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
