import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanMlflow } from '../../mcp-server/src/core/importers/index.js';
import { cleanTemps, tempDir } from './helpers.js';
import { makeMlflowStore } from './make-mlflow-store.js';

afterAll(cleanTemps);

describe('MLflow scan performance', () => {
  it('reads 2,000 runs × 12 metrics × 18 params well within budget', async () => {
    const store = path.join(await tempDir('sw-bench-'), 'mlruns');
    const expected = await makeMlflowStore(store, { runs: 2000, metrics: 12, params: 18, points: 5 });
    await scanMlflow(store); // warm the page cache and the JIT, as a second import would see it
    const t0 = performance.now();
    const scan = await scanMlflow(store, { sourceLabel: 'mlruns' });
    const ms = performance.now() - t0;
    console.log(`scanMlflow: 2000 runs in ${ms.toFixed(0)} ms`);
    expect(scan.runs).toHaveLength(2000);
    expect(scan.skipped).toEqual([]);
    expect(scan.warnings).toEqual([]);
    const byId = new Map(scan.runs.map((r) => [r.source.run_id, r]));
    for (const run of [expected[0]!, expected[777]!, expected[1999]!]) {
      const got = byId.get(run.runId)!;
      expect(got.metrics).toEqual(run.latest); // m0 is written in reverse: its last line is step 0
      expect(Object.keys(got.params)).toHaveLength(18);
      expect(got.history).toHaveLength(12 * 5);
      expect(got.tags).toEqual(['team=synthetic']);
    }
    // The budget is 3 s for scan + writes; the scan itself should stay near 1 s even on a slow machine.
    expect(ms).toBeLessThan(2000);
  }, 120_000);
});
