/**
 * `s3://bucket/key` URIs: parse, format, join, and confine a key to a prefix so that a stage
 * cannot write outside its run directory (`..`, an absolute key, another bucket).
 *
 * Pure (no Node built-ins): workflow code may import it.
 */
import { InvalidInputError } from '../errors';

/** A parsed `s3://bucket/key`; `key` is empty for the bucket root and ends in `/` for a prefix. */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

const SCHEME = 's3://';
/** S3 bucket naming rules (lowercase letters, digits, dots, dashes; 3-63 characters). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** S3 keys are at most 1024 bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;

export function isS3Uri(value: string): boolean {
  return value.startsWith(SCHEME);
}

export function parseS3Uri(uri: string): S3Location {
  if (!isS3Uri(uri)) {
    throw new InvalidInputError(`${uri} is not an s3:// URI; expected s3://bucket/key`, { uri, code: 'invalid-uri' });
  }
  const rest = uri.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  if (!BUCKET_NAME.test(bucket)) {
    throw new InvalidInputError(
      `${uri}: '${bucket}' is not a valid bucket name (3-63 lowercase letters, digits, dots, dashes)`,
      {
        uri,
        code: 'invalid-uri',
      },
    );
  }
  if (new TextEncoder().encode(key).length > MAX_KEY_BYTES) {
    throw new InvalidInputError(`${uri}: the key is longer than ${MAX_KEY_BYTES} bytes`, { uri, code: 'invalid-uri' });
  }
  return { bucket, key };
}

export function formatS3Uri(location: S3Location): string {
  return `${SCHEME}${location.bucket}/${location.key}`;
}

/**
 * Appends path segments to a URI, with exactly one `/` between parts. A trailing `/` on the last
 * segment is kept (it marks a prefix). Segments are not normalised: `..` stays `..`, and
 * {@link confineToPrefix} rejects it.
 */
export function joinS3Uri(base: string, ...segments: readonly string[]): string {
  const { bucket, key } = parseS3Uri(base);
  const parts = [key, ...segments].filter((part) => part !== '');
  let joined = '';
  for (const part of parts) {
    joined = joined === '' ? part : `${joined.replace(/\/+$/, '')}/${part.replace(/^\/+/, '')}`;
  }
  return formatS3Uri({ bucket, key: joined });
}

/** `s3://b/a/b` → `s3://b/a/b/`: the same location as a prefix. */
export function asPrefixUri(uri: string): string {
  const { bucket, key } = parseS3Uri(uri);
  return formatS3Uri({ bucket, key: key === '' || key.endsWith('/') ? key : `${key}/` });
}

/** Why a key is unsafe to use below a prefix, or undefined when it is safe. */
function unsafeKeyReason(key: string): string | undefined {
  if (key.startsWith('/')) return 'it is absolute (starts with /)';
  if (key.includes('\\')) return 'it contains a backslash';
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'it contains a control character';
  const segments = key.split('/');
  for (const [index, segment] of segments.entries()) {
    if (segment === '..' || segment === '.') return `it contains a '${segment}' segment`;
    // An empty segment (`a//b`) is a distinct S3 key that most tools display as the same path.
    if (segment === '' && index !== segments.length - 1) return 'it contains an empty segment (//)';
  }
  return undefined;
}

/**
 * Checks that `uri` lies inside `prefixUri` (same bucket, key under the prefix, no `..`, `.`,
 * `//` or absolute segments) and returns its parsed location. Throws InvalidInputError
 * (`details.code` `outside-prefix`) otherwise. A relative key (no scheme) is resolved below the prefix.
 */
export function confineToPrefix(uri: string, prefixUri: string): S3Location {
  const prefix = parseS3Uri(asPrefixUri(prefixUri));
  const candidate = isS3Uri(uri)
    ? parseS3Uri(uri)
    : { bucket: prefix.bucket, key: uri.startsWith('/') ? uri : `${prefix.key}${uri}` };
  const refuse = (reason: string): never => {
    throw new InvalidInputError(`${uri} is outside ${formatS3Uri(prefix)}: ${reason}`, {
      uri,
      prefix: formatS3Uri(prefix),
      code: 'outside-prefix',
    });
  };
  if (candidate.bucket !== prefix.bucket) refuse(`it is in bucket '${candidate.bucket}', not '${prefix.bucket}'`);
  const reason = unsafeKeyReason(candidate.key);
  if (reason) refuse(reason);
  if (!candidate.key.startsWith(prefix.key) || candidate.key === prefix.key)
    refuse('its key does not start with the prefix');
  return candidate;
}
