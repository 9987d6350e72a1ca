/**
 * The ML quality gates of an increment. Each gate is a check {id, status, message}; the verdict is the worst
 * status. Read-only: validation never changes a file.
 */
import * as path from 'node:path';
import { rankExperiments, type Comparison } from './comparison.js';
import { criteriaFromMarkdown, meetsCriterion, mergeCriteria } from './criteria.js';
import { MlError } from './errors.js';
import { readAllExperiments, readHistory, type Experiment } from './experiments.js';
import { readIncrementMetadata, type Increment, type IncrementMetadata } from './increments.js';
import type { Project } from './project.js';
import { metricValue } from './ranking.js';
import { listEntries, readText } from './store/disk.js';
import { parseTasks } from './tasks.js';
import { fmt } from '../render/format.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface Check {
  id: string;
  status: CheckStatus;
  message: string;
}

export interface Validation {
  increment: string;
  verdict: CheckStatus;
  ready: boolean;
  best_experiment: string | null;
  primary_metric: string | null;
  checks: Check[];
  summary: { pass: number; warn: number; fail: number };
}

const SPECWEAVE_STATUSES = ['planning', 'planned', 'active', 'backlog', 'paused', 'ready_for_review', 'completed', 'abandoned'];
const STANDARD_FILES = new Set(['params.json', 'metrics.json', 'metadata.yaml', 'history.jsonl']);
const EXPLAIN_FILE = /shap|lime|explain|importance|interpret/i;
const EXPLAIN_ASKED = /explainab|interpretab|\bshap\b|\blime\b|feature importance/i;

const check = (id: string, status: CheckStatus, message: string): Check => ({ id, status, message });

function stripComments(markdown: string): string {
  return markdown.replace(/<!--[\s\S]*?-->/g, '');
}

function checkFiles(project: Project, inc: Increment, meta: IncrementMetadata | MlError, present: Set<string>): Check[] {
  const checks: Check[] = [];
  if (meta instanceof MlError) {
    checks.push(check('metadata', 'fail', meta.describe()));
  } else {
    const raw = meta.raw;
    const problems: string[] = [];
    if (raw.id !== inc.id) problems.push(`id is ${JSON.stringify(raw.id)}, expected "${inc.id}"`);
    if (!SPECWEAVE_STATUSES.includes(String(raw.status))) problems.push(`status ${JSON.stringify(raw.status)} is not a SpecWeave status`);
    for (const key of ['type', 'created', 'lastActivity']) if (!raw[key]) problems.push(`${key} is missing`);
    checks.push(problems.length ? check('metadata', 'fail', `metadata.json: ${problems.join('; ')}.`) : check('metadata', 'pass', 'metadata.json is valid.'));
  }
  const missing = ['spec.md', 'plan.md', 'tasks.md'].filter((f) => !present.has(f));
  checks.push(missing.length ? check('required-files', 'fail', `Missing ${missing.join(', ')} in ${project.relative(inc.dir)}.`) : check('required-files', 'pass', 'spec.md, plan.md and tasks.md exist.'));
  if (!present.has('tests.md')) checks.push(check('tests-file', 'warn', 'tests.md (evaluation criteria) is missing.'));
  return checks;
}

function checkExperiments(experiments: Experiment[], broken: { name: string; reason: string }[]): Check[] {
  const checks: Check[] = [];
  if (experiments.length === 0) checks.push(check('experiments-logged', 'fail', 'No experiments are logged. Track a baseline and candidates with track_experiment.'));
  else checks.push(check('experiments-logged', broken.length ? 'warn' : 'pass', `${experiments.length} experiments logged${broken.length ? `; ${broken.length} unreadable: ${broken.map((b) => `${b.name} (${b.reason})`).join('; ')}` : ''}.`));
  const running = experiments.filter((e) => e.status === 'running').map((e) => e.name);
  checks.push(running.length ? check('none-running', 'fail', `Still running: ${running.join(', ')}. Finish them or track them with status "completed", "failed" or "killed".`) : check('none-running', 'pass', 'No experiment is still running.'));
  const baselines = experiments.filter((e) => e.baseline).map((e) => e.name);
  checks.push(baselines.length ? check('baseline', 'pass', `Baselines: ${baselines.join(', ')}.`) : check('baseline', 'fail', 'No baseline experiment. Track a simple reference model (majority class, mean, last value) with baseline: true.'));
  return checks;
}

function checkImprovement(c: Comparison | undefined, minImprovement: number): Check {
  if (!c) return check('beats-baseline', 'fail', 'Cannot rank the experiments: no primary metric.');
  const i = c.improvement;
  if (!c.best_baseline || !c.best_candidate || !i) {
    return check('beats-baseline', 'fail', `Needs a baseline and a completed candidate with ${c.primary_metric}.`);
  }
  const measure = i.improvement === null ? 'undefined (baseline is 0)' : fmt(i.improvement);
  const ok = i.improvement !== null && i.improvement >= minImprovement;
  return check(
    'beats-baseline',
    ok ? 'pass' : 'fail',
    `${i.candidate} ${c.primary_metric}=${fmt(i.candidate_value)} vs baseline ${i.baseline}=${fmt(i.baseline_value)}: improvement ${measure} (${i.rule}), required ${minImprovement}.`,
  );
}

function checkCriteria(spec: string | undefined, meta: IncrementMetadata | undefined, best: Experiment | undefined): Check[] {
  const fromSpec = spec ? criteriaFromMarkdown(stripComments(spec)) : { criteria: [], unparsed: [] };
  const criteria = mergeCriteria(meta?.ml.success_criteria ?? [], fromSpec.criteria);
  const checks: Check[] = [];
  if (criteria.length === 0) checks.push(check('success-criteria', 'warn', 'No success criteria: add bullets such as "- f1 >= 0.8" under "## Success Criteria" in spec.md.'));
  for (const c of criteria) {
    const id = `criterion:${c.metric}${c.op}${c.value}`;
    const value = best ? metricValue(best.metrics, c.metric) : undefined;
    if (!best) checks.push(check(id, 'fail', `${c.text}: no experiment to check it against.`));
    else if (value === undefined) checks.push(check(id, 'fail', `${c.text}: ${best.name} has no ${c.metric} metric.`));
    else checks.push(check(id, meetsCriterion(value, c) ? 'pass' : 'fail', `${c.text}: ${best.name} has ${c.metric}=${fmt(value)}.`));
  }
  for (const text of fromSpec.unparsed) checks.push(check('criterion:unparsed', 'warn', `Cannot read the success criterion "${text}"; write "<metric> <op> <number>".`));
  return checks;
}

function sampleStd(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
}

async function checkCrossValidation(best: Experiment | undefined, maxStd: number): Promise<Check> {
  if (!best) return check('cv-stability', 'warn', 'No best experiment to check cross-validation for.');
  const spreads = new Map<string, number>();
  for (const [k, v] of Object.entries(best.metrics)) {
    const m = /^cv_(.+)_std$/.exec(k);
    if (m) spreads.set(m[1]!, v);
  }
  if (spreads.size === 0) {
    const { points } = await readHistory(best.dir);
    const folds = new Map<string, number[]>();
    for (const p of points) {
      if (!p.metric.startsWith('cv_')) continue;
      const name = p.metric.slice(3);
      const values = folds.get(name) ?? [];
      values.push(p.value);
      folds.set(name, values);
    }
    for (const [m, vs] of folds) if (vs.length > 1) spreads.set(m, sampleStd(vs));
  }
  if (spreads.size === 0) return check('cv-stability', 'warn', `${best.name} logged no cross-validation fold scores (history of cv_<metric> per fold, or cv_<metric>_std).`);
  const over = [...spreads].filter(([, s]) => !(s <= maxStd));
  const list = [...spreads].map(([m, s]) => `${m} std ${fmt(s)}`).join(', ');
  return check('cv-stability', over.length ? 'fail' : 'pass', `${best.name}: ${list} (max ${maxStd}).`);
}

async function checkArtifacts(inc: Increment, spec: string | undefined, best: Experiment | undefined): Promise<Check[]> {
  if (!best) return [check('model-saved', 'fail', 'No best experiment, so no saved model.')];
  const files = (await listEntries(best.dir)).filter((f) => !STANDARD_FILES.has(f) && !f.endsWith('/'));
  const models = (await listEntries(path.join(inc.dir, 'models'))).filter((f) => !f.endsWith('/'));
  const recorded = best.meta.artifacts.map((a) => a.path);
  const all = [...new Set([...recorded, ...files])];
  const saved = all.length > 0 || models.length > 0;
  const checks = [
    saved
      ? check('model-saved', 'pass', `${best.name} artifacts: ${[...all, ...models.map((m) => `models/${m}`)].slice(0, 8).join(', ')}.`)
      : check('model-saved', 'fail', `${best.name} has no saved model: save it into the experiment folder (or models/) and list it in artifacts.`),
  ];
  const asked = spec !== undefined && EXPLAIN_ASKED.test(stripComments(spec));
  const explain = [...all, ...models].filter((f) => EXPLAIN_FILE.test(f));
  if (!asked) checks.push(check('explainability', 'pass', 'spec.md does not ask for explainability.'));
  else if (explain.length) checks.push(check('explainability', 'pass', `Explanation artifacts: ${explain.join(', ')}.`));
  else checks.push(check('explainability', 'fail', `spec.md asks for explainability but ${best.name} has no explanation artifact (a file named like shap_*, *importance*, *explain*).`));
  return checks;
}

function checkTasks(tasksMd: string | undefined): Check {
  if (tasksMd === undefined) return check('tasks-done', 'fail', 'tasks.md is missing.');
  const tasks = parseTasks(tasksMd);
  if (tasks.length === 0) return check('tasks-done', 'warn', 'tasks.md lists no tasks (### T-001: …).');
  const open = tasks.filter((t) => !t.done && t.status !== 'canceled');
  if (open.length === 0) return check('tasks-done', 'pass', `All ${tasks.length} tasks completed.`);
  return check('tasks-done', 'fail', `${open.length} of ${tasks.length} tasks not completed: ${open.slice(0, 10).map((t) => `${t.id} ${t.title}`).join('; ')}${open.length > 10 ? '; …' : ''}.`);
}

export async function validateIncrement(project: Project, inc: Increment): Promise<Validation> {
  const [meta, present, spec, tasksMd, loaded] = await Promise.all([
    readIncrementMetadata(project, inc).catch((e: unknown) => (e instanceof MlError ? e : Promise.reject(e))),
    listEntries(inc.dir).then((l) => new Set(l)),
    readText(path.join(inc.dir, 'spec.md')),
    readText(path.join(inc.dir, 'tasks.md')),
    readAllExperiments(project, inc),
  ]);
  const { experiments, broken } = loaded;
  const okMeta = meta instanceof MlError ? undefined : meta;
  let comparison: Comparison | undefined;
  try {
    comparison = experiments.length ? rankExperiments(inc, okMeta?.ml ?? null, loaded) : undefined;
  } catch {
    comparison = undefined; // no metric to rank on: reported by the beats-baseline check
  }
  const bestName = comparison?.best_candidate?.experiment ?? comparison?.best?.experiment;
  const best = experiments.find((e) => e.name === bestName);
  const thresholds = okMeta?.ml.thresholds ?? { min_improvement: 0.05, max_cv_std: 0.05 };

  const checks: Check[] = [
    ...checkFiles(project, inc, meta, present),
    ...checkExperiments(experiments, broken),
    checkImprovement(comparison, thresholds.min_improvement),
    ...checkCriteria(spec, okMeta, best),
    await checkCrossValidation(best, thresholds.max_cv_std),
    ...(await checkArtifacts(inc, spec, best)),
    checkTasks(tasksMd),
  ];
  const summary = { pass: 0, warn: 0, fail: 0 };
  for (const c of checks) summary[c.status] += 1;
  const verdict: CheckStatus = summary.fail ? 'fail' : summary.warn ? 'warn' : 'pass';
  return { increment: inc.id, verdict, ready: verdict !== 'fail', best_experiment: best?.name ?? null, primary_metric: comparison?.primary_metric ?? null, checks, summary };
}
