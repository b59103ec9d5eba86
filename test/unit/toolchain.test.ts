import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../local/state.ts';

describe('toolchain', () => {
  it('`npx serverless` is the open-source osls CLI, not the v4 stub that downloads a binary and needs a login', () => {
    const version = execFileSync(`${ROOT}node_modules/.bin/serverless`, ['--version'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(version).toMatch(/osls version: 4\./);
  });
});
