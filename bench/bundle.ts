/**
 * Builds with the service's own esbuild options (bench/esbuild-options.ts):
 * the floor handler, and re-builds of our handlers with a metafile to see what
 * fills each bundle.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { type BuildOptions, build as esbuild, type Metafile } from 'esbuild';
import { DEFAULT_CREDENTIAL_CHAIN, ROOT, type ServiceBuild, withFullCredentialChain } from './esbuild-options.ts';
import { zipFiles } from './zip.ts';

export const FLOOR_ENTRY = 'bench/floor/handler.ts';

export interface Built {
  bundlePath: string;
  bundleBytes: number;
  /** Every file esbuild wrote (the bundle, and a source map if configured), relative to the out dir. */
  files: { name: string; path: string }[];
  metafile: Metafile;
}

/** One entry bundled as serverless-esbuild bundles it (same options), into outDir. */
export async function buildLikeService(service: ServiceBuild, entry: string, outDir: string, overrides: BuildOptions = {}): Promise<Built> {
  const options = { ...service.options, ...overrides };
  const result = await esbuild({
    ...options,
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outdir: outDir,
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const main = result.outputFiles.find((f) => !f.path.endsWith('.map'));
  if (!main) throw new Error(`esbuild produced no bundle for ${entry}`);
  const files = [];
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.contents);
    files.push({ name: relative(outDir, file.path), path: file.path });
  }
  return { bundlePath: main.path, bundleBytes: main.contents.length, files, metafile: result.metafile };
}

export interface Floor extends Built {
  zipPath: string;
  zipBytes: number;
}

/**
 * The floor bundle (the service's options, but the SDK's full default credential chain), and its zip written
 * like ours (what esbuild wrote, deflated at the detected level).
 */
export async function buildFloor(service: ServiceBuild, outDir: string, deflateLevel: number): Promise<Floor> {
  const built = await buildLikeService(withFullCredentialChain(service), FLOOR_ENTRY, join(outDir, 'floor'));
  const zip = zipFiles(
    built.files.map((f) => ({ name: `handlers/${f.name}`, data: readFileSync(f.path) })),
    deflateLevel,
  );
  const zipPath = join(outDir, 'floor.zip');
  writeFileSync(zipPath, zip);
  return { ...built, zipPath, zipBytes: zip.length };
}

/** Whether a build bundled the SDK's default credential chain (@aws-sdk/credential-provider-node and what it loads). */
export const carriesDefaultCredentialChain = (metafile: Metafile): boolean =>
  Object.keys(metafile.inputs).some((path) => path.includes(`node_modules/${DEFAULT_CREDENTIAL_CHAIN}/`));

export interface Contributor {
  name: string;
  bytes: number;
}

/** Bytes of the bundle by package (node_modules/<pkg>) or by our own top folder. */
export function contributors(metafile: Metafile): Contributor[] {
  const outputs = Object.values(metafile.outputs).filter((o) => o.entryPoint !== undefined || Object.keys(metafile.outputs).length === 1);
  const output = outputs[0] ?? Object.values(metafile.outputs)[0];
  if (!output) return [];
  const totals = new Map<string, number>();
  let attributed = 0;
  for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = ownerOf(path);
    totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
    attributed += bytesInOutput;
  }
  const rest = output.bytes - attributed;
  if (rest > 0) totals.set('(esbuild runtime, banner, glue)', rest);
  return [...totals.entries()].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/**
 * What a bundle carries beyond the floor's: per package (or our own folder), the
 * extra bytes and which of our files import it, and how (a dynamic import is
 * bundled too, only evaluated later).
 */
export function extraOverFloor(metafile: Metafile, floor: readonly Contributor[]): { name: string; bytes: number; via: string[] }[] {
  const floorBytes = new Map(floor.map((c) => [c.name, c.bytes]));
  const via = new Map<string, Set<string>>();
  for (const [path, input] of Object.entries(metafile.inputs)) {
    if (path.includes('node_modules/')) continue;
    for (const imported of input.imports) {
      if (!imported.path.includes('node_modules/')) continue;
      const owner = ownerOf(imported.path);
      const kind = imported.kind === 'dynamic-import' ? 'dynamic import' : 'import';
      (via.get(owner) ?? via.set(owner, new Set()).get(owner)!).add(`${kind} in ${path}`);
    }
  }
  return contributors(metafile)
    .map((c) => ({ name: c.name, bytes: c.bytes - (floorBytes.get(c.name) ?? 0), via: [...(via.get(c.name) ?? [])] }))
    .filter((c) => c.bytes >= 1024)
    .sort((a, b) => b.bytes - a.bytes);
}

function ownerOf(path: string): string {
  const idx = path.lastIndexOf('node_modules/');
  if (idx === -1) {
    const top = path.split('/')[0] ?? path;
    return `${top}/ (ours)`;
  }
  const parts = path.slice(idx + 'node_modules/'.length).split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}
