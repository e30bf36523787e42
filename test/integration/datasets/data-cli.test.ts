/**
 * `fineflow data push|versions|diff|pull` through the CLI entry point (in-process) on the real
 * MinIO: the bucket a push creates is versioned, so a version stays readable after its objects
 * are overwritten and deleted; the ids agree across push, versions and diff.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { loadConfig } from '../../../src/config';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import { requireStack } from '../../helpers/stack';
import { runCli, type CliResult } from '../../helpers/cli';

let dir: string;
const bucket = `ffdata-cli-${Math.random().toString(36).slice(2, 8)}`;
const prefix = `s3://${bucket}/set/`;

/** The test's bucket is a new dataset bucket: the CLI may create it only when FINEFLOW_DATASET_BUCKETS names it. */
function fineflow(...argv: string[]): Promise<CliResult> {
  return runCli(argv, { cwd: dir, env: { FINEFLOW_DATASET_BUCKETS: `datasets,${bucket}` } });
}

before(async () => {
  await requireStack();
  dir = await mkdtemp(join(tmpdir(), 'ff-data-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

it(
  'push prints a version; versions lists it; diff compares; pull gets the old bytes after overwrite and delete',
  { timeout: 60_000 },
  async () => {
    await mkdir(join(dir, 'src', 'sub'), { recursive: true });
    await writeFile(join(dir, 'src', 'a.csv'), 'x,label\n1,a\n');
    await writeFile(join(dir, 'src', 'sub', 'b.csv'), 'x,label\n2,b\n');
    // A bucket no variable names is refused, not created (the CLI's credentials may create dataset buckets).
    const typo = await runCli(['data', 'push', 'src', `s3://${bucket}x/set/`], { cwd: dir });
    assert.equal(typo.code, 1, typo.stderr);
    assert.match(typo.stderr, new RegExp(`bucket ${bucket}x \\(from s3://${bucket}x/set/\\) does not exist`));
    assert.match(typo.stderr, /fineflow \(FINEFLOW_BUCKET\), datasets \(FINEFLOW_DATASET_BUCKETS\)/);
    assert.match(typo.stderr, /add it to FINEFLOW_DATASET_BUCKETS/);
    const s3 = createObjectStoreFromConfig(loadConfig(process.env));
    await assert.rejects(s3.list(`s3://${bucket}x/`), /bucket/, 'the mistyped bucket was not created');

    const first = await fineflow('data', 'push', 'src', prefix);
    assert.equal(first.code, 0, first.stderr);
    const versionA = /version ([0-9a-f]{64})/.exec(first.stdout)?.[1];
    assert.ok(versionA, first.stdout);

    await writeFile(join(dir, 'src', 'a.csv'), 'x,label\n1,a\n3,c\n');
    await writeFile(join(dir, 'src', 'c.csv'), 'x,label\n4,d\n');
    const second = JSON.parse((await fineflow('data', 'push', 'src', prefix, '--json')).stdout) as {
      version: string;
      objects: number;
    };
    assert.notEqual(second.version, versionA);
    assert.equal(second.objects, 3);

    const listed = await fineflow('data', 'versions', prefix);
    assert.equal(listed.code, 0, listed.stderr);
    const [titles, ...rows] = listed.stdout.trim().split('\n');
    assert.match(titles ?? '', /^version\s+created\s+objects\s+size\s+by$/);
    assert.deepEqual(
      rows.map((line) => line.split(/\s+/)[0]),
      [versionA, second.version],
    );

    const diff = JSON.parse(
      (await fineflow('data', 'diff', `${prefix}@${versionA}`, second.version, '--json')).stdout,
    ) as { added: { key: string }[]; removed: unknown[]; changed: { key: string }[]; unchanged: number };
    assert.deepEqual(
      [diff.added.map((o) => o.key), diff.removed, diff.changed.map((o) => o.key), diff.unchanged],
      [['c.csv'], [], ['a.csv'], 1],
    );

    // The bucket push created keeps object versions: A is still whole after a.csv was overwritten and b.csv deleted.
    await createObjectStoreFromConfig(loadConfig(process.env)).remove(`${prefix}sub/b.csv`);
    const pulled = await fineflow('data', 'pull', `${prefix}@${versionA}`, 'out');
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(await readFile(join(dir, 'out', 'a.csv'), 'utf8'), 'x,label\n1,a\n');
    assert.equal(await readFile(join(dir, 'out', 'sub', 'b.csv'), 'utf8'), 'x,label\n2,b\n');

    const unknown = await fineflow('data', 'diff', `${prefix}@${'0'.repeat(64)}`, versionA);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /does not exist.*fineflow data versions/);
    const unpinned = await fineflow('data', 'pull', prefix, 'out2');
    assert.equal(unpinned.code, 2);
  },
);
