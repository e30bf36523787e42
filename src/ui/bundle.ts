/**
 * The frontend (src/ui/web/) bundled with esbuild when the server starts: one script and one
 * stylesheet held in memory, with uPlot and dagre inside, so nothing is fetched from a CDN and a
 * fresh clone needs no build step (bundling takes well under a second). Bundles are cached per
 * process.
 */
import { join } from 'node:path';
import { build } from 'esbuild';

export interface FrontendBundle {
  readonly assets: ReadonlyMap<string, { readonly body: Buffer; readonly type: string }>;
}

let cached: Promise<FrontendBundle> | undefined;

export function buildFrontend(): Promise<FrontendBundle> {
  cached ??= bundle().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function bundle(): Promise<FrontendBundle> {
  const result = await build({
    entryPoints: { app: join(__dirname, 'web', 'main.ts') },
    bundle: true,
    write: false,
    minify: true,
    format: 'iife',
    target: 'es2020',
    outdir: '/assets',
    logLevel: 'silent',
    legalComments: 'none',
  });
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const file of result.outputFiles) {
    const type = file.path.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
    assets.set(file.path, { body: Buffer.from(file.contents), type });
  }
  return { assets };
}
