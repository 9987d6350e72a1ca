/**
 * Every quality gate, in the order validate_increment reports them. Adding a gate is one file and one line here;
 * the thresholds, the tests.md template and docs/gates.md follow from this list.
 */
import { explainabilityGate, modelSavedGate } from './artifacts.js';
import { baselineGate } from './baseline.js';
import { beatsBaselineGate } from './beats-baseline.js';
import { cvStabilityGate } from './cv-stability.js';
import { experimentsLoggedGate } from './experiments-logged.js';
import { metadataGate } from './metadata.js';
import { noneRunningGate } from './none-running.js';
import { requiredFilesGate } from './required-files.js';
import { selectionGate } from './selection.js';
import { successCriteriaGate } from './success-criteria.js';
import { tasksDoneGate } from './tasks-done.js';
import type { GateDefinition, ThresholdDefinition } from './types.js';

export const GATES: readonly GateDefinition[] = [
  metadataGate,
  requiredFilesGate,
  experimentsLoggedGate,
  noneRunningGate,
  baselineGate,
  selectionGate,
  beatsBaselineGate,
  successCriteriaGate,
  cvStabilityGate,
  modelSavedGate,
  explainabilityGate,
  tasksDoneGate,
];

export const THRESHOLDS: readonly ThresholdDefinition[] = GATES.flatMap((g) => g.thresholds ?? []);

export const DEFAULT_THRESHOLDS: Readonly<Record<string, number>> = Object.fromEntries(THRESHOLDS.map((t) => [t.key, t.default]));
