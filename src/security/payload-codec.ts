/**
 * The payload codec every Fineflow process that talks to Temporal installs (CLI/client, workers,
 * schedules, data watchers, the codec server): AES-256-GCM over each whole payload, so plans,
 * params, stage inputs and outputs, heartbeats, query results, memos and schedule action args reach
 * Temporal's history only as ciphertext.
 *
 * Format of an encrypted payload: metadata `encoding: binary/encrypted`,
 * `encryption-key-id: <id>`, `encryption-cipher: AES-256-GCM`; data = 12-byte IV ‖ ciphertext ‖
 * 16-byte tag, where the plaintext is the original payload (metadata and data) in Temporal's
 * protobuf form and the key id is authenticated as associated data. A fresh random IV per payload:
 * with 96-bit random IVs one key stays well under GCM's collision bound for billions of payloads.
 *
 * Rotation: the key ring lists keys newest first; encode always uses the first, decode picks the
 * key named in the payload, so runs started before a rotation still decode while the old key stays
 * listed. Payloads without the encrypted encoding pass through decode unchanged: history written
 * before the codec was enabled (and payloads Temporal itself creates) stay readable. Search
 * attributes never pass through a codec, which is why only the pipeline name, run status and
 * trigger kind are stored there (src/core/schedules/schedule-search-attributes.ts).
 *
 * When no key is configured, connecting to Temporal fails (src/client/temporal-connection.ts)
 * unless `FINEFLOW_CODEC=off` opts out explicitly: a worker or client that silently wrote plaintext
 * would undo the encryption of every other process, and a missing key is a deployment mistake
 * best caught at start. The local stack (`fineflow dev up`, `npm test`) generates a key into its
 * state dir, so it runs encrypted with no setup (src/config.ts).
 *
 * Keys are held as `KeyObject`s, which neither JSON.stringify nor util.inspect can print.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { InvalidInputError } from '../core/errors';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** A ring this long is a configuration mistake (rotation needs two or three keys). */
const MAX_KEYS = 32;

export interface CodecKey {
  readonly id: string;
  readonly key: KeyObject;
}

/** Keys newest first: the first encrypts, any decrypts. Never empty. */
export type CodecKeyRing = readonly [CodecKey, ...CodecKey[]];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Parses `id:base64key` entries (separated by commas or newlines; `#` starts a comment line).
 * `source` names the variable or file in errors; a key's value is never quoted back.
 */
export function parseCodecKeys(text: string, source: string): CodecKeyRing {
  const entries = text
    .split(/[\n,]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && !entry.startsWith('#'));
  if (entries.length === 0) {
    throw new InvalidInputError(
      `${source} lists no key; expected entries like local-1:<base64 of 32 random bytes>, newest first`,
      { source },
    );
  }
  if (entries.length > MAX_KEYS)
    throw new InvalidInputError(`${source} lists ${entries.length} keys; at most ${MAX_KEYS}`, { source });
  const keys = entries.map((entry, index) => parseEntry(entry, index + 1, source));
  const seen = new Set<string>();
  for (const { id } of keys) {
    if (seen.has(id))
      throw new InvalidInputError(`${source}: key id '${id}' is listed twice; give every key its own id`, { source });
    seen.add(id);
  }
  return keys as unknown as CodecKeyRing;
}

function parseEntry(entry: string, position: number, source: string): CodecKey {
  const colon = entry.indexOf(':');
  const id = colon < 0 ? '' : entry.slice(0, colon).trim();
  if (!KEY_ID.test(id)) {
    throw new InvalidInputError(
      `${source}: entry ${position} must be <id>:<base64 key> with an id of 1-64 letters, digits, '.', '_' or '-'`,
      { source },
    );
  }
  const raw = entry.slice(colon + 1).trim();
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(raw) ? Buffer.from(raw, 'base64') : Buffer.alloc(0);
  if (bytes.length !== KEY_BYTES) {
    throw new InvalidInputError(
      `${source}: key '${id}' must be ${KEY_BYTES} bytes in base64 (e.g. \`head -c 32 /dev/urandom | base64\`), got ` +
        `${bytes.length}`,
      { source },
    );
  }
  return Object.freeze({ id, key: createSecretKey(bytes) });
}

/** The associated data binds a ciphertext to the key id it claims, so a swapped id cannot decrypt. */
function associatedData(keyId: string): Uint8Array {
  return encoder.encode(`fineflow-payload-v1:${keyId}`);
}

function encryptPayload(payload: Payload, key: CodecKey): Payload {
  const plaintext = temporal.api.common.v1.Payload.encode(payload).finish();
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(associatedData(key.id));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    metadata: {
      encoding: encoder.encode(ENCRYPTED_ENCODING),
      [KEY_ID_METADATA]: encoder.encode(key.id),
      [CIPHER_METADATA]: encoder.encode(CIPHER),
    },
    data: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]),
  };
}

function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.encoding;
  return encoding !== undefined && encoding !== null && decoder.decode(encoding) === ENCRYPTED_ENCODING;
}

function decryptPayload(payload: Payload, ring: CodecKeyRing): Payload {
  const idBytes = payload.metadata?.[KEY_ID_METADATA];
  const keyId = idBytes ? decoder.decode(idBytes) : '';
  const key = ring.find((candidate) => candidate.id === keyId);
  if (!key) {
    throw new InvalidInputError(
      `cannot decrypt a Temporal payload: it was encrypted with key '${keyId.slice(0, 64)}', which is not in this process's ` +
        `key ring (${ring.map((k) => k.id).join(', ')}). Give every worker and client the same FINEFLOW_CODEC_KEYS / ` +
        'FINEFLOW_CODEC_KEY_FILE, and keep retired keys listed until no run needs them.',
      { keyId: keyId.slice(0, 64) },
    );
  }
  const data = payload.data ?? new Uint8Array();
  if (data.length < IV_BYTES + TAG_BYTES) throw corrupt(keyId, 'it is too short');
  const decipher = createDecipheriv('aes-256-gcm', key.key, data.subarray(0, IV_BYTES));
  decipher.setAAD(associatedData(keyId));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  let plaintext: Buffer;
  try {
    plaintext = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw corrupt(keyId, `authentication failed (a different key under the id '${keyId}', or altered bytes)`);
  }
  return temporal.api.common.v1.Payload.decode(plaintext);
}

function corrupt(keyId: string, why: string): InvalidInputError {
  return new InvalidInputError(`cannot decrypt a Temporal payload encrypted with key '${keyId}': ${why}`, { keyId });
}

/** AES-256-GCM payload codec over a key ring (see the module comment). */
export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(private readonly ring: CodecKeyRing) {}

  /** The id new payloads are encrypted with. */
  get activeKeyId(): string {
    return this.ring[0].id;
  }

  // Executors turn a throw into a rejection, as the SDK expects from a codec.
  encode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(payloads.map((payload) => encryptPayload(payload, this.ring[0]))));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) =>
      resolve(payloads.map((payload) => (isEncrypted(payload) ? decryptPayload(payload, this.ring) : payload))),
    );
  }
}
