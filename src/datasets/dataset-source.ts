/**
 * Dataset source URIs, with and without a pinned version (`s3://bucket/prefix/@<version id>`).
 * Pure and free of Node built-ins: the spec's stage-input checks import it, and the spec is
 * bundled into workflows. What a version is: src/datasets/dataset-version.ts.
 */
import { asPrefixUri, formatS3Uri, parseS3Uri } from '../core/storage/uri';

const VERSION_ID = /^[0-9a-f]{64}$/;
/** `s3://bucket/prefix/@<id>` (or `…/prefix@<id>`): a source pinned to one version. */
const PINNED = /^(s3:\/\/.+?)@([0-9a-f]{64})$/;

export function isDatasetVersionId(value: string): boolean {
  return VERSION_ID.test(value);
}

/** A source URI split into its location and, when pinned with `@<id>`, the version. */
export interface DatasetSource {
  /** The URI without the pin: a prefix (`s3://b/p/`) or one object (`s3://b/p/train.csv`). */
  readonly uri: string;
  readonly version?: string;
}

/** `s3://b/p/@<id>` → `{uri: 's3://b/p/', version}` (a pin names a prefix); an unpinned URI comes back as is. */
export function parseDatasetSource(source: string): DatasetSource {
  const pinned = PINNED.exec(source);
  if (!pinned?.[1] || !pinned[2]) return { uri: source };
  return { uri: asPrefixUri(pinned[1]), version: pinned[2] };
}

/** Why `source` is not a valid pinned source, or undefined when it is unpinned or valid. */
export function pinnedSourceProblem(source: string): string | undefined {
  // A pin is `@` + hex at the very end; an `@` elsewhere in a key (`img@2x.png`) is not one.
  const pin = /@([0-9A-Fa-f]+)$/.exec(source);
  if (!source.startsWith('s3://') || !pin?.[1] || isDatasetVersionId(pin[1])) return undefined;
  return (
    `'@${pin[1]}' is not a dataset version id: use the 64 lowercase hex characters that \`fineflow data push\` ` +
    `or \`fineflow data versions\` print`
  );
}

/** `uri` relative to `prefix` when it lies strictly under it. */
export function relativeKey(prefix: string, uri: string): string | undefined {
  const base = formatS3Uri(parseS3Uri(asPrefixUri(prefix)));
  return uri.startsWith(base) && uri.length > base.length ? uri.slice(base.length) : undefined;
}

/** How deep {@link datasetPinsIn} looks into a value: a plan nests a few levels; anything deeper is not a plan. */
const PIN_SEARCH_DEPTH = 64;

/**
 * Every pinned source (`s3://bucket/prefix/@<id>`) written anywhere in `value` (a plan: stage inputs, params, fixed
 * validation / test sets, any stage type), each once, in the order found. gc keeps what they name, so it looks at
 * every string rather than at the inputs it knows today: a pin it missed would let gc drop a version a pipeline reads.
 * Throws past {@link PIN_SEARCH_DEPTH} levels rather than keep what it could not read.
 */
export function datasetPinsIn(
  value: unknown,
): { readonly prefix: string; readonly id: string; readonly source: string }[] {
  const found = new Map<string, { prefix: string; id: string; source: string }>();
  const visit = (node: unknown, depth: number): void => {
    if (depth > PIN_SEARCH_DEPTH) throw new Error(`a value nests deeper than ${PIN_SEARCH_DEPTH} levels`);
    if (typeof node === 'string') {
      const { uri, version } = parseDatasetSource(node);
      if (version !== undefined && !found.has(node)) found.set(node, { prefix: uri, id: version, source: node });
    } else if (Array.isArray(node)) for (const item of node) visit(item, depth + 1);
    else if (node !== null && typeof node === 'object') for (const item of Object.values(node)) visit(item, depth + 1);
  };
  visit(value, 0);
  return [...found.values()];
}

/**
 * Every unpinned `s3://` location written anywhere in `value` (a plan's inputs and params), each once: what a stage
 * may seal and read as it is when it starts. Bounded as {@link datasetPinsIn} is.
 */
export function unpinnedLocationsIn(value: unknown): string[] {
  const found = new Set<string>();
  const visit = (node: unknown, depth: number): void => {
    if (depth > PIN_SEARCH_DEPTH) throw new Error(`a value nests deeper than ${PIN_SEARCH_DEPTH} levels`);
    if (typeof node === 'string') {
      if (node.startsWith('s3://') && parseDatasetSource(node).version === undefined) found.add(node);
    } else if (Array.isArray(node)) for (const item of node) visit(item, depth + 1);
    else if (node !== null && typeof node === 'object') for (const item of Object.values(node)) visit(item, depth + 1);
  };
  visit(value, 0);
  return [...found];
}
