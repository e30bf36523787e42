import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { prepareDataset } from '../../../src/ml/data/prepare';
import { loadSplit, readManifest, readShard } from '../../../src/ml/data/shards';
import { readCsvRecords } from '../../../src/ml/data/text-records';
import { generateDefects } from '../../../src/ml/generators/defects';
import { generateTabular } from '../../../src/ml/generators/tabular';
import { csvFile, imageFolderFiles, jsonlFile, writeFilesToStore } from '../../../src/ml/generators/writers';
import { createMemoryObjectStore } from './helpers/memory-object-store';

async function collectCsv(text: string, chunkSize: number): Promise<string[][]> {
  const chunks: Buffer[] = [];
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  const rows: string[][] = [];
  for await (const record of readCsvRecords(Readable.from(chunks))) rows.push([...record.fields]);
  return rows;
}

describe('CSV reader', () => {
  it('handles quotes, doubled quotes, newlines in quotes and CRLF across any chunking', async () => {
    const text = 'a,b,c\r\n1,"x, y",3\r\n"multi\nline","say ""hi""",\n\n4,5,6';
    for (const chunkSize of [1, 2, 3, 7, 1000]) {
      assert.deepEqual(await collectCsv(text, chunkSize), [
        ['a', 'b', 'c'],
        ['1', 'x, y', '3'],
        ['multi\nline', 'say "hi"', ''],
        ['4', '5', '6'],
      ]);
    }
  });
});

describe('prepareDataset', () => {
  it('cleans a CSV: quarantines invalid rows, drops duplicates, imputes missing, splits stratified, standardises from train only', async () => {
    const store = createMemoryObjectStore();
    const rows: Record<string, unknown>[] = generateTabular({
      rows: 300,
      seed: 3,
      domain: 'source',
      missingRate: 0.05,
    }).map((row) => ({ ...row }));
    rows.push({ ...rows[0] }, { ...rows[1] }); // duplicates
    rows.push({ ...rows[2], temperature: 'hot' }); // not a number
    rows.push({ ...rows[3], label: '' }); // no label
    const file = csvFile(rows);
    const text = `${file.bytes.toString('utf8')}1,2\n`; // wrong field count
    await store.putBytes('s3://raw/tab/data.csv', text);
    const progress: number[] = [];
    const prepared = await prepareDataset(
      store,
      {
        source: 's3://raw/tab/',
        format: 'csv',
        split: { train: 0.6, validation: 0.2, test: 0.2, seed: 7 },
        shardSize: 64,
        outputPrefix: 's3://out/tab',
      },
      (update) => progress.push(update.records),
    );
    const { report, manifest } = prepared;
    assert.equal(report.records, 305);
    assert.equal(report.duplicates, 2);
    assert.equal(report.quarantined.count, 3);
    assert.equal(report.kept, 300);
    assert.ok(report.quarantined.examples.some((example) => /temperature is "hot"/.test(example.reason)));
    assert.ok(report.quarantined.examples.some((example) => /fields, the header has/.test(example.reason)));
    assert.ok(report.quarantined.uri);
    assert.ok((report.missing.temperature ?? 0) > 0);
    assert.deepEqual(manifest.classes, ['fail', 'pass']);
    // 5 numeric + 3 one-hot line categories.
    assert.deepEqual(manifest.featureShape, [8]);
    assert.equal(manifest.splits.train.count + manifest.splits.validation.count + manifest.splits.test.count, 300);
    // Stratified: each class's share is within one example of its overall proportion in every split.
    for (const entry of report.classes) {
      assert.ok(Math.abs(entry.validation - entry.count * 0.2) <= 1, `validation share of ${entry.name}`);
      assert.ok(Math.abs(entry.test - entry.count * 0.2) <= 1, `test share of ${entry.name}`);
    }
    assert.ok(manifest.splits.train.shards.length >= 3);
    assert.ok(progress.length > 0);
    // Standardised training features have mean ~0 and std ~1 (missing → 0).
    const train = await loadSplit(store, manifest, 'train');
    const temperatures = Array.from({ length: train.labels.length }, (_, i) => train.features[i * 8] ?? 0);
    const mean = temperatures.reduce((a, b) => a + b, 0) / temperatures.length;
    assert.ok(Math.abs(mean) < 0.05, `train mean ${mean}`);
    assert.ok(train.features.every((value) => Number.isFinite(value)));
    // The validation split did not contribute to the statistics: recompute from raw train rows.
    const raw = await loadSplit(store, manifest, 'train', { transform: false });
    const rawTemps = Array.from({ length: raw.labels.length }, (_, i) => raw.features[i * 8] ?? Number.NaN).filter(
      (value) => !Number.isNaN(value),
    );
    const rawMean = rawTemps.reduce((a, b) => a + b, 0) / rawTemps.length;
    assert.ok(Math.abs(rawMean - (manifest.inputTransform.mean[0] ?? 0)) < 1e-3);
  });

  it('a mistyped labelColumn or featureColumns names the column it resembles and where to fix it', async () => {
    const store = createMemoryObjectStore();
    await store.putBytes('s3://raw/loans/loans.csv', 'income,employment,default\n1,a,no\n2,b,yes\n');
    const options = {
      source: 's3://raw/loans/',
      format: 'csv' as const,
      split: { train: 0.5, validation: 0.5, test: 0, seed: 1 },
      outputPrefix: 's3://out/loans',
    };
    await assert.rejects(prepareDataset(store, { ...options, labelColumn: 'defualt' }), {
      type: 'FineflowInvalidInput',
      message:
        'loans.csv:1: no label column defualt (did you mean `default`?); columns: income, employment, default ' +
        '(fix labelColumn in the prepare stage, or check the delimiter)',
    });
    await assert.rejects(
      prepareDataset(store, { ...options, labelColumn: 'default', featureColumns: ['income', 'employmnt'] }),
      (error: Error & { type?: string }) => {
        assert.equal(error.type, 'FineflowInvalidInput');
        assert.match(
          error.message,
          /^feature columns employmnt \(did you mean `employment`\?\) are not in s3:\/\/raw\/loans\//,
        );
        assert.match(error.message, /fix featureColumns in the prepare stage/);
        return true;
      },
    );
  });

  it('is deterministic for a seed and different for another', async () => {
    const store = createMemoryObjectStore();
    await store.putBytes('s3://raw/t.jsonl', jsonlFile(generateTabular({ rows: 80, seed: 1, domain: 'target' })).bytes);
    const run = async (seed: number, prefix: string) =>
      (
        await prepareDataset(store, {
          source: 's3://raw/t.jsonl',
          format: 'jsonl',
          split: { train: 0.5, validation: 0.25, test: 0.25, seed },
          outputPrefix: prefix,
        })
      ).manifest;
    const a = await run(1, 's3://out/a');
    const b = await run(1, 's3://out/b');
    const c = await run(2, 's3://out/c');
    assert.equal(a.splits.train.shards[0]?.sha256, b.splits.train.shards[0]?.sha256);
    assert.notEqual(a.splits.train.shards[0]?.sha256, c.splits.train.shards[0]?.sha256);
  });

  it('reads a PNG/JPEG image folder, label = folder, quarantining unreadable files', async () => {
    const store = createMemoryObjectStore();
    const set = generateDefects({ perClass: 6, seed: 2 });
    await writeFilesToStore(store, 's3://raw/img', imageFolderFiles(set, { format: 'png' }));
    await writeFilesToStore(
      store,
      's3://raw/img',
      imageFolderFiles(generateDefects({ perClass: 2, seed: 9 }), { format: 'jpeg' }).map((file) => ({
        ...file,
        path: file.path.replace('/', '/j'),
      })),
    );
    await store.putBytes('s3://raw/img/spot/broken.png', Buffer.from('not a png'));
    await store.putBytes('s3://raw/img/loose.png', (imageFolderFiles(set)[0] as { bytes: Buffer }).bytes);
    const prepared = await prepareDataset(store, {
      source: 's3://raw/img',
      format: 'image-folder',
      image: { size: [28, 28], channels: 1 },
      split: { train: 0.5, validation: 0.25, test: 0.25, seed: 3 },
      outputPrefix: 's3://out/img',
    });
    assert.deepEqual(prepared.manifest.classes, ['crack', 'ok', 'scratch', 'spot']);
    assert.equal(prepared.report.quarantined.count, 2);
    assert.equal(prepared.report.kept, 32);
    assert.deepEqual(prepared.manifest.featureShape, [28, 28, 1]);
    assert.equal(prepared.manifest.inputTransform.kind, 'none');
    // PNG round trip: pixels match the generator's within 8-bit quantisation.
    const all = [
      ...prepared.manifest.splits.train.shards,
      ...prepared.manifest.splits.validation.shards,
      ...prepared.manifest.splits.test.shards,
    ];
    const shard = await readShard(store, all[0] as (typeof all)[number]);
    assert.ok(shard.features.every((value) => value >= 0 && value <= 1));
    const manifest = await readManifest(store, 's3://out/img');
    assert.equal(manifest.splits.train.count, prepared.manifest.splits.train.count);
  });

  it('rejects a corrupted shard by its sha256', async () => {
    const store = createMemoryObjectStore();
    await store.putBytes('s3://raw/t.csv', csvFile(generateTabular({ rows: 40, seed: 1, domain: 'source' })).bytes);
    const { manifest } = await prepareDataset(store, {
      source: 's3://raw/t.csv',
      format: 'csv',
      split: { train: 1, validation: 0, test: 0, seed: 1 },
      outputPrefix: 's3://out/t',
    });
    const shard = manifest.splits.train.shards[0];
    assert.ok(shard);
    const bytes = Buffer.from(await store.getBytes(shard.uri));
    bytes[20] = (bytes[20] ?? 0) ^ 0xff;
    await store.putBytes(shard.uri, bytes);
    await assert.rejects(loadSplit(store, manifest, 'train'), /corrupt/);
  });
});
