import { z } from 'zod';
import { artifactDrift, readModel } from '../core/registry/index.js';
import { EventWire, StageWire, VersionWire, eventWire, stageWire, stagesText, versionWire } from '../core/registry/wire.js';
import { defineTool } from './define.js';

export const getModelTool = defineTool({
  name: 'get_model',
  title: 'Get a registered model',
  description:
    'One registered model: its versions oldest first with their lineage (increment, experiment, git, selection and test ' +
    'metrics, artifact path, bytes and sha256, data files), which version holds each stage now (derived from the event ' +
    'log), and the full event history (register, promote, rollback with time, actor, reason, forced). Checks that the ' +
    "stage holders' model files still match their sha256 (warnings). Params, all metrics and the environment are in each " +
    "version's file. Read-only.",
  input: { name: z.string().min(1).describe('The registered model name (list_models lists them).') },
  output: {
    name: z.string(),
    path: z.string(),
    latest: z.string().nullable(),
    stages: z.array(StageWire),
    versions: z.array(VersionWire),
    events: z.array(EventWire),
    skipped_lines: z.number().describe('Torn lines of events.jsonl left by a crashed writer, skipped.'),
    warnings: z.array(z.string()),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project }) {
    const m = await readModel(project, args.name);
    const warnings: string[] = [];
    for (const s of m.stages) {
      const record = m.versions.find((v) => v.version === s.version)!.record;
      const drift = await artifactDrift(project, record.artifact);
      if (drift) warnings.push(`${s.stage} holder ${s.version}: ${drift}`);
    }
    if (m.skipped_lines) warnings.push(`${m.skipped_lines} torn line(s) in ${m.path}/events.jsonl skipped (a writer crashed mid-append).`);
    const last = m.events[m.events.length - 1];
    return {
      data: {
        name: m.name,
        path: m.path,
        latest: m.latest,
        stages: m.stages.map(stageWire),
        versions: m.versions.map((v) => versionWire(project, m.name, v)),
        events: m.events.map(eventWire),
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
