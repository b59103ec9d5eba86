import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { parse } from 'acorn';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { CLIENT_BUDGET_BYTES } from '../../client/tools/build.mts';
import { ERROR_CODES_FILE, renderErrorCodes, SERVER_ERROR_CODES } from '../../client/tools/error-codes.mts';
import { ROOT } from '../../local/state.ts';

/** What `npm run build` (run first by `npm test`) wrote: the files a mini-program gets. */
const DIST = `${ROOT}client/dist/`;
const built = (name: string): string => {
  const file = DIST + name;
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return readFileSync(file, 'utf8');
};

describe('the built client (client/dist)', () => {
  it('index.js is ES2017 and index.mjs an ES2017 module: no newer syntax reaches an old base library', () => {
    expect(() => parse(built('index.js'), { ecmaVersion: 2017, sourceType: 'script' })).not.toThrow();
    expect(() => parse(built('index.mjs'), { ecmaVersion: 2017, sourceType: 'module' })).not.toThrow();
  });

  it(`index.js is under ${CLIENT_BUDGET_BYTES / 1024} KiB minified`, () => {
    expect(Buffer.byteLength(built('index.js'))).toBeLessThan(CLIENT_BUDGET_BYTES);
  });

  it('loads the way a mini-program requires it (CommonJS, no require of anything, only the global wx) and logs in with it', async () => {
    const module = { exports: {} as Record<string, unknown> };
    const calls: string[] = [];
    const storage = new Map<string, unknown>();
    const wx = {
      login: ({ success }: { success(r: { code: string }): void }) => {
        calls.push('wx.login');
        setTimeout(() => success({ code: 'c1' }), 0);
      },
      request: (o: { url: string; method: string; header: Record<string, string>; success(r: unknown): void }) => {
        calls.push(`${o.method} ${o.url} ${o.header.Authorization ?? ''}`.trim());
        const data = o.url.endsWith('/login') ? { token: 't1', expires_in: 60 } : { credit: 5 };
        setTimeout(() => o.success({ statusCode: 200, data }), 0);
      },
      getStorageSync: (key: string) => storage.get(key) ?? '',
      setStorageSync: (key: string, value: unknown) => storage.set(key, value),
      removeStorageSync: (key: string) => storage.delete(key),
    };
    // Only what a mini-program's module scope has: no `require`, `process` or `globalThis.fetch`.
    runInNewContext(built('index.js'), { module, exports: module.exports, wx, setTimeout, Date, Promise });
    const { createClient, ApiError } = module.exports as typeof import('../../client/src/index.ts');
    expect(typeof ApiError).toBe('function');
    expect(await createClient({ baseUrl: 'https://api.example.com' }).credit()).toEqual({ credit: 5 });
    expect(calls).toEqual(['wx.login', 'POST https://api.example.com/login', 'GET https://api.example.com/credit Bearer t1']);
  });

  it('index.mjs exports what index.js does', async () => {
    const mjs = (await import(pathToFileURL(`${DIST}index.mjs`).href)) as Record<string, unknown>;
    const module = { exports: {} as Record<string, unknown> };
    runInNewContext(built('index.js'), { module, exports: module.exports });
    expect(Object.keys(mjs).sort()).toEqual(Object.keys(module.exports).sort());
    expect(Object.keys(mjs).sort()).toEqual(['ApiError', 'createClient', 'isApiError']);
  });

  it('index.d.ts type-checks on its own, without Node or mini-program typings, and pulls in nothing outside dist/', () => {
    const dir = mkdtempSync(join(tmpdir(), 'client-dts-'));
    try {
      const consumer = join(dir, 'consumer.ts');
      writeFileSync(
        consumer,
        [
          `import { createClient, ApiError, type ClientErrorCode, type WxLike } from ${JSON.stringify(`${DIST}index.js`)};`,
          'declare const wx: WxLike;',
          "const client = createClient({ baseUrl: 'https://api.example.com', wx });",
          'export const credit: Promise<number> = client.credit().then((reply) => reply.credit);',
          'export const code = (err: unknown): ClientErrorCode | undefined => (err instanceof ApiError ? err.code : undefined);',
          '// @ts-expect-error a code the server does not have',
          "export const wrong: ClientErrorCode = 'NO_SUCH_CODE';",
        ].join('\n'),
      );
      const program = ts.createProgram([consumer], {
        strict: true,
        noEmit: true,
        types: [],
        lib: ['lib.es2017.d.ts'],
        module: ts.ModuleKind.Preserve,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        skipLibCheck: false,
      });
      const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(problems).toEqual([]);
      // Everything the declarations pull in is in dist/ (or TypeScript's own lib).
      const pulledIn = program
        .getSourceFiles()
        .filter((file) => file.fileName !== consumer.replaceAll('\\', '/') && !program.isSourceFileDefaultLibrary(file))
        .map((file) => file.fileName);
      expect(pulledIn).toContain(`${DIST}index.d.ts`);
      expect(pulledIn.filter((name) => !name.startsWith(DIST))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('client/package.json points "build npm" and bundlers at those files and has no dependencies', () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}client/package.json`, 'utf8'));
    expect(pkg.miniprogram).toBe('dist');
    for (const file of [pkg.main, pkg.module, pkg.types, ...Object.values(pkg.exports['.'])]) {
      expect(existsSync(join(ROOT, 'client', String(file))), String(file)).toBe(true);
    }
    expect(String(pkg.main).startsWith(`${pkg.miniprogram}/`)).toBe(true);
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.files).toEqual(['dist']);
  });
});

describe("the client's error codes", () => {
  it("client/src/error-codes.ts is what `npm run build` generates from the server's status table", () => {
    expect(readFileSync(ERROR_CODES_FILE, 'utf8')).toBe(renderErrorCodes());
    for (const code of SERVER_ERROR_CODES) expect(renderErrorCodes()).toContain(`| '${code}'`);
  });
});
