/**
 * Keeps an objective's prepared data and base model on disk beside its cached curves, so a later
 * run of the benchmark trains on the very same bytes (a base model trained again could differ in
 * its last float bits, and cached curves would then belong to another model).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ObjectStore } from '../../src/storage/object-store';
import type { BenchObjective, PreparedObjective } from './objectives';

/** Prepare `objective` under `s3://bench/<prefix>/`, from `directory` when it holds a snapshot. */
export async function preparedFromSnapshot(
  objective: BenchObjective,
  store: ObjectStore,
  prefix: string,
  directory: string,
): Promise<{ prepared: PreparedObjective; fromSnapshot: boolean }> {
  const index = path.join(directory, 'prepared.json');
  if (existsSync(index)) {
    const { prepared, keys } = JSON.parse(readFileSync(index, 'utf8')) as {
      prepared: PreparedObjective;
      keys: string[];
    };
    for (const [i, key] of keys.entries())
      await store.putBytes(`s3://bench/${key}`, readFileSync(path.join(directory, 'objects', String(i))));
    return { prepared, fromSnapshot: true };
  }
  const prepared = await objective.prepare(store, prefix);
  const objects = await store.list(`s3://bench/${prefix}/`);
  mkdirSync(path.join(directory, 'objects'), { recursive: true });
  const keys = objects.map((object) => object.key);
  for (const [i, key] of keys.entries())
    writeFileSync(path.join(directory, 'objects', String(i)), await store.getBytes(`s3://bench/${key}`));
  writeFileSync(index, JSON.stringify({ prepared, keys }));
  return { prepared, fromSnapshot: false };
}
