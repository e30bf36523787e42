/**
 * The object-store side of a run's stored state (src/core/run/stored-run-state.ts): parts written
 * by the run's activities, sealed into one content-addressed object, read back checked against its
 * sha256. The activities (activities/run-state.ts) and the client (a run's state from history) share it.
 */
import { createHash } from 'node:crypto';
import { CorruptDataError, InvalidInputError, ResourceLimitError } from '../core/errors';
import {
  MAX_RUN_STATE_BYTES,
  RUN_STATE_PART_CHARS,
  type ReadRunStatePartInput,
  type RemoveRunStateInput,
  type RunStatePartInput,
  type SealRunStateInput,
  type StoredRunState,
  type StoredRunStateRef,
} from '../core/run/stored-run-state';
import { runStatePartUri, runStateUri } from '../core/storage/layout';
import type { ObjectStore } from './object-store';

const MAX_PARTS = Math.ceil(MAX_RUN_STATE_BYTES / RUN_STATE_PART_CHARS);

function checkParts(parts: number, partChars: number): void {
  if (!Number.isSafeInteger(parts) || parts < 1 || parts > MAX_PARTS)
    throw new InvalidInputError(`a run state has 1 to ${MAX_PARTS} parts, got ${parts}`, { code: 'run-state-parts' });
  if (!Number.isSafeInteger(partChars) || partChars < 1 || partChars > RUN_STATE_PART_CHARS)
    throw new InvalidInputError(`run state parts hold 1 to ${RUN_STATE_PART_CHARS} characters, got ${partChars}`, {
      code: 'run-state-parts',
    });
}

/** Stage one part; rewriting the same part (an activity retry) writes the same bytes. */
export async function writeRunStatePart(store: ObjectStore, input: RunStatePartInput): Promise<void> {
  if (input.text.length > RUN_STATE_PART_CHARS)
    throw new InvalidInputError(`a run state part holds at most ${RUN_STATE_PART_CHARS} characters`, {
      code: 'run-state-parts',
      chars: input.text.length,
    });
  await store.putBytes(runStatePartUri(input.bucket, input.runId, input.continuation, input.part), input.text, {
    contentType: 'text/plain; charset=utf-8',
  });
}

/** Join the staged parts into `@state/<sha256>.json`, drop the parts, and return the reference. */
export async function sealRunState(store: ObjectStore, input: SealRunStateInput): Promise<StoredRunStateRef> {
  checkParts(input.parts, input.partChars);
  const texts: string[] = [];
  let bytes = 0;
  for (let part = 0; part < input.parts; part++) {
    const uri = runStatePartUri(input.bucket, input.runId, input.continuation, part);
    const text = (await store.getBytes(uri, { maxBytes: MAX_RUN_STATE_BYTES - bytes })).toString('utf8');
    // Every part but the last is full: a short one means a part went missing or was cut.
    if (part < input.parts - 1 ? text.length !== input.partChars : text.length > input.partChars)
      throw new CorruptDataError(`run state part ${part} of ${uri} has ${text.length} characters`, { uri });
    bytes += Buffer.byteLength(text, 'utf8');
    texts.push(text);
  }
  const text = texts.join('');
  const body = Buffer.from(text, 'utf8');
  const sha256 = createHash('sha256').update(body).digest('hex');
  const uri = runStateUri(input.bucket, input.runId, sha256);
  await store.putBytes(uri, body, { contentType: 'application/json' });
  for (let part = 0; part < input.parts; part++)
    await store.remove(runStatePartUri(input.bucket, input.runId, input.continuation, part));
  return { uri, sha256, bytes: body.length, chars: text.length, partChars: input.partChars, parts: input.parts };
}

/**
 * Remove a sealed state no execution reads: continue-as-new wrote it, then an update changed the run and the state
 * was taken and written again. Only `@state/<sha256>.json` of this run can be named (the digest is checked); the
 * workflow removes it before it writes the state again, so a new state with the same digest is written after this.
 */
export async function removeRunState(store: ObjectStore, input: RemoveRunStateInput): Promise<void> {
  await store.remove(runStateUri(input.bucket, input.runId, input.sha256));
}

/**
 * The stored JSON text, after checking that the reference points into this run's `@state/` and
 * that the bytes hash to its digest (a reference is only ever made by the run itself, but the
 * store is shared: a changed object must not become a run's state).
 */
export async function readRunStateText(
  store: ObjectStore,
  bucket: string,
  runId: string,
  ref: StoredRunStateRef,
): Promise<string> {
  checkParts(ref.parts, ref.partChars);
  const expected = runStateUri(bucket, runId, ref.sha256);
  if (ref.uri !== expected)
    throw new InvalidInputError(`run state ${ref.uri} is not ${expected}, where run ${runId} keeps its state`, {
      code: 'run-state-uri',
    });
  if (!Number.isSafeInteger(ref.bytes) || ref.bytes < 0 || ref.bytes > MAX_RUN_STATE_BYTES)
    throw new ResourceLimitError(`run state ${ref.uri} claims ${ref.bytes} bytes (limit ${MAX_RUN_STATE_BYTES})`, {
      code: 'object-too-large',
    });
  const body = await store.getBytes(ref.uri, { maxBytes: ref.bytes });
  const sha256 = createHash('sha256').update(body).digest('hex');
  if (sha256 !== ref.sha256)
    throw new CorruptDataError(`run state ${ref.uri} has sha256 ${sha256}, not the ${ref.sha256} the run wrote`, {
      uri: ref.uri,
    });
  const text = body.toString('utf8');
  if (text.length !== ref.chars)
    throw new CorruptDataError(`run state ${ref.uri} has ${text.length} characters, not ${ref.chars}`, {
      uri: ref.uri,
    });
  return text;
}

/** One part of the stored text, checked as a whole first. */
export async function readRunStatePart(store: ObjectStore, input: ReadRunStatePartInput): Promise<string> {
  const { ref, part } = input;
  if (!Number.isSafeInteger(part) || part < 0 || part >= ref.parts)
    throw new InvalidInputError(`run state part ${part} is not in [0, ${ref.parts})`, { code: 'run-state-parts' });
  const text = await readRunStateText(store, input.bucket, input.runId, ref);
  return text.slice(part * ref.partChars, (part + 1) * ref.partChars);
}

/** The whole stored state (the client, for a run that ended without a result). */
export async function readStoredRunState(
  store: ObjectStore,
  bucket: string,
  runId: string,
  ref: StoredRunStateRef,
): Promise<StoredRunState> {
  return JSON.parse(await readRunStateText(store, bucket, runId, ref)) as StoredRunState;
}
