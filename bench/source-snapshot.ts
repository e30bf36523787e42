/**
 * The source a bench run measures, frozen when it starts. Sections run one after another, each in a tsx process
 * that loads the project's source when it starts, so an edit made during a long bench (an hour or more with the
 * sweep section) used to change every later section. `npm run bench` copies the source files (tracked, and
 * untracked ones git does not ignore, as they are in the working tree) into a scratch directory and runs each
 * section there. What git ignores is state, not source (node_modules, .fineflow with the stacks and caches,
 * bench/results): the snapshot links those back to the checkout, so results, caches and the TensorFlow binding
 * stay where they are. `build/` is linked even when the checkout has none yet: the bench's TensorFlow set-up step
 * restores the graph training addon there after the snapshot is taken, and a snapshot without it trained every
 * bench curve of its run with the eager engine (other floats, so other curves under the same cache keys).
 * A bench killed by a signal left its copy in /tmp for good: a detached watcher now removes it when the bench ends
 * however it ends, and each start removes the copies of benches that are gone (their pid is recorded inside).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Every snapshot directory's name starts so (under the system's temp folder). */
export const SNAPSHOT_PREFIX = 'fineflow-bench-source-';
/** Inside a snapshot: the pid and start time of the bench that made it, so a later bench can tell it is dead. */
export const OWNER_FILE = '.fineflow-bench-owner';
/** At most this many entries of the temp folder are looked at for stale snapshots, and this much of an owner file read. */
const STALE_SCAN_LIMIT = 200;
const OWNER_FILE_BYTES = 64;
/** A snapshot made before owners were recorded is stale once this old. */
const OWNERLESS_STALE_MS = 24 * 3_600_000;

/** What a snapshot is made of, relative to the checkout's root. */
export interface SnapshotPlan {
  /** Source files, copied. */
  readonly copy: readonly string[];
  /** Ignored paths (state: dependencies, caches, results), linked back to the checkout. */
  readonly link: readonly string[];
}

export interface SourceSnapshot {
  readonly directory: string;
  readonly files: number;
  /** Removes the copy (the linked state stays). */
  remove(): void;
}

/**
 * Ignored state that set-up writes after the snapshot is taken, linked whether or not it exists yet:
 * `build/native/fineflow_tf_graph.node`, which infra/tfjs-native/setup.sh restores in the checkout.
 */
export const STATE_WRITTEN_AFTER_SNAPSHOT: readonly string[] = ['build'];

/** `git ls-files -z` output as paths; `--directory` lists an ignored folder once, with a trailing slash. */
function nulSeparated(output: string): string[] {
  return output
    .split('\0')
    .filter((entry) => entry !== '')
    .map((entry) => entry.replace(/\/$/, ''));
}

/**
 * The plan from git's two lists: the source files and the ignored paths. An ignored path inside a copied folder is
 * linked in place; one that is also listed as source (git lists a tracked file even when an ignore rule matches it)
 * is copied, since a tracked file is source.
 */
export function snapshotPlan(
  sourceList: string,
  ignoredList: string,
  laterState: readonly string[] = STATE_WRITTEN_AFTER_SNAPSHOT,
): SnapshotPlan {
  const copy = [...new Set(nulSeparated(sourceList))].sort();
  const copied = new Set(copy);
  const ignored = nulSeparated(ignoredList);
  // A later-state folder is linked whole unless something inside it is already copied or linked on its own.
  const inside = (folder: string) => [...copy, ...ignored].some((entry) => entry.startsWith(`${folder}/`));
  const later = laterState.filter((folder) => !inside(folder));
  const link = [...new Set([...ignored, ...later])].filter((entry) => !copied.has(entry)).sort();
  return { copy, link };
}

function git(root: string, args: readonly string[]): string {
  const result = spawnSync('git', args, { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${root}: ${result.stderr}`);
  return result.stdout;
}

/** A process's start time in clock ticks since boot (Linux /proc), so a reused pid is not taken for the bench. */
function processStart(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function ownerAlive(owner: string): boolean {
  const [pidText, start = ''] = owner.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  return start === '' || processStart(pid) === '' || processStart(pid) === start;
}

/**
 * Removes snapshots under `parent` whose bench is gone: its recorded pid is dead (or now another process), or it has
 * no owner file and is over a day old (made before owners were recorded). A bench killed outright (SIGKILL, or its
 * clean-up watcher killed with it) left its copy behind for good; five had piled up in /tmp. Returns what it removed.
 */
export function removeStaleSnapshots(parent = os.tmpdir(), now = Date.now()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(parent).filter((name) => name.startsWith(SNAPSHOT_PREFIX));
  } catch {
    return removed;
  }
  for (const name of names.slice(0, STALE_SCAN_LIMIT)) {
    const directory = path.join(parent, name);
    let stale: boolean;
    try {
      if (!lstatSync(directory).isDirectory()) continue;
      const ownerPath = path.join(directory, OWNER_FILE);
      stale = existsSync(ownerPath)
        ? !ownerAlive(readFileSync(ownerPath).subarray(0, OWNER_FILE_BYTES).toString('utf8'))
        : now - statSync(directory).mtimeMs > OWNERLESS_STALE_MS;
    } catch {
      continue; // removed meanwhile, or not ours to read
    }
    if (!stale) continue;
    rmSync(directory, { recursive: true, force: true });
    removed.push(directory);
  }
  return removed;
}

/**
 * A detached process that removes `directory` when this one ends however it ends (SIGINT, SIGTERM, SIGKILL): it holds
 * the read end of a pipe this process never writes to, and the pipe closes when this process dies. A signal handler
 * cannot do it: the bench runs its sections with spawnSync, so a handler would run only after the last section.
 */
function removeWhenGone(directory: string): () => void {
  const script =
    "const fs = require('node:fs'); const dir = process.argv[1];" +
    "process.stdin.on('close', () => fs.rmSync(dir, { recursive: true, force: true })); process.stdin.resume();";
  const watcher = spawn(process.execPath, ['-e', script, directory], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watcher.unref();
  (watcher.stdin as unknown as { unref?: () => void }).unref?.();
  return () => watcher.stdin?.end();
}

/** Copy `root`'s source into a new scratch directory (under `parent`, the system's temp folder by default). */
export function snapshotSource(root: string, parent = os.tmpdir()): SourceSnapshot {
  removeStaleSnapshots(parent);
  const plan = snapshotPlan(
    git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard']),
    git(root, ['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory']),
  );
  const directory = mkdtempSync(path.join(parent, SNAPSHOT_PREFIX));
  writeFileSync(path.join(directory, OWNER_FILE), `${process.pid} ${processStart(process.pid)}\n`);
  const stopWatcher = removeWhenGone(directory);
  let files = 0;
  for (const file of plan.copy) {
    const from = path.join(root, file);
    // A tracked file deleted in the working tree is absent from the source the bench runs, as it is in the checkout.
    if (!existsSync(from) || lstatSync(from).isDirectory()) continue;
    mkdirSync(path.dirname(path.join(directory, file)), { recursive: true });
    copyFileSync(from, path.join(directory, file));
    files++;
  }
  for (const entry of plan.link) {
    const to = path.join(directory, entry);
    mkdirSync(path.dirname(to), { recursive: true });
    symlinkSync(path.join(root, entry), to);
  }
  return {
    directory,
    files,
    remove: () => {
      rmSync(directory, { recursive: true, force: true });
      stopWatcher();
    },
  };
}
