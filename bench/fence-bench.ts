/**
 * The attempt fence's cost (activities/attempt-fence.ts): every write and removal through a stage's store, and the
 * training child's own, first checks the attempt's claim (a HEAD of `<stage>/@attempt.json`). This writes the same
 * objects to the MinIO the environment names through a fenced store and an unfenced one, in the same invocation, and
 * prints the ratio. Two workloads: the checkpoints of a training stage (per epoch the weights, the optimizer state,
 * the index and `latest.json`: what the training child writes) and small objects (4 KiB: shards of a tabular dataset,
 * prediction files; the worst case, where a write is a round trip like the HEAD). Rounds alternate the two stores so a
 * busy machine slows both alike; medians, and their ratio. Everything goes under `bench/fence/<random>/`.
 *
 *   npm run bench -- --only fence                      # 10 checkpoints (1 MiB weights), 200 small objects, 5 rounds
 *   npm run bench -- --only fence -- --checkpoints 30 --weights-kib 4096 --small 500 --rounds 5
 */
import { randomBytes } from 'node:crypto';
import { attemptFence, claimStageOutputs, fenceWrites } from '../activities/attempt-fence';
import { loadConfig } from '../src/config';
import { createObjectStoreFromConfig } from '../src/storage/minio-store';
import type { ObjectStore } from '../src/storage/object-store';
import { guardSectionArgs, wholeNumberFlag as option } from './bench-flags';
import { median } from '../src/core/sweep/median';

/** One object a workload writes: its name under the round's prefix and its bytes. */
interface Write {
  readonly name: string;
  readonly body: Buffer;
}

/** A training stage's checkpoints, as src/ml/train/checkpoint.ts writes them: four objects per epoch. */
function checkpointWrites(epochs: number, weightsKib: number): Write[] {
  const weights = randomBytes(weightsKib * 1024);
  const optimizer = randomBytes(weightsKib * 2 * 1024); // Adam keeps two moments per weight
  const index = randomBytes(4 * 1024);
  const writes: Write[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const directory = `checkpoints/epoch-${String(epoch).padStart(4, '0')}`;
    writes.push(
      { name: `${directory}/weights.bin`, body: weights },
      { name: `${directory}/optimizer.bin`, body: optimizer },
      { name: `${directory}/checkpoint.json`, body: index },
      { name: 'checkpoints/latest.json', body: Buffer.from(`{"uri":"${directory}","epoch":${epoch}}`) },
    );
  }
  return writes;
}

function smallWrites(count: number): Write[] {
  const body = randomBytes(4 * 1024);
  return Array.from({ length: count }, (_, index) => ({
    name: `dataset/shard-${String(index).padStart(5, '0')}.bin`,
    body,
  }));
}

/** A store fenced as a stage attempt's is: the attempt's claim taken, every write checked against it. */
async function fencedStore(store: ObjectStore, prefix: string): Promise<ObjectStore> {
  const claimed = claimStageOutputs(store, prefix, 1);
  const fence = attemptFence(store, prefix, 1, claimed, { log: () => undefined });
  await fence.check('start');
  return fenceWrites(store, fence);
}

async function timeWrites(store: ObjectStore, prefix: string, writes: readonly Write[]): Promise<number> {
  const started = performance.now();
  for (const write of writes) await store.putBytes(`${prefix}${write.name}`, write.body);
  return performance.now() - started;
}

async function main(argv: readonly string[]): Promise<void> {
  const checkpoints = option(argv, '--checkpoints', 10, 500);
  const weightsKib = option(argv, '--weights-kib', 1024, 65_536);
  const small = option(argv, '--small', 200, 20_000);
  const rounds = option(argv, '--rounds', 5, 20);
  const config = loadConfig(process.env);
  const store = createObjectStoreFromConfig(config);
  await store.ensureBucket(config.s3.bucket);
  const run = randomBytes(4).toString('hex');
  const workloads = [
    {
      name: `${checkpoints} checkpoints (${weightsKib} KiB weights, ${weightsKib * 2} KiB optimizer, index, latest)`,
      writes: checkpointWrites(checkpoints, weightsKib),
    },
    { name: `${small} small objects of 4 KiB`, writes: smallWrites(small) },
  ];
  console.log(`attempt fence: one writer, to ${config.s3.endPoint}:${config.s3.port}, ${rounds} rounds`);
  for (const [w, workload] of workloads.entries()) {
    const ms = { fenced: [] as number[], unfenced: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 ? (['unfenced', 'fenced'] as const) : (['fenced', 'unfenced'] as const);
      for (const kind of order) {
        const prefix = `s3://${config.s3.bucket}/bench/fence/${run}/w${w}-r${round}-${kind}/`;
        const target = kind === 'fenced' ? await fencedStore(store, prefix) : store;
        ms[kind].push(await timeWrites(target, prefix, workload.writes));
      }
    }
    const [fenced, unfenced] = [median(ms.fenced), median(ms.unfenced)];
    const perWrite = (fenced - unfenced) / workload.writes.length;
    console.log(`  ${workload.name}: ${workload.writes.length} writes`);
    for (const kind of ['unfenced', 'fenced'] as const)
      console.log(
        `    ${kind.padEnd(9)} median ${(median(ms[kind]) / 1000).toFixed(2)} s  ` +
          `(${ms[kind].map((value) => (value / 1000).toFixed(2)).join(', ')})`,
      );
    console.log(
      `    fenced / unfenced: ${(fenced / unfenced).toFixed(2)}× the time (${perWrite.toFixed(2)} ms more per write)`,
    );
  }
  await store.removePrefix(`s3://${config.s3.bucket}/bench/fence/${run}/`);
}

guardSectionArgs('fence', process.argv.slice(2));
main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
