import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  decodeShard,
  encodeShard,
  ShardWriter,
  streamBatches,
  type DatasetManifest,
} from '../../../src/ml/data/shards';
import { createDirectoryObjectStore } from './helpers/directory-object-store';
import { createMemoryObjectStore } from './helpers/memory-object-store';

describe('shards', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'fineflow-shards-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('round-trips features and labels through the binary format', () => {
    const features = Float32Array.from([0.5, -1.25, 3, Number.NaN, 7, 8]);
    const labels = Int32Array.from([2, 0, 1]);
    const decoded = decodeShard(encodeShard(features, labels, 2));
    assert.deepEqual(Array.from(decoded.features.slice(0, 3)), [0.5, -1.25, 3]);
    assert.ok(Number.isNaN(decoded.features[3]));
    assert.deepEqual(Array.from(decoded.labels), [2, 0, 1]);
    assert.throws(() => decodeShard(Buffer.from('nope, not a shard')), /not a Fineflow shard/);
  });

  it('streams every example exactly once, shuffled, in batches of the asked size', async () => {
    const store = createMemoryObjectStore();
    const writer = new ShardWriter(store, 's3://d/train', 1, 10, 3);
    for (let i = 0; i < 95; i += 1) await writer.add(Float32Array.of(i), i % 3);
    const split = await writer.finish();
    assert.equal(split.shards.length, 10);
    assert.deepEqual(split.classCounts, [32, 32, 31]);
    const manifest: DatasetManifest = {
      format: 'fineflow-shards/v1',
      featureShape: [1],
      classes: ['a', 'b', 'c'],
      inputTransform: { kind: 'none', mean: [], std: [] },
      splits: {
        train: split,
        validation: { count: 0, classCounts: [0, 0, 0], shards: [] },
        test: { count: 0, classCounts: [0, 0, 0], shards: [] },
      },
    };
    const seen: number[] = [];
    const sizes: number[] = [];
    for await (const batch of streamBatches(store, manifest, 'train', {
      batchSize: 8,
      shuffle: true,
      seed: 4,
      shuffleWindowShards: 3,
    })) {
      sizes.push(batch.labels.length);
      batch.features.forEach((value, i) => {
        seen.push(value);
        assert.equal(batch.labels[i], value % 3);
      });
    }
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      Array.from({ length: 95 }, (_, i) => i),
    );
    assert.notDeepEqual(
      seen,
      Array.from({ length: 95 }, (_, i) => i),
    );
    assert.ok(sizes.slice(0, -1).every((size) => size === 8));
  });

  it('keeps the resident set small while streaming a dataset many times larger than its window', async () => {
    const store = createDirectoryObjectStore({ root });
    const featureLength = 784;
    const perShard = 1000;
    const shardCount = 80; // 80 × 1000 × 784 floats ≈ 250 MB on disk
    const writer = new ShardWriter(store, 's3://big/train', featureLength, perShard, 10);
    const example = new Float32Array(featureLength);
    for (let i = 0; i < perShard * shardCount; i += 1) {
      example[0] = i;
      await writer.add(example, i % 10);
    }
    const split = await writer.finish();
    const datasetBytes = split.shards.reduce((sum, shard) => sum + shard.bytes, 0);
    const manifest: DatasetManifest = {
      format: 'fineflow-shards/v1',
      featureShape: [28, 28, 1],
      classes: Array.from({ length: 10 }, (_, i) => String(i)),
      inputTransform: { kind: 'none', mean: [], std: [] },
      splits: {
        train: split,
        validation: { count: 0, classCounts: [], shards: [] },
        test: { count: 0, classCounts: [], shards: [] },
      },
    };
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    let count = 0;
    let checksum = 0;
    for await (const batch of streamBatches(store, manifest, 'train', {
      batchSize: 256,
      shuffle: true,
      seed: 1,
      shuffleWindowShards: 2,
    })) {
      count += batch.labels.length;
      for (let i = 0; i < batch.labels.length; i += 1) checksum += batch.features[i * featureLength] ?? 0;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    const n = perShard * shardCount;
    assert.equal(count, n);
    assert.equal(checksum, (n * (n - 1)) / 2);
    const growth = peak - baseline;
    assert.ok(
      growth < datasetBytes / 2.5,
      `resident set grew by ${(growth / 1e6).toFixed(0)} MB while streaming ${(datasetBytes / 1e6).toFixed(0)} MB`,
    );
  });
});
