/**
 * The plan and carried state of a run that continues as new go to the store in bounded parts and
 * come back checked (src/core/run/stored-run-state.ts, src/storage/run-state-store.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CorruptDataError, InvalidInputError } from '../../../src/core/errors';
import { RUN_STATE_PART_CHARS, splitRunState, type StoredRunStateRef } from '../../../src/core/run/stored-run-state';
import { runStatePartUri } from '../../../src/core/storage/layout';
import {
  readRunStatePart,
  readStoredRunState,
  removeRunState,
  sealRunState,
  writeRunStatePart,
} from '../../../src/storage/run-state-store';
import { BUCKET, memoryStore } from '../activities/helpers';

const RUN = 'big-20261205-090000-abcd';

/** What the workflow does: split, write every part, seal. */
async function store(text: string, partChars = RUN_STATE_PART_CHARS, continuation = 1) {
  const s = memoryStore();
  const parts = splitRunState(text, partChars);
  for (const [part, chunk] of parts.entries())
    await writeRunStatePart(s, { bucket: BUCKET, runId: RUN, continuation, part, text: chunk });
  const ref = await sealRunState(s, { bucket: BUCKET, runId: RUN, continuation, parts: parts.length, partChars });
  return { s, ref, parts };
}

void describe('stored run state', () => {
  void it('splits into parts of at most the part size that join back, one part for empty text', () => {
    const text = 'ab"cé\\'.repeat(1000);
    const parts = splitRunState(text, 777);
    assert.equal(parts.join(''), text);
    assert.ok(parts.every((p) => p.length <= 777));
    assert.equal(parts.length, Math.ceil(text.length / 777));
    assert.deepEqual(splitRunState(''), ['']);
  });

  void it('a part stays under 384 KiB as a JSON payload however badly it escapes (Temporal warns at 512 KiB)', () => {
    // Parts are slices of JSON text, which holds no raw control character: `"` and `\\` double, CJK takes 3 bytes.
    for (const worst of ['"', '\\', '界', '\u2028']) {
      const part = splitRunState(worst.repeat(RUN_STATE_PART_CHARS + 5))[0] as string;
      const payload = Buffer.byteLength(JSON.stringify({ bucket: BUCKET, runId: RUN, part: 0, text: part }), 'utf8');
      assert.ok(payload < 384 * 1024 + 200, `${JSON.stringify(worst)}: ${payload} bytes`);
    }
  });

  void it('round trip: sealed under its sha256 in the run prefix, parts removed, read back part by part', async () => {
    const state = {
      plan: { stages: [{ id: 'fan', note: 'é"\n' }] },
      carried: { items: Array.from({ length: 5000 }, (_, i) => i) },
    };
    const text = JSON.stringify(state);
    const { s, ref, parts } = await store(text, 1000);
    assert.ok(parts.length > 10);
    assert.match(ref.uri, new RegExp(`^s3://${BUCKET}/runs/${RUN}/@state/[0-9a-f]{64}\\.json$`));
    assert.equal(ref.uri.includes(ref.sha256), true);
    assert.equal(ref.bytes, Buffer.byteLength(text, 'utf8'));
    assert.deepEqual(
      (await s.list(`s3://${BUCKET}/runs/${RUN}/`)).map((o) => o.key),
      [`runs/${RUN}/@state/${ref.sha256}.json`],
      'the staged parts are gone',
    );
    const back: string[] = [];
    for (let part = 0; part < ref.parts; part++)
      back.push(await readRunStatePart(s, { bucket: BUCKET, runId: RUN, ref, part }));
    assert.equal(back.join(''), text);
    assert.deepEqual(await readStoredRunState(s, BUCKET, RUN, ref), state);
  });

  void it('a changed object, a reference outside the run, or a part out of range is refused', async () => {
    const { s, ref } = await store('{"plan":{},"carried":{}}', 8);
    await s.putBytes(ref.uri, '{"plan":{},"carried":[]}');
    await assert.rejects(readRunStatePart(s, { bucket: BUCKET, runId: RUN, ref, part: 0 }), CorruptDataError);
    const elsewhere: StoredRunStateRef = { ...ref, uri: ref.uri.replace(RUN, 'other-run') };
    await assert.rejects(
      readRunStatePart(s, { bucket: BUCKET, runId: RUN, ref: elsewhere, part: 0 }),
      (e: unknown) => e instanceof InvalidInputError && /where run .* keeps its state/.test(e.message),
    );
    await assert.rejects(readRunStatePart(s, { bucket: BUCKET, runId: RUN, ref, part: ref.parts }), InvalidInputError);
  });

  void it('a superseded state is removed by its digest, in this run only; the others stay', async () => {
    const { s, ref } = await store('{"first":1}');
    const kept = (await store('{"second":2}')).ref;
    await s.putBytes(kept.uri, '{"second":2}');
    await removeRunState(s, { bucket: BUCKET, runId: RUN, sha256: ref.sha256 });
    assert.equal(await s.stat(ref.uri), undefined);
    assert.ok(await s.stat(kept.uri), 'another state of the run stays');
    for (const sha256 of ['../x', `${ref.sha256.slice(1)}/`, ref.sha256.toUpperCase()])
      await assert.rejects(removeRunState(s, { bucket: BUCKET, runId: RUN, sha256 }), InvalidInputError, sha256);
  });

  void it('sealing fails when a staged part is missing or cut short', async () => {
    const s = memoryStore();
    await writeRunStatePart(s, { bucket: BUCKET, runId: RUN, continuation: 2, part: 0, text: 'abcd' });
    await writeRunStatePart(s, { bucket: BUCKET, runId: RUN, continuation: 2, part: 1, text: 'ef' });
    await assert.rejects(
      sealRunState(s, { bucket: BUCKET, runId: RUN, continuation: 2, parts: 2, partChars: 5 }),
      CorruptDataError,
    );
    await s.remove(runStatePartUri(BUCKET, RUN, 2, 1));
    await assert.rejects(sealRunState(s, { bucket: BUCKET, runId: RUN, continuation: 2, parts: 2, partChars: 4 }));
    await assert.rejects(
      writeRunStatePart(s, {
        bucket: BUCKET,
        runId: RUN,
        continuation: 2,
        part: 0,
        text: 'x'.repeat(RUN_STATE_PART_CHARS + 1),
      }),
      InvalidInputError,
    );
  });
});
