import { describe, expect, it } from 'vitest';
import { scanAll } from '../support/invoke.ts';
import { useTestStack } from '../support/use-stack.ts';

const { stack, client } = useTestStack();

const token = async (code: string) => String((await client.login(code)).body.token);

describe('POST /logout', () => {
  it("?all=1 counts the caller's own session once, although it is deleted both by its key and through the index", async () => {
    // The two deletes run at once; each must count only what it itself ended. Twenty tries, one session each.
    const counts = [];
    for (let i = 0; i < 20; i++) {
      counts.push((await client.logout(await token(`solo${i}.1`), true)).body.sessions_revoked);
    }
    expect(counts).toEqual(Array(20).fill(1));
  });

  it("ends this session only; the user's other sessions stay live", async () => {
    const [phone, tablet] = [await token('kim.1'), await token('kim.2')];
    expect(await client.logout(phone)).toMatchObject({ status: 200, body: { logged_out: true, sessions_revoked: 1 } });
    expect((await client.checklogin(phone)).body).toEqual({ is_login: false });
    expect(await client.credit(phone)).toMatchObject({ status: 401, body: { code: 'SESSION_INVALID' } });
    expect((await client.checklogin(tablet)).body).toEqual({ is_login: true });
  });

  it('is idempotent: logging out twice (or with an unknown token) is a 200', async () => {
    const t = await token('leo.1');
    expect((await client.logout(t)).status).toBe(200);
    expect(await client.logout(t)).toMatchObject({ status: 200, body: { logged_out: true, sessions_revoked: 0 } });
    expect(await client.logout('token_1700000000000')).toMatchObject({ status: 200, body: { sessions_revoked: 0 } });
  });

  it('an expired session that TTL has not deleted yet counts as already ended (0), and its item is deleted', async () => {
    const t = await token('pia.1');
    stack.clock.advanceSeconds(604800);
    try {
      expect(await client.logout(t)).toMatchObject({ status: 200, body: { logged_out: true, sessions_revoked: 0 } });
      const left = (await scanAll(stack.admin, stack.tables.sessions)).filter((s) => s.openid === stack.fake.user('pia').openid);
      expect(left).toEqual([]);
    } finally {
      stack.clock.advanceSeconds(-604800);
    }
  });

  it("?all=1 ends every session of the user and no one else's", async () => {
    const mine = [await token('mia.1'), await token('mia.2'), await token('mia.3')];
    const other = await token('ned.1');
    expect(await client.logout(mine[0]!, true)).toMatchObject({ status: 200, body: { sessions_revoked: 3 } });
    for (const t of mine) expect((await client.checklogin(t)).body).toEqual({ is_login: false });
    expect((await client.checklogin(other)).body).toEqual({ is_login: true });
    const left = (await scanAll(stack.admin, stack.tables.sessions)).filter((s) => s.openid === stack.fake.user('mia').openid);
    expect(left).toEqual([]);
  });

  it('?all=1 also ends the replay window of the codes the user logged in with: a retried code gets 409', async () => {
    const t = await token('pia.1');
    expect((await client.logout(t, true)).status).toBe(200);
    const before = (await scanAll(stack.admin, stack.tables.sessions)).length;
    expect(await client.login('pia.1')).toMatchObject({
      status: 409,
      body: { code: 'CODE_ALREADY_USED', err: expect.stringMatching(/fresh one from wx\.login\(\)/) },
    });
    expect((await scanAll(stack.admin, stack.tables.sessions)).length).toBe(before);
    // A code exchanged after the logout is the user's new login: its retry is answered as before.
    // (The test clock stands still; a later exchange needs it to move, by a millisecond will do.)
    stack.clock.advanceMs(1);
    expect((await client.login('pia.2')).status).toBe(200);
    expect((await client.login('pia.2')).status).toBe(200);
  });

  it('keeps the user and their credit: logging in again finds them', async () => {
    const t = await token('ola.1');
    await client.logout(t, true);
    expect((await client.credit(await token('ola.2'))).body).toEqual({ credit: 100 });
  });

  it('without a token is 401 UNAUTHENTICATED', async () => {
    expect(await client.invoke('logout', { method: 'POST', path: '/logout' })).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
  });
});
