/**
 * import_runs on a DVC project built by the real dvc and dvclive (make-dvc-project.py): experiments run with
 * `dvc exp run -S` and queued ones run with `dvc exp run --run-all`, all kept in refs/exps, each with dvclive
 * metrics, step histories and a sklearn plot. `dvc exp show --json` is the oracle for params and metrics; the
 * dvclive .tsv files in each experiment's commit are the oracle for the step history.
 * The Python is SPECWEAVE_TEST_PYTHON, else the repository's .venv-test. Without it (or without dvc and dvclive in
 * it) the test skips, saying why; SPECWEAVE_REQUIRE_PYENV=1 (CI) makes that a failure instead.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';

const HERE = __dirname;
const PYTHON = process.env.SPECWEAVE_TEST_PYTHON ?? path.resolve(HERE, '../../.venv-test/bin/python');
const HAS_DVC = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import dvc, dvclive'], { stdio: 'ignore' }).status === 0;
const REQUIRED = process.env.SPECWEAVE_REQUIRE_PYENV === '1';
const SKIP = !HAS_DVC && !REQUIRED;
if (SKIP) console.warn(`Skipping the real-DVC import test: dvc or dvclive not importable by ${PYTHON} (set SPECWEAVE_TEST_PYTHON).`);

/** One revision of `dvc exp show --json`. */
interface ShownRev {
  rev: string;
  name: string | null;
  data: {
    params: Record<string, { data?: Record<string, unknown> }>;
    metrics: Record<string, { data?: Record<string, unknown> }>;
  };
}
interface Generated {
  exp_show: { rev: string; name: string | null; data: ShownRev['data']; experiments: { revs: ShownRev[] }[] | null }[];
  refs: string[];
}

function flatten(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) out[prefix] = value;
  else for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

/** All params files of a revision merged and flattened, as the importer stores them. */
const paramsOf = (rev: ShownRev) => Object.assign({}, ...Object.values(rev.data.params).map((f) => flatten(f.data ?? {})));
/** The dvclive summary without `step`, which is DVCLive's step counter rather than a metric. */
function metricsOf(rev: ShownRev): Record<string, unknown> {
  const all = Object.assign({}, ...Object.values(rev.data.metrics).map((f) => flatten(f.data ?? {})));
  delete all.step;
  return all;
}

describe.skipIf(SKIP)(
  `import_runs on a project built by the real dvc${SKIP ? ' [skipped: no dvc/dvclive in the test Python]' : ''}`,
  () => {
    let c: TestClient;
    let root: string;
    let project: string;
    let generated: Generated;
    let experiments: ShownRev[];
    let workspace: ShownRev;
    let result: any;
    let incDir: string;

    beforeAll(async () => {
      if (!HAS_DVC) throw new Error(`SPECWEAVE_REQUIRE_PYENV=1 but ${PYTHON} cannot import dvc and dvclive`);
      root = scratchDir();
      project = path.join(root, 'dvc-project');
      const out = execFileSync(PYTHON, [path.join(HERE, 'make-dvc-project.py'), project], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 90_000,
      });
      generated = JSON.parse(out.trim().split('\n').pop()!);
      workspace = generated.exp_show.find((r) => r.rev === 'workspace') as ShownRev;
      experiments = generated.exp_show.flatMap((r) => (r.experiments ?? []).flatMap((e) => e.revs));
      c = await inMemoryClient(root);
      incDir = path.join(root, (await c.ok('create_increment', { title: 'DVC experiments' })).path);
      result = await c.ok('import_runs', { increment: '1', source: 'dvc-project' });
    }, 100_000);
    afterAll(async () => c?.close());

    it('dvc itself reports the four experiments, all in refs/exps', () => {
      expect(experiments.map((e) => e.name).sort()).toEqual(['long', 'lr-fast', 'q-short', 'q-slow']);
      for (const e of experiments) expect(generated.refs.some((ref) => ref.endsWith(`/${e.name}`))).toBe(true);
    });

    it('imports the workspace and every experiment, skipping dvc internals, with no warnings', () => {
      expect(result).toMatchObject({ format: 'dvc', imported_count: experiments.length + 1, skipped_count: 0, warnings: [] });
      for (const e of experiments) expect(result.imported.some((i: any) => i.run === `dvc:exp:${e.rev}`)).toBe(true);
    });

    it('a second import finds everything already imported', async () => {
      const again = await c.ok('import_runs', { increment: '1', source: 'dvc-project' });
      expect(again).toMatchObject({ format: 'dvc', imported_count: 0, already_imported: experiments.length + 1 });
    });

    const experimentOf = async (key: string) =>
      c.ok('get_experiment', { increment: '1', name: result.imported.find((i: any) => i.run === key).experiment });

    it('every experiment has the params and metrics `dvc exp show` reports', async () => {
      for (const e of experiments) {
        const exp = await experimentOf(`dvc:exp:${e.rev}`);
        expect(exp.params, e.name!).toEqual(paramsOf(e));
        expect(exp.metrics, e.name!).toEqual(metricsOf(e));
        expect(exp.source).toMatchObject({ tool: 'dvc', kind: 'experiment', name: e.name, commit: e.rev });
        expect(exp.git.commit).toBe(e.rev);
      }
    });

    it('the workspace has the params and metrics `dvc exp show` reports for it', async () => {
      const key = result.imported.find((i: any) => i.run.startsWith('dvc:workspace:')).run;
      const exp = await experimentOf(key);
      expect(exp.params).toEqual(paramsOf(workspace));
      expect(exp.metrics).toEqual(metricsOf(workspace));
    });

    it("every experiment keeps dvclive's step history, as in the .tsv files of its commit", async () => {
      for (const e of experiments) {
        const expected: { metric: string; step: number; value: number }[] = [];
        for (const [file, metric] of <[string, string][]>[
          ['acc.tsv', 'acc'],
          ['train/loss.tsv', 'train.loss'],
        ]) {
          const tsv = execFileSync('git', ['show', `${e.rev}:dvclive/plots/metrics/${file}`], { cwd: project, encoding: 'utf8' });
          const [header, ...rows] = tsv.trim().split('\n');
          expect(header!.split('\t')[0]).toBe('step');
          for (const row of rows) {
            const [step, value] = row.split('\t');
            expected.push({ metric, step: Number(step), value: Number(value) });
          }
        }
        const dir = path.join(incDir, 'experiments', result.imported.find((i: any) => i.run === `dvc:exp:${e.rev}`).experiment);
        const points = readFileSync(path.join(dir, 'history.jsonl'), 'utf8')
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(points.map(({ metric, step, value }) => ({ metric, step, value }))).toEqual(expected);
        // The last step of each history is the summary dvc reports.
        const metrics = metricsOf(e);
        for (const metric of ['acc', 'train.loss']) expect(expected.filter((p) => p.metric === metric).pop()!.value).toBe(metrics[metric]);
      }
    });
    it('history points without a timestamp column take the commit date, or the file time in the workspace', async () => {
      const timesOf = (key: string) => {
        const dir = path.join(incDir, 'experiments', result.imported.find((i: any) => i.run === key).experiment);
        const lines = readFileSync(path.join(dir, 'history.jsonl'), 'utf8').trimEnd().split('\n');
        return lines.map((l) => JSON.parse(l)).map((p) => [p.metric, p.timestamp]);
      };
      for (const e of experiments) {
        const committed = execFileSync('git', ['log', '-1', '--format=%cI', e.rev], { cwd: project, encoding: 'utf8' }).trim();
        for (const [metric, time] of timesOf(`dvc:exp:${e.rev}`))
          expect(time, `${e.name} ${metric}`).toBe(new Date(committed).toISOString());
      }
      const fileTime = (file: string) =>
        new Date(Math.round(statSync(path.join(project, 'dvclive/plots/metrics', file)).mtimeMs)).toISOString();
      const expected: Record<string, string> = { acc: fileTime('acc.tsv'), 'train.loss': fileTime('train/loss.tsv') };
      const workspaceTimes = timesOf(result.imported.find((i: any) => i.run.startsWith('dvc:workspace:')).run);
      expect(workspaceTimes.length).toBeGreaterThan(0);
      for (const [metric, time] of workspaceTimes) expect(time, metric).toBe(expected[metric]);
    });
  },
);
