/**
 * CI re-check against the live libraries: where /usr/bin/python3 (or $SKLEARN_PYTHON) can import scikit-learn and
 * SciPy, re-run the generator into a temporary file and require it to match the committed expected.json. Skipped,
 * with the reason printed, where they are not installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATOR, loadExpected } from './helpers.js';

const PYTHON = process.env.SKLEARN_PYTHON ?? '/usr/bin/python3';

function probe(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import sklearn, scipy, numpy; print(sklearn.__version__)'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} not found`;
  if (r.status !== 0) return `${PYTHON} cannot import scikit-learn/scipy/numpy`;
  return null;
}

const missing = probe();
if (missing) console.warn(`live scikit-learn re-check skipped: ${missing} (set SKLEARN_PYTHON to an interpreter with scikit-learn)`);

/** Deep comparison with a 1e-12 relative tolerance on numbers, so only real differences fail. */
function compare(a: unknown, b: unknown, path: string, diffs: string[]): void {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Math.abs(a - b) > 1e-12 * Math.max(1, Math.abs(b))) diffs.push(`${path}: ${a} vs committed ${b}`);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) diffs.push(`${path}: length ${a.length} vs ${b.length}`);
    a.forEach((v, i) => compare(v, b[i], `${path}[${i}]`, diffs));
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys)
      if (k !== 'versions') compare((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`, diffs);
    return;
  }
  if (a !== b) diffs.push(`${path}: ${JSON.stringify(a)} vs committed ${JSON.stringify(b)}`);
}

describe.skipIf(missing !== null)('expected values re-generated with the installed scikit-learn', () => {
  it('match the committed expected.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'specweave-eval-'));
    try {
      const out = join(dir, 'expected.json');
      const r = spawnSync(PYTHON, [GENERATOR, '--out', out], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const diffs: string[] = [];
      compare(loadExpected(out), loadExpected(), '$', diffs);
      expect(diffs.slice(0, 20)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
