/** A complete, passing ML increment built through the tools, as an agent would. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestClient } from './client.js';

export async function passingIncrement(c: TestClient, root: string): Promise<string> {
  const { increment, path: rel } = await c.ok('create_increment', {
    title: 'Churn model',
    problem_type: 'classification',
    primary_metric: 'roc_auc',
    success_criteria: ['roc_auc >= 0.8', 'recall > 0.6'],
  });
  const dir = path.join(root, rel);
  await c.ok('track_experiment', {
    increment,
    name: 'baseline-majority',
    baseline: true,
    metrics: { roc_auc: 0.5, recall: 0, accuracy: 0.7 },
  });
  await c.ok('track_experiment', {
    increment,
    name: 'baseline-stratified',
    baseline: true,
    metrics: { roc_auc: 0.52, recall: 0.3, accuracy: 0.6 },
  });
  for (const [name, auc, recall] of [
    ['logreg', 0.84, 0.66],
    ['random-forest', 0.88, 0.7],
  ] as const) {
    const expDir = path.join(dir, 'experiments', name);
    fs.mkdirSync(expDir, { recursive: true });
    fs.writeFileSync(path.join(expDir, 'model.pkl'), `model ${name}`);
    fs.writeFileSync(path.join(expDir, 'feature_importance.csv'), 'feature,importance\nage,0.4\n');
    await c.ok('track_experiment', {
      increment,
      name,
      params: { model: name, seed: 42 },
      metrics: { roc_auc: auc, recall, accuracy: 0.8 },
      history: [0, 1, 2, 3, 4].map((step) => ({ metric: 'cv_roc_auc', value: auc + (step - 2) * 0.005, step })),
      artifacts: ['model.pkl', 'feature_importance.csv'],
      note: `${name} trained`,
    });
  }
  await c.ok('track_experiment', {
    increment,
    name: 'mlp',
    status: 'failed',
    metrics: { roc_auc: 'NaN' },
    note: 'diverged: loss went to NaN at epoch 3',
  });
  for (let i = 1; i <= 9; i += 1) await c.ok('update_task', { increment, task: `T-00${i}`, status: 'completed' });
  return increment;
}
