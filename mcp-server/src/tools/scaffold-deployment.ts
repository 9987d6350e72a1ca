import { z } from 'zod';
import { planDeployment, writeDeployment } from '../core/deployment.js';
import { defineTool } from './define.js';
import { IncrementRef } from './schemas.js';

export const scaffoldDeploymentTool = defineTool({
  name: 'scaffold_deployment',
  title: 'Scaffold a deployment (service, image, monitoring, rollout, load test)',
  description:
    'Write a deployable service for a model into a folder of the project: app.py (FastAPI: /predict, /predict/batch, ' +
    "/health, Prometheus /metrics correct with several workers; refuses to start when the model file's sha256 differs " +
    "from the recorded one), serve.py, the model file, requirements.txt pinned from the experiment's recorded " +
    'environment, a non-root Dockerfile, Prometheus alerts and a Grafana dashboard, a canary rollout config, a ' +
    'locustfile and DEPLOYMENT.md. Serves registered model `model` at `stage` (default production), else the best ' +
    'experiment of `increment`. Needs the input schema recorded at training (Python: exp.save_model(model, "model", ' +
    'input_example=X_train)). `output` must be new, empty, or a previous scaffold left unchanged.',
  input: {
    increment: IncrementRef.nullish().describe(
      "Serve the best experiment of this increment. With model, only checked: it must be the served version's increment.",
    ),
    model: z.string().min(1).nullish().describe('A registered model name (register_model); its version at `stage` is served.'),
    stage: z.string().min(1).nullish().describe('Registry stage to serve, with model; default "production".'),
    output: z
      .string()
      .min(1)
      .describe(
        'Folder to write, relative to the project root, e.g. "deploy/churn". Not the root, .specweave or .git; no links on the way.',
      ),
  },
  output: {
    output: z.string(),
    files: z.array(z.object({ path: z.string(), bytes: z.number() })),
    removed: z.array(z.string()),
    replaced_previous: z.boolean(),
    model: z.object({
      source: z.enum(['registry', 'experiment']),
      name: z.string(),
      version: z.string().nullable(),
      stage: z.string().nullable(),
      increment: z.string(),
      experiment: z.string(),
      artifact: z.string(),
      sha256: z.string(),
      format: z.string(),
    }),
    features: z.number(),
    task: z.string().nullable(),
    warnings: z.array(z.string()),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(args, { project }) {
    const plan = await planDeployment(project, {
      increment: args.increment ?? undefined,
      model: args.model ?? undefined,
      stage: args.stage ?? undefined,
      output: args.output,
    });
    const r = await writeDeployment(project, plan);
    const s = r.source;
    const model = {
      source: s.kind,
      name: s.name,
      version: s.version,
      stage: s.stage,
      increment: s.increment,
      experiment: s.experiment,
      artifact: s.artifact,
      sha256: s.sha256,
      format: s.format,
    };
    const what = s.kind === 'registry' ? `${s.name} v${s.version} (${s.stage})` : `experiment ${s.experiment} of ${s.increment}`;
    return {
      data: {
        output: r.output,
        files: r.files,
        removed: r.removed,
        replaced_previous: r.replaced_previous,
        model,
        features: r.features,
        task: r.task,
        warnings: r.warnings,
      },
      text: [
        `Wrote ${r.files.length + 1} files to ${r.output}/ for ${what}${r.replaced_previous ? ' (replacing the previous scaffold)' : ''}: ${r.features} features, ${r.task ?? 'unknown task'}.`,
        `Run: cd ${r.output} && python serve.py --workers 2; see ${r.output}/DEPLOYMENT.md.`,
        ...r.warnings.map((w) => `Warning: ${w}`),
      ].join('\n'),
    };
  },
});
