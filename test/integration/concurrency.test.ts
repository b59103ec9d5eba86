import { describe, expect, it } from 'vitest';
import { userId } from '#lib/session/token';
import { scanAll, scanUsers } from '../support/invoke.ts';
import { setStoredCredit } from '../support/ledger.ts';
import { APP_ID } from '../support/stack.ts';
import { useTestStack } from '../support/use-stack.ts';

// This file is about simultaneous writes, not WeChat's speed: on a loaded 2-core CI machine, 20 logins at once
// can take the fake WeChat past the stack's usual 500 ms timeout, so it gets more room here.
const { stack, client } = useTestStack({ WECHAT_TIMEOUT_MS: '2000' });

describe('simultaneous logins', () => {
  it('20 simultaneous first logins of one user create one user with exactly the initial credit', async () => {
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => client.login(`rush.${i}`)));
    expect(replies.map((reply) => reply.status)).toEqual(Array(20).fill(200));
    const { openid } = stack.fake.user('rush');
    const users = (await scanUsers(stack.admin, stack.tables)).filter((user) => user.openid === openid);
    expect(users).toHaveLength(1);
    expect(users[0]?.credit).toBe(100);
    const sessions = (await scanAll(stack.admin, stack.tables.sessions)).filter((s) => s.openid === openid);
    expect(sessions).toHaveLength(20);
    const credits = await Promise.all(replies.map((reply) => client.credit(String(reply.body.token))));
    expect(credits.map((reply) => reply.body.credit)).toEqual(Array(20).fill(100));
  });

  it('20 simultaneous logins of a returning user keep the credit it has: no reset to the initial credit', async () => {
    const first = await client.login('keeper.1');
    expect(first.status).toBe(200);
    const { openid } = stack.fake.user('keeper');
    // Spent some: a login that wrote the initial credit unconditionally would put 100 back.
    await setStoredCredit(stack.admin, stack.tables, userId(APP_ID, openid), 42);
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => client.login(`keeper.${i + 2}`)));
    expect(replies.map((reply) => reply.status)).toEqual(Array(20).fill(200));
    const users = (await scanUsers(stack.admin, stack.tables)).filter((user) => user.openid === openid);
    expect(users.map((user) => user.credit)).toEqual([42]);
    const sessions = (await scanAll(stack.admin, stack.tables.sessions)).filter((s) => s.openid === openid);
    expect(sessions).toHaveLength(21);
    expect((await client.credit(String(replies[7]!.body.token))).body).toEqual({ credit: 42 });
  });

  it('30 users logging in at once each get one user item with the initial credit', async () => {
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => client.login(`crowd${i}.1`)));
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    const crowd = new Set(Array.from({ length: 30 }, (_, i) => stack.fake.user(`crowd${i}`).openid));
    const users = (await scanUsers(stack.admin, stack.tables)).filter((user) => crowd.has(String(user.openid)));
    expect(users).toHaveLength(30);
    expect(new Set(users.map((user) => user.credit))).toEqual(new Set([100]));
  });
});
