/**
 * A synthetic MLflow file store for tests and benchmarks:
 *   makeMlflowStore('/tmp/x/mlruns', { runs: 2000, metrics: 12, params: 18 })
 * Runs are spread over `experiments` experiments (ids 1..n, plus the empty Default experiment 0). Each metric gets
 * `points` lines `timestamp value step`; metric `m0` of every run is written out of order so that its last line is
 * NOT the latest point (the summary must be the value at the highest step: `lastValueOf(run, 'm0')`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface MlflowStoreOptions {
  runs: number;
  metrics?: number;
  params?: number;
  points?: number;
  experiments?: number;
  /** Start of the first run, epoch ms. */
  startMs?: number;
}

export interface SyntheticRun {
  runId: string;
  experimentId: string;
  runName: string;
  /** The expected summary value per metric (highest step). */
  latest: Record<string, number>;
}

function hex32(n: number): string {
  return (n.toString(16).padStart(8, '0') + 'abcdef0123456789abcdef01').slice(0, 32);
}

async function writeAll(files: [string, string][], concurrency = 64): Promise<void> {
  let next = 0;
  const dirs = new Set(files.map(([p]) => path.dirname(p)));
  for (const dir of dirs) await mkdir(dir, { recursive: true });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < files.length) {
        const [p, text] = files[next++]!;
        await writeFile(p, text);
      }
    }),
  );
}

export async function makeMlflowStore(root: string, options: MlflowStoreOptions): Promise<SyntheticRun[]> {
  const { runs, metrics = 12, params = 18, points = 5, experiments = 4, startMs = 1_700_000_000_000 } = options;
  const files: [string, string][] = [];
  const out: SyntheticRun[] = [];
  files.push([
    path.join(root, '0', 'meta.yaml'),
    `artifact_location: file://${root}/0\nexperiment_id: '0'\nlifecycle_stage: active\nname: Default\n`,
  ]);
  for (let e = 1; e <= experiments; e += 1) {
    files.push([
      path.join(root, String(e), 'meta.yaml'),
      `artifact_location: file://${root}/${e}\ncreation_time: ${startMs}\nexperiment_id: '${e}'\nlifecycle_stage: active\nname: synthetic-${e}\n`,
    ]);
  }
  for (let i = 0; i < runs; i += 1) {
    const runId = hex32(i + 1);
    const exp = String((i % experiments) + 1);
    const dir = path.join(root, exp, runId);
    const start = startMs + i * 60_000;
    const runName = `run-${i % 500}`; // names repeat on purpose: the caller makes them unique
    files.push([
      path.join(dir, 'meta.yaml'),
      [
        `artifact_uri: file://${dir}/artifacts`,
        `end_time: ${start + 30_000}`,
        `entry_point_name: ''`,
        `experiment_id: '${exp}'`,
        `lifecycle_stage: active`,
        `run_id: ${runId}`,
        `run_name: ${runName}`,
        `run_uuid: ${runId}`,
        `source_name: ''`,
        `source_type: 4`,
        `source_version: ''`,
        `start_time: ${start}`,
        `status: 3`,
        `tags: []`,
        `user_id: bench`,
        '',
      ].join('\n'),
    ]);
    for (let p = 0; p < params; p += 1)
      files.push([path.join(dir, 'params', `param_${p}`), p % 3 === 0 ? `value-${i}-${p}` : String((i * 7 + p) / 100)]);
    files.push([path.join(dir, 'tags', 'mlflow.runName'), runName]);
    files.push([path.join(dir, 'tags', 'mlflow.user'), 'bench']);
    files.push([path.join(dir, 'tags', 'mlflow.source.git.commit'), 'e9c9ded4127e0397731b8e73b574acd91dcbf9b1']);
    files.push([path.join(dir, 'tags', 'team'), 'synthetic']);
    const latest: Record<string, number> = {};
    for (let m = 0; m < metrics; m += 1) {
      const lines: string[] = [];
      for (let s = 0; s < points; s += 1) lines.push(`${start + s * 1000} ${((i + 1) * (m + 1) * (s + 1)) / 1000} ${s}`);
      if (m === 0 && points > 1) lines.reverse(); // last line is step 0: the summary must still be the highest step
      latest[`m${m}`] = ((i + 1) * (m + 1) * points) / 1000;
      files.push([path.join(dir, 'metrics', `m${m}`), `${lines.join('\n')}\n`]);
    }
    out.push({ runId, experimentId: exp, runName, latest });
  }
  await writeAll(files);
  return out;
}
