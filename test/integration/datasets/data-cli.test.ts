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
import { sealDatasetVersion } from '../../../src/datasets/version-store';
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
    assert.match(titles ?? '', /^version\s+sealed\s+objects\s+size\s+by\s+read by$/);
    assert.deepEqual(
      rows.map((line) => line.split(/\s+/)[0]),
      [versionA, second.version],
    );
    // A watcher that sees the push seals the same contents again: the push stays named as the sealer.
    await sealDatasetVersion(s3, loadConfig(process.env).s3.bucket, prefix, { createdBy: 'watcher' });
    const resealed = (await fineflow('data', 'versions', prefix)).stdout.trim().split('\n');
    assert.match(resealed[1] ?? '', /\sdata push$/);
    // Its time is the first seal's (the push), with the re-seal's time and sealer after the sealer.
    const pushedAt = (listed.stdout.trim().split('\n')[2] ?? '').split(/\s+/)[1];
    assert.equal((resealed[2] ?? '').split(/\s+/)[1], pushedAt, "sealed: the first seal, not the watcher's");
    // Both times say their zone, as `runs` and `models` do.
    assert.match(resealed[2] ?? '', /^\S+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\s/);
    assert.match(resealed[2] ?? '', /\sdata push \(re-sealed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by watcher\)$/);

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

it(
  'push --delete makes the version exactly DIR (earlier versions keep their objects); pull and diff take an id start',
  { timeout: 60_000 },
  async () => {
    const set = `s3://${bucket}/mirror/`;
    const src = join(dir, 'mirror-src');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'a.csv'), 'x,label\n1,a\n');
    await writeFile(join(src, 'sub', 'b.csv'), 'x,label\n2,b\n');
    const first = JSON.parse((await fineflow('data', 'push', 'mirror-src', set, '--json')).stdout) as {
      version: string;
    };
    await rm(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'c.csv'), 'x,label\n3,c\n');

    // Without --delete the removed file stays part of the version, and the output says how to drop it.
    const kept = await fineflow('data', 'push', 'mirror-src', set);
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /the prefix holds 1 other object too: they are part of the version; --delete removes/);
    const mirrored = await fineflow('data', 'push', '--delete', 'mirror-src', set, '--json');
    assert.equal(mirrored.code, 0, mirrored.stderr);
    const result = JSON.parse(mirrored.stdout) as { version: string; objects: number; deleted: string[] };
    assert.deepEqual([result.objects, result.deleted], [2, ['sub/b.csv']]);
    assert.match(mirrored.stderr, /deleted sub\/b\.csv: not in /);

    // Twelve characters, as `data diff` prints them, name a version when only one starts with them.
    const diff = await fineflow('data', 'diff', `${set}@${first.version.slice(0, 12)}`, result.version.slice(0, 8));
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /^\+ c\.csv/m);
    assert.match(diff.stdout, /^- sub\/b\.csv/m);
    const pulled = await fineflow('data', 'pull', `${set}@${first.version.slice(0, 6)}`, 'mirror-a');
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(await readFile(join(dir, 'mirror-a', 'sub', 'b.csv'), 'utf8'), 'x,label\n2,b\n');
    assert.match(pulled.stdout, new RegExp(`of version ${first.version}`));

    const none = await fineflow('data', 'pull', `${set}@ffffff`, 'nothing');
    assert.equal(none.code, 2);
    assert.match(none.stderr, new RegExp(`no version of ${set} starts with ffffff.*fineflow data versions`));
    const tooShort = await fineflow('data', 'pull', `${set}@${first.version.slice(0, 5)}`, 'nothing');
    assert.equal(tooShort.code, 2);
    assert.match(tooShort.stderr, /fineflow data pull: name a version as .*at least its first 6 characters/);
    const empty = await fineflow('data', 'versions', `s3://${bucket}/never-pushed/`);
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stderr, new RegExp(`no versions of s3://${bucket}/never-pushed/ yet: .fineflow data push DIR`));
    const listed = await fineflow('data', 'versions', set);
    assert.match(listed.stderr, /^3 versions of /m);

    // --delete is refused where it could delete what is not the dataset's.
    const root = await fineflow('data', 'push', '--delete', 'mirror-src', `s3://${bucket}/`);
    assert.equal(root.code, 2);
    assert.match(root.stderr, new RegExp(`would delete every other object in bucket ${bucket}`));
    const home = await runCli(['data', 'push', '--delete', 'mirror-src', 's3://fineflow/data/'], {
      cwd: dir,
      env: { FINEFLOW_BUCKET: 'fineflow' },
    });
    assert.equal(home.code, 2);
    assert.match(home.stderr, /--delete is for dataset buckets: fineflow is FINEFLOW_BUCKET/);
    const elsewhere = await fineflow('data', 'versions', set, '--delete');
    assert.equal(elsewhere.code, 2);
    assert.match(elsewhere.stderr, /--delete is an option of data push/);
  },
);
