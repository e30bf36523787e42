/**
 * The frontend (src/ui/web/): one script and one stylesheet held in memory, with uPlot and dagre
 * inside, so nothing is fetched from a CDN. From a clone it is bundled with esbuild when the server
 * starts (well under a second, so a fresh clone needs no build step); an installed package serves
 * the files `npm run build` wrote to dist/ui/ (esbuild is a build tool, not a runtime dependency).
 * Bundles are cached per process.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PREBUILT_UI_DIR, RUNNING_FROM_SOURCE } from '../package-paths';

export interface FrontendBundle {
  readonly assets: ReadonlyMap<string, { readonly body: Buffer; readonly type: string }>;
}

/** Where the web app's entry point is, and what esbuild is told, for `npm run build` and the clone. */
export const FRONTEND_ENTRY = join(__dirname, 'web', 'main.ts');

let cached: Promise<FrontendBundle> | undefined;

export function buildFrontend(): Promise<FrontendBundle> {
  cached ??= (RUNNING_FROM_SOURCE ? bundle() : Promise.resolve(prebuilt())).catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

function contentType(file: string): string {
  return file.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
}

/** Bundle src/ui/web with esbuild, in memory; `outdir` names the assets (`/assets/app.js`, `/assets/app.css`). */
export async function bundleFrontendFiles(outdir = '/assets'): Promise<{ path: string; contents: Uint8Array }[]> {
  // Loaded here, not at the top: an installed package has no esbuild and never gets here.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: { app: FRONTEND_ENTRY },
    bundle: true,
    write: false,
    minify: true,
    format: 'iife',
    target: 'es2020',
    outdir,
    logLevel: 'silent',
    legalComments: 'none',
  });
  return result.outputFiles.map((file) => ({ path: file.path, contents: file.contents }));
}

async function bundle(): Promise<FrontendBundle> {
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const file of await bundleFrontendFiles()) {
    assets.set(file.path, { body: Buffer.from(file.contents), type: contentType(file.path) });
  }
  return { assets };
}

function prebuilt(): FrontendBundle {
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(PREBUILT_UI_DIR)) {
    assets.set(`/assets/${name}`, { body: readFileSync(join(PREBUILT_UI_DIR, name)), type: contentType(name) });
  }
  return { assets };
}
