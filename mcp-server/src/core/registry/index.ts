/**
 * The model registry's API (docs/registry.md). Read: readRegistry, readModel, stageHolder. Write: registerModel,
 * promoteModel, rollbackModel. Other modules call these, never parse `.specweave/registry/` themselves.
 */
export * from './types.js';
export { compareVersions, deriveStages, readModel, readRegistry, stageHolder } from './read.js';
export { artifactDrift } from './lineage.js';
export { promoteModel, registerModel, rollbackModel, type RegistryContext, type StageChange } from './write.js';
