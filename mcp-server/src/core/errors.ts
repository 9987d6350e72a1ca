/**
 * Errors that a caller can act on. The message says what was wrong; the hint says how to call correctly.
 * Anything that is not an MlError is a bug in this project and is reported as an internal error.
 */
export type ErrorCode = 'INVALID_INPUT' | 'NOT_FOUND' | 'AMBIGUOUS' | 'OUTSIDE_PROJECT' | 'LOCKED' | 'CORRUPT' | 'CONFLICT';

export class MlError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'MlError';
  }

  /** The message and the hint as one text, as a model or a person should read it. */
  describe(): string {
    return this.hint ? `${this.message}\n${this.hint}` : this.message;
  }
}

export const invalid = (message: string, hint?: string) => new MlError('INVALID_INPUT', message, hint);
export const notFound = (message: string, hint?: string) => new MlError('NOT_FOUND', message, hint);
