/**
 * scaffold_deployment's decisions: which model to serve (a registry stage, else the increment's best experiment),
 * what it needs (the input schema recorded at training, the library versions recorded with the run), which files to
 * write, and whether the output folder may take them. Templates live in render/deployment/; this module reads
 * through store/disk.ts, plans the whole scaffold, checks the folder, then writes.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { z } from 'zod';
import { compareExperiments } from './comparison.js';
import { MlError, invalid, notFound } from './errors.js';
import { readExperiment, type Experiment } from './experiments.js';
import { readIncrementMetadata, resolveIncrement, type Increment } from './increments.js';
import { parseJsonObject } from './json.js';
import { modelFormatOf } from './model-formats.js';
import type { Project } from './project.js';
import { PRODUCTION, readModel, stageHolder, type RegisteredModel, type VersionRecord } from './registry/index.js';
import { entryInfo, listEntryKinds, readChunks, readText, removeFile, withWriteZone, writeAtomic } from './store/disk.js';
import { classifyLeftover } from './store/leftovers.js';
import { renderDeploymentFiles, type DeploymentFacts } from '../render/deployment/index.js';

export { LOAD_TEST_TAG } from './comparison.js';
/** The artifact the Python client writes with save_model(..., input_example=X) or log_input_schema(X). */
export const INPUT_SCHEMA_FILE = 'input_schema.json';
/** What the scaffold writes last in the output folder: the files it wrote and their sha256 (docs/deployment.md). */
export const MANIFEST_FILE = 'scaffold-manifest.json';
/** The model formats the generated service loads (joblib and pickle files). */
const SERVABLE_FORMATS = ['joblib', 'pickle'];
/** Models are copied into the output whole; a larger file is refused rather than read into memory. */
const MAX_MODEL_BYTES = 2 * 1024 * 1024 * 1024;

const FeatureType = z.enum(['number', 'integer', 'boolean', 'string']);
export const InputSchema = z.object({
  format: z.literal('specweave-input-schema/1'),
  input: z.enum(['dataframe', 'array', 'records']),
  features: z
    .array(z.object({ name: z.string().min(1).max(500), dtype: z.string().max(100), type: FeatureType }))
    .min(1)
    .max(10_000),
  example: z.record(z.string(), z.unknown()),
  task: z.enum(['classification', 'regression']).nullable(),
  classes: z
    .array(z.union([z.string(), z.number(), z.boolean()]))
    .max(100_000)
    .nullable(),
  model: z.string().max(1000).nullable(),
  requirements: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/), z.string().max(100).nullable()).default({}),
});
export type InputSchema = z.infer<typeof InputSchema>;

export interface DeploymentArgs {
  increment?: string | undefined;
  model?: string | undefined;
  stage?: string | undefined;
  output: string;
}

/** Where the served model comes from. */
export interface ModelSource {
  kind: 'registry' | 'experiment';
  /** Registry model name, or the experiment's name when serving straight from an experiment. */
  name: string;
  version: string | null;
  stage: string | null;
  increment: string;
  experiment: string;
  /** Project-relative path of the recorded model file. */
  artifact: string;
  sha256: string;
  bytes: number;
  format: string;
  environment: Record<string, unknown>;
  metrics: Record<string, number | string>;
  primary_metric: string | null;
  /** The version that held the stage before (what a rollback returns to), when serving from the registry. */
  previous_version: string | null;
  /**
   * What the canary is compared with: the production holder when serving another stage, else production's previous
   * holder; null when there is none (or when serving an experiment).
   */
  control_version: string | null;
}

export interface PlannedFile {
  /** Relative to the output folder, forward slashes. */
  path: string;
  content: string | Uint8Array;
}

export interface DeploymentPlan {
  output: string;
  outputAbs: string;
  source: ModelSource;
  schema: InputSchema;
  files: PlannedFile[];
  /** Files of a previous scaffold that this one no longer writes: removed. */
  stale: string[];
  replaces_previous: boolean;
  warnings: string[];
}

export interface DeploymentResult {
  output: string;
  files: { path: string; bytes: number }[];
  removed: string[];
  replaced_previous: boolean;
  source: ModelSource;
  features: number;
  task: string | null;
  warnings: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// Which model

async function fromRegistry(project: Project, name: string, stage: string): Promise<ModelSource> {
  const model: RegisteredModel = await readModel(project, name);
  const holder = model.stages.find((s) => s.stage === stage);
  if (!holder) {
    const held = model.stages.map((s) => `${s.stage} (v${s.version})`).join(', ');
    throw notFound(
      `Model "${name}" has no version in stage "${stage}".`,
      held
        ? `Stages held now: ${held}. Pass one of them as stage, or promote_model first.`
        : `Promote a version first: promote_model {name: "${name}", version, stage: "${stage}"}.`,
    );
  }
  const record: VersionRecord = model.versions.find((v) => v.version === holder.version)!.record;
  const production = stageHolder(model, PRODUCTION);
  const control = stage === PRODUCTION ? (holder.previous.at(-1) ?? null) : production !== record.version ? production : null;
  // A version registered without a selection record still belongs to an increment that names its primary metric.
  const primary =
    record.selection?.metric ??
    (await resolveIncrement(project, record.increment)
      .then((inc) => readIncrementMetadata(project, inc))
      .then((m) => m.ml?.primary_metric ?? null)
      .catch(() => null));
  return {
    kind: 'registry',
    name,
    version: record.version,
    stage,
    increment: record.increment,
    experiment: record.experiment,
    artifact: record.artifact.path,
    sha256: record.artifact.sha256,
    bytes: record.artifact.bytes,
    format: record.artifact.format ?? modelFormatOf(record.artifact.path) ?? 'unknown',
    environment: record.environment,
    metrics: { ...record.metrics, ...record.test_metrics },
    primary_metric: primary,
    previous_version: holder.previous.at(-1) ?? null,
    control_version: control,
  };
}

/** The increment's best candidate (best experiment when there are only baselines), load tests never included. */
async function fromBestExperiment(project: Project, inc: Increment): Promise<ModelSource> {
  const c = await compareExperiments(project, inc);
  const best = c.best_candidate ?? c.best;
  if (!best) {
    throw notFound(
      `${inc.id} has no ranked experiment to deploy.`,
      'Track experiments with the primary metric (and save the model), or pass model to deploy a registered one.',
    );
  }
  const exp = await readExperiment(project, inc, best.experiment);
  const artifact = pickModelArtifact(project, exp, (await readExperimentSchema(project, exp)).model);
  return {
    kind: 'experiment',
    name: exp.name,
    version: null,
    stage: null,
    increment: inc.id,
    experiment: exp.name,
    artifact: project.relative(path.join(exp.dir, artifact.path)),
    sha256: artifact.sha256,
    bytes: artifact.bytes,
    format: modelFormatOf(artifact.path)!,
    environment: exp.meta.environment,
    metrics: exp.metrics,
    primary_metric: c.primary_metric,
    previous_version: null,
    control_version: null,
  };
}

/** The experiment's servable model file: the one its input schema names, else its only joblib/pickle artifact. */
function pickModelArtifact(project: Project, exp: Experiment, named: string | null) {
  const models = exp.meta.artifacts.filter((a) => modelFormatOf(a.path));
  const servable = models.filter((a) => SERVABLE_FORMATS.includes(modelFormatOf(a.path)!.toLowerCase()));
  const chosen = servable.find((a) => a.path === named);
  if (chosen) return chosen;
  if (servable.length === 1) return servable[0]!;
  const where = project.relative(exp.dir);
  if (servable.length === 0) {
    throw notFound(
      `Experiment ${exp.name} has no joblib or pickle model recorded${models.length ? ` (it has ${models.map((m) => m.path).join(', ')}; the generated service loads joblib and pickle files)` : ''}.`,
      `Save the model with exp.save_model(model, "model", input_example=X_train) in ${where}, then call again.`,
    );
  }
  throw new MlError(
    'AMBIGUOUS',
    `Experiment ${exp.name} records ${servable.length} model files (${servable.map((m) => m.path).join(', ')}) and no input schema says which one is served.`,
    'Register the one to serve with register_model {artifact} and pass model, or record the schema with save_model(..., input_example=X).',
  );
}

export async function chooseModel(project: Project, args: DeploymentArgs): Promise<ModelSource> {
  const stage = args.stage?.trim() || PRODUCTION;
  if (args.model) {
    const source = await fromRegistry(project, args.model, stage);
    // An increment given with a model must be the one the served version was trained in: a check, not a choice.
    if (args.increment && (await resolveIncrement(project, args.increment)).id !== source.increment) {
      throw invalid(
        `Model "${args.model}" at ${stage} is version ${source.version}, trained in ${source.increment}, not in increment ${JSON.stringify(args.increment)}.`,
        'Leave increment out to serve the registered version, or leave model out to serve the best experiment of the increment.',
      );
    }
    return source;
  }
  if (args.stage)
    throw invalid(
      'stage was given without model.',
      'Pass model (a registered model name) with stage, or neither to deploy the best experiment.',
    );
  if (!args.increment) {
    throw invalid(
      'Nothing says which model to deploy.',
      'Pass model (a registered model, served at stage, default production) or increment (its best experiment).',
    );
  }
  return fromBestExperiment(project, await resolveIncrement(project, args.increment));
}

// ---------------------------------------------------------------------------------------------------------------
// What it needs

export async function readInputSchema(project: Project, source: ModelSource): Promise<InputSchema> {
  return readExperimentSchema(project, await readExperiment(project, await resolveIncrement(project, source.increment), source.experiment));
}

/** The experiment's recorded input schema, checked against its recorded sha256 and validated. */
async function readExperimentSchema(project: Project, exp: Experiment): Promise<InputSchema> {
  const file = path.join(exp.dir, INPUT_SCHEMA_FILE);
  const record = exp.meta.artifacts.find((a) => a.path === INPUT_SCHEMA_FILE);
  const text = record ? await readText(file) : undefined;
  if (text === undefined) {
    throw notFound(
      `Experiment ${exp.name} has no recorded input schema, so the request model of the service cannot be written.`,
      'Record the training features in the experiment, then call again: exp.save_model(model, "model", input_example=X_train) or exp.log_input_schema(X_train, model=model) (docs/format.md, "Input schema and load tests").',
    );
  }
  // The request model is generated from this file: one changed since it was recorded is not trusted.
  if (record!.sha256 && (await digestOf(file)) !== record!.sha256) {
    throw new MlError(
      'CORRUPT',
      `${project.relative(file)} changed since it was recorded (its sha256 differs); nothing was written.`,
      'Restore it (git checkout), or record the schema again with exp.log_input_schema(X_train, model=model).',
    );
  }
  const raw = parseJsonObject(
    text,
    () => project.relative(file),
    'Record the schema again with exp.log_input_schema(X_train, model=model).',
  );
  const parsed = InputSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new MlError(
      'CORRUPT',
      `${project.relative(file)} is not a valid input schema: ${issue.path.join('.') || '(root)'}: ${issue.message}.`,
      'Record the schema again with exp.log_input_schema(X_train, model=model).',
    );
  }
  return parsed.data;
}

/** The recorded model file, read whole and checked against the recorded sha256 before anything is planned. */
async function readVerifiedModel(project: Project, source: ModelSource): Promise<Uint8Array> {
  const file = path.join(project.root, source.artifact);
  const chunks: Buffer[] = [];
  for await (const chunk of readChunks(file, { maxBytes: MAX_MODEL_BYTES })) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== source.sha256) {
    throw new MlError(
      'CORRUPT',
      `${source.artifact} has sha256 ${sha.slice(0, 12)}…, not the recorded ${source.sha256.slice(0, 12)}…: the model file changed after it was recorded; nothing was written.`,
      'Restore the recorded file (git checkout), or save and register the model again.',
    );
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------------------------
// The output folder

const Manifest = z.object({
  generator: z.literal('specweave-ml scaffold_deployment'),
  files: z.array(z.object({ path: z.string(), sha256: z.string() })),
});

/** Entries the running service or Python leave in the folder; they never block scaffolding again. */
const RUNTIME_LEFTOVERS = new Set(['__pycache__', '.pytest_cache', 'prometheus-multiproc']);

const sha256Of = (content: string | Uint8Array) => createHash('sha256').update(content).digest('hex');

/** Every file below dir (relative, forward slashes); runtime leftovers skipped; symlinks and special files refused. */
async function listTree(project: Project, dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const [name, kind] of await listEntryKinds(dir)) {
    const child = rel ? `${rel}/${name}` : name;
    if (RUNTIME_LEFTOVERS.has(name)) continue;
    // A temp file of a scaffold killed mid-write (writeAtomic's `.<name>.<pid>.<hex>.tmp`): not an edit to keep, and
    // refusing it would make a crash block every later scaffold of this folder.
    if (classifyLeftover(name, kind)) continue;
    if (kind === 'directory') out.push(...(await listTree(project, path.join(dir, name), child)));
    else if (kind === 'file') out.push(child);
    else
      throw new MlError(
        'CONFLICT',
        `${project.relative(path.join(dir, name))} is ${kind === 'symlink' ? 'a symbolic link' : 'a special file'}; scaffold_deployment writes only into folders it made.`,
        'Remove it, or pass another output folder.',
      );
  }
  return out;
}

/**
 * The output folder may be missing, empty, or a previous scaffold of ours whose files are all unchanged since
 * (its manifest says which and their sha256): a scaffold is regenerated, never merged with someone's edits.
 */
async function checkOutputFolder(project: Project, outputAbs: string): Promise<{ previous: string[] }> {
  const info = await entryInfo(outputAbs);
  if (!info) return { previous: [] };
  if (info.kind !== 'directory') {
    throw new MlError(
      'CONFLICT',
      `${project.relative(outputAbs)} is not a folder.`,
      'Pass a new or empty folder inside the project as output.',
    );
  }
  const present = await listTree(project, outputAbs);
  if (present.length === 0) return { previous: [] };
  const manifestText = present.includes(MANIFEST_FILE) ? await readText(path.join(outputAbs, MANIFEST_FILE)) : undefined;
  const manifest = manifestText === undefined ? undefined : Manifest.safeParse(safeJson(manifestText));
  if (!manifest?.success) {
    throw new MlError(
      'CONFLICT',
      `${project.relative(outputAbs)} is not empty and is not a scaffold written by scaffold_deployment (${present.length} file(s), e.g. ${present.slice(0, 3).join(', ')}${manifestText === undefined ? '' : `; its ${MANIFEST_FILE} is not a valid manifest`}); nothing was written.`,
      'Pass a new or empty folder as output.',
    );
  }
  const recorded = new Map(manifest.data.files.map((f) => [f.path, f.sha256]));
  const foreign = present.filter((f) => f !== MANIFEST_FILE && !recorded.has(f));
  const changed: string[] = [];
  for (const f of present) {
    const want = recorded.get(f);
    if (!want) continue;
    const text = await digestOf(path.join(outputAbs, ...f.split('/')));
    if (text !== want) changed.push(f);
  }
  if (foreign.length || changed.length) {
    throw new MlError(
      'CONFLICT',
      `${project.relative(outputAbs)} holds a previous scaffold with ${[foreign.length ? `files it did not write (${foreign.slice(0, 5).join(', ')})` : '', changed.length ? `files changed since (${changed.slice(0, 5).join(', ')})` : ''].filter(Boolean).join(' and ')}; nothing was written, so no edit is lost.`,
      'Move your changes elsewhere (or pass another output folder), then call again.',
    );
  }
  return { previous: [...recorded.keys()] };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function digestOf(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of readChunks(file, { maxBytes: MAX_MODEL_BYTES })) hash.update(chunk);
  return hash.digest('hex');
}

/** The output folder, proven inside the project, not the root, not in .specweave or .git, and not reached through a link. */
async function resolveOutput(project: Project, output: string): Promise<string> {
  const abs = await project.resolveWithin(project.root, project.root, output, 'output');
  const named = path.resolve(project.root, output);
  if (abs !== named) {
    throw new MlError(
      'OUTSIDE_PROJECT',
      `Refused output ${JSON.stringify(output)}: a symbolic link is on its way.`,
      'Name a real folder inside the project.',
    );
  }
  const first = path.relative(project.root, abs).split(path.sep)[0];
  if (abs === project.root || first === '.specweave' || first === '.git') {
    throw invalid(
      `Refused output ${JSON.stringify(output)}: the scaffold goes into a folder of its own, not the project root, .specweave/ or .git/.`,
      'Pass a folder relative to the project root, e.g. "deploy/churn-model".',
    );
  }
  return abs;
}

// ---------------------------------------------------------------------------------------------------------------
// Plan, then write

/** Everything to write, read and checked; nothing is written yet. */
export async function planDeployment(project: Project, args: DeploymentArgs, now = new Date()): Promise<DeploymentPlan> {
  const outputAbs = await resolveOutput(project, args.output);
  const source = await chooseModel(project, args);
  if (!SERVABLE_FORMATS.includes(source.format.toLowerCase())) {
    throw invalid(
      `${source.artifact} is a ${source.format} model; the generated service loads joblib and pickle files.`,
      'Save the model with exp.save_model(model, "model") (joblib), register it, then call again.',
    );
  }
  const schema = await readInputSchema(project, source);
  const modelBytes = await readVerifiedModel(project, source);
  const { previous } = await checkOutputFolder(project, outputAbs);
  const facts: DeploymentFacts = {
    source,
    schema,
    modelFile: `model/${path.posix.basename(source.artifact)}`,
    pins: pinRequirements(source, schema),
    generatedAt: now.toISOString(),
  };
  const rendered = renderDeploymentFiles(facts);
  const files: PlannedFile[] = [...rendered, { path: facts.modelFile, content: modelBytes }];
  const written = new Set(files.map((f) => f.path));
  return {
    output: project.relative(outputAbs),
    outputAbs,
    source,
    schema,
    files,
    stale: previous.filter((p) => !written.has(p)),
    replaces_previous: previous.length > 0,
    warnings: facts.pins
      .filter((p) => p.version === null)
      .map((p) => `${p.name} is not pinned: the experiment recorded no version for it.`),
  };
}

export async function writeDeployment(project: Project, plan: DeploymentPlan): Promise<DeploymentResult> {
  const manifest = {
    generator: 'specweave-ml scaffold_deployment',
    model: { name: plan.source.name, version: plan.source.version, sha256: plan.source.sha256 },
    files: plan.files.map((f) => ({ path: f.path, sha256: sha256Of(f.content) })),
  };
  await withWriteZone(plan.outputAbs, project.root, plan.output, async () => {
    for (const f of plan.files) await writeAtomic(path.join(plan.outputAbs, ...f.path.split('/')), f.content);
    for (const f of plan.stale) await removeFile(path.join(plan.outputAbs, ...f.split('/')));
    // Last: a scaffold interrupted before this line is not "ours" and will not be overwritten silently.
    await writeAtomic(path.join(plan.outputAbs, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  });
  return {
    output: plan.output,
    files: plan.files.map((f) => ({
      path: f.path,
      bytes: typeof f.content === 'string' ? Buffer.byteLength(f.content) : f.content.length,
    })),
    removed: plan.stale,
    replaced_previous: plan.replaces_previous,
    source: plan.source,
    features: plan.schema.features.length,
    task: plan.schema.task,
    warnings: plan.warnings,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Requirements

export interface Pin {
  name: string;
  version: string | null;
  /** Where the version comes from. */
  from: 'experiment environment' | 'input schema' | 'serving stack' | 'unknown';
}

/**
 * The serving stack the templates are written and tested against (test/e2e/deployment.test.ts runs them with these
 * versions); the model's own libraries are pinned from what the experiment recorded instead.
 */
export const SERVING_STACK: readonly Pin[] = [
  { name: 'fastapi', version: '0.165.0', from: 'serving stack' },
  { name: 'uvicorn', version: '0.54.0', from: 'serving stack' },
  { name: 'pydantic', version: '2.14.4', from: 'serving stack' },
  { name: 'prometheus-client', version: '0.26.0', from: 'serving stack' },
];

const SERVING_NAMES = new Set(SERVING_STACK.map((p) => p.name));
const VERSION = /^[0-9][0-9A-Za-z.+!-]{0,60}$/;

/**
 * The model's libraries: those its input schema lists (numpy, scikit-learn, pandas for a DataFrame input, joblib…),
 * each at the version the experiment's environment recorded, else the version the schema recorded.
 */
export function pinRequirements(source: ModelSource, schema: InputSchema): Pin[] {
  const wanted = new Set(Object.keys(schema.requirements));
  wanted.add('numpy');
  if (schema.input === 'dataframe') wanted.add('pandas');
  if (source.format.toLowerCase() === 'joblib') wanted.add('joblib');
  const pins: Pin[] = [];
  for (const name of [...wanted].sort()) {
    if (SERVING_NAMES.has(name)) continue;
    const env = source.environment[name];
    const fromSchema = schema.requirements[name];
    const version = typeof env === 'string' && VERSION.test(env) ? env : fromSchema && VERSION.test(fromSchema) ? fromSchema : null;
    pins.push({
      name,
      version,
      from: version === null ? 'unknown' : version === env ? 'experiment environment' : 'input schema',
    });
  }
  return [...pins, ...SERVING_STACK];
}
