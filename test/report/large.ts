/**
 * A large increment written straight to files in the format's own bytes (as the bulk writers do): N experiments
 * with 8 params, 5-fold CV of accuracy with its summary, a test accuracy and a loss curve of `points` steps.
 * Seeded, so the same N gives the same files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { foldSummary } from '../../mcp-server/src/core/experiments.js';
import { stringifyCanonical } from '../../mcp-server/src/core/json.js';
import { stringifyMetadataYaml } from '../../mcp-server/src/core/yaml.js';

export interface LargeRun {
  name: string;
  cvMean: number;
  test: number;
  status: string;
  optimizer: string;
}

export function writeLargeIncrement(root: string, n: number, points = 60): { dir: string; id: string; runs: LargeRun[] } {
  const id = '0001-large-sweep';
  const dir = path.join(root, '.specweave/increments', id);
  fs.mkdirSync(path.join(dir, 'experiments'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'metadata.json'),
    stringifyCanonical({
      id,
      title: 'Large sweep',
      status: 'active',
      type: 'feature',
      created: '2026-01-01T00:00:00.000Z',
      lastActivity: '2026-01-01T00:00:00.000Z',
      ml: { primary_metric: 'accuracy', direction: 'maximize', problem_type: 'classification' },
    }),
  );
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const runs: LargeRun[] = [];
  const optimizers = ['adam', 'sgd', 'rmsprop'];
  for (let i = 0; i < n; i += 1) {
    const name = `run-${String(i).padStart(5, '0')}`;
    const exp = path.join(dir, 'experiments', name);
    fs.mkdirSync(exp);
    const optimizer = optimizers[i % 3]!;
    const params = {
      batch_size: [32, 64, 128][Math.floor(rnd() * 3)],
      dropout: Number(rnd().toFixed(3)),
      epochs: points,
      hidden: [64, 128, 256, 512][Math.floor(rnd() * 4)],
      learning_rate: Number((rnd() * 0.1).toFixed(5)),
      optimizer,
      seed: 7,
      weight_decay: Number((rnd() * 0.01).toFixed(6)),
    };
    const quality = 0.7 + rnd() * 0.25;
    const folds = Array.from({ length: 5 }, () => quality + (rnd() - 0.5) * 0.02);
    const history = [
      ...folds.map((value, step) => ({ metric: 'cv_accuracy', value, step, timestamp: '2026-01-01T00:00:00.000Z' })),
      ...Array.from({ length: points }, (_, step) => ({
        metric: 'loss',
        value: 1 - quality + Math.exp(-step / 10) + rnd() * 0.01,
        step,
        timestamp: '2026-01-01T00:00:00.000Z',
      })),
    ];
    const test = quality - 0.01 + (rnd() - 0.5) * 0.01;
    const status = i % 97 === 5 ? 'failed' : 'completed';
    fs.writeFileSync(path.join(exp, 'params.json'), stringifyCanonical(params));
    fs.writeFileSync(path.join(exp, 'metrics.json'), stringifyCanonical({ accuracy: test, ...foldSummary('cv_accuracy', history) }));
    fs.writeFileSync(path.join(exp, 'history.jsonl'), `${history.map((h) => JSON.stringify(h)).join('\n')}\n`);
    fs.writeFileSync(
      path.join(exp, 'metadata.yaml'),
      stringifyMetadataYaml({
        name,
        status,
        baseline: i < 2,
        tags: [optimizer],
        notes: [],
        created: '2026-01-01T00:00:00.000Z',
        started: '2026-01-01T00:00:00.000Z',
        ended: '2026-01-01T00:01:00.000Z',
        duration_seconds: 60,
        updated: '2026-01-01T00:01:00.000Z',
        git: null,
        environment: { node: 'v20', platform: 'linux-x64' },
        artifacts: [],
        source: { tool: 'mcp' },
      }),
    );
    runs.push({ name, cvMean: foldSummary('cv_accuracy', history).cv_accuracy_mean!, test, status, optimizer });
  }
  return { dir, id, runs };
}
