/** Every tool the server offers, in the order tools/list shows them. */
import { compareExperimentsTool } from './compare-experiments.js';
import { completeIncrementTool } from './complete-increment.js';
import { createIncrementTool } from './create-increment.js';
import type { ToolDefinition } from './define.js';
import { comparePredictionsTool } from './compare-predictions.js';
import { evaluatePredictionsTool } from './evaluate-predictions.js';
import { exportExperimentsTool } from './export-experiments.js';
import { getExperimentTool } from './get-experiment.js';
import { exportToMlflowTool } from './export-to-mlflow.js';
import { importRunsTool } from './import-runs.js';
import { listExperimentsTool } from './list-experiments.js';
import { listIncrementsTool } from './list-increments.js';
import { renderReportTool } from './render-report.js';
import { scaffoldDeploymentTool } from './scaffold-deployment.js';
import { syncDocsTool } from './sync-docs.js';
import { trackExperimentTool } from './track-experiment.js';
import { updateIncrementTool } from './update-increment.js';
import { updateTaskTool } from './update-task.js';
import { validateIncrementTool } from './validate-increment.js';
import { registerModelTool } from './register-model.js';
import { promoteModelTool } from './promote-model.js';
import { rollbackModelTool } from './rollback-model.js';
import { getModelTool } from './get-model.js';
import { listModelsTool } from './list-models.js';

// The schemas differ per tool; the registry only needs the common shape.
export const TOOLS = [
  createIncrementTool,
  updateIncrementTool,
  listIncrementsTool,
  trackExperimentTool,
  listExperimentsTool,
  getExperimentTool,
  compareExperimentsTool,
  evaluatePredictionsTool,
  comparePredictionsTool,
  validateIncrementTool,
  syncDocsTool,
  updateTaskTool,
  importRunsTool,
  exportToMlflowTool,
  registerModelTool,
  promoteModelTool,
  rollbackModelTool,
  getModelTool,
  listModelsTool,
  exportExperimentsTool,
  completeIncrementTool,
  renderReportTool,
  scaffoldDeploymentTool,
] as unknown as ToolDefinition[];
