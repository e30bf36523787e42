/**
 * What `fineflow predict`, `serve` and the `predict` stage score: records read from inputs named by
 * the user — image files (PNG, JPEG), CSV files with a header, JSONL files of objects, or folders /
 * `s3://` prefixes of them. Everything is streamed: a CSV of millions of rows is read record by record
 * (text-records.ts bounds each record), images one file at a time.
 *
 * Local paths go through the outbound policy's file roots (src/security/outbound.ts): the same check,
 * symlinks resolved, as every other file read; `s3://` through the object store.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidInputError, ResourceLimitError } from '../../core/errors';
import type { OutboundPolicy } from '../../security/outbound';
import type { ObjectStore } from '../../storage/object-store';
import { readCsvRecords, readLines } from '../data/text-records';
import { MAX_IMAGE_FILE_BYTES } from '../data/images';

export type PredictionRecord =
  | { readonly kind: 'row'; readonly where: string; readonly cells: Readonly<Record<string, unknown>> }
  | { readonly kind: 'image'; readonly where: string; readonly bytes: Uint8Array };

export interface InputAccess {
  readonly store: ObjectStore;
  readonly outbound: OutboundPolicy;
}

type FileKind = 'csv' | 'jsonl' | 'image';

const EXTENSIONS: Readonly<Record<string, FileKind>> = {
  '.csv': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.png': 'image',
  '.jpg': 'image',
  '.jpeg': 'image',
};

/** Files a folder or prefix may hold before predict refuses it (a typo like `/` must not walk a disk). */
export const MAX_INPUT_FILES = 1_000_000;
const MAX_FOLDER_DEPTH = 16;

export function fileKindOf(name: string): FileKind | undefined {
  return EXTENSIONS[path.extname(name).toLowerCase()];
}

function unsupported(where: string): InvalidInputError {
  return new InvalidInputError(
    `${where}: cannot predict on this file type; give .png/.jpg/.jpeg images, .csv with a header row, or .jsonl ` +
      `objects (one per line)`,
    { where },
  );
}

/** A local path or file:// URI as a file:// URI (relative paths against `cwd`). */
export function localUri(input: string, cwd: string): string {
  return input.startsWith('file://') ? input : pathToFileURL(path.resolve(cwd, input)).href;
}

/** The files an input names, in a stable order: itself, or the supported files under a folder/prefix. */
export async function* inputFiles(input: string, access: InputAccess, cwd: string): AsyncGenerator<string> {
  if (input.startsWith('s3://')) {
    if (!input.endsWith('/') && (await access.store.stat(input))) {
      yield input;
      return;
    }
    const prefix = input.endsWith('/') ? input : `${input}/`;
    const objects = await access.store.list(prefix);
    if (objects.length === 0) throw new InvalidInputError(`${input}: no such object or prefix`, { input });
    if (objects.length > MAX_INPUT_FILES)
      throw new ResourceLimitError(`${input} holds more than ${MAX_INPUT_FILES} objects; predict on sub-prefixes`, {
        input,
      });
    const bucket = input.slice(5).split('/')[0] ?? '';
    for (const key of objects.map((o) => o.key).sort())
      if (fileKindOf(key) && !key.split('/').some((part) => part.startsWith('.'))) yield `s3://${bucket}/${key}`;
    return;
  }
  const real = await access.outbound.resolveFile(localUri(input, cwd));
  yield* walk(real, 0);
}

async function* walk(real: string, depth: number): AsyncGenerator<string> {
  const info = await stat(real);
  if (!info.isDirectory()) {
    yield pathToFileURL(real).href;
    return;
  }
  if (depth >= MAX_FOLDER_DEPTH)
    throw new ResourceLimitError(`${real}: folders nested deeper than ${MAX_FOLDER_DEPTH} levels`, { path: real });
  const entries = (await readdir(real, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const child = path.join(real, entry.name);
    if (entry.isDirectory()) yield* walk(child, depth + 1);
    else if (entry.isFile() && fileKindOf(entry.name)) yield pathToFileURL(child).href;
  }
}

async function openStream(uri: string, access: InputAccess): Promise<AsyncIterable<Buffer>> {
  if (uri.startsWith('s3://')) return access.store.getStream(uri);
  // resolveFile again: the walk listed the folder, but each file is checked against the roots itself.
  return createReadStream(await access.outbound.resolveFile(uri));
}

async function readImage(uri: string, access: InputAccess): Promise<Uint8Array> {
  if (uri.startsWith('s3://')) return access.store.getBytes(uri, { maxBytes: MAX_IMAGE_FILE_BYTES });
  return access.outbound.readFile(uri, { maxBytes: MAX_IMAGE_FILE_BYTES });
}

function displayName(uri: string): string {
  return uri.startsWith('file://') ? decodeURIComponent(new URL(uri).pathname) : uri;
}

async function* csvRows(uri: string, access: InputAccess): AsyncGenerator<PredictionRecord> {
  const name = displayName(uri);
  let header: string[] | undefined;
  for await (const record of readCsvRecords(await openStream(uri, access), { source: name })) {
    if (!header) {
      header = record.fields.map((field, i) => (i === 0 ? field.replace(/^\uFEFF/, '') : field).trim());
      continue;
    }
    const where = `${name}:${record.line}`;
    if (record.fields.length !== header.length)
      throw new InvalidInputError(
        `${where}: has ${record.fields.length} fields, the header has ${header.length}; quote fields that contain commas`,
        { where },
      );
    const cells: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    header.forEach((column, i) => (cells[column] = record.fields[i]));
    yield { kind: 'row', where, cells };
  }
}

async function* jsonlRows(uri: string, access: InputAccess): AsyncGenerator<PredictionRecord> {
  const name = displayName(uri);
  for await (const line of readLines(await openStream(uri, access), { source: name })) {
    const where = `${name}:${line.line}`;
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch {
      throw new InvalidInputError(`${where}: is not valid JSON; write one JSON object per line`, { where });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new InvalidInputError(`${where}: is not a JSON object; write one object of column: value per line`, {
        where,
      });
    yield { kind: 'row', where, cells: value as Record<string, unknown> };
  }
}

/** Every record of every input, in order. */
export async function* predictionRecords(
  inputs: readonly string[],
  access: InputAccess,
  cwd: string,
): AsyncGenerator<PredictionRecord> {
  for (const input of inputs) {
    let files = 0;
    for await (const uri of inputFiles(input, access, cwd)) {
      files += 1;
      const kind = fileKindOf(uri);
      if (kind === 'csv') yield* csvRows(uri, access);
      else if (kind === 'jsonl') yield* jsonlRows(uri, access);
      else if (kind === 'image') yield { kind: 'image', where: displayName(uri), bytes: await readImage(uri, access) };
      else throw unsupported(displayName(uri));
    }
    if (files === 0)
      throw new InvalidInputError(`${input}: holds no .png/.jpg/.jpeg, .csv or .jsonl files to predict on`, { input });
  }
}
