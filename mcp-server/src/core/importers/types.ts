/**
 * What the importers read from another tracker's store. The importers only read; the store writes the runs as
 * experiments (see docs/format.md).
 */

/**
 * One importer: a new source format is one file exporting a definition and one line in index.ts's IMPORTERS, from
 * which detection, the tool's format enum, its error messages and the docs' list are produced.
 */
export interface ImporterDefinition<F extends string = string> {
  /** The value of import_runs' format argument. */
  format: F;
  /** The tracker's name, for messages ("MLflow"). */
  tool: string;
  /** What detect looks for, one line, for docs and the "nothing found" error. */
  looksFor: string;
  /** A folder name that usually holds this store, suggested when the source is its parent ("mlruns"). */
  usualFolder?: string;
  /** Whether the source may be a single file (then detect and scan get its name inside absDir). */
  readsFiles?: boolean;
  /** Whether the folder (or the file in it) holds this importer's store. Runs inside the source's read-only zone. */
  detect(absDir: string, file?: string): Promise<boolean>;
  /** Reads the runs. Runs inside the source's read-only zone; only reads. */
  scan(absDir: string, options: ImporterScanOptions): Promise<ImportScan>;
  /** Reads a source given as an http(s) URL (a running tracking server) instead of a folder; only reads. */
  scanUrl?(url: string, options: ImporterScanOptions): Promise<ImportScan>;
}

/** What every importer's scan is given; each uses what applies to it. */
export interface ImporterScanOptions extends ScanOptions {
  includeDeleted?: boolean;
  projectRoot?: string;
  /** Set when the source is a file: its name inside absDir. */
  file?: string;
}

export type ImportedStatus = 'running' | 'completed' | 'failed' | 'killed';

export interface HistoryPoint {
  metric: string;
  value: number;
  step: number;
  /** ISO 8601, UTC. */
  timestamp: string;
}

export interface ImportedRun {
  /**
   * Stable identity of the run in its source, used to skip re-imports:
   * `mlflow:<run_id>`, `wandb:<run id>`, `dvc:exp:<experiment commit sha>`, `dvc:workspace:<path>:<content hash>`,
   * `dvc:snapshot:<path>/exps/<name>`.
   */
  key: string;
  /** Run name / experiment name as the source has it; not yet valid or unique (see toExperimentName). */
  suggestedName: string;
  /** Flattened with dots for nested DVC / W&B configuration. */
  params: Record<string, unknown>;
  /** Summary value per metric; may be NaN or ±Infinity. */
  metrics: Record<string, number>;
  history: HistoryPoint[];
  tags: string[];
  status: ImportedStatus;
  started: string | null;
  ended: string | null;
  git: { commit: string | null; branch?: string | null } | null;
  notes: string[];
  /** `tool` plus the keys that identify the run in its source; `path` is the source relative to the project root. */
  source: Record<string, unknown>;
}

export interface SkippedEntry {
  what: string;
  reason: string;
}

export interface ImportScan {
  /** The importer's format (see IMPORTERS in index.ts). */
  format: string;
  runs: ImportedRun[];
  skipped: SkippedEntry[];
  warnings: string[];
}

export interface ScanOptions {
  /** The source as the user gave it, relative to the project root (e.g. "mlruns"); recorded in source.path. */
  sourceLabel?: string;
}

export interface MlflowScanOptions extends ScanOptions {
  /** Import deleted experiments and runs too (those under .trash or with lifecycle_stage deleted). */
  includeDeleted?: boolean;
}

export interface DvcScanOptions extends ScanOptions {
  /** The project root; committed experiments are read from the git repository that holds the source. */
  projectRoot?: string;
}

export type WandbScanOptions = ScanOptions;

export interface SourceScanOptions extends ImporterScanOptions {
  /** Leave out to detect it. */
  format?: string;
}
