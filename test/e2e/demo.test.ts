/**
 * The main job of the README (`npm run demo`): the built server driven over stdio end to end. It must finish with
 * every gate passing; a change that breaks the demo's story (selection, gates, significance) fails here.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

describe('npm run demo', () => {
  it('trains, tracks, evaluates, compares, tests, validates and documents, and every gate passes', () => {
    const r = spawnSync(process.execPath, [path.resolve(__dirname, '../../scripts/demo.mjs')], { encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(/PASS selection: Selected on the cross-validation mean cv_roc_auc_mean/);
    expect(r.stdout).toMatch(/PASS model-saved: .* sha256 verified/);
    expect(r.stdout).toMatch(/verdict: PASS/);
    expect(r.stdout).toMatch(/▸ sync_docs\n {2}create .*ml-models\.md/);
  }, 300_000);
});
