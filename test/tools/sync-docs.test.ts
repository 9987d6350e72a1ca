import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';
import { passingIncrement } from '../helpers/scenario.js';

let c: TestClient;
let root: string;
let inc: string;
const docs = () => path.join(root, '.specweave/docs/internal');
const read = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');

beforeEach(async () => {
  root = scratchDir();
  c = await inMemoryClient(root);
  inc = await passingIncrement(c, root);
});
afterEach(async () => c.close());

describe('sync_docs', () => {
  it('writes the model section, an ADR and a runbook that say what was chosen and why', async () => {
    const r = await c.ok('sync_docs', { increment: inc, dry_run: null });
    expect(r).toMatchObject({ increment: inc, dry_run: false, selected_model: 'random-forest' });
    expect(r.changes).toEqual([
      { path: '.specweave/docs/internal/architecture/ml-models.md', action: 'create' },
      { path: '.specweave/docs/internal/architecture/adr/0001-ml-model-choice-churn-model.md', action: 'create' },
      { path: '.specweave/docs/internal/operations/runbook-churn-model-retraining.md', action: 'create' },
    ]);
    const models = read(r.changes[0].path);
    expect(models).toMatch(/## Churn model \(increment 0001-churn-model\)/);
    expect(models).toMatch(/Selected model: \*\*random-forest\*\*/);
    expect(models).toMatch(/\[Model choice for Churn model\]\(adr\/0001-ml-model-choice-churn-model.md\)/);
    expect(models).toMatch(/- logreg: roc_auc=0.84 on the test set, CV mean 0.84 ± 0.0079 \(5\) — logreg trained/);
    expect(models).toMatch(/Selected on the cross-validation mean of roc_auc/);
    expect(models).toMatch(/- mlp: roc_auc=NaN \(failed\) — diverged/);
    expect(models).toMatch(/- model: "?random-forest"?\n- seed: 42/);
    const adr = read(r.changes[1].path);
    expect(adr).toMatch(/^# ADR-0001: Model choice for Churn model\n\n\*\*Status\*\*: proposed/);
    expect(adr).toMatch(/Use \*\*random-forest\*\*/);
    expect(adr).toMatch(/It must keep meeting: roc_auc >= 0.8; recall > 0.6/);
    expect(read(r.changes[2].path)).toMatch(/Current model: \*\*random-forest\*\* \(roc_auc=0.88 on the test set\)/);
  });

  it('is idempotent and keeps what people wrote outside the generated sections', async () => {
    const first = await c.ok('sync_docs', { increment: inc });
    const [modelsRel, adrRel] = [first.changes[0].path, first.changes[1].path];
    fs.writeFileSync(path.join(root, modelsRel), `${read(modelsRel)}\n## Notes from the team\n\nThe fraud team owns this.\n`);
    fs.writeFileSync(path.join(root, adrRel), read(adrRel).replace('**Status**: proposed', '**Status**: approved'));
    const again = await c.ok('sync_docs', { increment: inc });
    expect(again.changes.map((x: any) => x.action)).toEqual(['unchanged', 'unchanged', 'unchanged']);

    await c.ok('track_experiment', { increment: inc, name: 'gbm', metrics: { roc_auc: 0.91, recall: 0.7 }, artifacts: [] });
    const dry = await c.ok('sync_docs', { increment: inc, dry_run: true });
    expect(dry).toMatchObject({ dry_run: true, selected_model: 'gbm' });
    expect(dry.changes.map((x: any) => x.action)).toEqual(['update', 'update', 'update']);
    expect(read(modelsRel)).toMatch(/Selected model: \*\*random-forest\*\*/); // dry run wrote nothing

    await c.ok('sync_docs', { increment: inc });
    expect(read(modelsRel)).toMatch(/Selected model: \*\*gbm\*\*/);
    expect(read(modelsRel)).toMatch(/## Notes from the team\n\nThe fraud team owns this.\n$/);
    expect(read(adrRel)).toMatch(/\*\*Status\*\*: approved/);
    expect(fs.readdirSync(path.join(docs(), 'architecture/adr'))).toEqual(['0001-ml-model-choice-churn-model.md']);
  });

  it('numbers a new ADR after the existing ones', async () => {
    fs.mkdirSync(path.join(docs(), 'architecture/adr'), { recursive: true });
    fs.writeFileSync(path.join(docs(), 'architecture/adr/0007-use-postgres.md'), '# ADR-0007: Use Postgres\n');
    const r = await c.ok('sync_docs', { increment: inc });
    expect(r.changes[1].path).toMatch(/adr\/0008-ml-model-choice-churn-model.md$/);
    expect(read(r.changes[1].path)).toMatch(/^# ADR-0008:/);
  });
});
