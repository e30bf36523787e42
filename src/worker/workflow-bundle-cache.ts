/**
 * A workflow bundle kept on disk (FINEFLOW_WORKFLOW_BUNDLE_CACHE, set by scripts/test.sh) for hosts that start many
 * worker processes from the same sources: the test suite bundled the same code with webpack in each of its 44 worker
 * files (~4 s each). Off by default: a worker run from a clone bundles in memory, an installed package reads its
 * prebuilt bundle (src/worker/run-worker.ts).
 *
 * Rules, so a cached bundle is never stale and never half-read:
 * - the bundle is named by its key, the sha256 of the bundler options, the bundler's versions and the content of
 *   every file webpack read to build it (plus the paths it looked for and did not find, which must still be missing);
 *   the manifest `<options key>.inputs.json` lists those files. A lookup hashes them again: any edit is a new key,
 *   a miss, a rebuild.
 * - the bundle's own sha256 is in the manifest: a truncated or altered file is rebuilt, never used.
 * - files are written under a temporary name and renamed into place (atomic on one filesystem), bundle first, then
 *   the manifest, so a concurrent reader sees the old pair or the new one.
 * - a miss builds once: the builder holds `<options key>.lock` (created exclusively, holding its pid and host) while
 *   webpack runs; another process that misses meanwhile waits for the lock to go (watching the directory, bounded by
 *   `waitMs`), then reads the bundle. A lock whose builder is gone (no such pid on this host, or older than
 *   `staleMs`) is taken over. Past the bound, or when a takeover races another, a process builds itself: still
 *   correct, as two builds were before the lock (the last rename wins and both bundles are whole).
 * The directory must be writable only by the operator: its bundles run as workflow code.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync, watch } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import path from 'node:path';
import { DefaultLogger, bundleWorkflowCode, type BundleOptions } from '@temporalio/worker';

/** What to bundle: the workflow module and the interceptor modules registered in the bundle. */
export interface WorkflowBundleRequest {
  readonly workflowsPath: string;
  readonly workflowInterceptorModules: readonly string[];
}

/** A bundle and what it was built from: sha256 of each file read, and the paths looked for and not found. */
export interface BuiltWorkflowBundle {
  readonly code: string;
  readonly inputs: Readonly<Record<string, string>>;
  readonly missing: readonly string[];
}

/** Bumped when the manifest or the key's recipe changes: older entries are then misses. */
const CACHE_FORMAT = 1;
/** Bounds on what a manifest may hold (it is read from disk): far above a real bundle's ~300 inputs. */
const MAX_MANIFEST_PATHS = 50_000;
const MAX_MANIFEST_BYTES = 32 * 2 ** 20;
const MAX_BUNDLE_BYTES = 256 * 2 ** 20;

interface Manifest {
  readonly format: number;
  readonly key: string;
  readonly bundleSha256: string;
  readonly inputs: Readonly<Record<string, string>>;
  readonly missing: readonly string[];
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Versions of the packages that turn sources into a bundle (a new bundler may emit other code). */
export function bundlerVersions(): Readonly<Record<string, string>> {
  const fromWorker = createRequire(require.resolve('@temporalio/worker'));
  const versions: Record<string, string> = {};
  for (const name of ['@temporalio/worker', 'webpack', 'swc-loader', '@swc/core', 'source-map-loader']) {
    try {
      versions[name] = (fromWorker(`${name}/package.json`) as { version: string }).version;
    } catch {
      versions[name] = 'absent';
    }
  }
  return versions;
}

/** The key of everything but the sources: names the manifest. */
export function bundleOptionsKey(
  request: WorkflowBundleRequest,
  versions: Readonly<Record<string, string>> = bundlerVersions(),
): string {
  const sortedVersions = Object.fromEntries(Object.entries(versions).sort(([a], [b]) => a.localeCompare(b)));
  return sha256(
    JSON.stringify({
      format: CACHE_FORMAT,
      workflowsPath: path.resolve(request.workflowsPath),
      workflowInterceptorModules: request.workflowInterceptorModules,
      versions: sortedVersions,
    }),
  );
}

/** The bundle's key: its options key and every input's content hash, and the paths that must stay missing. */
export function workflowBundleKey(
  optionsKey: string,
  inputs: Readonly<Record<string, string>>,
  missing: readonly string[],
): string {
  const files = Object.entries(inputs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256(JSON.stringify({ optionsKey, files, missing: [...missing].sort() }));
}

/** Write `data` to `file` through a temporary file in the same directory and a rename: readers never see half. */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, data, { mode: 0o644 });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

function isFile(name: string): boolean {
  try {
    return statSync(name).isFile();
  } catch {
    return false;
  }
}

function isSha256(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}

/** The manifest, if it is one this version wrote; anything else (absent, truncated, foreign) is undefined. */
async function readManifest(file: string): Promise<Manifest | undefined> {
  try {
    if (statSync(file).size > MAX_MANIFEST_BYTES) return undefined;
    const raw = JSON.parse(await readFile(file, 'utf8')) as Partial<Manifest>;
    const inputs = raw.inputs;
    if (raw.format !== CACHE_FORMAT || !isSha256(raw.key) || !isSha256(raw.bundleSha256)) return undefined;
    if (typeof inputs !== 'object' || inputs === null || !Array.isArray(raw.missing)) return undefined;
    const entries = Object.entries(inputs);
    if (entries.length === 0 || entries.length + raw.missing.length > MAX_MANIFEST_PATHS) return undefined;
    if (!entries.every(([name, hash]) => path.isAbsolute(name) && isSha256(hash))) return undefined;
    if (!raw.missing.every((name) => typeof name === 'string' && path.isAbsolute(name))) return undefined;
    return raw as Manifest;
  } catch {
    return undefined;
  }
}

/** The inputs' hashes as they are now; undefined when one cannot be read (deleted: the bundle is stale). */
async function currentHashes(inputs: Readonly<Record<string, string>>): Promise<Record<string, string> | undefined> {
  const hashes: Record<string, string> = {};
  try {
    for (const name of Object.keys(inputs)) hashes[name] = sha256(await readFile(name));
  } catch {
    return undefined;
  }
  return hashes;
}

/** The cached bundle for `request` when its sources, options and bytes all match; otherwise undefined. */
export async function readCachedWorkflowBundle(
  cacheDir: string,
  request: WorkflowBundleRequest,
  versions?: Readonly<Record<string, string>>,
): Promise<{ readonly code: string; readonly key: string } | undefined> {
  const optionsKey = bundleOptionsKey(request, versions);
  const manifest = await readManifest(path.join(cacheDir, `${optionsKey}.inputs.json`));
  if (!manifest) return undefined;
  const hashes = await currentHashes(manifest.inputs);
  if (!hashes || manifest.missing.some((name) => existsSync(name))) return undefined;
  const key = workflowBundleKey(optionsKey, hashes, manifest.missing);
  if (key !== manifest.key) return undefined;
  try {
    const file = path.join(cacheDir, `${key}.js`);
    if (statSync(file).size > MAX_BUNDLE_BYTES) return undefined;
    const bytes = await readFile(file);
    return sha256(bytes) === manifest.bundleSha256 ? { code: bytes.toString('utf8'), key } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Store a bundle built from `built.inputs` (hashed as they were read after the build). The previous bundle of the same
 * options is removed once the new manifest is in place, so the directory holds one bundle per options.
 */
export async function writeCachedWorkflowBundle(
  cacheDir: string,
  request: WorkflowBundleRequest,
  built: BuiltWorkflowBundle,
  versions?: Readonly<Record<string, string>>,
): Promise<string> {
  const optionsKey = bundleOptionsKey(request, versions);
  const key = workflowBundleKey(optionsKey, built.inputs, built.missing);
  await mkdir(cacheDir, { recursive: true });
  const manifestFile = path.join(cacheDir, `${optionsKey}.inputs.json`);
  const previous = await readManifest(manifestFile);
  const manifest: Manifest = {
    format: CACHE_FORMAT,
    key,
    bundleSha256: sha256(built.code),
    inputs: built.inputs,
    missing: built.missing,
  };
  await writeFileAtomic(path.join(cacheDir, `${key}.js`), built.code);
  await writeFileAtomic(manifestFile, `${JSON.stringify(manifest)}\n`);
  if (previous && previous.key !== key) await rm(path.join(cacheDir, `${previous.key}.js`), { force: true });
  return key;
}

/** Bundle with webpack and report what it read: the files (hashed after the build) and the paths it did not find. */
export async function buildWorkflowBundle(
  request: WorkflowBundleRequest,
): Promise<BuiltWorkflowBundle & { readonly fresh: boolean }> {
  let files: string[] = [];
  let missing: string[] = [];
  const started = Date.now();
  const recordInputs: NonNullable<BundleOptions['webpackConfigHook']> = (config) => ({
    ...config,
    plugins: [
      ...(config.plugins ?? []),
      {
        apply(compiler) {
          compiler.hooks.afterCompile.tap('fineflow-bundle-inputs', (compilation) => {
            files = [...compilation.fileDependencies];
            missing = [...compilation.missingDependencies];
          });
        },
      },
    ],
  });
  const { code } = await bundleWorkflowCode({
    workflowsPath: request.workflowsPath,
    workflowInterceptorModules: [...request.workflowInterceptorModules],
    logger: new DefaultLogger('WARN'),
    webpackConfigHook: recordInputs,
  });
  // The entry point the SDK generates lives in memory only: it follows from the options, which the key holds.
  const inputs: Record<string, string> = {};
  let fresh = true;
  for (const file of files.filter((name) => path.isAbsolute(name) && isFile(name)).sort()) {
    inputs[file] = sha256(await readFile(file));
    // Edited while webpack ran: the bundle may hold the old text, so it must not be stored under the new hash.
    if (statSync(file).mtimeMs >= started) fresh = false;
  }
  const stillMissing = missing.filter((name) => path.isAbsolute(name) && !existsSync(name)).sort();
  return { code, inputs, missing: stillMissing, fresh };
}

/** Who holds a build lock: written into the lock file by the process that created it. */
interface BuildLockHolder {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: number;
}

export interface BuildLockOptions {
  /** How long a process waits for another's build before building itself (default 5 minutes). */
  readonly waitMs?: number;
  /** A lock older than this is taken over whoever holds it (default 15 minutes: far above a build under load). */
  readonly staleMs?: number;
  /** How often a waiter checks the lock when the directory reports no change (default 1 s). */
  readonly checkEveryMs?: number;
  /** Told when this process waits for another's build, or takes over a dead builder's lock. */
  readonly onLockEvent?: (event: BuildLockEvent) => void;
}

export type BuildLockEvent =
  | { readonly kind: 'waiting'; readonly holder: BuildLockHolder | undefined; readonly lockFile: string }
  | { readonly kind: 'took-over'; readonly holder: BuildLockHolder | undefined; readonly lockFile: string }
  | { readonly kind: 'gave-up-waiting'; readonly holder: BuildLockHolder | undefined; readonly lockFile: string };

const DEFAULT_WAIT_MS = 5 * 60_000;
const DEFAULT_STALE_MS = 15 * 60_000;
/** A lock file without a readable holder this old is a builder killed between creating and writing it. */
const UNWRITTEN_LOCK_GRACE_MS = 5_000;
const MAX_LOCK_BYTES = 4096;

export function buildLockFile(cacheDir: string, request: WorkflowBundleRequest): string {
  return path.join(cacheDir, `${bundleOptionsKey(request)}.lock`);
}

/** Create the lock exclusively: its text, or undefined when another process holds it. */
async function tryLock(lockFile: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(lockFile, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
  const holder: BuildLockHolder = { pid: process.pid, host: hostname(), startedAt: Date.now() };
  const text = `${JSON.stringify(holder)}\n`;
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
  return text;
}

/** Remove the lock this process wrote, and only that one (a waiter may have judged it stale and taken over). */
async function releaseLock(lockFile: string, text: string): Promise<void> {
  if ((await readLock(lockFile).catch(() => undefined))?.text === text) await rm(lockFile, { force: true });
}

/** The lock's text and holder (undefined holder: unreadable or not written yet); undefined when there is no lock. */
async function readLock(
  lockFile: string,
): Promise<{ text: string; holder?: BuildLockHolder; ageMs: number } | undefined> {
  try {
    const { size, mtimeMs } = statSync(lockFile);
    const ageMs = Date.now() - mtimeMs;
    if (size > MAX_LOCK_BYTES) return { text: '', ageMs };
    const text = await readFile(lockFile, 'utf8');
    try {
      const raw = JSON.parse(text) as Partial<BuildLockHolder>;
      const valid =
        Number.isSafeInteger(raw.pid) &&
        (raw.pid ?? 0) > 0 &&
        typeof raw.host === 'string' &&
        Number.isFinite(raw.startedAt);
      return valid ? { text, holder: raw as BuildLockHolder, ageMs } : { text, ageMs };
    } catch {
      return { text, ageMs };
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock's builder is gone: a dead pid on this host, a lock never written, or one older than `staleMs`. */
function isStale(lock: { holder?: BuildLockHolder; ageMs: number }, staleMs: number): boolean {
  if (lock.ageMs > staleMs) return true;
  if (!lock.holder) return lock.ageMs > UNWRITTEN_LOCK_GRACE_MS;
  return lock.holder.host === hostname() && !processExists(lock.holder.pid);
}

/** Resolves when something in `dir` changes or after `ms`, whichever is first. */
async function directoryChangeOrTimeout(dir: string, ms: number): Promise<void> {
  await new Promise<void>((resolve) => {
    let watcher: ReturnType<typeof watch> | undefined;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      resolve();
    };
    const timer = setTimeout(done, ms);
    try {
      watcher = watch(dir, { persistent: false }, done);
      watcher.on('error', done);
    } catch {
      // No watching here (a full inotify table): the timer alone paces the checks.
    }
  });
}

/**
 * Hold the build lock for `request`, waiting while another live process builds: 'acquired' (the caller builds, then
 * releases) or 'cached' (the other build stored the bundle) or 'timeout' (waited `waitMs`: the caller builds unlocked).
 */
async function acquireBuildLock(
  cacheDir: string,
  request: WorkflowBundleRequest,
  options: BuildLockOptions,
): Promise<
  | { readonly state: 'acquired'; readonly lockText: string }
  | { readonly state: 'timeout' }
  | { readonly state: 'cached'; readonly code: string }
> {
  const lockFile = buildLockFile(cacheDir, request);
  const deadline = Date.now() + (options.waitMs ?? DEFAULT_WAIT_MS);
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  let told = false;
  await mkdir(cacheDir, { recursive: true });
  for (;;) {
    const lockText = await tryLock(lockFile);
    if (lockText !== undefined) return { state: 'acquired', lockText };
    const cached = await readCachedWorkflowBundle(cacheDir, request);
    if (cached) return { state: 'cached', code: cached.code };
    const lock = await readLock(lockFile);
    if (!lock) continue; // released between the two looks: try again
    if (isStale(lock, staleMs)) {
      // Remove it only if it is still the lock judged stale (another waiter may have taken over already).
      if ((await readLock(lockFile))?.text === lock.text) await rm(lockFile, { force: true });
      options.onLockEvent?.({ kind: 'took-over', holder: lock.holder, lockFile });
      continue;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      options.onLockEvent?.({ kind: 'gave-up-waiting', holder: lock.holder, lockFile });
      return { state: 'timeout' };
    }
    if (!told) options.onLockEvent?.({ kind: 'waiting', holder: lock.holder, lockFile });
    told = true;
    await directoryChangeOrTimeout(cacheDir, Math.min(left, options.checkEveryMs ?? 1_000));
  }
}

async function storeBuilt(
  cacheDir: string,
  request: WorkflowBundleRequest,
  built: BuiltWorkflowBundle & { readonly fresh: boolean },
): Promise<void> {
  if (built.fresh && Object.keys(built.inputs).length > 0) {
    await writeCachedWorkflowBundle(cacheDir, request, built).catch(() => undefined);
  }
}

/**
 * The bundle for `request` from `cacheDir` when a valid one is there, else built once (under the build lock), stored
 * and returned. A failure to store or to lock (read-only directory, full disk) is not the worker's failure: the built
 * bundle is used anyway.
 */
export async function cachedWorkflowBundle(
  cacheDir: string,
  request: WorkflowBundleRequest,
  build: (
    request: WorkflowBundleRequest,
  ) => Promise<BuiltWorkflowBundle & { readonly fresh: boolean }> = buildWorkflowBundle,
  lockOptions: BuildLockOptions = {},
): Promise<{ readonly code: string }> {
  const cached = await readCachedWorkflowBundle(cacheDir, request);
  if (cached) return { code: cached.code };
  const lock = await acquireBuildLock(cacheDir, request, lockOptions).catch(() => ({ state: 'timeout' }) as const);
  if (lock.state === 'cached') return { code: lock.code };
  if (lock.state === 'timeout') {
    const built = await build(request);
    await storeBuilt(cacheDir, request, built);
    return { code: built.code };
  }
  try {
    // Another builder may have stored it between this process's first look and its lock.
    const stored = await readCachedWorkflowBundle(cacheDir, request);
    if (stored) return { code: stored.code };
    const built = await build(request);
    await storeBuilt(cacheDir, request, built);
    return { code: built.code };
  } finally {
    await releaseLock(buildLockFile(cacheDir, request), lock.lockText);
  }
}
