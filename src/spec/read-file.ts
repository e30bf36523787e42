/**
 * Read a pipeline file for the CLI: refuses oversized files from their size alone (a 50 MB
 * file is never read) and hands the bytes to the parser, which checks the encoding.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { LineIndex } from './diagnostics';
import { MAX_PIPELINE_BYTES, parsePipeline, type ParsedPipeline } from './parse';

export class PipelineFileNotFoundError extends Error {}

export function readPipelineFile(path: string): ParsedPipeline {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new PipelineFileNotFoundError(`${path} is not a file`);
    size = stat.size;
  } catch (error) {
    if (error instanceof PipelineFileNotFoundError) throw error;
    throw new PipelineFileNotFoundError(
      `cannot read ${path}: ` +
        `${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    );
  }
  if (size > MAX_PIPELINE_BYTES) {
    return {
      file: path,
      text: '',
      lines: new LineIndex(''),
      diagnostics: [
        {
          severity: 'error',
          code: 'file-too-large',
          path: '',
          line: 1,
          column: 1,
          message:
            `the file is ${(size / 1024 / 1024).toFixed(1)} MiB; pipelines are limited to ` +
            `${MAX_PIPELINE_BYTES / 1024} KiB`,
          hint: 'is this the right file? Keep data out of the pipeline: reference it by URI',
          file: path,
        },
      ],
    };
  }
  const bytes = new Uint8Array(size);
  const fd = openSync(path, 'r');
  try {
    let read = 0;
    while (read < size) {
      const n = readSync(fd, bytes, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
  } finally {
    closeSync(fd);
  }
  return parsePipeline(bytes, path);
}
