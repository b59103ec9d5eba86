/**
 * `npm run build`: client/src/error-codes.ts from the server's status table and
 * client/src/routes.ts from its route table,
 * then client/dist: index.js (CommonJS, ES2017, minified: what a mini-program's
 * `require` loads after "build npm"), index.mjs (the same as an ES module, for
 * Taro / uni-app bundlers) and the declarations (tsc). Prints the sizes.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { ERROR_CODES_FILE, renderErrorCodes } from './error-codes.mts';
import { ROUTES_FILE, renderRoutes } from './routes.mts';

const CLIENT = fileURLToPath(new URL('..', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The budget for dist/index.js, minified: what every mini-program that uses the client ships. */
export const CLIENT_BUDGET_BYTES = 6 * 1024;

export interface ClientBuild {
  /** dist/index.js, minified, in bytes. */
  cjsBytes: number;
  mjsBytes: number;
}

export async function buildClient(): Promise<ClientBuild> {
  for (const [file, generated] of [
    [ERROR_CODES_FILE, renderErrorCodes()],
    [ROUTES_FILE, renderRoutes()],
  ] as const) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // first build
    }
    if (current !== generated) writeFileSync(file, generated);
  }

  rmSync(`${CLIENT}dist`, { recursive: true, force: true });
  const common: BuildOptions = {
    entryPoints: [`${CLIENT}src/index.ts`],
    bundle: true,
    minify: true,
    target: 'es2017',
    platform: 'neutral',
    tsconfig: `${CLIENT}tsconfig.json`,
    logLevel: 'warning',
  };
  await build({ ...common, format: 'cjs', outfile: `${CLIENT}dist/index.js` });
  await build({ ...common, format: 'esm', outfile: `${CLIENT}dist/index.mjs` });
  execFileSync(`${ROOT}node_modules/.bin/tsc`, ['-p', CLIENT], { cwd: ROOT, stdio: 'inherit' });
  return {
    cjsBytes: readFileSync(`${CLIENT}dist/index.js`).length,
    mjsBytes: readFileSync(`${CLIENT}dist/index.mjs`).length,
  };
}

export const describeClientSize = ({ cjsBytes }: ClientBuild): string =>
  `client/dist/index.js: ${(cjsBytes / 1024).toFixed(2)} KiB minified (budget ${CLIENT_BUDGET_BYTES / 1024} KiB)`;

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const sizes = await buildClient();
  console.log(`${describeClientSize(sizes)}; index.mjs ${(sizes.mjsBytes / 1024).toFixed(2)} KiB`);
  if (sizes.cjsBytes > CLIENT_BUDGET_BYTES) {
    console.error('The client is over its size budget.');
    process.exitCode = 1;
  }
}
