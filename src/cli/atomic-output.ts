/**
 * A file a command writes all or nothing: bytes go to a hidden temporary file in the target's own
 * folder (same file system, so the final `rename` is atomic) and replace the target only on
 * `commit()`. `abort()` — on any failure — deletes the temporary file, so a failed command leaves
 * neither an empty nor a truncated target, and an existing target keeps its old contents.
 * The temporary file is opened before the slow work starts, so an unwritable folder fails first.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';

export interface AtomicOutput {
  /** Where the bytes go until `commit()`. */
  readonly stream: Writable;
  /** Flushes, closes and renames the temporary file onto the target. */
  commit(): Promise<void>;
  /** Closes and deletes the temporary file; the target is untouched. Safe to call after `commit()`. */
  abort(): Promise<void>;
}

/** The hidden sibling of `target` the bytes go to first: `.NAME.PID.RANDOM.tmp`. */
export function temporaryPathFor(target: string): string {
  const suffix = `${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  return path.join(path.dirname(target), `.${path.basename(target)}.${suffix}`);
}

export async function openAtomicOutput(target: string): Promise<AtomicOutput> {
  const temporary = temporaryPathFor(target);
  // `wx`: never reuse (or follow a planted symlink at) an existing path.
  const handle = await open(temporary, 'wx', 0o644);
  const stream = handle.createWriteStream();
  // A write error surfaces through commit() or the writer's own await; never as an unhandled 'error'.
  let failure: Error | undefined;
  stream.on('error', (error) => (failure ??= error));
  let settled = false;
  const closed = async (): Promise<void> => {
    if (!stream.closed) {
      if (!stream.writableEnded && !stream.destroyed) stream.end();
      await once(stream, 'close').catch(() => undefined);
    }
  };
  return {
    stream,
    async commit() {
      if (settled) return;
      await closed();
      if (failure) throw failure;
      await rename(temporary, target);
      settled = true;
    },
    async abort() {
      if (settled) return;
      settled = true;
      stream.destroy();
      await closed();
      await rm(temporary, { force: true });
    },
  };
}
