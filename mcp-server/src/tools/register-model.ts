import { z } from 'zod';
import { registerModel } from '../core/registry/index.js';
import { TagWire, VersionWire, versionWire } from '../core/registry/wire.js';
import { defineTool } from './define.js';
import { ExperimentName, IncrementRef } from './schemas.js';

export const registerModelTool = defineTool({
  name: 'register_model',
  title: 'Register a model version',
  description:
    "Register an experiment's saved model as a new immutable version in the model registry (.specweave/registry/<name>/). " +
    'The version is semver: the patch number is bumped unless version is given ("1.4.0", or "major"/"minor"); a duplicate or ' +
    'lower version is refused. Records a lineage snapshot: increment, experiment, git commit and dirty state, params, selection ' +
    'metric (CV mean/std or validation), test metrics, the artifact path, bytes and sha256 (checked against the file now: a ' +
    'changed file is refused), environment and data-file hashes. The first version of a model is 1.0.0. Appends a register ' +
    'event to the log. git_tag: also create the GTO tag name@vX.Y.Z. Then promote_model puts it in a stage.',
  input: {
    name: z
      .string()
      .min(1)
      .describe('Model name: lower-case letters, digits, "-", "_" (e.g. "churn-classifier"). Created on first registration.'),
    increment: IncrementRef,
    experiment: ExperimentName,
    artifact: z
      .string()
      .nullish()
      .describe(
        'The model file, relative to the experiment folder or the increment; it must be a recorded artifact. Default: the one recorded model file.',
      ),
    version: z
      .string()
      .nullish()
      .describe('"1.4.0", "v1.4.0", "major", "minor" or "patch" (default). Must be above every registered version.'),
    description: z.string().nullish().describe('What this version is, recorded with it (at most 4,000 characters).'),
    git_tag: z.boolean().nullish().describe("Also create GTO's annotated tag name@vX.Y.Z on the current commit (git repositories only)."),
  },
  output: {
    model: z.string(),
    version: z.string(),
    path: z.string(),
    record: VersionWire,
    seq: z.number(),
    tags: z.array(TagWire),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, { project, git }) {
    const r = await registerModel(project, args, { git });
    const wire = versionWire(project, r.record.model, { version: r.record.version, stages: [], record: r.record });
    const sel = r.record.selection;
    const tagText = r.tags.map((t) => (t.created ? ` Tagged ${t.tag}.` : ` Tag ${t.tag} not created: ${t.error}.`)).join('');
    return {
      data: { model: r.record.model, version: r.record.version, path: r.path, record: wire, seq: r.event.seq, tags: r.tags },
      text:
        `Registered ${r.record.model} ${r.record.version} from ${r.record.increment}/${r.record.experiment}: ${r.record.artifact.path} ` +
        `(${r.record.artifact.bytes} bytes, sha256 ${r.record.artifact.sha256.slice(0, 12)}…)` +
        `${sel ? `, selected on ${sel.key}=${sel.value}${sel.std !== null ? ` ± ${sel.std}` : ''}` : ''}. Record: ${r.path}.${tagText}`,
    };
  },
});
