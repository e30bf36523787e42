/**
 * What a `command` stage's ending means for its retry policy (docs/pipelines.md, "command"):
 *
 * | ending | error | retried? |
 * |---|---|---|
 * | exit 0, declared outputs present | — | — |
 * | exit code listed in `retryExitCodes` (default 75, sysexits EX_TEMPFAIL) | InternalError `command-exit-retryable` | yes |
 * | killed by SIGKILL, SIGTERM, SIGINT or SIGHUP that the runner did not send (OOM killer, operator, drain) | InternalError `command-killed` | yes |
 * | exit 126 / 127 (not executable / not found, as shells report it) | InvalidInputError `command-not-runnable` | no |
 * | any other exit code, or another signal (SIGSEGV, SIGABRT…) | InvalidInputError `command-failed` | no |
 *
 * A program's own failure is not retried by default: a bug fails the same way every time, and a
 * retry would spend the stage's time again. A program that knows a failure is transient exits 75.
 */
import { InternalError, InvalidInputError, type FineflowError } from '../core/errors';

/** Signals from outside the program that a new attempt may well survive. */
const RETRYABLE_SIGNALS = new Set(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP']);

export interface ProcessEnding {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The error for a program that did not exit 0 (undefined when it did); `tail` is its last output lines. */
export function exitFailure(
  ending: ProcessEnding,
  retryExitCodes: readonly number[],
  program: string,
  tail: readonly string[],
): FineflowError | undefined {
  if (ending.code === 0) return undefined;
  const last = tail.length > 0 ? `; last output:\n${tail.join('\n')}` : '';
  if (ending.signal) {
    const details = { code: 'command-killed', signal: ending.signal };
    if (RETRYABLE_SIGNALS.has(ending.signal))
      return new InternalError(`${program} was killed by ${ending.signal} (not by Fineflow); retrying${last}`, details);
    return new InvalidInputError(`${program} died of ${ending.signal}${last}`, { ...details, code: 'command-failed' });
  }
  const code = ending.code ?? -1;
  if (retryExitCodes.includes(code))
    return new InternalError(`${program} exited with ${code}, listed in retryExitCodes; retrying${last}`, {
      code: 'command-exit-retryable',
      exitCode: code,
    });
  if (code === 126 || code === 127)
    return new InvalidInputError(
      `${program} exited with ${code}: a program it started could not be ${code === 126 ? 'executed' : 'found'}${last}`,
      { code: 'command-not-runnable', exitCode: code },
    );
  return new InvalidInputError(`${program} exited with ${code}${last}`, { code: 'command-failed', exitCode: code });
}
