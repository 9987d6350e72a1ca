/**
 * The one error type of the evaluation engine. Its message always names the file and, where known, the
 * row (1-based data row for CSV, 1-based line for JSONL) and column, so a user can go straight to the cell.
 */
export class PredictionsError extends Error {
  readonly file: string;
  readonly row: number | undefined;
  readonly column: string | undefined;

  constructor(message: string, where: { file: string; row?: number; column?: string }) {
    super(message);
    this.name = 'PredictionsError';
    this.file = where.file;
    this.row = where.row;
    this.column = where.column;
  }
}

/** Formats `file row N, column "c": detail` with the parts that are known. */
export function locate(file: string, rowLabel: string | undefined, column: string | undefined): string {
  let s = file;
  if (rowLabel !== undefined) s += ` ${rowLabel}`;
  if (column !== undefined) s += `${rowLabel !== undefined ? ',' : ''} column ${JSON.stringify(column)}`;
  return s;
}
