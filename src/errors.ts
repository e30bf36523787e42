/**
 * Every error Fineflow raises on purpose. Each class has a stable `type` that survives
 * serialisation through Temporal (it becomes `ApplicationFailure.type`), so retry policies
 * and the CLI can tell the classes apart without string-matching messages.
 *
 * - {@link InvalidInputError}: the input can never succeed (bad YAML, bad stage inputs, a
 *   corrupt dataset). Non-retryable.
 * - {@link DependencyUnavailableError}: a service (MinIO, Temporal, an HTTP model host) did not
 *   answer. Retryable.
 * - {@link CancelledError}: the user or the workflow cancelled the operation.
 */

export const ERROR_TYPES = {
  invalidInput: 'FineflowInvalidInput',
  dependencyUnavailable: 'FineflowDependencyUnavailable',
  cancelled: 'FineflowCancelled',
  internal: 'FineflowInternal',
} as const;

export type ErrorType = (typeof ERROR_TYPES)[keyof typeof ERROR_TYPES];

/** Error types that a retry can never fix: named in every stage's retry policy. */
export const NON_RETRYABLE_ERROR_TYPES: readonly ErrorType[] = [ERROR_TYPES.invalidInput, ERROR_TYPES.cancelled];

export abstract class FineflowError extends Error {
  abstract readonly type: ErrorType;
  abstract readonly retryable: boolean;
  /** Extra machine-readable detail (field path, URI, …), kept small: it crosses Temporal. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.details = Object.freeze({ ...details });
  }
}

export class InvalidInputError extends FineflowError {
  readonly type = ERROR_TYPES.invalidInput;
  readonly retryable = false;
}

export class DependencyUnavailableError extends FineflowError {
  readonly type = ERROR_TYPES.dependencyUnavailable;
  readonly retryable = true;
}

export class CancelledError extends FineflowError {
  readonly type = ERROR_TYPES.cancelled;
  readonly retryable = false;
}

export class InternalError extends FineflowError {
  readonly type = ERROR_TYPES.internal;
  readonly retryable = true;
}

/** Normalise anything thrown into an Error, keeping the original as `cause`. */
export function ensureError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  let text: string;
  try {
    text = JSON.stringify(thrown);
  } catch {
    text = String(thrown);
  }
  return new Error(`non-error thrown: ${text}`, { cause: thrown });
}
