/**
 * The registry as the tools return it: short and complete, pointing to the version files for params, metrics and
 * the environment. Shared by get_model, list_models and the write tools so every tool names things alike.
 */
import { z } from 'zod';
import type { Project } from '../project.js';
import { versionFile } from './read.js';
import type { EventRecord, ModelVersion, RegisteredModel, StageHolder } from './types.js';

const StoredNumber = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]);
const Git = z.object({ commit: z.string().nullable(), branch: z.string().nullable(), dirty: z.boolean() }).nullable();

export const StageWire = z.object({
  stage: z.string(),
  version: z.string(),
  since: z.string(),
  since_seq: z.number(),
  previous: z.array(z.string()).describe('The latest 20 earlier holders, oldest first: a default rollback returns to the last one.'),
  previous_total: z.number(),
});

export const VersionWire = z.object({
  version: z.string(),
  stages: z.array(z.string()),
  created: z.string(),
  actor: z.string().nullable(),
  description: z.string().nullable(),
  increment: z.string(),
  experiment: z.string(),
  git: Git,
  selection: z
    .object({
      metric: z.string(),
      source: z.string(),
      key: z.string(),
      value: StoredNumber,
      std: StoredNumber.nullable(),
      count: z.number().nullable(),
    })
    .nullable(),
  test_metrics: z.record(z.string(), StoredNumber),
  artifact: z.object({ path: z.string(), bytes: z.number(), sha256: z.string(), format: z.string().nullable() }),
  data_files: z.array(z.object({ path: z.string(), sha256: z.string(), bytes: z.number().nullable() })),
  file: z.string().describe('The version record: params, all metrics and the environment are there.'),
});

export const EventWire = z.object({
  seq: z.number(),
  time: z.string(),
  event: z.enum(['register', 'promote', 'rollback']),
  model: z.string(),
  version: z.string(),
  stage: z.string().nullable(),
  previous: z.string().nullable(),
  actor: z.string().nullable(),
  reason: z.string().nullable(),
  forced: z.boolean(),
  gates: z.object({ increment: z.string(), verdict: z.enum(['pass', 'warn', 'fail']), failed: z.array(z.string()) }).nullable(),
});

export const TagWire = z.object({ tag: z.string(), created: z.boolean(), commit: z.string().nullable(), error: z.string().nullable() });

export function stageWire(s: StageHolder): z.infer<typeof StageWire> {
  return {
    stage: s.stage,
    version: s.version,
    since: s.since,
    since_seq: s.since_seq,
    previous: s.previous.slice(-20),
    previous_total: s.previous.length,
  };
}

export function versionWire(project: Project, model: string, v: ModelVersion): z.infer<typeof VersionWire> {
  const r = v.record;
  return {
    version: v.version,
    stages: v.stages,
    created: r.created,
    actor: r.actor,
    description: r.description,
    increment: r.increment,
    experiment: r.experiment,
    git: r.git,
    selection: r.selection,
    test_metrics: r.test_metrics,
    artifact: r.artifact,
    data_files: r.data_files,
    file: project.relative(versionFile(project, model, v.version)),
  };
}

export function eventWire(e: EventRecord): z.infer<typeof EventWire> {
  return { ...e };
}

/** "production 1.0.2, staging 1.0.3" or "no stages". */
export function stagesText(m: RegisteredModel): string {
  return m.stages.length ? m.stages.map((s) => `${s.stage} ${s.version}`).join(', ') : 'no stages';
}
