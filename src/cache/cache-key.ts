/**
 * The content key of a stage result, and the digest of a stage's outputs.
 *
 * A stage may reuse an earlier result when its *key document* is identical:
 * - the stage type and its version;
 * - its `with:` after resolution, except that every value coming from an upstream stage is
 *   replaced by a marker naming the reference (`stages.prepare.outputs.dataset`) while the
 *   upstream's content digest goes into `upstream`. Upstream URIs embed the run id
 *   (`runs/<runId>/…`); digests do not, so an upstream that reproduced the same bytes in a
 *   new run leaves the key unchanged;
 * - the values of the params it references;
 * - the dataset version of a new-data trigger;
 * - a fingerprint of every external object its inputs point at (`s3://…`, `registry://…`,
 *   `file://…`, `http(s)://…`), so data replaced in place is never served from a stale entry.
 *   An input that cannot be fingerprinted makes the stage uncacheable ({@link uncacheableReason}).
 *
 * The key is the sha256 of the canonical JSON (RFC 8785, src/canonical-json.ts) of that document. The document
 * is stored with the cache entry, so `fineflow plan --explain-cache` can say which part
 * changed ({@link explainKeyChanges}).
 *
 * Not workflow code: it hashes with node:crypto, and runs in activities and the CLI.
 */
import { canonicalJson, sha256Hex } from '../canonical-json';
import { collectReferences, hasExpression, joinPath, parseTemplate } from '../core/spec/expressions';
import type { JsonObject, JsonValue, PlannedStage } from '../core/spec/plan-types';
import { unfingerprintableReason } from './cache-uri-fingerprint';

/** Bump when the shape of the key document or of the output digest changes: old entries then miss. */
export const CACHE_FORMAT_VERSION = 1;

/** Marker that replaces an input value read from an upstream stage's outputs. */
export interface UpstreamMarker {
  /** The template string as written, e.g. `${{ stages.prepare.outputs.dataset }}`. */
  readonly $fromUpstream: string;
  /**
   * Values of the params the same string references (a mixed template such as `${{ stages.a.outputs.x }}-${{ params.p
   * }}`).
   */
  readonly params?: { readonly [name: string]: JsonValue };
}

export interface CacheKeyDocument {
  readonly formatVersion: number;
  /** Stage type, e.g. `fine-tune`. */
  readonly uses: string;
  readonly typeVersion: string;
  /** Resolved `with:`, upstream-derived values replaced by {@link UpstreamMarker}s. */
  readonly inputs: JsonObject;
  /** Values of the params `with:` references, by name. */
  readonly params: { readonly [name: string]: JsonValue };
  /** Content digest of each stage in `needs`; null when the upstream produced no outputs (skipped). */
  readonly upstream: { readonly [stageId: string]: string | null };
  readonly datasetVersion: string | null;
  /** Fingerprint of each external object or prefix the inputs point at, by URI. */
  readonly external: { readonly [uri: string]: string };
}

export function cacheKeyOf(document: CacheKeyDocument): string {
  return sha256Hex(canonicalJson(document));
}

function isPlainObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value);
}

/** Names of the params a stage's `with:` references (its `when:` decides whether it runs, not what it produces). */
export function paramsReferencedBy(stage: PlannedStage): string[] {
  return [
    ...new Set(
      collectReferences(stage.with)
        .filter((ref) => ref.kind === 'param')
        .map((ref) => ref.name),
    ),
  ].sort();
}

/** `${{stages.a.outputs.x}}` and `${{ stages.a.outputs.x }}` are the same reference: trim inside the braces. */
function normaliseTemplate(template: string): string {
  try {
    return parseTemplate(template)
      .map((part) => (part.kind === 'text' ? part.text : `\${{ ${part.source.trim()} }}`))
      .join('');
  } catch {
    return template;
  }
}

export interface KeyInputs {
  readonly inputs: JsonObject;
  /**
   * Param values seen where a string is exactly one `${{ params.x }}`, for when the caller does not pass the params.
   */
  readonly observedParams: { readonly [name: string]: JsonValue };
}

/**
 * Walk the template (`stage.with`) and the resolved inputs side by side: a string whose
 * template reads a stage output becomes an {@link UpstreamMarker}; everything else keeps its
 * resolved value. `params` are the run's param values when the caller knows them; without them
 * a mixed template keeps its resolved text (safe: it then embeds the upstream URI, so a rerun
 * misses instead of reusing something stale).
 */
export function substituteUpstreamInputs(
  template: JsonObject,
  resolved: JsonObject,
  params?: { readonly [name: string]: JsonValue },
): KeyInputs {
  const observedParams: Record<string, JsonValue> = {};
  const visit = (tmpl: JsonValue | undefined, value: JsonValue | undefined): JsonValue => {
    if (typeof tmpl === 'string' && hasExpression(tmpl)) {
      const refs = collectReferences(tmpl);
      const paramRefs = refs.filter((ref) => ref.kind === 'param');
      if (refs.some((ref) => ref.kind === 'stage-output')) {
        const reference = normaliseTemplate(tmpl);
        if (paramRefs.length === 0) return { $fromUpstream: reference };
        if (params && paramRefs.every((ref) => Object.prototype.hasOwnProperty.call(params, ref.name))) {
          const used: Record<string, JsonValue> = {};
          for (const ref of paramRefs) used[ref.name] = params[ref.name] as JsonValue;
          return { $fromUpstream: reference, params: used };
        }
        return value ?? null;
      }
      const only = paramRefs[0];
      if (paramRefs.length === 1 && only && only.whole && only.subpath.length === 0 && value !== undefined)
        observedParams[only.name] = value;
      return value ?? { $unresolved: tmpl };
    }
    if (Array.isArray(tmpl) && Array.isArray(value)) {
      return value.map((item: JsonValue, index) => visit(tmpl[index] as JsonValue | undefined, item));
    }
    if (isPlainObject(tmpl) && isPlainObject(value)) {
      const out: Record<string, JsonValue> = {};
      for (const key of new Set([...Object.keys(tmpl), ...Object.keys(value)])) {
        out[key] = visit(tmpl[key], value[key]);
      }
      return out;
    }
    return value === undefined ? (tmpl ?? null) : value;
  };
  return { inputs: visit(template, resolved) as JsonObject, observedParams };
}

/**
 * URIs whose content lives outside the run: `s3://`, `registry://`, `file://` and `http(s)://` strings of the
 * (substituted) inputs.
 */
export function externalUrisOf(inputs: JsonValue): string[] {
  const found = new Set<string>();
  const visit = (value: JsonValue): void => {
    if (typeof value === 'string') {
      if (/^(s3|registry|file|https?):\/\/\S+$/i.test(value)) found.add(value);
    } else if (Array.isArray(value)) {
      value.forEach((item: JsonValue) => visit(item));
    } else if (isPlainObject(value)) {
      // Markers name upstream references, not external data.
      if ('$fromUpstream' in value) return;
      Object.values(value).forEach(visit);
    }
  };
  visit(inputs);
  return [...found].sort();
}

export interface KeyDocumentParts {
  readonly stage: PlannedStage;
  readonly keyInputs: KeyInputs;
  /** The run's param values, when known; otherwise those observed in the inputs are used. */
  readonly params?: { readonly [name: string]: JsonValue };
  /** Digest of each upstream stage by id; a stage in `needs` that is absent counts as null. */
  readonly upstreamDigests: { readonly [stageId: string]: string | undefined };
  readonly datasetVersion?: string;
  readonly external: { readonly [uri: string]: string };
}

export function buildKeyDocument(parts: KeyDocumentParts): CacheKeyDocument {
  const params: Record<string, JsonValue> = {};
  for (const name of paramsReferencedBy(parts.stage)) {
    const value =
      parts.params && Object.prototype.hasOwnProperty.call(parts.params, name)
        ? parts.params[name]
        : parts.keyInputs.observedParams[name];
    if (value !== undefined) params[name] = value;
  }
  const upstream: Record<string, string | null> = {};
  for (const need of parts.stage.needs) upstream[need] = parts.upstreamDigests[need] ?? null;
  return {
    formatVersion: CACHE_FORMAT_VERSION,
    uses: parts.stage.uses,
    typeVersion: parts.stage.typeVersion,
    inputs: parts.keyInputs.inputs,
    params,
    upstream,
    datasetVersion: parts.datasetVersion ?? null,
    external: { ...parts.external },
  };
}

/**
 * Why a key cannot vouch for the stage's inputs (an external input without a stable
 * fingerprint, see src/cache/cache-uri-fingerprint.ts), or undefined when it can.
 */
export function uncacheableReason(document: Pick<CacheKeyDocument, 'external'>): string | undefined {
  const reasons = Object.values(document.external ?? {})
    .map(unfingerprintableReason)
    .filter((reason): reason is string => reason !== undefined);
  return reasons.length > 0 ? `not cacheable: ${reasons.join('; ')}` : undefined;
}

/**
 * Digest of a stage's outputs: sha256 of their canonical JSON after every string that names an
 * artifact (a key of `contentHashes`: an object URI, or a prefix URI whose listing was hashed)
 * is replaced by its content hash. Two runs writing the same bytes under different
 * `runs/<runId>/` prefixes get the same digest.
 */
export function digestOutputs(outputs: JsonObject, contentHashes: ReadonlyMap<string, string>): string {
  const visit = (value: JsonValue): JsonValue => {
    if (typeof value === 'string') {
      const hash = contentHashes.get(value);
      return hash === undefined ? value : { $content: hash };
    }
    if (Array.isArray(value)) return value.map((item: JsonValue) => visit(item));
    if (isPlainObject(value)) {
      const out: Record<string, JsonValue> = {};
      for (const [key, item] of Object.entries(value)) out[key] = visit(item);
      return out;
    }
    return value;
  };
  return sha256Hex(canonicalJson({ formatVersion: CACHE_FORMAT_VERSION, outputs: visit(outputs) }));
}

/** Every `s3://` string in a JSON value (candidate artifacts of a stage's outputs). */
export function s3UrisIn(value: JsonValue): string[] {
  const found = new Set<string>();
  const visit = (current: JsonValue): void => {
    if (typeof current === 'string') {
      if (/^s3:\/\/\S+$/.test(current)) found.add(current);
    } else if (Array.isArray(current)) current.forEach((item: JsonValue) => visit(item));
    else if (isPlainObject(current)) Object.values(current).forEach(visit);
  };
  visit(value);
  return [...found].sort();
}

/** One part of a key that differs between two key documents. */
export interface KeyChange {
  /**
   * `stage type`, `stage type version`, `with.<path>`, `params.<name>`, `upstream <id>`, `dataset version`, `input
   * <uri>`, `cache format`.
   */
  readonly part: string;
  readonly before?: JsonValue;
  readonly after?: JsonValue;
}

function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return canonicalJson(a) === canonicalJson(b);
}

function diffValues(before: JsonValue | undefined, after: JsonValue | undefined, path: string, out: KeyChange[]): void {
  if (sameJson(before, after)) return;
  if (isPlainObject(before) && isPlainObject(after) && !('$fromUpstream' in before) && !('$fromUpstream' in after)) {
    for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort())
      diffValues(before[key], after[key], joinPath(path, key), out);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    before.forEach((item: JsonValue, index) => diffValues(item, after[index] as JsonValue, joinPath(path, index), out));
    return;
  }
  out.push({
    part: `with.${path}`,
    ...(before === undefined ? {} : { before }),
    ...(after === undefined ? {} : { after }),
  });
}

function change(part: string, before: JsonValue | undefined, after: JsonValue | undefined): KeyChange {
  return { part, ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }) };
}

/**
 * Which parts of the key changed from `before` (e.g. the last cached entry) to `after` (the
 * key this run would use). Empty when the documents are equal. Params come first: a param
 * change usually explains the `with.*` changes listed after it.
 */
export function explainKeyChanges(before: CacheKeyDocument, after: CacheKeyDocument): KeyChange[] {
  const out: KeyChange[] = [];
  if (before.formatVersion !== after.formatVersion)
    out.push(change('cache format', before.formatVersion, after.formatVersion));
  if (before.uses !== after.uses) out.push(change('stage type', before.uses, after.uses));
  if (before.typeVersion !== after.typeVersion)
    out.push(change('stage type version', before.typeVersion, after.typeVersion));
  for (const name of [...new Set([...Object.keys(before.params ?? {}), ...Object.keys(after.params ?? {})])].sort()) {
    const a = before.params?.[name];
    const b = after.params?.[name];
    if (!sameJson(a, b)) out.push(change(`params.${name}`, a, b));
  }
  for (const id of [...new Set([...Object.keys(before.upstream ?? {}), ...Object.keys(after.upstream ?? {})])].sort()) {
    const a = before.upstream?.[id];
    const b = after.upstream?.[id];
    if (a !== b) out.push(change(`upstream ${id}`, a, b));
  }
  if ((before.datasetVersion ?? null) !== (after.datasetVersion ?? null))
    out.push(change('dataset version', before.datasetVersion, after.datasetVersion));
  const inputChanges: KeyChange[] = [];
  diffValues(before.inputs, after.inputs, '', inputChanges);
  out.push(...inputChanges);
  for (const uri of [
    ...new Set([...Object.keys(before.external ?? {}), ...Object.keys(after.external ?? {})]),
  ].sort()) {
    const a = before.external?.[uri];
    const b = after.external?.[uri];
    if (a !== undefined && b !== undefined && a !== b) out.push(change(`input ${uri}`, a, b));
  }
  return out;
}

function shortValue(value: JsonValue | undefined): string {
  if (value === undefined) return '(none)';
  const text = typeof value === 'string' && /^[0-9a-f]{64}$/.test(value) ? value.slice(0, 12) : canonicalJson(value);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

/** `params.minAccuracy 0.9 → 0.95, with.gate.min 0.9 → 0.95` */
export function formatKeyChanges(changes: readonly KeyChange[]): string {
  return changes
    .map((c) =>
      c.part.startsWith('upstream ') || c.part.startsWith('input ')
        ? `${c.part} changed`
        : `${c.part} ${shortValue(c.before)} → ${shortValue(c.after)}`,
    )
    .join(', ');
}
