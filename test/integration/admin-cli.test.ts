import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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

async function cli(...args: string[]): Promise<{ code: number; out: unknown; err: string }> {
  const argv = ['--import', 'tsx', 'admin/cli.ts', ...args, '--stage', stage, '--endpoint', inject('dynamodbEndpoint'), '--appid', APP_ID];
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
});
