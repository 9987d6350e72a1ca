/**
 * The model registry's records (docs/registry.md). A model is a folder under `.specweave/registry/` holding
 * immutable version records (`versions/<X.Y.Z>.json`) and an append-only event log (`events.jsonl`). Which version
 * holds a stage is never stored: it is derived from the log, so promotions and rollbacks never rewrite history.
 * The zod schemas validate what is read from disk; the Python client (specweave_ml/registry.py) writes the same bytes.
 */
import { z } from 'zod';

/** Bumped when a reader of this version could no longer read a newer record. */
export const REGISTRY_FORMAT = 1;

/** Strict semver without pre-release or build parts: what a stage alias and a GTO tag can name unambiguously. */
export const SEMVER = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;

/** A stage name: lower case, as GTO spells stages ("staging", "production", "shadow-eu"). */
export const STAGE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** The stage whose promotion the increment's quality gates guard. */
export const PRODUCTION = 'production';

export const EVENT_KINDS = ['register', 'promote', 'rollback'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const Iso = z.string().min(1).max(64);
const Text = z.string().max(4000);
const GitState = z
  .object({ commit: z.string().max(100).nullable(), branch: z.string().max(300).nullable(), dirty: z.boolean() })
  .nullable();
/** Metric values as the format stores them: numbers, or "NaN" / "Infinity" / "-Infinity". */
const StoredNumber = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]);

export const ArtifactRecord = z.object({
  /** Relative to the project root, forward slashes. */
  path: z.string().min(1).max(1000),
  bytes: z.number().int().nonnegative(),
  sha256: Sha256,
  /** joblib, pickle, onnx… (core/model-formats.ts); null when the extension says nothing. */
  format: z.string().max(40).nullable(),
});
export type ArtifactRecord = z.infer<typeof ArtifactRecord>;

export const DataFileRecord = z.object({
  /** Where the experiment recorded it: an artifact path (project-relative) or the param that holds the hash. */
  path: z.string().min(1).max(1000),
  sha256: Sha256,
  bytes: z.number().int().nonnegative().nullable(),
});
export type DataFileRecord = z.infer<typeof DataFileRecord>;

export const SelectionRecord = z.object({
  /** The increment's primary metric, as compare_experiments names it. */
  metric: z.string().max(200),
  /** Where the value was measured: the CV mean over folds, a validation split, or (only when nothing else) test. */
  source: z.enum(['cv', 'validation', 'test']),
  /** The metric key the value was read from (cv_f1_mean, val_f1, f1…). */
  key: z.string().max(200),
  value: StoredNumber,
  std: StoredNumber.nullable(),
  count: z.number().nullable(),
});
export type SelectionRecord = z.infer<typeof SelectionRecord>;

/** versions/<X.Y.Z>.json: written once, never changed. */
export const VersionRecord = z.object({
  format: z.literal(REGISTRY_FORMAT),
  model: z.string().max(64),
  version: z.string().regex(SEMVER),
  created: Iso,
  actor: z.string().max(300).nullable(),
  description: Text.nullable(),
  increment: z.string().max(200),
  experiment: z.string().max(100),
  /** The commit the experiment recorded when it ran (what trained the model). */
  git: GitState,
  /** The project's commit when the version was registered. */
  registered_git: GitState,
  params: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), StoredNumber),
  selection: SelectionRecord.nullable(),
  /** The experiment's test-split metrics (test_*), never used for selection. */
  test_metrics: z.record(z.string(), StoredNumber),
  artifact: ArtifactRecord,
  environment: z.record(z.string(), z.unknown()),
  data_files: z.array(DataFileRecord),
});
export type VersionRecord = z.infer<typeof VersionRecord>;

/** One line of events.jsonl. Keys are written in this order (both clients), one compact JSON object per line. */
export const EventRecord = z.object({
  /** 1, 2, 3… in file order: the N of GTO's `name#stage#N` tags. */
  seq: z.number().int().positive(),
  time: Iso,
  event: z.enum(EVENT_KINDS),
  model: z.string().max(64),
  version: z.string().regex(SEMVER),
  /** The stage promoted or rolled back; null for register. */
  stage: z.string().regex(STAGE_NAME).nullable(),
  /** The version that held the stage just before (promote, rollback); null when none did, and for register. */
  previous: z.string().regex(SEMVER).nullable(),
  actor: z.string().max(300).nullable(),
  reason: Text.nullable(),
  /** Promoted to production although the gates failed or could not be run; `reason` says why. */
  forced: z.boolean(),
  /** The gates' verdict when production was promoted (null otherwise, or when forced without running them). */
  gates: z
    .object({
      increment: z.string().max(200),
      verdict: z.enum(['pass', 'warn', 'fail']),
      failed: z.array(z.string().max(200)).max(100),
    })
    .nullable(),
});
export type EventRecord = z.infer<typeof EventRecord>;

/** The order keys are written in an event line (the Python client uses the same list). */
export const EVENT_KEY_ORDER = [
  'seq',
  'time',
  'event',
  'model',
  'version',
  'stage',
  'previous',
  'actor',
  'reason',
  'forced',
  'gates',
] as const;

/** A stage as the log makes it now. */
export interface StageHolder {
  stage: string;
  /** The version holding it now. */
  version: string;
  /** The seq of the event that put it there. */
  since_seq: number;
  since: string;
  /** Earlier holders a default rollback walks back through, most recent last. */
  previous: string[];
}

export interface ModelVersion {
  version: string;
  /** Stages this version holds now. */
  stages: string[];
  record: VersionRecord;
}

export interface RegisteredModel {
  name: string;
  /** `.specweave/registry/<name>`, project-relative. */
  path: string;
  /** Oldest first (semver order). */
  versions: ModelVersion[];
  latest: string | null;
  /** Stage -> holder, stages in the order first promoted. */
  stages: StageHolder[];
  events: EventRecord[];
  /** Lines of events.jsonl that a crashed writer left torn (not JSON): not history, skipped and counted. */
  skipped_lines: number;
}

export interface RegistrySummary {
  models: RegisteredModel[];
  /** Entries under registry/ that are not model folders (ignored, reported). */
  ignored: string[];
  /** Models whose files are broken: named with why, so one bad model does not hide the others. */
  broken: { name: string; reason: string }[];
}
