/**
 * One test per data problem that used to pass silently (issue #15), each with its loud outcome:
 * prepare-data fails naming the files/rows/classes and the fix, or, under a `warn` policy, counts
 * and lists them in the data report. Fixtures are generated here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { prepareDataset, type DataReport, type PrepareDatasetOptions } from '../../../src/ml/data/prepare';
import { qualityFailureOf } from '../../../src/ml/data/quality';
import { DEFAULT_QUALITY_POLICY, type QualityCheck, type QualityPolicy } from '../../../src/ml/data/quality';
import { loadSplit } from '../../../src/ml/data/shards';
import { createMemoryObjectStore } from './helpers/memory-object-store';

type Store = ReturnType<typeof createMemoryObjectStore>;

function png(size: number, pixel: (x: number, y: number) => [number, number, number, number]): Buffer {
  const image = new PNG({ width: size, height: size });
  for (let y = 0; y < size; y += 1) for (let x = 0; x < size; x += 1) image.data.set(pixel(x, y), (y * size + x) * 4);
  return PNG.sync.write(image);
}

/** A distinct, non-blank image per (class, index): a bar whose position depends on both. */
function bar(label: number, index: number, size = 16): Buffer {
  return png(size, (x, y) => (x === label || y === index ? [0, 0, 0, 255] : [255, 255, 255, 255]));
}

async function imageFolder(store: Store, prefix: string, perClass: number): Promise<void> {
  for (const [label, name] of ['cat', 'dog'].entries())
    for (let i = 0; i < perClass; i += 1) await store.putBytes(`${prefix}${name}/${i}.png`, bar(label, i));
}

function options(source: string, change: Partial<PrepareDatasetOptions> = {}): PrepareDatasetOptions {
  return {
    source,
    format: source.endsWith('.csv') || change.format === 'csv' ? 'csv' : 'image-folder',
    image: { size: [8, 8], channels: 1 },
    split: { train: 0.6, validation: 0.2, test: 0.2, seed: 1 },
    outputPrefix: 's3://out/q',
    ...change,
  };
}

const SPLIT = { train: 0.6, validation: 0.2, test: 0.2, seed: 1 };

function policy(change: Partial<QualityPolicy>): QualityPolicy {
  return { ...DEFAULT_QUALITY_POLICY, ...change };
}

function finding(report: DataReport, check: QualityCheck): DataReport['quality'][number] {
  const result = report.quality.find((entry) => entry.check === check);
  assert.ok(result, check);
  return result;
}

function rows(
  count: number,
  header = 'a,b,label',
  row = (i: number): string => `${i},${(i * 3) % 7},${i % 2 ? 'x' : 'y'}`,
) {
  return `${[header, ...Array.from({ length: count }, (_, i) => row(i))].join('\n')}\n`;
}

describe('data quality: tables', () => {
  it('two CSVs with a renamed column fail naming both files and the columns; warn skips the odd file', async () => {
    const store = createMemoryObjectStore();
    await store.putBytes('s3://raw/two/part-1.csv', rows(20));
    await store.putBytes('s3://raw/two/part-2.csv', rows(20, 'a,B,label'));
    await assert.rejects(prepareDataset(store, options('s3://raw/two/', { format: 'csv' })), {
      message:
        /quality\.headerMismatch: 1 found — part-2\.csv:1: has other columns than part-1\.csv: lacks b; adds B\. Fix: give every file the same columns/,
    });
    const prepared = await prepareDataset(
      store,
      options('s3://raw/two/', { format: 'csv', quality: policy({ headerMismatch: 'warn' }) }),
    );
    assert.deepEqual(prepared.manifest.featureShape, [2], 'no doubled, half-empty feature set');
    assert.equal(finding(prepared.report, 'headerMismatch').outcome, 'warned');
    assert.equal(prepared.report.kept, 20);
  });

  it('NA, ?, NaN and blank cells are all missing: imputed alike (counted per column), or all dropped with missing: drop', async () => {
    const store = createMemoryObjectStore();
    const markers = ['NA', '?', 'NaN', ''];
    await store.putBytes(
      's3://raw/na.csv',
      rows(40, 'a,b,label', (i) => `${i < 4 ? markers[i] : i},${i},${i % 2 ? 'x' : 'y'}`),
    );
    const imputed = await prepareDataset(store, options('s3://raw/na.csv'));
    assert.equal(imputed.report.kept, 40, 'no row dropped for a marker');
    assert.equal(imputed.report.missing.a, 4);
    const dropped = await prepareDataset(store, options('s3://raw/na.csv', { clean: { missing: 'drop' } }));
    assert.equal(dropped.report.kept, 36);
    assert.ok(dropped.report.quarantined.examples.every((entry) => /column a is missing/.test(entry.reason)));
    // A custom marker list: "5" means missing in this file.
    const custom = await prepareDataset(store, options('s3://raw/na.csv', { naValues: ['NA', '?', 'NaN', '5'] }));
    assert.equal(custom.report.missing.a, 5, 'the empty cell is always missing, and now "5" too');
  });

  it('categorical columns get a stored vocabulary', async () => {
    const store = createMemoryObjectStore();
    await store.putBytes(
      's3://raw/cat.csv',
      rows(30, 'a,colour,label', (i) => `${i},${['red', 'blue', 'green'][i % 3]},${i % 2 ? 'x' : 'y'}`),
    );
    const prepared = await prepareDataset(store, options('s3://raw/cat.csv'));
    const colour =
      prepared.manifest.preprocessing?.kind === 'table' ? prepared.manifest.preprocessing.columns[1] : undefined;
    assert.deepEqual(colour, { name: 'colour', kind: 'categorical', categories: ['blue', 'green', 'red'] });
  });

  it('a mislabelled duplicate fails naming both rows; drop removes every copy and the emptied class is named', async () => {
    const store = createMemoryObjectStore();
    // Class z has one example, and its only row is a copy of an x row.
    const text = `${rows(30)}1,3,z\n`;
    await store.putBytes('s3://raw/dup.csv', text);
    await assert.rejects(prepareDataset(store, options('s3://raw/dup.csv')), {
      message:
        /quality\.conflictingLabels: 1 found — dup\.csv:32: same content as dup\.csv:3, labelled x there and z here/,
    });
    await assert.rejects(
      prepareDataset(store, options('s3://raw/dup.csv', { quality: policy({ conflictingLabels: 'drop' }) })),
      {
        message:
          /quality\.smallClasses: 1 found — class z: has 0 example\(s\): none reach train and validation and test/,
      },
    );
    const warned = await prepareDataset(
      store,
      options('s3://raw/dup.csv', { quality: policy({ conflictingLabels: 'drop', smallClasses: 'warn' }) }),
    );
    assert.equal(warned.report.kept, 29);
    assert.equal(warned.report.conflictingDuplicates, 1);
    assert.deepEqual(
      warned.report.classes.find((c) => c.name === 'z'),
      { name: 'z', count: 0, train: 0, validation: 0, test: 0 },
    );
  });

  it('a class with one example is named instead of silently going to training only', async () => {
    const store = createMemoryObjectStore();
    await store.putBytes('s3://raw/one.csv', `${rows(30)}99,99,rare\n`);
    await assert.rejects(prepareDataset(store, options('s3://raw/one.csv')), {
      message:
        /quality\.smallClasses: 1 found — class rare: has 1 example\(s\): none reach validation and test.*Fix: add examples/s,
    });
  });

  it('class imbalance is reported (warn by default), and fails under imbalance: fail', async () => {
    const store = createMemoryObjectStore();
    await store.putBytes(
      's3://raw/imb.csv',
      rows(120, 'a,b,label', (i) => `${i},${i},${i % 20 === 0 ? 'x' : 'y'}`),
    );
    const prepared = await prepareDataset(store, options('s3://raw/imb.csv'));
    assert.equal(prepared.report.imbalanceRatio, 19);
    assert.match(
      finding(prepared.report, 'imbalance').examples[0]?.reason ?? '',
      /largest y \(114\) \/ smallest x \(6\) = 19\.0 > maxImbalance 10/,
    );
    await assert.rejects(
      prepareDataset(store, options('s3://raw/imb.csv', { quality: policy({ imbalance: 'fail' }) })),
      {
        message: /quality\.imbalance: 1 found/,
      },
    );
  });

  it('checks that stop the stage leave the data report first: findings bounded, counts kept, no splits', async () => {
    const store = createMemoryObjectStore();
    // 30 conflicting duplicates: more findings than a report keeps examples of.
    const conflicting = (i: number): string => `${i % 30},${i % 30},${i < 30 ? 'x' : 'y'}`;
    await store.putBytes('s3://raw/conflict.csv', rows(60, 'a,b,label', conflicting));
    const failure = await prepareDataset(store, options('s3://raw/conflict.csv')).then(
      () => assert.fail('conflictingLabels fails by default'),
      (thrown: unknown) => thrown,
    );
    const found = qualityFailureOf(failure);
    assert.equal(found?.report, 's3://out/q/data-report.json');
    assert.match((failure as Error).message, /\ndata report: s3:\/\/out\/q\/data-report\.json$/);
    const report = (await store.getJson('s3://out/q/data-report.json')) as DataReport;
    assert.deepEqual(
      report.stoppedBy,
      report.quality.filter((q) => q.outcome === 'failed').map((q) => q.check),
    );
    assert.ok(report.stoppedBy?.includes('conflictingLabels'));
    assert.deepEqual(report.splits, { train: 0, validation: 0, test: 0 });
    assert.equal(report.records, 60);
    const conflicts = finding(report, 'conflictingLabels');
    assert.deepEqual([conflicts.outcome, conflicts.count], ['failed', 30]);
    assert.ok(conflicts.examples.length > 0 && conflicts.examples.length < 30, 'examples are bounded');
    assert.equal(await store.stat('s3://out/q/manifest.json'), undefined, 'nothing was split or written');
  });

  it('CSV through csv-parse: a byte-order mark, semicolons and quoted delimiters; broken quoting names the line', async () => {
    const store = createMemoryObjectStore();
    const body = Array.from({ length: 20 }, (_, i) => `${i};"${i},5";${i % 2 ? 'x' : 'y'}`).join('\r\n');
    await store.putBytes('s3://raw/bom.csv', `\uFEFFa;note;label\r\n${body}\r\n`);
    const prepared = await prepareDataset(
      store,
      options('s3://raw/bom.csv', { quality: policy({ smallClasses: 'warn' }) }),
    );
    assert.equal(prepared.report.kept, 20);
    assert.deepEqual(
      prepared.manifest.preprocessing?.kind === 'table'
        ? prepared.manifest.preprocessing.columns.map((c) => c.name)
        : [],
      ['a', 'note'],
    );
    await store.putBytes('s3://raw/quote.csv', 'a,label\n1,x\n2,"y\n3,x\n');
    await assert.rejects(prepareDataset(store, options('s3://raw/quote.csv')), {
      message: /^quote\.csv:\d+: .*quote/i,
    });
  });
});

describe('splits', () => {
  it('a split column is your own split: rows go where it says, it is not a feature, bad values are quarantined', async () => {
    const store = createMemoryObjectStore();
    const names = ['train', 'train', 'train', 'Validation', 'test'];
    await store.putBytes(
      's3://raw/own.csv',
      rows(50, 'a,b,fold,label', (i) => `${i},${(i * 3) % 7},${names[i % 5]},${i % 2 ? 'x' : 'y'}`) +
        '99,1,holdout,x\n',
    );
    const prepared = await prepareDataset(store, options('s3://raw/own.csv', { split: { ...SPLIT, column: 'fold' } }));
    assert.deepEqual(prepared.report.splits, { train: 30, validation: 10, test: 10 });
    assert.deepEqual(prepared.manifest.featureShape, [2], 'fold is not a feature');
    assert.match(
      prepared.report.quarantined.examples[0]?.reason ?? '',
      /split column fold is "holdout"; use train, validation or test/,
    );
    const test = await loadSplit(store, prepared.manifest, 'test', { transform: false });
    assert.deepEqual(
      [...test.features.filter((_, i) => i % 2 === 0)].sort((p, q) => p - q),
      [4, 9, 14, 19, 24, 29, 34, 39, 44, 49],
    );
  });

  it('a class missing from a split of your own is named', async () => {
    const store = createMemoryObjectStore();
    await store.putBytes(
      's3://raw/own2.csv',
      rows(20, 'a,fold,label', (i) => `${i},${i < 15 ? 'train' : 'test'},${i < 15 && i % 2 ? 'x' : 'y'}`),
    );
    await assert.rejects(prepareDataset(store, options('s3://raw/own2.csv', { split: { ...SPLIT, column: 'fold' } })), {
      message: /quality\.smallClasses: 1 found — class x: has 7 example\(s\), none in test \(split column\)/,
    });
  });
});

describe('data quality: image folders', () => {
  it('a nested folder fails instead of becoming a class; flatten labels it by its first folder', async () => {
    const store = createMemoryObjectStore();
    await imageFolder(store, 's3://raw/nest/', 10);
    await store.putBytes('s3://raw/nest/cat/old/extra.png', bar(5, 5));
    await assert.rejects(prepareDataset(store, options('s3://raw/nest/')), {
      message: /quality\.nestedFolders: 1 found — cat\/old\/extra\.png: is 1 folder\(s\) below class folder cat/,
    });
    const flat = await prepareDataset(
      store,
      options('s3://raw/nest/', { quality: policy({ nestedFolders: 'flatten' }) }),
    );
    assert.deepEqual(flat.manifest.classes, ['cat', 'dog']);
    assert.equal(flat.report.classes.find((c) => c.name === 'cat')?.count, 11);
  });

  it('a notes file in a class folder fails with a fix that fits it, not only "convert them to PNG"', async () => {
    const store = createMemoryObjectStore();
    await imageFolder(store, 's3://raw/notes/', 10);
    await store.putBytes('s3://raw/notes/cat/notes.txt', 'taken on the line-B camera');
    await assert.rejects(prepareDataset(store, options('s3://raw/notes/')), {
      message:
        /cat\/notes\.txt: is \.txt, not PNG or JPEG\. Fix: .*keep files that are not images \(notes, \.DS_Store\) out of the pushed folder/,
    });
  });

  it('.webp and .gif files are counted and listed, failing by default; warn skips them', async () => {
    const store = createMemoryObjectStore();
    await imageFolder(store, 's3://raw/webp/', 10);
    await store.putBytes('s3://raw/webp/cat/a.webp', 'RIFF....WEBP');
    await store.putBytes('s3://raw/webp/dog/b.gif', 'GIF89a');
    await assert.rejects(prepareDataset(store, options('s3://raw/webp/')), {
      message:
        /quality\.unsupportedFiles: 2 found — .*(cat\/a\.webp: is \.webp, not PNG or JPEG|dog\/b\.gif: is \.gif)/,
    });
    const warned = await prepareDataset(
      store,
      options('s3://raw/webp/', { quality: policy({ unsupportedFiles: 'warn' }) }),
    );
    const result = finding(warned.report, 'unsupportedFiles');
    assert.equal(result.count, 2);
    assert.deepEqual(result.examples.map((e) => e.where).sort(), ['cat/a.webp', 'dog/b.gif']);
  });

  it('a corrupt PNG is quarantined with a clear reason (not a stream error); corruptFiles: fail stops', async () => {
    const store = createMemoryObjectStore();
    await imageFolder(store, 's3://raw/corrupt/', 10);
    await store.putBytes('s3://raw/corrupt/dog/cut.png', bar(1, 99).subarray(0, 60));
    const prepared = await prepareDataset(store, options('s3://raw/corrupt/'));
    const result = finding(prepared.report, 'corruptFiles');
    assert.equal(result.count, 1);
    assert.match(result.examples[0]?.reason ?? '', /^is a corrupt or truncated PNG \(/);
    assert.equal(prepared.report.quarantined.count, 1);
    await assert.rejects(
      prepareDataset(store, options('s3://raw/corrupt/', { quality: policy({ corruptFiles: 'fail' }) })),
      {
        message: /quality\.corruptFiles: 1 found — dog\/cut\.png: is a corrupt or truncated PNG/,
      },
    );
  });

  it('RGBA images with a transparent background are composited, not blank; truly blank images are flagged', async () => {
    const store = createMemoryObjectStore();
    await imageFolder(store, 's3://raw/alpha/', 10);
    // Black strokes on a transparent background whose colour bytes are black too.
    for (let i = 0; i < 5; i += 1)
      await store.putBytes(
        `s3://raw/alpha/cat/t${i}.png`,
        png(8, (x, y) => (x === i || y === 7 - i ? [0, 0, 0, 255] : [0, 0, 0, 0])),
      );
    await store.putBytes(
      's3://raw/alpha/dog/blank.png',
      png(8, () => [40, 40, 40, 255]),
    );
    const prepared = await prepareDataset(
      store,
      options('s3://raw/alpha/', { split: { train: 1, validation: 0, test: 0, seed: 1 } }),
    );
    const blank = finding(prepared.report, 'blankImages');
    assert.deepEqual([blank.count, blank.outcome, blank.examples[0]?.where], [1, 'warned', 'dog/blank.png']);
    assert.deepEqual(prepared.report.images?.modes, { rgba: 26 });
    const train = await loadSplit(store, prepared.manifest, 'train', { transform: false });
    let flat = 0;
    for (let i = 0; i < train.labels.length; i += 1) {
      const pixels = train.features.subarray(i * 64, (i + 1) * 64);
      if (Math.max(...pixels) - Math.min(...pixels) < 1e-6) flat += 1;
    }
    assert.equal(flat, 1, 'only the truly blank image is flat: transparent-background strokes stay visible');
    const dropped = await prepareDataset(
      store,
      options('s3://raw/alpha/', {
        quality: policy({ blankImages: 'drop' }),
        split: { train: 1, validation: 0, test: 0, seed: 1 },
      }),
    );
    assert.equal(dropped.report.kept, 25);
  });

  it('mixed sizes and colour modes are resized to one shape and counted', async () => {
    const store = createMemoryObjectStore();
    await imageFolder(store, 's3://raw/mixed/', 10);
    await store.putBytes(
      's3://raw/mixed/cat/big.png',
      png(20, (x) => (x < 10 ? [255, 0, 0, 255] : [0, 0, 255, 255])),
    );
    const prepared = await prepareDataset(store, options('s3://raw/mixed/'));
    assert.deepEqual(prepared.report.images?.sizes, { '16x16': 20, '20x20': 1 });
    assert.deepEqual(prepared.manifest.featureShape, [8, 8, 1]);
  });
});
