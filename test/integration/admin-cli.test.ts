import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createHandler as grantHandler } from '../../handlers/grant.ts';
import { localDynamoClient } from '../../local/dynamodb.ts';
import { ROOT } from '../../local/state.ts';
import { createTables, tableNamesForStage } from '../../local/tables.ts';
import { api } from '../support/invoke.ts';
import { APP_ID, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * `npm run admin` for real: the CLI in its own process, against a stage's tables (named as serverless.yml
 * names them) on DynamoDB Local, moving points of a user who logged in through the real handlers.
 */
const run = promisify(execFile);
const stage = `admin${randomUUID().slice(0, 8)}`;
const tables = tableNamesForStage(stage);
let stack: TestStack;

beforeAll(async () => {
  const admin = localDynamoClient(inject('dynamodbEndpoint'));
  await createTables(admin, tables);
  admin.destroy();
  stack = await startTestStack({
    SESSIONS_TABLE: tables.sessions,
    USERS_TABLE: tables.users,
    LOGINS_TABLE: tables.logins,
    APP_CACHE_TABLE: tables.appCache,
    LEDGER_TABLE: tables.ledger,
  });
});
afterAll(async () => {
  await stack?.close();
  const admin = localDynamoClient(inject('dynamodbEndpoint'));
  for (const TableName of Object.values(tables)) await admin.send(new DeleteTableCommand({ TableName })).catch(() => undefined);
  admin.destroy();
});

const cli = (...args: string[]) => cliAt(inject('dynamodbEndpoint'), ...args);

async function cliAt(endpoint: string, ...args: string[]): Promise<{ code: number; out: unknown; err: string }> {
  const argv = ['--import', 'tsx', 'admin/cli.ts', ...args, '--stage', stage, '--endpoint', endpoint, '--appid', APP_ID];
  try {
    const { stdout, stderr } = await run(process.execPath, argv, {
      cwd: ROOT,
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      timeout: 30_000,
    });
    return { code: 0, out: JSON.parse(stdout), err: stderr };
  } catch (err) {
    const failed = err as { code: number; stderr: string };
    return { code: failed.code, out: undefined, err: failed.stderr };
  }
}

describe('npm run admin, against a stage', () => {
  it('shows a user, grants and deducts once per key, lists the history, and logs the user out everywhere', { timeout: 60_000 }, async () => {
    const client = api(stack.deps);
    const token = String((await client.login('operated.1')).body.token);
    const openid = stack.fake.user('operated').openid;

    expect((await cli('show', '--openid', openid)).out).toMatchObject({ exists: true, credit: 100, entries: 1 });
    const granted = await cli('grant', '--openid', openid, '--amount', '25', '--key', 'prize-2026-001', '--reason', 'prize');
    expect(granted.out).toMatchObject({ credit: 125, entry: { amount: 25, reason: 'prize' } });
    // Run twice (an operator's retry): granted once.
    expect((await cli('grant', '--openid', openid, '--amount', '25', '--key', 'prize-2026-001', '--reason', 'prize')).out).toEqual(granted.out);
    expect((await cli('grant', '--openid', openid, '--amount=-5', '--key', 'refund-2026-01', '--reason', 'refund')).out).toMatchObject({
      credit: 120,
    });
    expect((await client.credit(token)).body).toEqual({ credit: 120 });

    const refused = await cli('grant', '--openid', openid, '--amount=-500', '--key', 'refund-2026-02', '--reason', 'refund');
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.err.trim().split('\n').at(-1)!)).toMatchObject({ code: 'INSUFFICIENT_CREDIT' });

    const history = (await cli('history', '--openid', openid)).out as { entries: { reason: string }[] };
    expect(history.entries.map((entry) => entry.reason)).toEqual(['refund', 'prize', 'signup']);

    expect((await cli('revoke-sessions', '--openid', openid)).out).toMatchObject({ sessions_revoked: 1 });
    expect((await client.credit(token)).status).toBe(401);
    expect((await cli('show', '--openid', 'o-nobody')).out).toMatchObject({ exists: false });
    expect((await cli('launch-rockets', '--openid', openid)).code).toBe(2);
  });

  it('takes only whole numbers: --amount 1e3 or 0x10 is a usage error (2), and nothing moves', { timeout: 60_000 }, async () => {
    const client = api(stack.deps);
    const token = String((await client.login('strict.1')).body.token);
    const openid = stack.fake.user('strict').openid;
    // The rest of the rule (1.5, '', +7, out of range) is test/unit/admin-args.test.ts: each run here costs a process.
    for (const amount of ['1e3', '0x10']) {
      const result = await cli('grant', '--openid', openid, '--amount', amount, '--key', `strict-${amount}-01`, '--reason', 'x');
      expect(result.code, result.err).toBe(2);
      expect(result.err).toMatch(/^--amount must be a whole number/);
    }
    expect((await client.credit(token)).body).toEqual({ credit: 100 });
  });

  it("pages the history with the API's own cursor; a bad --limit or --cursor is a usage error (2), not an outage", { timeout: 90_000 }, async () => {
    const client = api(stack.deps);
    const token = String((await client.login('pager.1')).body.token);
    const openid = stack.fake.user('pager').openid;
    for (let i = 1; i <= 3; i++) await grantHandler(stack.deps)({ openid, amount: i, key: `pager-${i}-0001`, reason: 'page' });

    const first = (await cli('history', '--openid', openid, '--limit', '2')).out as { next_cursor: string };
    const fromApi = (await client.history(token, { limit: '2' })).body as { next_cursor: string };
    expect(first).toEqual(fromApi);
    const second = (await cli('history', '--openid', openid, '--limit', '2', '--cursor', fromApi.next_cursor)).out;
    expect(second).toEqual((await client.history(token, { limit: '2', cursor: fromApi.next_cursor })).body);
    expect((second as { entries: { id: string }[] }).entries.map((entry) => entry.id)).toEqual(['2', '1']);

    for (const args of [
      ['--limit', '0'],
      ['--limit', '1e1'],
      ['--cursor', '3'],
    ]) {
      const result = await cli('history', '--openid', openid, ...args);
      expect(result.code, result.err).toBe(2);
      expect(result.err).toMatch(/^(limit must be a whole number from 1 to 100|cursor is not one this API gave)/);
      expect(result.err).not.toMatch(/unavailable/i);
    }
  });

  it('a storage outage is reported as one, distinct from a refusal (exit 3), and says that the same command is safe to run again', {
    timeout: 60_000,
  }, async () => {
    const openid = stack.fake.user('outage').openid;
    const result = await cliAt('http://127.0.0.1:9', 'grant', '--openid', openid, '--amount', '5', '--key', 'outage-0001', '--reason', 'x');
    expect(result.code, result.err).toBe(3);
    const lines = result.err.trim().split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({ err: 'Storage is unavailable right now: retry in a moment', code: 'STORAGE_UNAVAILABLE', status: 503 });
    expect(lines[1]).toMatch(/run the same command again \(same --key\)/);
  });
});
