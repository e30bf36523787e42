/**
 * `s3://bucket/key` addressing used by every ML function that reads or writes the store.
 */
import { InvalidInputError } from '../core/errors';

export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match || !match[1]) {
    throw new InvalidInputError(`${uri} is not an s3:// URI; expected s3://bucket/key`, { uri });
  }
  return { bucket: match[1], key: match[2] ?? '' };
}

/** Join a prefix URI and relative path segments with exactly one `/` between them. */
export function joinUri(prefix: string, ...segments: readonly string[]): string {
  let result = prefix.replace(/\/+$/, '');
  for (const segment of segments) {
    const trimmed = segment.replace(/^\/+/, '').replace(/\/+$/, '');
    if (trimmed !== '') result += `/${trimmed}`;
  }
  return result;
}

/** A prefix URI that ends with exactly one `/`, as `ObjectStore.list` expects. */
export function asPrefix(uri: string): string {
  return `${uri.replace(/\/+$/, '')}/`;
}

/** The path of `uri` relative to `prefixUri`, or undefined when it is not under it. */
export function relativeTo(prefixUri: string, uri: string): string | undefined {
  const prefix = asPrefix(prefixUri);
  return uri.startsWith(prefix) ? uri.slice(prefix.length) : undefined;
}

export function uriOf(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}
