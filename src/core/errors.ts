/**
 * Every error Fineflow raises on purpose. Each class has a stable `type` that survives
 * serialisation through Temporal (it becomes `ApplicationFailure.type`), so retry policies
 * and the CLI can tell the classes apart without string-matching messages.
 *
 * - {@link InvalidInputError}: the input can never succeed (bad YAML, bad stage inputs, a
 *   corrupt dataset). Non-retryable.
 * - {@link DependencyUnavailableError}: a service (MinIO, Temporal, an HTTP model host) did not
 *   answer. Retryable.
 * - {@link NotFoundError}: the object (or bucket, model, alias) does not exist. Non-retryable. The
 *   only error that code may read as "nothing there yet" (no baseline, no cache entry).
 * - {@link AccessDeniedError}: the credentials may not read or write it. Non-retryable: a retry
 *   with the same credentials cannot succeed, and it never means "missing".
 * - {@link CorruptDataError}: the bytes do not match their recorded sha256. Non-retryable.
 * - {@link ResourceLimitError}: the work exceeds a bound (memory, pixels, columns). Non-retryable;
 *   the message says what to reduce.
 * - {@link ConflictError}: a conditional write lost a race (someone else wrote first). Retryable:
 *   read again and redo the change.
 * - {@link CancelledError}: the user or the workflow cancelled the operation.
 * - {@link StageError}: a team's stage (`--stage-module`) failed and a retry may succeed. What a plain
 *   `Error` thrown by such a stage becomes: its message is kept, its stack goes to the stage log only.
 * - {@link FatalStageError}: a team's stage decided the stage cannot succeed however often it is
 *   retried (the data fails its own audit, a required resource is gone for good). Non-retryable.
 *
 * The storage errors are deliberately not subclasses of InvalidInputError: code that tolerates a
 * missing object must name NotFoundError, so a denied or corrupt read can never pass for "missing".
 */

export const ERROR_TYPES = {
  invalidInput: 'FineflowInvalidInput',
  dependencyUnavailable: 'FineflowDependencyUnavailable',
  cancelled: 'FineflowCancelled',
  notFound: 'FineflowNotFound',
  accessDenied: 'FineflowAccessDenied',
  corrupt: 'FineflowCorrupt',
  resourceLimit: 'FineflowResourceLimit',
  conflict: 'FineflowConflict',
  internal: 'FineflowInternal',
  stage: 'FineflowStageError',
  stageFatal: 'FineflowStageFatal',
} as const;

export type ErrorType = (typeof ERROR_TYPES)[keyof typeof ERROR_TYPES];

/** Error types that a retry can never fix: named in every stage's retry policy. */
export const NON_RETRYABLE_ERROR_TYPES: readonly ErrorType[] = [
  ERROR_TYPES.invalidInput,
  ERROR_TYPES.cancelled,
  ERROR_TYPES.notFound,
  ERROR_TYPES.accessDenied,
  ERROR_TYPES.corrupt,
  ERROR_TYPES.resourceLimit,
  ERROR_TYPES.stageFatal,
];

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

export class NotFoundError extends FineflowError {
  readonly type = ERROR_TYPES.notFound;
  readonly retryable = false;
}

export class AccessDeniedError extends FineflowError {
  readonly type = ERROR_TYPES.accessDenied;
  readonly retryable = false;
}

export class CorruptDataError extends FineflowError {
  readonly type = ERROR_TYPES.corrupt;
  readonly retryable = false;
}

export class ResourceLimitError extends FineflowError {
  readonly type = ERROR_TYPES.resourceLimit;
  readonly retryable = false;
}

export class ConflictError extends FineflowError {
  readonly type = ERROR_TYPES.conflict;
  readonly retryable = true;
}

/** A team's stage failed; retried under the stage's retry policy (docs/pipeline-reference.md, "Errors"). */
export class StageError extends FineflowError {
  readonly type = ERROR_TYPES.stage;
  readonly retryable = true;
}

/** A team's stage failed for good: the run pauses or fails at once, without the remaining attempts. */
export class FatalStageError extends FineflowError {
  readonly type = ERROR_TYPES.stageFatal;
  readonly retryable = false;
}

/** Rebuild a FineflowError from its serialised `type` (child process messages, Temporal failures). */
export function errorOfType(
  type: string | undefined,
  message: string,
  details: Record<string, unknown> = {},
  options?: { cause?: unknown },
): FineflowError | undefined {
  switch (type) {
    case ERROR_TYPES.invalidInput:
      return new InvalidInputError(message, details, options);
    case ERROR_TYPES.dependencyUnavailable:
      return new DependencyUnavailableError(message, details, options);
    case ERROR_TYPES.cancelled:
      return new CancelledError(message, details, options);
    case ERROR_TYPES.notFound:
      return new NotFoundError(message, details, options);
    case ERROR_TYPES.accessDenied:
      return new AccessDeniedError(message, details, options);
    case ERROR_TYPES.corrupt:
      return new CorruptDataError(message, details, options);
    case ERROR_TYPES.resourceLimit:
      return new ResourceLimitError(message, details, options);
    case ERROR_TYPES.conflict:
      return new ConflictError(message, details, options);
    case ERROR_TYPES.stage:
      return new StageError(message, details, options);
    case ERROR_TYPES.stageFatal:
      return new FatalStageError(message, details, options);
    default:
      return undefined;
  }
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
