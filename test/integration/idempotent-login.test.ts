import { afterEach, describe, expect, it, vi } from 'vitest';
import { SSM_TIMEOUT_MS } from '#lib/aws/ssm';
import { AppError } from '#lib/kernel/errors';
import { logger } from '#lib/kernel/log';
import { busyRetryBoundMs } from '#lib/wechat/api';
import { api, scanAll, scanUsers, tableCounts } from '../support/invoke.ts';
import type { TestDeps } from '../support/stack.ts';
import { useTestStack } from '../support/use-stack.ts';

const { stack, client } = useTestStack();
afterEach(() => vi.restoreAllMocks());

/** The longest one exchange can wait: a fresh instance's AppSecret read, then WeChat with its one busy retry. */
const exchangeBoundMs = () => SSM_TIMEOUT_MS + busyRetryBoundMs({ timeoutMs: stack.config.wechatTimeoutMs });
/** The replay window: that bound in whole seconds, plus 2 s. */
const replaySeconds = () => Math.ceil(exchangeBoundMs() / 1000) + 2;

const callsFor = (code: string) => stack.fake.codes.filter((c) => c === code).length;
const usersNamed = async (name: string) => (await scanUsers(stack.admin, stack.tables)).filter((u) => u.openid === stack.fake.user(name).openid);

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

  it('ten simultaneous requests with one code (a double tap) call WeChat once; three get a session, the rest 409', async () => {
    // A slow WeChat makes the race real: every request arrives while the first is still waiting.
    stack.fake.script((code) => (code === 'tap.1' ? { json: answerFor('tap'), delayMs: 300 } : undefined));
    const replies = await Promise.all(Array.from({ length: 10 }, () => client.login('tap.1')));
    const ok = replies.filter((r) => r.status === 200);
    expect(ok).toHaveLength(3);
    expect(new Set(ok.map((r) => r.body.token)).size).toBe(3);
    for (const refused of replies.filter((r) => r.status !== 200)) {
      expect(refused).toMatchObject({ status: 409, body: { code: 'CODE_ALREADY_USED', err: expect.stringMatching(/fresh one from wx\.login\(\)/) } });
    }
    expect(callsFor('tap.1')).toBe(1);
    const users = await usersNamed('tap');
    expect(users).toHaveLength(1);
    expect(users[0]?.credit).toBe(100);
  });

  it('one code mints at most three sessions: a fourth request gets 409 and is told to get a fresh code', async () => {
    for (let i = 0; i < 3; i++) expect((await client.login('cap.1')).status).toBe(200);
    const before = await tableCounts(stack.admin, stack.tables);
    expect(await client.login('cap.1')).toMatchObject({
      status: 409,
      body: { code: 'CODE_ALREADY_USED', err: expect.stringMatching(/fresh one from wx\.login\(\)/) },
    });
    expect(callsFor('cap.1')).toBe(1);
    expect(await tableCounts(stack.admin, stack.tables)).toEqual(before);
  });

  it('a replay is marked in its log line; the first login is not', async () => {
    const info = vi.spyOn(logger, 'info');
    expect((await client.login('marked.1')).status).toBe(200);
    expect((await client.login('marked.1')).status).toBe(200);
    const lines = info.mock.calls.filter(([message]) => message === 'request ok').map(([, fields]) => fields as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).not.toHaveProperty('replay');
    expect(lines[1]).toMatchObject({ endpoint: 'login', status: 200, replay: 'served' });
  });

  it('a retry just inside the replay window still gets a session', async () => {
    expect((await client.login('inside.1')).status).toBe(200);
    stack.clock.advanceSeconds(replaySeconds() - 1);
    try {
      expect((await client.login('inside.1')).status).toBe(200);
      expect(callsFor('inside.1')).toBe(1);
    } finally {
      stack.clock.advanceSeconds(1 - replaySeconds());
    }
  });

  it('after the replay window (the exchange bound in whole seconds, plus 2 s) a retried code is refused as WeChat refuses it (409)', async () => {
    expect((await client.login('late.1')).status).toBe(200);
    // One second more: the window ends on a whole second after the login's own moment, rounded up.
    const late = replaySeconds() + 1;
    stack.clock.advanceSeconds(late);
    try {
      const before = await tableCounts(stack.admin, stack.tables);
      expect(await client.login('late.1')).toMatchObject({ status: 409, body: { code: 'CODE_ALREADY_USED' } });
      expect(callsFor('late.1')).toBe(2);
      expect(await tableCounts(stack.admin, stack.tables)).toEqual(before);
    } finally {
      stack.clock.advanceSeconds(-late);
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
    // Keyed as login keys a code: by its app and the code (lib/session/login.ts); a claim under any other key is never met.
    const codeHash = createHash('sha256').update(`${stack.config.appId}\norphan.1`, 'utf8').digest('base64url');
    const now = Math.floor(stack.clock.now() / 1000);
    // What a request leaves behind when storage stalls after its claim landed and it answered 503.
    await DynamoDBDocumentClient.from(stack.admin).send(
      new PutCommand({ TableName: stack.tables.logins, Item: { codeHash, state: 'pending', expiresAt: now + 3, claimId: 'dead-request' } }),
    );
    // The retry arrives while that claim still looks live, and waits; the claim expires under it.
    stack.waits.hold();
    const retry = client.login('orphan.1');
    await stack.waits.parked();
    stack.clock.advanceSeconds(3);
    stack.waits.release();
    try {
      expect(await retry).toMatchObject({ status: 200, body: { token: expect.any(String) } });
      expect(callsFor('orphan.1')).toBe(1);
    } finally {
      stack.clock.advanceSeconds(-3);
    }
  });

  it('a double tap arriving when the first exchange has waited its whole bound (AppSecret, WeChat) still gets a session; WeChat is asked once', async () => {
    // The first request claims the code at x.999 s, the worst moment for a claim counted in whole seconds.
    stack.clock.advanceMs(999 - (stack.clock.now() % 1000));
    const started = stack.clock.now();
    // WeChat as a gate the test opens: the first exchange lasts until the second request has seen its claim.
    const { openid, sessionKey } = stack.fake.user('edge');
    let exchanges = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let entered!: () => void;
    const inExchange = new Promise<void>((resolve) => (entered = resolve));
    const code2Session: TestDeps['code2Session'] = async () => {
      if (++exchanges > 1) throw new AppError('CODE_ALREADY_USED', 'WeChat: code been used (40163)');
      entered();
      await gate;
      return { openid, sessionKey };
    };
    let claims = 0;
    let secondClaimed!: () => void;
    const secondClaim = new Promise<void>((resolve) => (secondClaimed = resolve));
    const loginCodes: TestDeps['loginCodes'] = {
      ...stack.deps.loginCodes,
      claim: async (...args) => {
        const claim = await stack.deps.loginCodes.claim(...args);
        if (++claims === 2) secondClaimed();
        return claim;
      },
    };
    const gated = api({ ...stack.deps, code2Session, loginCodes });

    const first = gated.login('edge.1');
    await inExchange;
    // The first request is still inside its exchange, which has (by the clock) taken all it may.
    stack.clock.advanceMs(exchangeBoundMs() - 1);
    try {
      const second = gated.login('edge.1');
      await secondClaim;
      open();
      expect((await first).status).toBe(200);
      expect(await second).toMatchObject({ status: 200, body: { token: expect.any(String) } });
      expect(exchanges).toBe(1);
    } finally {
      open();
      stack.clock.advanceMs(started - stack.clock.now());
    }
  });

  it('a request that waited on a claim whose exchange failed asks WeChat itself instead of giving up', async () => {
    // The first request's WeChat call hangs (504) and releases its claim; the second, racing it, takes over.
    stack.fake.script((code, index) => (code === 'race.1' && stack.fake.codes.indexOf('race.1') === index ? 'hang' : undefined));
    // The second starts once the first holds the claim and is asking WeChat (seen by the fake), not after a guessed delay.
    const firstLogin = client.login('race.1');
    await vi.waitFor(() => expect(callsFor('race.1')).toBe(1));
    const [first, second] = await Promise.all([firstLogin, client.login('race.1')]);
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
