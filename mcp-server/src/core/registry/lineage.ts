/**
 * The lineage snapshot a version records when it is registered: what trained the model (increment, experiment,
 * commit, params, environment), how it was chosen and how it tested (selection and test metrics), which file it is
 * (path, bytes, sha256, verified against the disk now) and the data files the experiment recorded hashes for.
 */
import * as path from 'node:path';
import { MlError, invalid, notFound } from '../errors.js';
import { readExperiment, resolveExperimentFile, type Artifact, type Experiment } from '../experiments.js';
import type { GitInfo } from '../git-info.js';
import { readIncrementMetadata, type Increment } from '../increments.js';
import { encodeNumber } from '../json.js';
import { modelFormatOf } from '../model-formats.js';
import { isInside, type Project } from '../project.js';
import { facetOf, type SelectionSetting, type SelectionSource } from '../selection.js';
import { fileDigest } from '../store/disk.js';
import type { ArtifactRecord, DataFileRecord, SelectionRecord } from './types.js';

/** Everything a version record holds except its own name, number, time and actor. */
export interface Lineage {
  increment: string;
  experiment: string;
  git: GitInfo | null;
  params: Record<string, unknown>;
  metrics: Record<string, Stored>;
  selection: SelectionRecord | null;
  test_metrics: Record<string, Stored>;
  artifact: ArtifactRecord;
  environment: Record<string, unknown>;
  data_files: DataFileRecord[];
}

/** File endings of data (not models, not reports): a recorded artifact with one is a data file of the run. */
const DATA_EXTENSIONS = ['.csv', '.tsv', '.parquet', '.feather', '.arrow', '.npy', '.npz', '.h5ad', '.jsonl'];
/** Files experiments write about their own outputs, not the data they learned from. */
const OUTPUT_NAMES = /pred|score|report|metric|history|result|importance|shap|explain|partial|confusion/i;
const HEX64 = /^[0-9a-f]{64}$/;

type Stored = number | 'NaN' | 'Infinity' | '-Infinity';
const stored = (v: number) => encodeNumber(v) as Stored;

function encodeAll(metrics: Record<string, number>): Record<string, Stored> {
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, stored(v)]));
}

/** The model file: the one named, else the only recorded artifact whose name says it holds a model. */
async function chooseArtifact(project: Project, inc: Increment, e: Experiment, given: string | undefined): Promise<Artifact> {
  if (given !== undefined) {
    const file = await resolveExperimentFile(project, inc, e.dir, given);
    const recorded = e.meta.artifacts.find((a) => path.resolve(e.dir, a.path) === file);
    if (!recorded) {
      throw new MlError(
        'CONFLICT',
        `${project.relative(file)} is not a recorded artifact of ${e.name}: there is no sha256 recorded for it to verify.`,
        `Record it first (track_experiment {name: "${e.name}", artifacts: ["${given}"]}, or Experiment.save_model in Python), then register again.`,
      );
    }
    return recorded;
  }
  const models = e.meta.artifacts.filter((a) => modelFormatOf(a.path));
  if (models.length === 1) return models[0]!;
  if (models.length === 0) {
    throw notFound(
      `${e.name} in ${inc.id} has no recorded model artifact (.joblib, .pkl, .onnx, .pt, …).`,
      'Save the model with Experiment.save_model (Python) or record it with track_experiment {artifacts: [...]}, or pass artifact.',
    );
  }
  throw new MlError(
    'AMBIGUOUS',
    `${e.name} records ${models.length} model artifacts: ${models.map((a) => a.path).join(', ')}.`,
    'Pass artifact with the one to register.',
  );
}

/** The artifact as recorded, after proving the file still has the recorded bytes. */
export async function verifiedArtifact(project: Project, inc: Increment, e: Experiment, a: Artifact): Promise<ArtifactRecord> {
  const file = path.resolve(e.dir, a.path);
  if (!isInside(inc.dir, file))
    throw invalid(`Artifact ${a.path} of ${e.name} lies outside ${inc.id}.`, 'Register a model saved inside the increment.');
  const now = await fileDigest(file);
  if (now.sha256 !== a.sha256) {
    throw new MlError(
      'CONFLICT',
      `${project.relative(file)} has changed since ${e.name} recorded it (sha256 ${now.sha256.slice(0, 12)}… now, ${a.sha256.slice(0, 12) || 'none'}… recorded).`,
      'Register only the file the experiment produced: restore it, or record the new file in a new experiment and register that.',
    );
  }
  return { path: project.relative(file), bytes: now.bytes, sha256: now.sha256, format: modelFormatOf(a.path) ?? null };
}

/** The artifact of a version as it is now: undefined when it still matches its record, else what differs. */
export async function artifactDrift(project: Project, artifact: ArtifactRecord): Promise<string | undefined> {
  const file = path.join(project.root, ...artifact.path.split('/'));
  if (!isInside(project.specweaveDir, file)) return `${artifact.path} lies outside .specweave/`;
  try {
    const now = await fileDigest(file);
    return now.sha256 === artifact.sha256
      ? undefined
      : `${artifact.path} has changed since it was registered (sha256 ${now.sha256.slice(0, 12)}…, registered ${artifact.sha256.slice(0, 12)}…)`;
  } catch (e) {
    if (e instanceof MlError && e.code === 'NOT_FOUND') return `${artifact.path} is missing`;
    throw e;
  }
}

/** The experiment's data files with recorded hashes: data artifacts, and params that hold a data file's sha256. */
function dataFiles(project: Project, e: Experiment, model: Artifact): DataFileRecord[] {
  const out: DataFileRecord[] = [];
  for (const a of e.meta.artifacts) {
    const name = a.path.split('/').pop()!.toLowerCase();
    if (a === model || !DATA_EXTENSIONS.some((x) => name.endsWith(x)) || OUTPUT_NAMES.test(name) || !HEX64.test(a.sha256)) continue;
    out.push({
      path: project.relative(path.resolve(e.dir, a.path)),
      sha256: a.sha256,
      bytes: Number.isSafeInteger(a.bytes) && a.bytes >= 0 ? a.bytes : null,
    });
  }
  for (const [key, value] of Object.entries(e.params)) {
    if (/sha256$/i.test(key) && typeof value === 'string' && HEX64.test(value.toLowerCase()))
      out.push({ path: `params.${key}`, sha256: value.toLowerCase(), bytes: null });
  }
  return out;
}

/** Sources the selection snapshot looks in, by the increment's `ml.selection`; test only as the last resort. */
const SOURCES: Record<SelectionSetting, SelectionSource[]> = {
  auto: ['cv', 'validation', 'test'],
  cv: ['cv'],
  validation: ['validation'],
  test: ['test'],
};

/**
 * The measurement this experiment is selected on: for the increment's primary metric, its CV mean (with std and
 * fold count) when logged, else its validation value, else (last resort) its test value. A per-experiment rule,
 * simple enough that the Python client records the same bytes (docs/registry.md, "Lineage").
 */
export function selectionOf(metrics: Record<string, number>, primary: string | null, setting: SelectionSetting): SelectionRecord | null {
  if (!primary) return null;
  const key = facetOf(primary).key;
  const names = Object.keys(metrics).sort();
  const find = (split: string, stat: string | undefined) =>
    names.find((n) => {
      const f = facetOf(n);
      return f.key === key && f.split === split && f.stat === stat;
    });
  for (const source of SOURCES[setting] ?? SOURCES.auto) {
    const name = find(source, source === 'cv' ? 'mean' : undefined);
    if (name === undefined) continue;
    const std = source === 'cv' ? find('cv', 'std') : undefined;
    const count = source === 'cv' ? find('cv', 'count') : undefined;
    return {
      metric: primary,
      source,
      key: name,
      value: stored(metrics[name]!),
      std: std === undefined ? null : stored(metrics[std]!),
      count: count === undefined || !Number.isFinite(metrics[count]) ? null : metrics[count]!,
    };
  }
  return null;
}

export async function snapshotLineage(
  project: Project,
  inc: Increment,
  experiment: string,
  artifact: string | undefined,
): Promise<Lineage> {
  const e = await readExperiment(project, inc, experiment);
  const chosen = await chooseArtifact(project, inc, e, artifact);
  const [verified, meta] = await Promise.all([
    verifiedArtifact(project, inc, e, chosen),
    readIncrementMetadata(project, inc).catch(() => undefined),
  ]);
  const selection = selectionOf(e.metrics, meta?.ml.primary_metric ?? null, meta?.ml.selection ?? 'auto');
  const test = Object.fromEntries(Object.entries(e.metrics).filter(([k]) => facetOf(k).split === 'test'));
  return {
    increment: inc.id,
    experiment: e.name,
    git: e.meta.git,
    params: e.params,
    metrics: encodeAll(e.metrics),
    selection,
    test_metrics: encodeAll(test),
    artifact: verified,
    environment: e.meta.environment,
    data_files: dataFiles(project, e, chosen),
  };
}
