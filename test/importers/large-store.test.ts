import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanMlflow } from '../../mcp-server/src/core/importers/index.js';
import { cleanTemps, tempDir } from './helpers.js';
import { makeMlflowStore } from './make-mlflow-store.js';

afterAll(cleanTemps);

describe('a large MLflow store', () => {
  it('reads 500 runs × 12 metrics × 18 params completely and exactly', async () => {
    const store = path.join(await tempDir('sw-bench-'), 'mlruns');
    const expected = await makeMlflowStore(store, { runs: 500, metrics: 12, params: 18, points: 5 });
    const scan = await scanMlflow(store, { sourceLabel: 'mlruns' });
    expect(scan.runs).toHaveLength(500);
    expect(scan.skipped).toEqual([]);
    expect(scan.warnings).toEqual([]);
    const byId = new Map(scan.runs.map((r) => [r.source.run_id, r]));
    for (const run of [expected[0]!, expected[277]!, expected[499]!]) {
      const got = byId.get(run.runId)!;
      expect(got.metrics).toEqual(run.latest); // m0 is written in reverse: its last line is step 0
      expect(Object.keys(got.params)).toHaveLength(18);
      expect(got.history).toHaveLength(12 * 5);
      expect(got.tags).toEqual(['team=synthetic']);
    }
    // Its speed is measured by `npm run bench` (import of the same store), not here.
  }, 120_000);
});
