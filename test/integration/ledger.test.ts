import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { InvocationError } from '#lib/http/invoke';
import { logger } from '#lib/kernel/log';
import { sleep } from '#lib/kernel/time';
import { userId } from '#lib/session/token';
import { createHandler as grantHandler } from '../../handlers/grant.ts';
import { type LocalDynamo, startLocalDynamo } from '../../local/dynamodb.ts';
import { api, type Reply, scanAll } from '../support/invoke.ts';
import { expectBalancesAreSums } from '../support/ledger.ts';
import { APP_ID, APP_ID_B, startTestStack } from '../support/stack.ts';
import { useTestStack } from '../support/use-stack.ts';

/**
 * The ledger for real: the handlers, DynamoDB Local and the fake WeChat over HTTP. After every run the
 * users' balances are checked to be the sums of their entries.
 */
// Its own DynamoDB Local: DynamoDB Local runs one transaction at a time (DynamoDB answers a conflict at once instead),
// so 50 simultaneous spends queue there, and other test files' transactions must not queue with them.
let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(() => dynamo?.stop());
const { stack, client } = useTestStack(() => ({ WECHAT_TIMEOUT_MS: '2000', DYNAMODB_ENDPOINT: dynamo.endpoint }));

let users = 0;
/** A new user, logged in: its token and uid. */
async function newUser(prefix = 'ledger', appId = APP_ID) {
  const name = `${prefix}${users++}`;
  const reply = await client.login(`${name}.1`);
  expect(reply.status, reply.raw).toBe(200);
  return { name, token: String(reply.body.token), uid: userId(appId, stack.fake.user(name, appId).openid) };
}

/**
 * What a client does with 503 CREDIT_BUSY (other moves of the same credit kept getting in first): after a moment,
 * the same request again, with the same key, until it is answered. Each busy answer must be the contract's. (The
 * pause is the client's, not a wait for our code: without it 50 clients would hammer DynamoDB Local in a loop.)
 */
let busyAnswers = 0;
async function untilAnswered<T extends { code?: unknown }>(send: () => Promise<T>, busy: (reply: T) => void): Promise<T> {
  for (let tries = 0; tries < 100; tries++) {
    const reply = await send();
    if (reply.code !== 'CREDIT_BUSY') return reply;
    busy(reply);
    busyAnswers++;
    await sleep(50 + Math.random() * 150);
  }
  throw new Error('still CREDIT_BUSY after 100 tries');
}
/** untilAnswered for an HTTP reply: a busy one is exactly the contract's 503. */
const answered = async (send: () => Promise<Reply>): Promise<Reply> =>
  (
    await untilAnswered(
      async () => {
        const reply = await send();
        return { reply, code: reply.body.code };
      },
      ({ reply }) => {
        expect(reply.status).toBe(503);
        expect(reply.body).toEqual({ code: 'CREDIT_BUSY', err: expect.stringContaining('retry with the same key') });
      },
    )
  ).reply;

async function entriesOf(uid: string) {
  return (await scanAll(stack.admin, stack.tables.ledger))
    .filter((entry) => entry.uid === uid && entry.entryKey !== '#balance')
    .sort((a, b) => Number(a.seq) - Number(b.seq));
}

describe('the sign-up grant', () => {
  it("is the user's first entry (reason signup), written with the user by its first login, and only once", async () => {
    const user = await newUser();
    await client.login(`${user.name}.2`);
    expect(await entriesOf(user.uid)).toEqual([expect.objectContaining({ entryKey: 'signup', seq: 1, amount: 100, balance: 100, reason: 'signup' })]);
    const history = await client.history(user.token);
    expect(history.body).toEqual({ entries: [{ id: '1', amount: 100, balance: 100, reason: 'signup', at: expect.any(String) }] });
    expect(new Date(String((history.body.entries as { at: string }[])[0]?.at)).getTime()).toBe(Math.floor(stack.clock.now() / 1000) * 1000);
    await expectBalancesAreSums(stack.admin, stack.tables);
  });
});

describe('POST /credit/spend', () => {
  it('50 simultaneous spends of 3 from 100: exactly 33 succeed, 17 get 409, the balance is 1, with 33 spend entries', async () => {
    const user = await newUser();
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => answered(() => client.spend(user.token, { amount: 3, key: `rush-spend-${i}` }))),
    );
    const ok = replies.filter((reply) => reply.status === 200);
    const refused = replies.filter((reply) => reply.status === 409);
    const others = replies.filter((reply) => reply.status !== 200 && reply.status !== 409).map((reply) => reply.raw);
    expect(others).toEqual([]);
    expect(ok).toHaveLength(33);
    expect(refused).toHaveLength(17);
    for (const reply of refused) expect(reply.body).toEqual({ code: 'INSUFFICIENT_CREDIT', err: expect.any(String) });
    expect((await client.credit(user.token)).body).toEqual({ credit: 1 });
    const entries = await entriesOf(user.uid);
    expect(entries.filter((entry) => String(entry.entryKey).startsWith('spend:'))).toHaveLength(33);
    // Every balance from 97 down to 1 was handed out exactly once.
    expect(ok.map((reply) => reply.body.credit).sort((a, b) => Number(b) - Number(a))).toEqual(Array.from({ length: 33 }, (_, i) => 97 - 3 * i));
    await expectBalancesAreSums(stack.admin, stack.tables);
    // 50 moves of one user at once do not each hold a function for seconds: some were told to retry instead.
    expect(busyAnswers).toBeGreaterThan(0);
  });

  it('20 simultaneous requests with one key: one deduction, 20 identical replies', async () => {
    const user = await newUser();
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => answered(() => client.spend(user.token, { amount: 7, key: 'same-key-0001', reason: 'coupon' }))),
    );
    expect(replies.map((reply) => reply.status)).toEqual(Array(20).fill(200));
    expect(new Set(replies.map((reply) => reply.raw)).size).toBe(1);
    expect(replies[0]?.body).toEqual({ credit: 93, entry: { id: '2', amount: -7, balance: 93, reason: 'coupon', at: expect.any(String) } });
    expect((await client.credit(user.token)).body).toEqual({ credit: 93 });
    expect(await entriesOf(user.uid)).toHaveLength(2);
    await expectBalancesAreSums(stack.admin, stack.tables);
  });

  it('the same key after the first finished gets exactly the first reply, even once the credit would not cover it again', async () => {
    const user = await newUser();
    const first = await client.spend(user.token, { amount: 100, key: 'all-of-it-01' });
    expect(first.body).toMatchObject({ credit: 0, entry: { amount: -100, balance: 0, reason: 'spend' } });
    stack.clock.advanceSeconds(3600);
    const again = await client.spend(user.token, { amount: 100, key: 'all-of-it-01' });
    expect(again.status).toBe(200);
    expect(again.raw).toBe(first.raw);
    expect((await client.spend(user.token, { amount: 1, key: 'all-of-it-02' })).body).toMatchObject({ code: 'INSUFFICIENT_CREDIT' });
    await expectBalancesAreSums(stack.admin, stack.tables);
  });

  it('the same key with another amount or reason is 409 IDEMPOTENCY_KEY_REUSED, and nothing changes', async () => {
    const user = await newUser();
    await client.spend(user.token, { amount: 5, key: 'reused-key-1', reason: 'a' });
    for (const body of [
      { amount: 6, key: 'reused-key-1', reason: 'a' },
      { amount: 5, key: 'reused-key-1', reason: 'b' },
      { amount: 5, key: 'reused-key-1' },
    ]) {
      const reply = await client.spend(user.token, body);
      expect(reply.status).toBe(409);
      expect(reply.body).toEqual({ code: 'IDEMPOTENCY_KEY_REUSED', err: expect.any(String) });
    }
    expect((await client.credit(user.token)).body).toEqual({ credit: 95 });
    await expectBalancesAreSums(stack.admin, stack.tables);
  });

  it('keys are per user: two users may use the same key, each spends once', async () => {
    const [a, b] = [await newUser(), await newUser()];
    expect((await client.spend(a.token, { amount: 10, key: 'shared-key-1' })).body).toMatchObject({ credit: 90 });
    expect((await client.spend(b.token, { amount: 20, key: 'shared-key-1' })).body).toMatchObject({ credit: 80 });
    await expectBalancesAreSums(stack.admin, stack.tables);
  });

  it.each([
    ['amount 0', { amount: 0, key: 'bad-input-01' }],
    ['a negative amount', { amount: -5, key: 'bad-input-01' }],
    ['a fractional amount', { amount: 1.5, key: 'bad-input-01' }],
    ['a huge amount', { amount: 1_000_001, key: 'bad-input-01' }],
    ['an amount as a string', { amount: '5', key: 'bad-input-01' }],
    ['a key too short', { amount: 1, key: 'short' }],
    ['a key too long', { amount: 1, key: 'k'.repeat(65) }],
    ['a key with odd characters', { amount: 1, key: 'key with spaces' }],
    ['no key', { amount: 1 }],
    ['a reason over 64 characters', { amount: 1, key: 'bad-input-01', reason: 'r'.repeat(65) }],
    ['a reason with a control character', { amount: 1, key: 'bad-input-01', reason: 'a\nb' }],
    ['a reason with a lone surrogate (no text: DynamoDB would refuse it)', { amount: 1, key: 'bad-input-01', reason: 'a\ud800b' }],
    ['a reason with a zero-width space', { amount: 1, key: 'bad-input-01', reason: 'co\u200Bupon' }],
    ['a reason with a right-to-left override', { amount: 1, key: 'bad-input-01', reason: 'coupon\u202E' }],
    ['a reason that is the Hangul filler', { amount: 1, key: 'bad-input-01', reason: '\u3164' }],
    ['a reason with a private-use character', { amount: 1, key: 'bad-input-01', reason: 'x\uE000' }],
    ['a reason with stacked combining marks', { amount: 1, key: 'bad-input-01', reason: `a${'\u0301'.repeat(10)}` }],
  ])('%s is 400 INVALID_REQUEST, and nothing is written', async (_what, body) => {
    const user = await newUser();
    const before = await scanAll(stack.admin, stack.tables.ledger);
    const reply = await client.spend(user.token, body);
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ code: 'INVALID_REQUEST', err: expect.any(String) });
    expect(await scanAll(stack.admin, stack.tables.ledger)).toHaveLength(before.length);
    expect((await client.credit(user.token)).body).toEqual({ credit: 100 });
  });

  it('a user from before the ledger (credit, no entries) gets an opening entry for it at its first move, so its entries still sum to its balance', async () => {
    const user = await newUser();
    // As a user created before the ledger existed: a credit of 42 and no ledger state.
    await stack.admin.send(
      new UpdateItemCommand({
        TableName: stack.tables.users,
        Key: { uid: { S: user.uid } },
        UpdateExpression: 'SET credit = :c REMOVE ledgerSeq',
        ExpressionAttributeValues: { ':c': { N: '42' } },
      }),
    );
    const { DeleteItemCommand } = await import('@aws-sdk/client-dynamodb');
    await stack.admin.send(new DeleteItemCommand({ TableName: stack.tables.ledger, Key: { uid: { S: user.uid }, entryKey: { S: 'signup' } } }));
    // Stored before the balance had its own item, too: the balance is what the user item holds.
    await stack.admin.send(new DeleteItemCommand({ TableName: stack.tables.ledger, Key: { uid: { S: user.uid }, entryKey: { S: '#balance' } } }));
    const reply = await client.spend(user.token, { amount: 2, key: 'legacy-spend' });
    expect(reply.body).toMatchObject({ credit: 40, entry: { id: '2', amount: -2, balance: 40 } });
    expect((await entriesOf(user.uid)).map((entry) => [entry.entryKey, entry.amount])).toEqual([
      ['opening', 42],
      ['spend:legacy-spend', -2],
    ]);
    await expectBalancesAreSums(stack.admin, stack.tables);
  });

  it('a user stored before the balance had its own item (credit and ledgerSeq on the user item) keeps its balance: read as it was, moved on from it, and its first move writes the balance item (10 simultaneous spends of it, once each)', async () => {
    const user = await newUser();
    const { DeleteItemCommand, GetItemCommand } = await import('@aws-sdk/client-dynamodb');
    // Today's shape before the split: the balance on the user item, the ledger under it, no balance item.
    await stack.admin.send(
      new UpdateItemCommand({
        TableName: stack.tables.users,
        Key: { uid: { S: user.uid } },
        UpdateExpression: 'SET credit = :c, ledgerSeq = :s, checkinDay = :d, checkinStreak = :k',
        ExpressionAttributeValues: { ':c': { N: '100' }, ':s': { N: '1' }, ':d': { S: '2020-01-01' }, ':k': { N: '3' } },
      }),
    );
    await stack.admin.send(new DeleteItemCommand({ TableName: stack.tables.ledger, Key: { uid: { S: user.uid }, entryKey: { S: '#balance' } } }));
    expect((await client.credit(user.token)).body).toEqual({ credit: 100 });
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => answered(() => client.spend(user.token, { amount: 3, key: `split-move-${i}` }))),
    );
    expect(replies.map((reply) => reply.status)).toEqual(Array(10).fill(200));
    expect((await client.credit(user.token)).body).toEqual({ credit: 70 });
    // Entry 1 is its sign-up grant; the moves go on from it, none lost, none doubled.
    expect((await entriesOf(user.uid)).map((entry) => entry.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    const balanceItem = await stack.admin.send(
      new GetItemCommand({ TableName: stack.tables.ledger, Key: { uid: { S: user.uid }, entryKey: { S: '#balance' } }, ConsistentRead: true }),
    );
    expect(balanceItem.Item).toMatchObject({ credit: { N: '70' }, ledgerSeq: { N: '11' }, checkinDay: { S: '2020-01-01' } });
    await expectBalancesAreSums(stack.admin, stack.tables);
  });
});

describe('POST /credit/checkin', () => {
  it('10 simultaneous check-ins grant once; the rest get the same day with granted 0', async () => {
    const user = await newUser();
    const replies = await Promise.all(Array.from({ length: 10 }, () => answered(() => client.checkin(user.token))));
    expect(replies.map((reply) => reply.status)).toEqual(Array(10).fill(200));
    const granted = replies.filter((reply) => reply.body.granted === 10);
    expect(granted).toHaveLength(1);
    expect(granted[0]?.body).toMatchObject({ credit: 110, streak: 1 });
    for (const reply of replies) expect(reply.body).toMatchObject({ credit: 110, streak: 1, day: granted[0]?.body.day });
    expect((await client.credit(user.token)).body).toEqual({ credit: 110 });
    await expectBalancesAreSums(stack.admin, stack.tables);
  });

  it('the day is the calendar day in Asia/Shanghai: 23:59 and 00:01 Beijing time are two days, and the streak grows, with a bonus on the 7th', async () => {
    // 2030-03-01 23:59 in Beijing (UTC+8) is 15:59 UTC.
    const day1 = Date.UTC(2030, 2, 1, 15, 59);
    stack.clock.advanceMs(day1 - stack.clock.now());
    const user = await newUser();
    expect((await client.checkin(user.token)).body).toMatchObject({ day: '2030-03-01', granted: 10, streak: 1 });
    stack.clock.advanceMs(2 * 60_000); // 00:01 on 2030-03-02 in Beijing, still 2030-03-01 in UTC
    expect((await client.checkin(user.token)).body).toMatchObject({ day: '2030-03-02', granted: 10, streak: 2 });
    expect((await client.checkin(user.token)).body).toMatchObject({ day: '2030-03-02', granted: 0, streak: 2 });
    const grants = [];
    for (let day = 3; day <= 7; day++) {
      stack.clock.advanceSeconds(86_400);
      grants.push((await client.checkin(user.token)).body);
    }
    expect(grants.map((reply) => [reply.day, reply.granted, reply.streak])).toEqual([
      ['2030-03-03', 10, 3],
      ['2030-03-04', 10, 4],
      ['2030-03-05', 10, 5],
      ['2030-03-06', 10, 6],
      ['2030-03-07', 30, 7],
    ]);
    expect((await client.credit(user.token)).body).toEqual({ credit: 100 + 6 * 10 + 30 });
    await expectBalancesAreSums(stack.admin, stack.tables);
  });

  it('a time zone the runtime does not know (shaped like one, so cold start let it through) fails the check-in with 500, naming the setting in the log', async () => {
    const other = await startTestStack({ CHECKIN_TIME_ZONE: 'Mars/Olympus_Mons', DYNAMODB_ENDPOINT: dynamo.endpoint });
    const logged: string[] = [];
    const spy = vi.spyOn(logger, 'error').mockImplementation((...args: unknown[]) => {
      logged.push(JSON.stringify(args, (_key, value) => (value instanceof Error ? value.message : value)));
    });
    try {
      const client = api(other.deps);
      const token = String((await client.login('zoneless.1')).body.token);
      const reply = await client.checkin(token);
      expect(reply).toMatchObject({ status: 500, body: { code: 'INTERNAL' } });
      expect(logged.join('\n')).toContain('CHECKIN_TIME_ZONE');
      expect((await client.credit(token)).body).toEqual({ credit: 100 });
    } finally {
      spy.mockRestore();
      await other.close();
    }
  });

  it('a missed day breaks the streak', async () => {
    const user = await newUser();
    expect((await client.checkin(user.token)).body).toMatchObject({ granted: 10, streak: 1 });
    stack.clock.advanceSeconds(86_400);
    expect((await client.checkin(user.token)).body).toMatchObject({ granted: 10, streak: 2 });
    stack.clock.advanceSeconds(2 * 86_400);
    expect((await client.checkin(user.token)).body).toMatchObject({ granted: 10, streak: 1 });
    await expectBalancesAreSums(stack.admin, stack.tables);
  });
});

describe('GET /credit/history', () => {
  it('pages newest first across at least 3 pages, with no entry missing or repeated', async () => {
    const user = await newUser();
    for (let i = 0; i < 11; i++)
      expect((await client.spend(user.token, { amount: 1, key: `page-key-${String(i).padStart(3, '0')}` })).status).toBe(200);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const reply = await client.history(user.token, { limit: '5', ...(cursor ? { cursor } : {}) });
      expect(reply.status, reply.raw).toBe(200);
      const entries = reply.body.entries as { id: string; balance: number }[];
      expect(entries.length).toBeLessThanOrEqual(5);
      seen.push(...entries.map((entry) => entry.id));
      cursor = reply.body.next_cursor as string | undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => String(12 - i)));
    await expectBalancesAreSums(stack.admin, stack.tables);
  });

  it("defaults to 20 entries; a limit out of range, a forged cursor or another user's cursor is 400", async () => {
    const [a, b] = [await newUser(), await newUser()];
    for (let i = 0; i < 21; i++) await client.spend(a.token, { amount: 1, key: `default-${String(i).padStart(4, '0')}` });
    const page = await client.history(a.token);
    expect(page.body.entries).toHaveLength(20);
    const cursor = String(page.body.next_cursor);
    expect((await client.history(a.token, { cursor })).body.entries).toHaveLength(2);
    const refused: Record<string, string>[] = [
      { limit: '0' },
      { limit: '101' },
      { limit: 'x' },
      { limit: '2.5' },
      { cursor: 'forged' },
      { cursor: `${cursor}x` },
    ];
    for (const query of refused) {
      const reply = await client.history(a.token, query);
      expect(reply.status, JSON.stringify(query)).toBe(400);
      expect(reply.body).toMatchObject({ code: 'INVALID_REQUEST' });
    }
    expect((await client.history(b.token, { cursor })).body).toMatchObject({ code: 'INVALID_REQUEST' });
  });
});

describe('server-side grants (the grant function, invoked)', () => {
  const invoke = (event: unknown) => grantHandler(stack.deps)(event) as Promise<Record<string, unknown>>;

  it('grants and deducts by openid, once per key, never below zero, in the right app', async () => {
    const user = await newUser('granted');
    const openid = stack.fake.user(user.name).openid;
    const prize = { openid, amount: 50, key: 'order-123456', reason: 'order paid' };
    const first = await invoke(prize);
    expect(first).toEqual({ credit: 150, entry: { id: '2', amount: 50, balance: 150, reason: 'order paid', at: expect.any(String) } });
    expect(await invoke(prize)).toEqual(first);
    expect(await invoke({ ...prize, amount: 60 })).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 409 });
    expect(await invoke({ openid, amount: -151, key: 'refund-0001', reason: 'refund' })).toMatchObject({ code: 'INSUFFICIENT_CREDIT', status: 409 });
    expect(await invoke({ openid, amount: -150, key: 'refund-0001', reason: 'refund' })).toMatchObject({ credit: 0 });
    // Another app's user of the same openid does not exist: nothing is created.
    expect(await invoke({ ...prize, appid: APP_ID_B, key: 'order-999999' })).toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
    // A grant's key and a client's spend key never meet: the same string is two keys.
    expect((await client.credit(user.token)).body).toEqual({ credit: 0 });
    await expectBalancesAreSums(stack.admin, stack.tables);
  });

  it('20 simultaneous grants to one user go through the same rounds: a busy one is a 503 CREDIT_BUSY, and its retry with the same key grants once', async () => {
    const user = await newUser('granted');
    const openid = stack.fake.user(user.name).openid;
    // A 5xx fails the invocation (InvocationError, as Lambda reports it to the caller); the caller retries with the key.
    const failedInvocation = async (event: unknown) => {
      try {
        return await invoke(event);
      } catch (err) {
        if (err instanceof InvocationError) return { err: err.message, code: err.code, status: err.status };
        throw err;
      }
    };
    const grantOnce = (i: number) =>
      untilAnswered(
        () => failedInvocation({ openid, amount: 1, key: `crowd-grant-${i}`, reason: 'crowd' }),
        (reply) => expect(reply).toEqual({ code: 'CREDIT_BUSY', status: 503, err: expect.stringContaining('retry with the same key') }),
      );
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => grantOnce(i)));
    expect(replies.map((reply) => reply.code)).toEqual(Array(20).fill(undefined));
    expect(replies.map((reply) => reply.credit).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 20 }, (_, i) => 101 + i));
    expect((await client.credit(user.token)).body).toEqual({ credit: 120 });
    await expectBalancesAreSums(stack.admin, stack.tables);
  });

  it.each([
    ['no openid', { amount: 1, key: 'grant-bad-01', reason: 'x' }],
    ['amount 0', { openid: 'o123', amount: 0, key: 'grant-bad-01', reason: 'x' }],
    ['no reason', { openid: 'o123', amount: 1, key: 'grant-bad-01' }],
    ['a bad appid', { appid: 'wx123', openid: 'o123', amount: 1, key: 'grant-bad-01', reason: 'x' }],
    ['not an object', 'grant me'],
  ])('%s is 400 INVALID_REQUEST', async (_what, event) => {
    expect(await invoke(event)).toEqual({ err: expect.any(String), code: 'INVALID_REQUEST', status: 400 });
  });
});
