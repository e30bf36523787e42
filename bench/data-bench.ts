/**
 * `data push` benchmark: the wall time of pushing a folder of small files (a seeded image folder's shape: many
 * files of a few KB, where each put is a round trip) with today's files in flight against one file at a time, the
 * way pushes went before, in the same invocation, on the MinIO the environment names. Rounds alternate the two so a
 * busy machine slows both alike; medians, and their ratio. Every push seals a dataset version of its own prefix
 * under `bench/data-push/<random>/`, so nothing a user pushed is touched.
 *
 *   npm run bench -- --only data            # 600 files of 4 KB, 3 rounds
 *   npm run bench -- --only data -- --files 2000 --rounds 5
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PUSH_FILES_IN_FLIGHT, pushDirectory } from '../src/cli/commands/data';
import { loadConfig } from '../src/config';
import { createObjectStoreFromConfig } from '../src/storage/minio-store';
import { guardSectionArgs, wholeNumberFlag as option } from './bench-flags';
import { median } from '../src/core/sweep/median';

async function main(argv: readonly string[]): Promise<void> {
  const files = option(argv, '--files', 600, 20_000);
  const rounds = option(argv, '--rounds', 3, 20);
  const config = loadConfig(process.env);
  const store = createObjectStoreFromConfig(config);
  const dir = mkdtempSync(path.join(tmpdir(), 'fineflow-data-bench-'));
  try {
    for (let index = 0; index < files; index++) {
      const folder = path.join(dir, `class-${index % 4}`);
      mkdirSync(folder, { recursive: true });
      writeFileSync(path.join(folder, `img-${String(index).padStart(5, '0')}.png`), randomBytes(4096));
    }
    const run = randomBytes(4).toString('hex');
    const cases = [
      { name: `${PUSH_FILES_IN_FLIGHT} files in flight (today)`, inFlight: PUSH_FILES_IN_FLIGHT, ms: [] as number[] },
      { name: 'one file at a time (before)', inFlight: 1, ms: [] as number[] },
    ];
    console.log(`data push: ${files} files of 4 KB to ${config.s3.endPoint}:${config.s3.port}, ${rounds} rounds`);
    for (let round = 0; round < rounds; round++) {
      for (const item of round % 2 ? [...cases].reverse() : cases) {
        const prefix = `s3://${config.s3.bucket}/bench/data-push/${run}/r${round}-f${item.inFlight}/`;
        const started = performance.now();
        const result = await pushDirectory(store, config.s3.bucket, dir, prefix, () => undefined, {}, item.inFlight);
        item.ms.push(performance.now() - started);
        if (result.files.length !== files) throw new Error(`pushed ${result.files.length} of ${files} files`);
      }
    }
    for (const item of cases)
      console.log(
        `  ${item.name.padEnd(32)} median ${(median(item.ms) / 1000).toFixed(2)} s  (${item.ms.map((ms) => (ms / 1000).toFixed(2)).join(', ')})`,
      );
    const [today, before] = cases.map((item) => median(item.ms)) as [number, number];
    console.log(`  today / before: ${(today / before).toFixed(2)}× the time (${(before / today).toFixed(1)}× faster)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

guardSectionArgs('data', process.argv.slice(2));
main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
