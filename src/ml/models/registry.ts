/**
 * The model registry: versioned models in the store.
 *
 * ```
 * s3://<bucket>/models/<name>/<version>/claim.json   who took this version number (written first)
 * s3://<bucket>/models/<name>/<version>/model.json   tfjs LayersModel
 * s3://<bucket>/models/<name>/<version>/weights.bin
 * s3://<bucket>/models/<name>/<version>/preprocessing.json  raw input → tensor (src/ml/data/preprocessing.ts), when
 * known
 * s3://<bucket>/models/<name>/<version>/card.json    model card: lineage, metrics, hyperparameters (written last)
 * s3://<bucket>/models/<name>/<version>/tags.json    key/value labels of the registrations of this version
 * s3://<bucket>/models/<name>/aliases.json           {"champion": 3, …}
 * ```
 *
 * Versions are integers from 1. `registry://NAME@ALIAS`, `registry://NAME@VERSION` and
 * `registry://NAME` (= latest) name a model; a version exists once its card does.
 *
 * Concurrency: registrations and promotes of one name may run at the same time (two runs, a run
 * and `fineflow models promote`). Both use S3 conditional writes, which the pinned MinIO and the
 * `minio` client support (If-None-Match / If-Match on PUT; a lost race is ConflictError):
 * - a registration claims its version by creating `<version>/claim.json` with `If-None-Match: *`
 *   and moves to the next number when someone else holds it, so every registration gets its own
 *   directory (a registration that dies after its claim leaves a gap in the numbers, never a
 *   shared version);
 * - aliases.json is a read-modify-write guarded by `If-Match: <etag>` (or `If-None-Match: *`
 *   while it does not exist), redone on conflict, so a concurrent promote is never overwritten.
 * - with `unlessUnchanged`, a claim records the model's content sha256; a registration that finds a lower claim with
 *   the same digest above the latest version it compared with (a concurrent registration of the same model) waits
 *   for that version's card, checks its files, drops its own claim and returns that version as unchanged, so
 *   concurrent registrations of one model add one version (a claim's number is always taken after every lower one's,
 *   so the lowest claim never waits and the others always see it);
 * - such a claim is a lease: its registration rewrites it (If-Match on its own etag) every quarter of
 *   `claimStaleAfterMs` until its card is written. A waiting registration that sees the claim's etag unchanged for
 *   that long (on its own clock, so no clock skew), or that finds its own run and stage's claim (an earlier attempt,
 *   which Temporal retries only once it failed), takes the claim over with If-Match on the etag it saw: exactly one
 *   taker wins, gives its own number back and writes that version; the others keep waiting for its card;
 * - the card is written with `If-None-Match: *`, so a registration whose claim was taken over while it was only slow
 *   finds the taker's card (the same files: the digest matched and is checked) and returns it as unchanged;
 * - tags.json (a version's key/value labels) is merged under `If-Match` too.
 * One object per alias would also avoid lost updates but makes `aliases` a listing plus N reads;
 * a serialising workflow per name would put the registry on Temporal's critical path for the CLI.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../canonical-json';
import { ConflictError, InvalidInputError, NotFoundError, ResourceLimitError } from '../../core/errors';
import type { JsonObject } from '../../core/spec/plan-types';
import type { ObjectStore, WriteCondition } from '../../storage/object-store';
import { joinUri, parseS3Uri, uriOf } from '../uri';
import { MODEL_JSON, modelJsonUri, WEIGHTS_BIN } from './model-io';
import { redactUrisDeep, redactUrisIn } from '../../core/security/redact';
import type { RecordedEvaluation } from '../../core/run/register-evaluations';
import { readPreprocessingBeside, writePreprocessingBeside } from '../data/preprocessing-file';
import type { Preprocessing } from '../data/preprocessing';

export interface ModelLineage {
  /** Dataset manifest URI (and its version/fingerprint when known). */
  readonly dataset?: string;
  readonly datasetVersion?: string;
  /** Run and stage that produced the model. */
  readonly runId?: string;
  readonly stage?: string;
  /** The base model it was fine-tuned from. */
  readonly baseModel?: string;
}

export interface ModelCard {
  readonly name: string;
  readonly version: number;
  readonly createdAt: string;
  readonly description?: string;
  /** The URI the registered files were copied from. */
  readonly source: string;
  readonly lineage: ModelLineage;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly hyperparameters?: JsonObject;
  readonly classes?: readonly string[];
  readonly inputShape?: readonly number[];
  /** TensorFlow backend that trained it. */
  readonly backend?: string;
  /** How raw inputs become the model's tensors (also in preprocessing.json beside model.json). */
  readonly preprocessing?: Preprocessing;
  /**
   * The registering run's evaluate stages that scored these weights: gate verdict, reasons and headline numbers
   * (register-evaluations.ts). Cards written before it was recorded have none: their verdict is in the run only.
   */
  readonly evaluations?: readonly RecordedEvaluation[];
}

export type Aliases = Readonly<Record<string, number>>;

const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const ALIAS_PATTERN = /^[a-z][a-z0-9._-]{0,62}$/;

function checkName(name: string): void {
  if (!NAME_PATTERN.test(name))
    throw new InvalidInputError(
      `model name ${JSON.stringify(name)} must be lowercase letters, digits, '.', '_' or '-'`,
      { name },
    );
}

function checkAlias(alias: string): void {
  if (!ALIAS_PATTERN.test(alias) || alias === 'latest') {
    throw new InvalidInputError(
      `alias ${JSON.stringify(alias)} must start with a letter, use lowercase letters, digits, '.', '_' or '-', and ` +
        `not be "latest"`,
      { alias },
    );
  }
}

export function modelPrefix(bucket: string, name: string): string {
  return uriOf(bucket, `models/${name}`);
}

export function versionPrefix(bucket: string, name: string, version: number): string {
  return joinUri(modelPrefix(bucket, name), String(version));
}

export interface RegistryReference {
  readonly name: string;
  /** A version number, an alias, or `latest`. */
  readonly selector: string;
}

export function parseRegistryUri(uri: string): RegistryReference {
  const match = /^registry:\/\/([^@/]+)(?:@([^/]+))?$/.exec(uri);
  if (!match || !match[1])
    throw new InvalidInputError(
      `${uri} is not a registry URI; expected registry://NAME@ALIAS or registry://NAME@VERSION`,
      { uri },
    );
  checkName(match[1]);
  return { name: match[1], selector: match[2] ?? 'latest' };
}

function aliasesUri(bucket: string, name: string): string {
  return joinUri(modelPrefix(bucket, name), 'aliases.json');
}

export async function readAliases(store: ObjectStore, bucket: string, name: string): Promise<Aliases> {
  const uri = aliasesUri(bucket, name);
  return (await store.stat(uri)) ? store.getJson<Aliases>(uri) : {};
}

/** Conditional writes tried before a registry update gives up (ConflictError, retryable by the stage). */
const MAX_WRITE_ATTEMPTS = 100;

/** Random backoff between conflicting attempts, so racing writers spread out instead of colliding again. */
async function conflictBackoff(attempt: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(250, 5 * 2 ** Math.min(attempt, 6))));
}

/** Apply `change` to aliases.json without losing a concurrent update (optimistic, etag-guarded). */
async function updateAliases(
  store: ObjectStore,
  bucket: string,
  name: string,
  change: (current: Aliases) => Aliases,
): Promise<{ before: Aliases; after: Aliases }> {
  const uri = aliasesUri(bucket, name);
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const info = await store.stat(uri);
    const before = info ? await store.getJson<Aliases>(uri) : {};
    const after = change(before);
    try {
      await store.putJson(uri, after, { condition: info ? { ifMatch: info.etag } : { ifNoneMatch: '*' } });
      return { before, after };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      await conflictBackoff(attempt);
    }
  }
  throw new ConflictError(
    `aliases of model ${name} kept changing concurrently (${MAX_WRITE_ATTEMPTS} attempts); retry`,
    { name },
  );
}

const VERSION_FILE = /^models\/[^/]+\/(\d+)\/(?:card|claim)\.json$/;

/** Take the next free version number of `name` by creating its claim object (If-None-Match: *). */
async function claimVersion(
  store: ObjectStore,
  bucket: string,
  name: string,
  claim: Record<string, string>,
): Promise<number> {
  let highest = 0;
  for (const info of await store.list(`${modelPrefix(bucket, name)}/`)) {
    const match = VERSION_FILE.exec(info.key);
    if (match?.[1]) highest = Math.max(highest, Number(match[1]));
  }
  for (let version = highest + 1, attempt = 0; attempt < MAX_WRITE_ATTEMPTS; version++, attempt++) {
    try {
      await store.putJson(joinUri(versionPrefix(bucket, name, version), 'claim.json'), claim, {
        condition: { ifNoneMatch: '*' },
      });
      return version;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error; // taken: try the next number
    }
  }
  throw new ConflictError(`model ${name}: ${MAX_WRITE_ATTEMPTS} version numbers were taken concurrently; retry`, {
    name,
  });
}

/** Registered versions of `name`, ascending. */
export async function listVersions(store: ObjectStore, bucket: string, name: string): Promise<number[]> {
  const prefix = `${modelPrefix(bucket, name)}/`;
  const versions = new Set<number>();
  for (const info of await store.list(prefix)) {
    const match = /^models\/[^/]+\/(\d+)\/card\.json$/.exec(info.key);
    if (match?.[1]) versions.add(Number(match[1]));
  }
  return [...versions].sort((a, b) => a - b);
}

/** The version a registry reference points at. */
export async function resolveVersion(
  store: ObjectStore,
  bucket: string,
  reference: RegistryReference,
): Promise<number> {
  const versions = await listVersions(store, bucket, reference.name);
  if (versions.length === 0)
    throw new NotFoundError(`model ${reference.name} is not in the registry (s3://${bucket}/models/)`, {
      name: reference.name,
    });
  if (reference.selector === 'latest') return versions[versions.length - 1] as number;
  if (/^\d+$/.test(reference.selector)) {
    const version = Number(reference.selector);
    if (!versions.includes(version))
      throw new NotFoundError(`model ${reference.name} has no version ${version}; versions: ${versions.join(', ')}`, {
        name: reference.name,
      });
    return version;
  }
  const aliases = await readAliases(store, bucket, reference.name);
  const version = aliases[reference.selector];
  if (version === undefined) {
    const known = Object.keys(aliases);
    throw new NotFoundError(
      `model ${reference.name} has no alias ${reference.selector}; aliases: ` +
        `${known.length ? known.join(', ') : 'none'}`,
      {
        name: reference.name,
        alias: reference.selector,
      },
    );
  }
  return version;
}

/** `registry://…` → the `s3://…/model.json` it names; other URIs unchanged. */
export async function resolveModelUri(store: ObjectStore, uri: string, bucket: string): Promise<string> {
  if (!uri.startsWith('registry://')) return uri;
  const reference = parseRegistryUri(uri);
  const version = await resolveVersion(store, bucket, reference);
  return joinUri(versionPrefix(bucket, reference.name, version), MODEL_JSON);
}

export interface RegisterModelOptions {
  readonly bucket: string;
  readonly name: string;
  /** Where the model is now: an `s3://` model directory or model.json in the same store. */
  readonly modelUri: string;
  readonly aliases?: readonly string[];
  readonly description?: string;
  readonly lineage?: ModelLineage;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly hyperparameters?: JsonObject;
  readonly classes?: readonly string[];
  readonly inputShape?: readonly number[];
  readonly backend?: string;
  /** The evaluations that let the model in, recorded on the card (their reasons' URIs redacted). */
  readonly evaluations?: readonly RecordedEvaluation[];
  /** Key/value labels, merged into the version's tags.json (also on an unchanged registration: the newest wins). */
  readonly tags?: Readonly<Record<string, string>>;
  /** Timestamp written in the card; default now. */
  readonly now?: Date;
  /**
   * Add no version when the model's files are those of a version that `aliases` or `latest` names now: move the
   * aliases to that version and return it with `unchanged` (a rerun registering the model it registered before).
   */
  readonly unlessUnchanged?: boolean;
  /**
   * With `unlessUnchanged`: how long a claim of the same files may go without being renewed before a waiting
   * registration takes it over (its registration died before its card). Default {@link CLAIM_STALE_AFTER_MS}.
   */
  readonly claimStaleAfterMs?: number;
}

export interface RegisteredModel {
  readonly name: string;
  readonly version: number;
  /** `registry://name@version`. */
  readonly uri: string;
  /** Where the files are: `s3://…/models/<name>/<version>/model.json`. */
  readonly modelUri: string;
  readonly card: ModelCard;
  readonly aliases: Aliases;
  /** Set when no version was added: `version` already held these files (`unlessUnchanged`). */
  readonly unchanged?: true;
  /** sha256 of the version's files (model.json, weights.bin, preprocessing): {@link modelContentSha256}. */
  readonly contentSha256: string;
  /** The version's tags after this registration (tags.json). */
  readonly tags: Readonly<Record<string, string>>;
}

/** The files a version holds: model.json with one weights.bin in its manifest, the weights, the preprocessing. */
interface VersionFiles {
  readonly modelJson: JsonObject;
  readonly weights: Buffer;
  readonly preprocessing?: Preprocessing;
}

/** One digest of what a version holds: two versions with the same files (JSON compared canonically) have the same. */
function modelContentSha256(files: VersionFiles): string {
  const hash = createHash('sha256');
  for (const part of [
    canonicalJson(files.modelJson),
    files.weights,
    files.preprocessing ? canonicalJson(files.preprocessing) : '',
  ]) {
    hash.update(String(part.length)).update(':').update(part);
  }
  return hash.digest('hex');
}

/** A model's files as a registration will write them: its weight shards merged into one weights.bin. */
async function readSourceFiles(store: ObjectStore, sourceJsonUri: string): Promise<VersionFiles> {
  const modelJson = await store.getJson<JsonObject & { weightsManifest?: { paths: string[] }[] }>(sourceJsonUri);
  const sourceDirectory = sourceJsonUri.slice(0, sourceJsonUri.lastIndexOf('/'));
  const paths = (modelJson.weightsManifest ?? []).flatMap((group) => group.paths);
  const weights = await Promise.all(paths.map((relative) => store.getBytes(joinUri(sourceDirectory, relative))));
  // Parsed (bounded, checked) before it is copied: the registry only holds preprocessing it can apply.
  const preprocessing = await readPreprocessingBeside(store, sourceJsonUri);
  const specs = (modelJson.weightsManifest ?? []).flatMap((group) => (group as { weights?: unknown[] }).weights ?? []);
  return {
    modelJson: { ...modelJson, weightsManifest: [{ paths: [WEIGHTS_BIN], weights: specs as JsonObject[] }] },
    weights: Buffer.concat(weights),
    ...(preprocessing ? { preprocessing } : {}),
  };
}

/**
 * The content digest of a registered version, or undefined when it cannot hold `size` bytes of weights or its files
 * do not read as a model's. The registry is writable by pipeline code: a version's weights are read only when their
 * size matches, and never past it.
 */
async function versionContentSha256(
  store: ObjectStore,
  bucket: string,
  name: string,
  version: number,
  size: number,
): Promise<string | undefined> {
  const directory = versionPrefix(bucket, name, version);
  const weightsInfo = await store.stat(joinUri(directory, WEIGHTS_BIN));
  if (weightsInfo?.size !== size) return undefined;
  const modelJsonUri = joinUri(directory, MODEL_JSON);
  try {
    const preprocessing = await readPreprocessingBeside(store, modelJsonUri);
    return modelContentSha256({
      modelJson: await store.getJson<JsonObject>(modelJsonUri),
      weights: await store.getBytes(joinUri(directory, WEIGHTS_BIN), { maxBytes: size }),
      ...(preprocessing ? { preprocessing } : {}),
    });
  } catch (error) {
    // Not a version with these files (changed or removed meanwhile, not a model): so not the same.
    if (error instanceof InvalidInputError || error instanceof ResourceLimitError || error instanceof NotFoundError)
      return undefined;
    throw error;
  }
}

/**
 * The version among those `aliases` and `latest` name now whose files are `files`, if any, and the latest version it
 * compared with (0 when there is none).
 */
async function sameContentVersion(
  store: ObjectStore,
  options: RegisterModelOptions,
  files: VersionFiles,
  sha256: string,
): Promise<{ readonly same?: number; readonly latest: number }> {
  const versions = await listVersions(store, options.bucket, options.name);
  const current = await readAliases(store, options.bucket, options.name);
  const named = (options.aliases ?? []).map((alias) => current[alias]);
  const latest = versions[versions.length - 1] ?? 0;
  for (const version of new Set([...named, latest])) {
    if (typeof version !== 'number' || !versions.includes(version)) continue;
    const found = await versionContentSha256(store, options.bucket, options.name, version, files.weights.length);
    if (found === sha256) return { same: version, latest };
  }
  return { latest };
}

/** How long a claim of the same files may go unrenewed before a waiting registration takes it over. */
export const CLAIM_STALE_AFTER_MS = 10_000;
/** However often a claim is renewed, a waiting registration takes it over after this long (a hung claimant). */
const CLAIM_MAX_WAIT_MS = 10 * 60_000;
const SAME_CONTENT_POLL_MS = 100;

/** A claim as a registration writes it: who took the number and, with `unlessUnchanged`, of which files. */
type Claim = Readonly<Record<string, string>>;

/** The claim object of `version`, its etag and what it says (bounded: the registry is writable by pipeline code). */
async function readClaim(
  store: ObjectStore,
  directory: string,
): Promise<{ readonly etag: string; readonly claim: Readonly<Record<string, unknown>> } | undefined> {
  const uri = joinUri(directory, 'claim.json');
  const info = await store.stat(uri);
  if (!info) return undefined;
  const claim = await store.getJson<unknown>(uri, { maxBytes: 64 * 1024 }).catch(() => undefined);
  if (typeof claim !== 'object' || claim === null || Array.isArray(claim)) return { etag: info.etag, claim: {} };
  return { etag: info.etag, claim: claim as Record<string, unknown> };
}

/** Write `claim` over the claim object whose etag is `etag`; its new etag, or undefined when it changed meanwhile. */
async function replaceClaim(store: ObjectStore, directory: string, etag: string, claim: Claim) {
  try {
    return (await store.putJson(joinUri(directory, 'claim.json'), claim, { condition: { ifMatch: etag } })).etag;
  } catch (error) {
    if (error instanceof ConflictError || error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/**
 * Renew a claim every `intervalMs` (If-Match on its last etag, so the registration's own claim only) until stopped or
 * taken over. A renewal that fails otherwise is tried again at the next tick: the lease is a hint for the waiters.
 */
function renewClaim(store: ObjectStore, directory: string, lease: { etag: string; claim: Claim }, intervalMs: number) {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async (): Promise<void> => {
    const claim = { ...lease.claim, renewedAt: new Date().toISOString() };
    const etag = await replaceClaim(store, directory, lease.etag, claim).catch(() => lease.etag);
    if (etag === undefined)
      stopped = true; // taken over: the card's If-None-Match decides who writes the version
    else lease.etag = etag;
    if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
  };
  timer = setTimeout(() => void tick(), intervalMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** What waiting on a lower claim of the same files ended with. */
type ClaimWait =
  { readonly kind: 'card' } | { readonly kind: 'gone' } | { readonly kind: 'taken-over'; readonly etag: string };

/**
 * Wait on a claim of the same files until its card is written or its claim removed (that registration yielded); take
 * it over when it is the claim of an earlier attempt of this registration, goes `staleAfterMs` without a renewal, or
 * was waited on for {@link CLAIM_MAX_WAIT_MS}.
 */
async function awaitClaim(
  store: ObjectStore,
  directory: string,
  seen: { readonly etag: string; readonly claim: Readonly<Record<string, unknown>> },
  own: { readonly claim: Claim; readonly staleAfterMs: number },
): Promise<ClaimWait> {
  const started = Date.now();
  const ownEarlierAttempt =
    own.claim.runId !== undefined &&
    own.claim.stage !== undefined &&
    seen.claim.runId === own.claim.runId &&
    seen.claim.stage === own.claim.stage;
  let etag = seen.etag;
  let since = ownEarlierAttempt ? -Infinity : started;
  for (;;) {
    if (await store.stat(joinUri(directory, 'card.json'))) return { kind: 'card' };
    const current = await store.stat(joinUri(directory, 'claim.json'));
    if (!current) return { kind: 'gone' };
    const now = Date.now();
    if (current.etag !== etag) [etag, since] = [current.etag, now];
    if (now - since >= own.staleAfterMs || now - started >= CLAIM_MAX_WAIT_MS) {
      const taken = await replaceClaim(store, directory, etag, own.claim);
      if (taken !== undefined) return { kind: 'taken-over', etag: taken };
      // Someone else took it over (or it was renewed): wait on the claim as it is now.
    }
    await new Promise((resolve) => setTimeout(resolve, SAME_CONTENT_POLL_MS));
  }
}

/** What a registration found below its own claim: a version to return as unchanged, or a claim it took over. */
type ConcurrentSameContent =
  | { readonly kind: 'found'; readonly version: number }
  | { readonly kind: 'taken-over'; readonly version: number; readonly etag: string };

/**
 * A version claimed after `latest` and before `claimed` by a concurrent registration of the same files, once its card
 * is written and its files check out, or one whose registration died that this one took over; undefined when there is
 * none. The claims are the registry's, writable by pipeline code: a digest in one is a hint, the files decide.
 */
async function concurrentSameContentVersion(
  store: ObjectStore,
  options: RegisterModelOptions,
  range: { readonly latest: number; readonly claimed: number },
  content: { readonly sha256: string; readonly size: number; readonly claim: Claim },
): Promise<ConcurrentSameContent | undefined> {
  const staleAfterMs = options.claimStaleAfterMs ?? CLAIM_STALE_AFTER_MS;
  for (let version = range.latest + 1; version < range.claimed; version++) {
    const directory = versionPrefix(options.bucket, options.name, version);
    const seen = await readClaim(store, directory);
    if (seen?.claim.contentSha256 !== content.sha256) continue;
    const waited = await awaitClaim(store, directory, seen, { claim: content.claim, staleAfterMs });
    if (waited.kind === 'taken-over') return { kind: 'taken-over', version, etag: waited.etag };
    if (waited.kind === 'gone') continue;
    const found = await versionContentSha256(store, options.bucket, options.name, version, content.size);
    if (found === content.sha256) return { kind: 'found', version };
  }
  return undefined;
}

/** The most tags.json is read into memory (its writer, register-model, bounds the tags it is given). */
const MAX_TAGS_BYTES = 1024 * 1024;

/**
 * A version's key/value labels (its tags.json; none when it has none). The registry is writable by pipeline code, so
 * what is read is checked: only string values of a JSON object are kept, anything else is left out.
 */
export async function readVersionTags(
  store: ObjectStore,
  bucket: string,
  name: string,
  version: number,
): Promise<Readonly<Record<string, string>>> {
  checkName(name);
  return (await readTagsFile(store, joinUri(versionPrefix(bucket, name, version), 'tags.json'))).tags;
}

/** A tags.json as read (its etag, for a conditional rewrite) with only the string values of a JSON object kept. */
async function readTagsFile(
  store: ObjectStore,
  uri: string,
): Promise<{ readonly etag?: string; readonly tags: Readonly<Record<string, string>> }> {
  const info = await store.stat(uri);
  if (!info) return { tags: {} };
  const parsed = await store.getJson<unknown>(uri, { maxBytes: MAX_TAGS_BYTES });
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { etag: info.etag, tags: {} };
  const strings = Object.entries(parsed as Record<string, unknown>).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  );
  return { etag: info.etag, tags: Object.fromEntries(strings) };
}

/** tags.json of a version with `tags` merged in (the new value wins), without losing a concurrent merge. */
async function mergeVersionTags(
  store: ObjectStore,
  directory: string,
  tags: Readonly<Record<string, string>>,
): Promise<Readonly<Record<string, string>>> {
  const uri = joinUri(directory, 'tags.json');
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const before = await readTagsFile(store, uri);
    if (Object.keys(tags).length === 0) return before.tags;
    const after = { ...before.tags, ...tags };
    try {
      const condition: WriteCondition = before.etag !== undefined ? { ifMatch: before.etag } : { ifNoneMatch: '*' };
      await store.putJson(uri, after, { condition });
      return after;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      await conflictBackoff(attempt);
    }
  }
  throw new ConflictError(`tags of ${directory} kept changing concurrently (${MAX_WRITE_ATTEMPTS} attempts); retry`, {
    directory,
  });
}

/** `aliases` moved to `version` (those already there stay): the registry's aliases after it. */
async function moveAliases(store: ObjectStore, options: RegisterModelOptions, version: number): Promise<Aliases> {
  const requested = options.aliases ?? [];
  if (requested.length === 0) return readAliases(store, options.bucket, options.name);
  const { after } = await updateAliases(store, options.bucket, options.name, (current) => ({
    ...current,
    ...Object.fromEntries(requested.map((alias) => [alias, version])),
  }));
  return after;
}

/**
 * Copy a model into the registry as the next version, write its card, and move the given aliases to it; with
 * `unlessUnchanged`, a model whose files a version named by those aliases or `latest` holds already adds none.
 */
export async function registerModel(store: ObjectStore, options: RegisterModelOptions): Promise<RegisteredModel> {
  checkName(options.name);
  for (const alias of options.aliases ?? []) checkAlias(alias);
  await store.ensureBucket(options.bucket);
  const sourceJsonUri = modelJsonUri(options.modelUri);
  parseS3Uri(sourceJsonUri);
  const files = await readSourceFiles(store, sourceJsonUri);
  const contentSha256 = modelContentSha256(files);
  const compared = options.unlessUnchanged ? await sameContentVersion(store, options, files, contentSha256) : undefined;
  if (compared?.same !== undefined) return unchangedRegistration(store, options, compared.same, contentSha256);

  const createdAt = (options.now ?? new Date()).toISOString();
  const claim: Claim = {
    createdAt,
    source: options.modelUri,
    ...(options.lineage?.runId ? { runId: options.lineage.runId } : {}),
    ...(options.lineage?.stage ? { stage: options.lineage.stage } : {}),
    ...(compared ? { contentSha256 } : {}),
  };
  let version = await claimVersion(store, options.bucket, options.name, claim);
  if (!compared) return writeVersion(store, options, { version, createdAt, files, contentSha256 });
  // Others registering the same files wait on this claim: renew it until the card is written.
  const own = joinUri(versionPrefix(options.bucket, options.name, version), 'claim.json');
  const lease = { etag: (await store.stat(own))?.etag ?? '', claim };
  const content = { sha256: contentSha256, size: files.weights.length, claim };
  const concurrent = await concurrentSameContentVersion(store, options, { ...compared, claimed: version }, content);
  if (concurrent !== undefined) {
    // Nothing was written under this number but the claim: give it back (the next registration may take it).
    await store.remove(own);
    if (concurrent.kind === 'found') return unchangedRegistration(store, options, concurrent.version, contentSha256);
    [version, lease.etag] = [concurrent.version, concurrent.etag];
  }
  const directory = versionPrefix(options.bucket, options.name, version);
  const stopRenewing = renewClaim(store, directory, lease, (options.claimStaleAfterMs ?? CLAIM_STALE_AFTER_MS) / 4);
  try {
    return await writeVersion(store, options, { version, createdAt, files, contentSha256 });
  } finally {
    stopRenewing();
  }
}

/**
 * Copy the files into a claimed version, merge its tags, write its card (If-None-Match: the first card stays) and
 * move the aliases. A card there already was written by a registration that took this claim over (the same files):
 * this one returns that version as unchanged.
 */
async function writeVersion(
  store: ObjectStore,
  options: RegisterModelOptions,
  what: {
    readonly version: number;
    readonly createdAt: string;
    readonly files: VersionFiles;
    readonly contentSha256: string;
  },
): Promise<RegisteredModel> {
  const { version, createdAt, files, contentSha256 } = what;
  const target = versionPrefix(options.bucket, options.name, version);
  // Copy weights first and the card last: a version exists once its card does.
  await store.putBytes(joinUri(target, WEIGHTS_BIN), files.weights, { contentType: 'application/octet-stream' });
  const { preprocessing } = files;
  if (preprocessing) await writePreprocessingBeside(store, joinUri(target, MODEL_JSON), preprocessing);
  await store.putJson(joinUri(target, MODEL_JSON), files.modelJson);
  const card: ModelCard = {
    name: options.name,
    version,
    createdAt,
    ...(options.description ? { description: options.description } : {}),
    source: options.modelUri,
    // Lineage names sources the author wrote (a base model's URL with a token in its query): never record credentials.
    lineage: redactUrisDeep(options.lineage ?? {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.hyperparameters ? { hyperparameters: options.hyperparameters } : {}),
    ...(options.classes ? { classes: options.classes } : {}),
    ...(options.inputShape ? { inputShape: options.inputShape } : {}),
    ...(options.backend ? { backend: options.backend } : {}),
    ...(preprocessing ? { preprocessing } : {}),
    // A gate reason names the baselines it compared with, as the author wrote them: never record credentials.
    ...(options.evaluations?.length
      ? { evaluations: options.evaluations.map((e) => ({ ...e, reasons: e.reasons.map(redactUrisIn) })) }
      : {}),
  };
  const tags = await mergeVersionTags(store, target, options.tags ?? {});
  try {
    await store.putJson(joinUri(target, 'card.json'), card, { condition: { ifNoneMatch: '*' } });
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    const found = await versionContentSha256(store, options.bucket, options.name, version, files.weights.length);
    if (found !== contentSha256) throw error;
    return unchangedRegistration(store, options, version, contentSha256);
  }
  return {
    name: options.name,
    version,
    uri: `registry://${options.name}@${version}`,
    modelUri: joinUri(target, MODEL_JSON),
    card,
    aliases: await moveAliases(store, options, version),
    contentSha256,
    tags,
  };
}

/** A registration of files `version` holds already: its card as it is, the aliases moved to it, the tags merged. */
async function unchangedRegistration(
  store: ObjectStore,
  options: RegisterModelOptions,
  version: number,
  contentSha256: string,
): Promise<RegisteredModel> {
  const target = versionPrefix(options.bucket, options.name, version);
  return {
    name: options.name,
    version,
    uri: `registry://${options.name}@${version}`,
    modelUri: joinUri(target, MODEL_JSON),
    card: await store.getJson<ModelCard>(joinUri(target, 'card.json')),
    aliases: await moveAliases(store, options, version),
    unchanged: true,
    contentSha256,
    tags: await mergeVersionTags(store, target, options.tags ?? {}),
  };
}

export interface ModelSummary {
  readonly name: string;
  readonly versions: number;
  readonly latest: number;
  readonly aliases: Aliases;
  readonly latestCreatedAt?: string;
  /** The latest version's description (register-model's `description`), what the model is for. */
  readonly latestDescription?: string;
}

export async function listModels(store: ObjectStore, bucket: string): Promise<ModelSummary[]> {
  const names = new Set<string>();
  for (const info of await store.list(uriOf(bucket, 'models/'))) {
    const match = /^models\/([^/]+)\/\d+\/card\.json$/.exec(info.key);
    if (match?.[1]) names.add(match[1]);
  }
  const summaries: ModelSummary[] = [];
  for (const name of [...names].sort()) {
    const versions = await listVersions(store, bucket, name);
    const latest = versions[versions.length - 1] as number;
    const card = await store.getJson<ModelCard>(joinUri(versionPrefix(bucket, name, latest), 'card.json'));
    summaries.push({
      name,
      versions: versions.length,
      latest,
      aliases: await readAliases(store, bucket, name),
      latestCreatedAt: card.createdAt,
      ...(typeof card.description === 'string' && card.description !== ''
        ? { latestDescription: card.description }
        : {}),
    });
  }
  return summaries;
}

export interface ModelDetails {
  readonly name: string;
  readonly aliases: Aliases;
  /** Cards of every version, ascending. */
  readonly versions: readonly ModelCard[];
}

export async function showModel(store: ObjectStore, bucket: string, name: string): Promise<ModelDetails> {
  checkName(name);
  const versions = await listVersions(store, bucket, name);
  if (versions.length === 0)
    throw new NotFoundError(`model ${name} is not in the registry (s3://${bucket}/models/)`, { name });
  const cards = await Promise.all(
    versions.map((version) => store.getJson<ModelCard>(joinUri(versionPrefix(bucket, name, version), 'card.json'))),
  );
  return { name, aliases: await readAliases(store, bucket, name), versions: cards };
}

export interface PromoteResult {
  readonly name: string;
  readonly alias: string;
  readonly version: number;
  /** The version the alias pointed at before, if any. */
  readonly previous?: number;
}

/** Point `alias` at `version` (a number, another alias, or `latest`). */
export async function promoteModel(
  store: ObjectStore,
  bucket: string,
  name: string,
  selector: string | number,
  alias: string,
): Promise<PromoteResult> {
  checkName(name);
  checkAlias(alias);
  const version = await resolveVersion(store, bucket, { name, selector: String(selector) });
  const { before } = await updateAliases(store, bucket, name, (current) => ({ ...current, [alias]: version }));
  const previous = before[alias];
  return { name, alias, version, ...(previous !== undefined ? { previous } : {}) };
}
