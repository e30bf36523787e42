/**
 * The pipeline FILE a command was given (`validate`, `plan`, `submit`, `schedule apply`), read one way
 * for all of them: with the size bound of src/spec/read-file.ts (an oversized file is refused from its
 * size, never read), every diagnostic naming FILE as the user wrote it, and a missing or unreadable FILE
 * a usage error (exit 2) that names it the same way.
 */
import { resolve } from 'node:path';
import type { ParsedPipeline } from '../spec/parse';
import { PipelineFileNotFoundError, readPipelineFile } from '../spec/read-file';
import { UsageError } from './command';

export function readPipelineArgument(file: string, cwd: string): ParsedPipeline {
  const absolute = resolve(cwd, file);
  let parsed: ParsedPipeline;
  try {
    parsed = readPipelineFile(absolute);
  } catch (error) {
    if (error instanceof PipelineFileNotFoundError) throw new UsageError(error.message.replace(absolute, file));
    throw error;
  }
  return { ...parsed, file, diagnostics: parsed.diagnostics.map((d) => ({ ...d, file })) };
}
