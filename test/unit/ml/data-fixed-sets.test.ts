import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitFractionsOf, splitProblems } from '../../../src/datasets/split-sources';
import { prepareDataset } from '../../../src/ml/data/prepare';
import { loadSplit } from '../../../src/ml/data/shards';
import { generateDefects } from '../../../src/ml/generators/defects';
import { generateTabular } from '../../../src/ml/generators/tabular';
import { csvFile, imageFolderFiles, writeFilesToStore } from '../../../src/ml/generators/writers';
import { createMemoryObjectStore } from './helpers/memory-object-store';

const VERSION = 'a'.repeat(64);

describe('split fractions with fixed sets', () => {
  it('keeps 0.7/0.15/0.15 without fixed sets and gives a fixed split no fraction of the source', () => {
    assert.deepEqual(splitFractionsOf({}), { train: 0.7, validation: 0.15, test: 0.15 });
    assert.deepEqual(splitFractionsOf({ testSource: 's3://data/test/' }), { train: 0.85, validation: 0.15, test: 0 });
    assert.deepEqual(splitFractionsOf({ testSource: 's3://data/t/', validationSource: 's3://data/v/' }), {
      train: 1,
      validation: 0,
      test: 0,
    });
    assert.deepEqual(splitFractionsOf({ testSource: 's3://data/t/', validation: 0.25 }), {
      train: 0.75,
      validation: 0.25,
      test: 0,
    });
  });

  it('refuses what would mix the fixed sets with the source, with a fix for each', () => {
    const codes = (source: string, split: Record<string, unknown>) =>
      splitProblems(source, split as never).map((problem) => `${problem.path}: ${problem.message}`);
    assert.deepEqual(codes('s3://data/iris/', { testSource: 's3://data/iris-test/' }), []);
    assert.deepEqual(codes('s3://data/iris/train.csv', { testSource: 's3://data/iris/test.csv' }), []);
    assert.match(codes('s3://data/iris/', { testSource: 's3://data/iris/test.csv' })[0] ?? '', /overlaps source/);
    assert.match(codes('s3://data/iris/', { testSource: `s3://data/iris/@${VERSION}` })[0] ?? '', /overlaps source/);
    assert.match(
      codes('s3://data/a/', { testSource: 's3://data/t/', test: 0.2, train: 0.65 })[0] ?? '',
      /^split.test: /,
    );
    assert.match(codes('s3://data/a/', { testSource: 's3://data/t/', column: 'fold' })[0] ?? '', /split.column/);
    assert.match(codes('s3://data/a/', { testSource: 's3://data/t/@abc' })[0] ?? '', /not a dataset version id/);
    assert.match(
      codes('s3://data/a/', { testSource: 's3://data/t/', validationSource: 's3://data/t/v/' }).join('\n'),
      /overlaps split.validationSource/,
    );
    assert.match(codes('s3://data/a/', { testSource: 's3://data/t/', train: 0.5 })[0] ?? '', /sum to 0.65/);
    for (const problem of splitProblems('s3://data/iris/', { testSource: 's3://data/iris/x/', test: 0.3 }))
      assert.ok(problem.hint.length > 10, `hint for ${problem.path}`);
  });
});

describe('prepareDataset with fixed validation/test sets', () => {
  it('reads the fixed test set whole into test, never trains on a copy of it, and splits the source into train/validation', async () => {
    const store = createMemoryObjectStore();
    const main = generateTabular({ rows: 240, seed: 11, domain: 'source' }).map((row) => ({ ...row }));
    const test = generateTabular({ rows: 60, seed: 12, domain: 'source' }).map((row) => ({ ...row }));
    // Three test examples also sit in the training data (a leak a random split would hide).
    main.push(...test.slice(0, 3).map((row) => ({ ...row })));
    await store.putBytes('s3://raw/main/data.csv', csvFile(main).bytes);
    await store.putBytes('s3://raw/test/data.csv', csvFile(test).bytes);
    const prepared = await prepareDataset(store, {
      source: 's3://raw/main/',
      format: 'csv',
      split: { ...splitFractionsOf({ testSource: 's3://raw/test/' }), seed: 3 },
      fixedSets: { test: { source: 's3://raw/test/', version: VERSION } },
      outputPrefix: 's3://out/fixed',
    });
    const { manifest, report } = prepared;
    assert.equal(manifest.splits.test.count, 60);
    assert.equal(report.fixedSets?.test?.records, 60);
    assert.equal(report.fixedSets?.test?.version, VERSION);
    assert.equal(report.fixedSets?.overlapDropped, 3);
    assert.match(report.fixedSets?.overlapExamples[0] ?? '', /data\.csv:\d+ = test set data\.csv:2/);
    assert.equal(manifest.splits.train.count + manifest.splits.validation.count, 240);
    assert.ok(Math.abs(manifest.splits.validation.count - 240 * 0.15) <= 2, `${manifest.splits.validation.count}`);
    assert.deepEqual(manifest.fixedSets?.test, { source: 's3://raw/test/', version: VERSION });
    // The test rows are exactly the fixed file's: same labels in the same order.
    const testSplit = await loadSplit(store, manifest, 'test', { transform: false });
    assert.deepEqual(
      Array.from(testSplit.labels),
      test.map((row) => manifest.classes.indexOf(String(row.label))),
    );
  });

  it('is stable: the fixed test set is the same whatever the seed, while train/validation move', async () => {
    const store = createMemoryObjectStore();
    await store.putBytes('s3://raw/m/a.csv', csvFile(generateTabular({ rows: 120, seed: 1, domain: 'source' })).bytes);
    await store.putBytes('s3://raw/t/a.csv', csvFile(generateTabular({ rows: 40, seed: 2, domain: 'source' })).bytes);
    const run = (seed: number) =>
      prepareDataset(store, {
        source: 's3://raw/m/',
        format: 'csv',
        split: { ...splitFractionsOf({ testSource: 's3://raw/t/' }), seed },
        fixedSets: { test: { source: 's3://raw/t/' } },
        outputPrefix: `s3://out/seed-${seed}`,
      });
    const [a, b] = [(await run(1)).manifest, (await run(2)).manifest];
    assert.equal(a.splits.test.shards[0]?.sha256, b.splits.test.shards[0]?.sha256);
    assert.notEqual(a.splits.train.shards[0]?.sha256, b.splits.train.shards[0]?.sha256);
  });

  it('takes a fixed validation image folder and fails loudly on a class that only the fixed set has', async () => {
    const store = createMemoryObjectStore();
    await writeFilesToStore(store, 's3://raw/img', imageFolderFiles(generateDefects({ perClass: 6, seed: 2 })));
    await writeFilesToStore(store, 's3://raw/val', imageFolderFiles(generateDefects({ perClass: 2, seed: 5 })));
    const options = {
      source: 's3://raw/img/',
      format: 'image-folder' as const,
      image: { size: [28, 28] as [number, number], channels: 1 as const },
      split: { ...splitFractionsOf({ validationSource: 's3://raw/val/' }), seed: 4 },
      fixedSets: { validation: { source: 's3://raw/val/' } },
      outputPrefix: 's3://out/img',
    };
    const prepared = await prepareDataset(store, options);
    assert.equal(prepared.manifest.splits.validation.count, 8);
    assert.equal(prepared.manifest.splits.train.count + prepared.manifest.splits.test.count, 24);
    await store.putBytes(
      's3://raw/val/dent/0.png',
      (imageFolderFiles(generateDefects({ perClass: 1, seed: 7 }))[0] as { bytes: Buffer }).bytes,
    );
    await assert.rejects(
      prepareDataset(store, { ...options, outputPrefix: 's3://out/img2' }),
      /class dent.*none in the source to train on/s,
    );
  });

  it('refuses a split column together with a fixed set', async () => {
    const store = createMemoryObjectStore();
    await store.putBytes('s3://raw/m.csv', csvFile(generateTabular({ rows: 20, seed: 1, domain: 'source' })).bytes);
    await assert.rejects(
      prepareDataset(store, {
        source: 's3://raw/m.csv',
        format: 'csv',
        split: { train: 0.85, validation: 0.15, test: 0, seed: 0, column: 'line' },
        fixedSets: { test: { source: 's3://raw/t/' } },
        outputPrefix: 's3://out/x',
      }),
      /split.column and a fixed/,
    );
  });
});
