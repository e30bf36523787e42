/**
 * src/canonical-json.ts: RFC 8785 test vectors, the refusals, and proof that moving the cache keys and
 * digests onto it changed none of them (so CACHE_FORMAT_VERSION stays as it was).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from '../../src/canonical-json';
import { cacheKeyOf, digestOutputs, type CacheKeyDocument } from '../../src/cache/cache-key';

/** A double from its IEEE 754 bits, as RFC 8785 Appendix B lists them. */
function double(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

/**
 * The hand-written serialisation the cache used before (src/cache/cache-key.ts at ec7c66f): kept here
 * only as the oracle that proves existing cache keys do not move.
 */
function previousCacheJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return JSON.stringify(value);
  if (Array.isArray(value))
    return `[${value.map((item: unknown) => (item === undefined ? 'null' : previousCacheJson(item))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${previousCacheJson(item)}`).join(',')}}`;
}

void describe('canonicalJson (RFC 8785)', () => {
  void it('serialises the example of RFC 8785 §3.2.2', () => {
    const input = {
      numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001],
      string: '\u20ac$\u000F\u000aA\'\u0042\u0022\u005c\\"/',
      literals: [null, true, false],
    };
    assert.equal(
      canonicalJson(input),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  void it('sorts keys by UTF-16 code units (RFC 8785 §3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const keys = Object.keys(JSON.parse(canonicalJson(input)) as object);
    // Object.keys puts the integer-like '1' first whatever the text says: read the order from the text.
    const order = [...canonicalJson(input).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => JSON.parse(`"${m[1]}"`));
    assert.deepEqual(order, ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
    assert.equal(keys.length, 7);
  });

  void it('writes numbers as RFC 8785 Appendix B lists them', () => {
    const vectors: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['41b3de4355555555', '333333333.3333333'],
    ];
    for (const [bits, text] of vectors) assert.equal(canonicalJson(double(bits)), text, bits);
  });

  void it('refuses what JSON cannot carry, naming where it is, instead of writing null', () => {
    assert.throws(
      () => canonicalJson({ metrics: { loss: Number.NaN } }),
      /NaN at \$\.metrics\.loss is not representable/,
    );
    assert.throws(() => canonicalJson([1, Number.POSITIVE_INFINITY]), /Infinity at \$\[1\]/);
    assert.throws(() => canonicalJson(double('7ff0000000000000')), /Infinity at \$ /);
    assert.throws(() => canonicalJson({ f: () => 1 }), /cannot encode a function at \$\.f/);
    assert.throws(() => canonicalJson({ n: 1n }), /cannot encode a bigint at \$\.n/);
    assert.throws(() => canonicalJson(undefined), /cannot encode a undefined at \$/);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    assert.throws(() => canonicalJson(loop), /\$\.self refers back to itself/);
    // The same object twice (not a cycle) is fine.
    const shared = { a: 1 };
    assert.equal(canonicalJson({ x: shared, y: shared }), '{"x":{"a":1},"y":{"a":1}}');
  });

  void it('drops undefined members, writes undefined array items as null, and uses toJSON (a Date is its ISO text)', () => {
    assert.equal(canonicalJson({ b: [undefined, 1], a: undefined }), '{"b":[null,1]}');
    assert.equal(canonicalJson({ at: new Date(Date.UTC(2026, 0, 2)) }), '{"at":"2026-01-02T00:00:00.000Z"}');
  });
});

void describe('existing digests are unchanged by the move to RFC 8785', () => {
  void it('gives the text the previous cache serialisation gave, for any JSON value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.equal(canonicalJson(value), previousCacheJson(value));
      }),
      { numRuns: 2000 },
    );
  });

  void it('keeps a cache key and an output digest computed before the change', () => {
    // Both values were computed by the previous implementation (main at 2d87795) from these inputs.
    const document = {
      formatVersion: 3,
      uses: 'fine-tune',
      typeVersion: '1.2.0',
      inputs: {
        data: { $upstream: 'stages.prepare.outputs.dataset' },
        epochs: 5,
        learningRate: 0.001,
        name: 'défaut €😀\n"q"',
        big: 1e21,
        tiny: 5e-7,
        neg: -0,
        list: [1, 'two', null, true, { z: 1, a: 2 }],
      },
      params: { '\u20ac': 1, '\r': 2, '\ufb33': 3, '1': 4, '\ud83d\ude00': 5, '\u0080': 6, '\u00f6': 7 },
      upstream: { prepare: 'ab'.repeat(32), skipped: null },
      datasetVersion: null,
      external: { 's3://datasets/defects/': 'etag:"x"' },
    } as unknown as CacheKeyDocument;
    assert.equal(cacheKeyOf(document), '7212fcb4dd87d6d098834eab602e8df1f9eb39279ff7482aba18a7a0f9316b86');
    const outputs = { model: 's3://b/runs/r/m/', metrics: { accuracy: 0.9375, loss: 0.1 + 0.2 } };
    assert.equal(
      digestOutputs(outputs, new Map([['s3://b/runs/r/m/', 'cd'.repeat(32)]])),
      '63b9a24d939e2145caa1607f8102283e87f8c3893d2456eab2688b774a7b843a',
    );
  });
});
