/**
 * The deployment scaffold's templates, one list: each entry is a file of the output folder and the pure function
 * that writes it. core/deployment.ts decides what to serve and feeds these the facts.
 */
import type { InputSchema, ModelSource, Pin } from '../../core/deployment.js';
import { renderApp, renderServe } from './app.js';
import { renderDockerfile, renderDockerignore, renderRequirements } from './docker.js';
import { renderLocustfile, renderPayload } from './loadtest.js';
import { renderAlertRules, renderGrafanaDashboard, renderPrometheusConfig } from './monitoring.js';
import { renderDeploymentMd } from './readme.js';
import { renderRolloutConfig } from './rollout.js';

export interface DeploymentFacts {
  source: ModelSource;
  schema: InputSchema;
  /** Where the model file goes, relative to the output folder. */
  modelFile: string;
  pins: Pin[];
  generatedAt: string;
}

export const DEPLOYMENT_TEMPLATES: readonly { path: string; render: (f: DeploymentFacts) => string }[] = [
  { path: 'app.py', render: renderApp },
  { path: 'serve.py', render: renderServe },
  { path: 'requirements.txt', render: renderRequirements },
  { path: 'Dockerfile', render: renderDockerfile },
  { path: '.dockerignore', render: renderDockerignore },
  { path: 'monitoring/alerts.yml', render: renderAlertRules },
  { path: 'monitoring/prometheus.yml', render: renderPrometheusConfig },
  { path: 'monitoring/grafana-dashboard.json', render: renderGrafanaDashboard },
  { path: 'rollout/rollout.yaml', render: renderRolloutConfig },
  { path: 'loadtest/locustfile.py', render: renderLocustfile },
  { path: 'loadtest/payload.json', render: renderPayload },
  { path: 'DEPLOYMENT.md', render: renderDeploymentMd },
];

export function renderDeploymentFiles(f: DeploymentFacts): { path: string; content: string }[] {
  return DEPLOYMENT_TEMPLATES.map((t) => ({ path: t.path, content: t.render(f) }));
}
