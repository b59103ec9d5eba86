import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../local/state.ts';

/**
 * The house rule (README, Layout): kernel ← http, aws, wechat, apps ← session ← credit, profile ← wiring.
 * Each folder of lib/ may import only the folders listed for it; the files at the top of lib/
 * (config, deps, wiring: the composition root) may import anything, and nothing in a folder imports them.
 */
const MAY_IMPORT: Record<string, string[]> = {
  kernel: [],
  http: ['kernel'],
  aws: ['kernel'],
  wechat: ['kernel', 'aws'],
  apps: ['kernel', 'aws'],
  session: ['kernel', 'http', 'aws', 'wechat', 'apps'],
  credit: ['kernel', 'http', 'aws', 'wechat', 'apps', 'session'],
  profile: ['kernel', 'http', 'aws', 'wechat', 'apps', 'session'],
};

const LIB = join(ROOT, 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** `lib/<folder>/…` → folder; a file at the top of lib/ → 'root'. */
const folderOf = (path: string) => {
  const parts = path.split('/');
  return parts.length > 1 ? parts[0]! : 'root';
};

function importEdges(): { from: string; to: string }[] {
  return sources(LIB).flatMap((file) => {
    const from = relative(LIB, file);
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(/from '#lib\/([^']+)'/g)].map((match) => ({ from, to: `${match[1]}.ts` }));
  });
}

describe('lib/ layout: one house per feature over a shared kernel', () => {
  it('every folder of lib/ is one the rule names', () => {
    const folders = readdirSync(LIB, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    expect(folders.sort()).toEqual(Object.keys(MAY_IMPORT).sort());
  });

  it('no import points against the rule', () => {
    const broken = importEdges().filter(({ from, to }) => {
      const source = folderOf(from);
      const target = folderOf(to);
      if (source === 'root' || source === target) return false;
      return !(MAY_IMPORT[source] ?? []).includes(target);
    });
    expect(broken.map(({ from, to }) => `${from} -> ${to}`)).toEqual([]);
  });

  it('one session guard: only lib/session/guard.ts checks a token, and no endpoint takes a guard from another', () => {
    const offenders = sources(LIB)
      .map((file) => ({ from: relative(LIB, file), text: readFileSync(file, 'utf8') }))
      .filter(({ from }) => from !== 'session/guard.ts')
      .filter(({ text }) =>
        /\b(requireRef|inScope|otherApp|sessionInvalid)\b|function require[A-Z]\w*\(|import \{[^}]*\brequire[A-Z]\w*[^}]*\} from '#lib\/(?!session\/guard')/.test(
          text,
        ),
      )
      .map(({ from }) => from);
    expect(offenders).toEqual([]);
  });

  it('every path of this repository that a comment or README.md names exists (no stale lib/…, test/… after a move)', () => {
    const ROOT_DIR = join(LIB, '..');
    const scanned = [
      ...['lib', 'bench', 'test', 'handlers', 'admin', 'local', 'resources'].flatMap((dir) => sources(join(ROOT_DIR, dir))),
      join(ROOT_DIR, 'README.md'),
      join(ROOT_DIR, 'serverless.yml'),
    ];
    const named = /(?<![\w./-])((?:lib|test|bench|handlers|admin|local|resources|client)\/[\w./-]*\.(?:ts|md|ya?ml))\b/g;
    const missing = scanned.flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(named)]
        .map((match) => match[1]!)
        .filter((path) => !path.includes('*') && !existsSync(join(ROOT_DIR, path)))
        .map((path) => `${relative(ROOT_DIR, file)}: ${path}`),
    );
    expect([...new Set(missing)]).toEqual([]);
  });

  it('the rule can fail: an edge upwards is caught', () => {
    const source = folderOf('kernel/errors.ts');
    expect(MAY_IMPORT[source]).not.toContain(folderOf('session/token.ts'));
    expect(MAY_IMPORT.credit).not.toContain('profile');
    expect(MAY_IMPORT.profile).not.toContain('credit');
  });
});
