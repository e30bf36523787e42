/**
 * Sub-pipeline files on disk, for the CLI (`validate`, `plan`, `submit`, `schedule apply`) and the SDK:
 * a child is read relative to the file that names it, and must resolve — after symbolic links — inside
 * the directory of the top-level pipeline, so a pipeline cannot read `/etc/passwd` or a neighbour's
 * secrets by naming them. Each file obeys MAX_PIPELINE_BYTES (./read-file.ts).
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { closest } from '../core/spec/suggest';
import { readPipelineFile } from './read-file';
import type { PipelineFileRead, PipelineFileSource } from './sub-pipelines';

function realpathOrUndefined(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
}

/** YAML files next to `missing`, for a did-you-mean. */
function neighbourHint(missing: string, written: string): string {
  let names: string[] = [];
  try {
    names = readdirSync(path.dirname(missing)).filter((n) => /\.ya?ml$/.test(n));
  } catch {
    return `write the path relative to the directory of the pipeline that names it`;
  }
  const near = closest(path.basename(missing), names);
  const dir = path.dirname(written);
  return near
    ? `did you mean \`${dir === '.' ? near : `${dir}/${near}`}\`?`
    : `write the path relative to the directory of the pipeline that names it`;
}

/**
 * A source for the sub-pipelines of `rootFile` (as the user named it; relative to `cwd`). Files are
 * named in diagnostics and plans by their path from `cwd`'s point of view, e.g. `pipelines/parts/x.yaml`.
 */
export function pipelineFileSource(rootFile: string, cwd = process.cwd()): PipelineFileSource {
  const rootAbsolute = path.resolve(cwd, rootFile);
  const rootDirectory = realpathOrUndefined(path.dirname(rootAbsolute)) ?? path.dirname(rootAbsolute);
  const absoluteOf = new Map<string, string>([[rootFile, rootAbsolute]]);
  return {
    rootKey: realpathOrUndefined(rootAbsolute) ?? rootAbsolute,
    read(written: string, fromFile: string): PipelineFileRead {
      const from = absoluteOf.get(fromFile) ?? path.resolve(cwd, fromFile);
      const target = path.resolve(path.dirname(from), written);
      const display = path
        .normalize(path.join(path.dirname(fromFile), written))
        .split(path.sep)
        .join('/');
      const real = realpathOrUndefined(target);
      if (!real)
        return {
          ok: false,
          code: 'sub-pipeline-not-found',
          message: `sub-pipeline \`${written}\` not found (looked for ${display})`,
          hint: neighbourHint(target, written),
        };
      if (real !== rootDirectory && !real.startsWith(`${rootDirectory}${path.sep}`))
        return {
          ok: false,
          code: 'sub-pipeline-path',
          message: `\`${written}\` resolves outside the directory of ${rootFile} (through a symbolic link)`,
          hint: 'keep sub-pipelines in the directory of the top-level pipeline or below it, as real files',
        };
      const stat = statSync(real);
      if (!stat.isFile())
        return {
          ok: false,
          code: 'sub-pipeline-not-found',
          message: `\`${written}\` is not a file`,
          hint: 'write the path of a pipeline YAML file',
        };
      const parsed = readPipelineFile(real);
      absoluteOf.set(display, real);
      return {
        ok: true,
        file: display,
        key: real,
        bytes: stat.size,
        parsed: { ...parsed, file: display, diagnostics: parsed.diagnostics.map((d) => ({ ...d, file: display })) },
      };
    },
  };
}
