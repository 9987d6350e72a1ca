/**
 * A quality gate is a definition: an id, a one-line summary, the thresholds it reads (with defaults) and a pure
 * check over a context that validation.ts loads once. The list in index.ts is the only place gates are named:
 * validate_increment, the tests.md template and docs/gates.md are produced from it.
 */
import type { Comparison } from '../comparison.js';
import type { MlError } from '../errors.js';
import type { Artifact, BrokenExperiment, Experiment } from '../experiments.js';
import type { IncrementMetadata } from '../increments.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface Check {
  id: string;
  status: CheckStatus;
  message: string;
}

export interface ThresholdDefinition {
  /** The key under metadata.json → ml.thresholds, and in update_increment's `thresholds`. */
  key: string;
  default: number;
  summary: string;
}

/** A recorded artifact of the best experiment and what is on disk now. */
export interface ArtifactOnDisk {
  recorded: Artifact;
  actual: { bytes: number; sha256: string } | 'missing' | 'not a regular file' | 'outside the increment';
}

export interface GateContext {
  incrementId: string;
  /** The increment folder relative to the project root, for messages. */
  incrementPath: string;
  meta: IncrementMetadata | MlError;
  /** Entries of the increment folder. */
  files: Set<string>;
  spec: string | undefined;
  tasksMd: string | undefined;
  experiments: Experiment[];
  broken: BrokenExperiment[];
  comparison: Comparison | undefined;
  /** The selected experiment: the best candidate, else the best run. */
  best: Experiment | undefined;
  /** The best experiment's fold scores from its history, by metric (cv_<metric> points, one per fold). */
  bestFolds: Map<string, number[]>;
  /** The best experiment's recorded artifacts that may be a model or an explanation, checked against the disk. */
  bestArtifacts: ArtifactOnDisk[];
  /** Every threshold, the increment's value or the default. */
  thresholds: Record<string, number>;
}

export interface GateDefinition {
  id: string;
  summary: string;
  thresholds?: ThresholdDefinition[];
  check(ctx: GateContext): Check | Check[];
}

export const check = (id: string, status: CheckStatus, message: string): Check => ({ id, status, message });

/** The call that changes thresholds, for messages: `update_increment {"increment":"0001-x","thresholds":{…}}`. */
export function thresholdCall(ctx: GateContext, thresholds: Record<string, number>): string {
  return `update_increment ${JSON.stringify({ increment: ctx.incrementId, thresholds })}`;
}

/** The increment's settings when metadata.json is readable. */
export function mlSettings(ctx: GateContext) {
  return 'ml' in ctx.meta ? ctx.meta.ml : undefined;
}

export function stripComments(markdown: string): string {
  return markdown.replace(/<!--[\s\S]*?-->/g, '');
}
