import { symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFormat, scanSource, scanWandb } from '../../mcp-server/src/core/importers/index.js';
import type { ImportScan } from '../../mcp-server/src/core/importers/types.js';
import { cleanTemps, copyFixture, LOCAL_FIXTURES, tempDir } from './helpers.js';

afterAll(cleanTemps);

const OFFLINE = 'offline-run-20250105_101500-abc123xy';

describe('W&B run folders (synthetic wandb/ folder)', () => {
  let dir: string;
  let scan: ImportScan;
  beforeAll(async () => {
    dir = await copyFixture(path.join(LOCAL_FIXTURES, 'wandb'));
    await symlink(OFFLINE, path.join(dir, 'latest-run')); // as W&B itself makes it
    scan = await scanSource(dir, { sourceLabel: 'wandb' });
  });

  it('detects W&B for the folder and for a single run folder', async () => {
    expect(scan.format).toBe('wandb');
    expect(await detectFormat(path.join(dir, OFFLINE))).toBe('wandb');
  });

  it('imports the two readable runs, keyed by run id', () => {
    expect(scan.runs.map((r) => r.key)).toEqual(['wandb:abc123xy', 'wandb:def456gh']);
  });

  it('unwraps config values, flattens nested ones and skips _wandb', () => {
    const run = scan.runs[0]!;
    expect(run.params).toEqual({ lr: 0.001, epochs: 20, 'model.name': 'resnet18', 'model.dropout': 0.2, 'model.layers': [64, 128] });
    expect(scan.runs[1]!.params).toEqual({ batch_size: 64 });
  });

  it('takes numeric summary values, skipping _-prefixed keys, text and media', () => {
    const run = scan.runs[0]!;
    expect(run.metrics).toEqual({ 'val/acc': 0.93, 'val.loss': 0.21, 'val.f1': 0.9, train_loss: Number.NaN, best_epoch: 17, lr: 0.001 });
    expect(scan.runs[1]!.metrics).toEqual({ accuracy: 0.88 });
  });

  it('reads start, end, git and program from wandb-metadata.json', () => {
    const run = scan.runs[0]!;
    expect(run.started).toBe('2025-01-05T10:15:00.123Z');
    expect(run.ended).toBe('2025-01-05T10:17:05.123Z'); // + _wandb.runtime 125 s
    expect(run.status).toBe('completed');
    expect(run.git).toEqual({ commit: '9b1e2c3d4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c', branch: null });
    expect(run.source).toMatchObject({
      tool: 'wandb',
      run_id: 'abc123xy',
      path: 'wandb',
      run_folder: OFFLINE,
      offline: true,
      program: 'train.py',
      code_path: 'src/train.py',
      git_remote: 'https://github.com/example/churn.git',
    });
    expect(run.suggestedName).toBe('abc123xy');
  });

  it('reads wandb-history.jsonl where an older client wrote one', () => {
    expect(scan.runs[0]!.history).toEqual([
      { metric: 'train_loss', value: 0.9, step: 0, timestamp: '2025-01-05T10:15:01.000Z' },
      { metric: 'lr', value: 0.001, step: 0, timestamp: '2025-01-05T10:15:01.000Z' },
      { metric: 'train_loss', value: 0.7, step: 1, timestamp: '2025-01-05T10:15:02.000Z' },
    ]);
  });

  it('falls back to the folder time for runs without metadata', () => {
    expect(scan.runs[1]!.started).toBe('2025-01-06T09:00:00.000Z');
    expect(scan.runs[1]!.git).toBeNull();
  });

  it('skips unreadable run folders with reasons and warns about malformed files', () => {
    expect(scan.skipped).toEqual([
      {
        what: 'W&B run folder wandb/offline-run-20250107_000000-broken01',
        reason: 'no readable files/config.yaml, files/wandb-summary.json or files/wandb-metadata.json',
      },
      {
        what: 'W&B run folder wandb/offline-run-20250108_000000-empty001',
        reason: 'no readable files/config.yaml, files/wandb-summary.json or files/wandb-metadata.json',
      },
    ]);
    expect(scan.warnings).toEqual([
      // The fixture's run-abc123xy.wandb is a text placeholder, not a transaction log: said, and the files/ still read.
      'wandb/offline-run-20250105_101500-abc123xy: run-abc123xy.wandb unreadable (not a W&B transaction log (no :W&B header)); skipped.',
      expect.stringMatching(/^wandb\/offline-run-20250105_101500-abc123xy: files\/wandb-history\.jsonl: 1 malformed line skipped\.$/),
      expect.stringMatching(/^wandb\/offline-run-20250107_000000-broken01: files\/config\.yaml is malformed/),
    ]);
  });

  it('scans a single run folder', async () => {
    const one = await scanWandb(path.join(dir, OFFLINE), { sourceLabel: `wandb/${OFFLINE}` });
    expect(one.runs.map((r) => r.key)).toEqual(['wandb:abc123xy']);
    expect(one.runs[0]!.source.run_folder).toBe(OFFLINE);
  });

  it('does not follow symbolic links out of the folder', async () => {
    const copy = await copyFixture(dir);
    const outside = await tempDir('sw-outside-');
    await writeFile(path.join(outside, 'config.yaml'), 'secret:\n  value: TOP SECRET\n');
    const files = path.join(copy, 'run-20250106_090000-def456gh', 'files');
    await writeFile(path.join(files, 'config.yaml.bak'), 'x');
    await symlink(path.join(outside, 'config.yaml'), path.join(files, 'wandb-metadata.json'));
    await symlink(outside, path.join(copy, 'offline-run-20250109_000000-linked01'));
    const linked = await scanWandb(copy, { sourceLabel: 'wandb' });
    expect(JSON.stringify(linked)).not.toContain('TOP SECRET');
    expect(linked.warnings).toContain('wandb/offline-run-20250109_000000-linked01 is a symbolic link; not followed.');
    expect(linked.warnings).toContain('wandb/run-20250106_090000-def456gh: files/wandb-metadata.json is a symbolic link; not followed.');
    expect(linked.runs.map((r) => r.key)).toEqual(['wandb:abc123xy', 'wandb:def456gh']);
  });
});
