import { z } from 'zod';
import { artifactDrift, readModel } from '../core/registry/index.js';
import { EventWire, StageWire, VersionWire, eventWire, stageWire, stagesText, versionWire } from '../core/registry/wire.js';
import { defineTool } from './define.js';

const DEFAULT_LIMIT = 50;

export const getModelTool = defineTool({
  name: 'get_model',
  title: 'Get a registered model',
  description:
    'One registered model: its versions oldest first with their lineage (increment, experiment, git, selection and test ' +
    'metrics, artifact path, bytes and sha256, data files), which version holds each stage now (derived from the event ' +
    'log), and the event history (register, promote, rollback with time, actor, reason, forced; the newest `limit`). Checks that the ' +
    "stage holders' model files still match their sha256 (warnings). Params, all metrics and the environment are in each " +
    "version's file. Read-only.",
  input: {
    name: z.string().min(1).describe('The registered model name (list_models lists them).'),
    limit: z
      .number()
      .int()
      .min(1)
      .max(500)
      .nullish()
      .describe('At most this many of the newest versions and newest events (default 50); stage holders are always included.'),
  },
  output: {
    name: z.string(),
    path: z.string(),
    latest: z.string().nullable(),
    stages: z.array(StageWire),
    versions: z.array(VersionWire),
    events: z.array(EventWire),
    versions_total: z.number(),
    events_total: z.number(),
    skipped_lines: z.number().describe('Torn lines of events.jsonl left by a crashed writer, skipped.'),
    warnings: z.array(z.string()),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project }) {
    const m = await readModel(project, args.name);
    const warnings: string[] = [];
    // Each holder's file is hashed once, however many stages it holds.
    const drifts = new Map<string, Promise<string | undefined>>();
    for (const s of m.stages) {
      const record = m.versions.find((v) => v.version === s.version)!.record;
      if (!drifts.has(s.version)) drifts.set(s.version, artifactDrift(project, record.artifact));
      const drift = await drifts.get(s.version);
      if (drift) warnings.push(`${s.stage} holder ${s.version}: ${drift}`);
    }
    if (m.skipped_lines) warnings.push(`${m.skipped_lines} torn line(s) in ${m.path}/events.jsonl skipped (a writer crashed mid-append).`);
    const last = m.events[m.events.length - 1];
    // Newest first in the cut, shown oldest first; a stage holder is always shown, however old.
    const limit = args.limit ?? DEFAULT_LIMIT;
    const held = new Set(m.stages.map((s) => s.version));
    const versions = m.versions.filter((v, i) => i >= m.versions.length - limit || held.has(v.version));
    const events = m.events.slice(-limit);
    if (versions.length < m.versions.length || events.length < m.events.length)
      warnings.push(
        `Showing ${versions.length} of ${m.versions.length} versions and the last ${events.length} of ${m.events.length} events (limit ${limit}); the rest are in ${m.path}/versions/ and ${m.path}/events.jsonl.`,
      );
    return {
      data: {
        name: m.name,
        path: m.path,
        latest: m.latest,
        stages: m.stages.map(stageWire),
        versions: versions.map((v) => versionWire(project, m.name, v)),
        events: events.map(eventWire),
        versions_total: m.versions.length,
        events_total: m.events.length,
        skipped_lines: m.skipped_lines,
        warnings,
      },
      text:
        `${m.name}: ${m.versions.length} version(s), latest ${m.latest ?? 'none'}; ${stagesText(m)}; ${m.events.length} event(s)` +
        `${last ? `, last ${last.event} ${last.version}${last.stage ? ` to ${last.stage}` : ''} at ${last.time}` : ''}. Files: ${m.path}/.` +
        (warnings.length ? `\nWARNING ${warnings.join('\nWARNING ')}` : ''),
    };
  },
});
