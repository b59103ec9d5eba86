import { describe, expect, it } from 'vitest';
import { CODE_REPLAY_SECONDS } from '#lib/endpoints/login';
import { scanAll, tableCounts } from '../support/invoke.ts';
import { useTestStack } from '../support/use-stack.ts';

const { stack, client } = useTestStack();

const callsFor = (code: string) => stack.fake.codes.filter((c) => c === code).length;
const usersNamed = async (name: string) => (await scanAll(stack.admin, stack.tables.users)).filter((u) => u.openid === stack.fake.user(name).openid);

describe('POST /login is idempotent for a short window', () => {
  it('a retried code gets a new working session for the same user, and WeChat is asked once', async () => {
    const first = await client.login('retry.1');
    const second = await client.login('retry.1');
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body.token).not.toBe(first.body.token);
    expect(callsFor('retry.1')).toBe(1);
    for (const reply of [first, second]) {
      expect((await client.checklogin(String(reply.body.token))).body).toEqual({ is_login: true });
      expect((await client.credit(String(reply.body.token))).body).toEqual({ credit: 100 });
    }
    expect(await usersNamed('retry')).toHaveLength(1);
  });

  it('ten simultaneous requests with one code (a double tap) call WeChat once and all get a session', async () => {
    // A slow WeChat makes the race real: every request arrives while the first is still waiting.
    stack.fake.script((code) => (code === 'tap.1' ? { json: answerFor('tap'), delayMs: 300 } : undefined));
    const replies = await Promise.all(Array.from({ length: 10 }, () => client.login('tap.1')));
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(replies.map((r) => r.body.token)).size).toBe(10);
    expect(callsFor('tap.1')).toBe(1);
    const users = await usersNamed('tap');
    expect(users).toHaveLength(1);
    expect(users[0]?.credit).toBe(100);
  });

  it('after the window a retried code is refused as WeChat refuses it (409)', async () => {
    expect((await client.login('late.1')).status).toBe(200);
    stack.clock.advanceSeconds(CODE_REPLAY_SECONDS);
    try {
      const before = await tableCounts(stack.admin, stack.tables);
      expect(await client.login('late.1')).toMatchObject({ status: 409, body: { code: 'CODE_ALREADY_USED' } });
      expect(callsFor('late.1')).toBe(2);
      expect(await tableCounts(stack.admin, stack.tables)).toEqual(before);
    } finally {
      stack.clock.advanceSeconds(-CODE_REPLAY_SECONDS);
    }
  });

  it('a failed exchange is not replayed: the retry asks WeChat again', async () => {
    expect((await client.login('fail-40029')).status).toBe(400);
    expect((await client.login('fail-40029')).status).toBe(400);
    expect(callsFor('fail-40029')).toBe(2);
  });

  it('a WeChat timeout releases the code, so a retry can succeed', async () => {
    stack.fake.script((code, index) => (code === 'flaky.1' && stack.fake.codes.indexOf('flaky.1') === index ? 'hang' : undefined));
    expect((await client.login('flaky.1')).status).toBe(504);
    const retry = await client.login('flaky.1');
    expect(retry).toMatchObject({ status: 200, body: { token: expect.any(String) } });
  });

  it('a claim left pending by a request that died is taken over once it expires: the retry logs in and WeChat is asked once', async () => {
    const { createHash } = await import('node:crypto');
    const { DynamoDBDocumentClient, PutCommand } = await import('@aws-sdk/lib-dynamodb');
    const codeHash = createHash('sha256').update('orphan.1').digest('base64url');
    const now = Math.floor(stack.clock.now() / 1000);
    // What a request leaves behind when storage stalls after its claim landed and it answered 503.
    await DynamoDBDocumentClient.from(stack.admin).send(
      new PutCommand({ TableName: stack.tables.logins, Item: { codeHash, state: 'pending', expiresAt: now + 3, claimId: 'dead-request' } }),
    );
    // The retry arrives while that claim still looks live, and waits; the claim expires under it.
    const retry = client.login('orphan.1');
    await new Promise((resolve) => setTimeout(resolve, 300));
    stack.clock.advanceSeconds(3);
    try {
      expect(await retry).toMatchObject({ status: 200, body: { token: expect.any(String) } });
      expect(callsFor('orphan.1')).toBe(1);
    } finally {
      stack.clock.advanceSeconds(-3);
    }
  });

  it('a request that waited on a claim whose exchange failed asks WeChat itself instead of giving up', async () => {
    // The first request's WeChat call hangs (504) and releases its claim; the second, racing it, takes over.
    stack.fake.script((code, index) => (code === 'race.1' && stack.fake.codes.indexOf('race.1') === index ? 'hang' : undefined));
    const [first, second] = await Promise.all([client.login('race.1'), new Promise((r) => setTimeout(r, 50)).then(() => client.login('race.1'))]);
    expect(first.status).toBe(504);
    expect(second).toMatchObject({ status: 200, body: { token: expect.any(String) } });
    expect(callsFor('race.1')).toBe(2);
  });

  it('stores only a hash of each code, never the code', async () => {
    await client.login('secretcode.1');
    const records = await scanAll(stack.admin, stack.tables.logins);
    expect(records.length).toBeGreaterThan(0);
    expect(JSON.stringify(records)).not.toContain('secretcode.1');
    expect(records.every((r) => typeof r.expiresAt === 'number')).toBe(true);
  });
});

/** What the fake answers for a user (used to script a slow but otherwise normal answer). */
function answerFor(name: string) {
  const { openid, sessionKey, unionid } = stack.fake.user(name);
  return { openid, session_key: sessionKey, unionid };
}
