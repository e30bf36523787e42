/**
 * `npm run pack [-- --pack-destination DIR] [--json]`: the package tarball from a checkout, built first. The
 * checkout's .npmrc sets ignore-scripts (no install script of a dependency runs unasked), so a bare `npm pack` runs no
 * `prepack` and packs whatever dist/ holds: none (a `fineflow` that only says it was packed without a build) or a
 * stale one. This runs `npm run build` (scripts/build.ts), then `npm pack`, then refuses the tarball (exit 1, naming
 * the missing files) unless it holds what the installed package runs. Prints the tarball's name, or with --json
 * npm's own JSON.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/** The compiled files an installed package runs, besides `bin` and `main`: the CLI, workflow bundle and web app. */
const BUILT_FILES = ['dist/src/cli/main.js', 'dist/workflow-bundle.js'] as const;
const BUILT_DIRS = ['dist/ui/'] as const;

interface Manifest {
  readonly main?: string;
  readonly bin?: Readonly<Record<string, string>>;
}

/** What `files` (the tarball's paths, as `npm pack --json` lists them) lacks of what an installed package runs. */
export function missingFromPackage(files: readonly string[], manifest: Manifest): string[] {
  const listed = new Set(files);
  const needed = [...Object.values(manifest.bin ?? {}), ...(manifest.main ? [manifest.main] : []), ...BUILT_FILES];
  const missing = needed.map((file) => file.replace(/^\.\//, '')).filter((file) => !listed.has(file));
  for (const dir of BUILT_DIRS) if (!files.some((file) => file.startsWith(dir))) missing.push(dir);
  return [...new Set(missing)];
}

interface Packed {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

function main(argv: readonly string[]): void {
  const json = argv.includes('--json');
  const passed = argv.filter((arg) => arg !== '--json');
  // The build's own lines go to stderr, so stdout is the tarball's name (or npm's JSON) alone, as for `npm pack`.
  execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'build.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 2, 'inherit'],
  });
  const output = execFileSync('npm', ['pack', '--json', '--ignore-scripts', ...passed], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  const [packed] = JSON.parse(output) as Packed[];
  if (!packed) throw new Error(`npm pack printed no package: ${output.slice(0, 200)}`);
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
  const missing = missingFromPackage(
    packed.files.map((file) => file.path),
    manifest,
  );
  if (missing.length > 0) {
    if (!passed.includes('--dry-run')) rmSync(tarballPath(packed.filename, passed), { force: true });
    process.stderr.write(
      `npm run pack: the tarball would lack ${missing.join(', ')}, which the installed package runs; it was ` +
        'not kept. `npm run build` must write them: run it alone to see why it did not, and check `files` in ' +
        'package.json.\n',
    );
    process.exitCode = 1;
    return;
  }
  process.stdout.write(json ? output : `${packed.filename}\n`);
}

/** Where npm wrote the tarball: `--pack-destination DIR` (or `=DIR`), else the package root. */
function tarballPath(filename: string, argv: readonly string[]): string {
  const at = argv.indexOf('--pack-destination');
  const inline = argv.find((arg) => arg.startsWith('--pack-destination='));
  const dir = inline?.slice('--pack-destination='.length) ?? (at >= 0 ? argv[at + 1] : undefined) ?? ROOT;
  return path.resolve(ROOT, dir, filename);
}

if (require.main === module) main(process.argv.slice(2));
