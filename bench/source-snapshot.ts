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
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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

/** Copy `root`'s source into a new scratch directory (under `parent`, the system's temp folder by default). */
export function snapshotSource(root: string, parent = os.tmpdir()): SourceSnapshot {
  const plan = snapshotPlan(
    git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard']),
    git(root, ['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory']),
  );
  const directory = mkdtempSync(path.join(parent, 'fineflow-bench-source-'));
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
  return { directory, files, remove: () => rmSync(directory, { recursive: true, force: true }) };
}
