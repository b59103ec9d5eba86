import { describe, expect, it } from 'vitest';
import { encodeCursor } from '#lib/credit/history';
import { userId } from '#lib/session/token';
import { grantArgs, historyArgs, historyReply, parseAmount } from '../../admin/args.ts';

/** `npm run admin`'s command line (admin/args.ts): whole numbers only, the API's limits and cursor. Its exit codes: test/integration/admin-cli.test.ts. */
const APPID = 'wx1234567890abcdef';
const uid = userId(APPID, 'o-admin-args');
const usageError = (read: () => unknown) => {
  try {
    read();
  } catch (err) {
    return { code: (err as { code?: unknown }).code, message: (err as Error).message };
  }
  throw new Error('expected a usage error');
};

describe('--amount', () => {
  it.each([
    ['50', 50],
    ['-20', -20],
    ['1000000', 1_000_000],
  ])('%s is %d', (raw, amount) => {
    expect(parseAmount(raw)).toBe(amount);
    expect(grantArgs({ appid: APPID, openid: 'o1', amount: raw, key: 'prize-0001', reason: 'prize' })).toMatchObject({ amount });
  });

  it.each(['1e3', '0x10', '0b11', '0o7', '1.5', '1.', '.5', ' 7', '7 ', '+7', '', '-', '1_000', 'Infinity', 'NaN', '٣', '12345678901234567'])(
    '%j is a usage error, whatever Number() makes of it',
    (raw) => {
      expect(usageError(() => parseAmount(raw))).toEqual({
        code: 'INVALID_REQUEST',
        message: '--amount must be a whole number written out, e.g. --amount 50 (a deduction: --amount=-20)',
      });
    },
  );

  it('missing is a usage error; out of range or 0 is the grant function’s own 400', () => {
    expect(usageError(() => grantArgs({ appid: APPID, openid: 'o1', key: 'prize-0001', reason: 'prize' })).message).toMatch(/^--amount must be/);
    for (const amount of ['0', '1000001', '-1000001']) {
      expect(usageError(() => grantArgs({ appid: APPID, openid: 'o1', amount, key: 'prize-0001', reason: 'prize' }))).toMatchObject({
        code: 'INVALID_REQUEST',
        message: expect.stringMatching(/^amount: amount must/),
      });
    }
  });
});

describe('--limit and --cursor', () => {
  it('take what GET /credit/history takes: a limit of 1 to 100 (20 by default), the cursor the API gave for this user', () => {
    expect(historyArgs(uid, {})).toEqual({ limit: 20, beforeSeq: undefined });
    expect(historyArgs(uid, { limit: '100', cursor: encodeCursor(uid, 7) })).toEqual({ limit: 100, beforeSeq: 7 });
  });

  it.each(['0', '101', '-1', '1e1', '0x10', '2.0', 'abc', ' 5'])('--limit %j is a usage error', (limit) => {
    expect(usageError(() => historyArgs(uid, { limit }))).toEqual({ code: 'INVALID_REQUEST', message: 'limit must be a whole number from 1 to 100' });
  });

  it.each([
    ['a bare sequence number (what the CLI used to print)', '7'],
    ["another user's cursor", encodeCursor(userId(APPID, 'o-someone-else'), 7)],
    ['a cursor changed by one character', `${encodeCursor(uid, 7).slice(0, -1)}x`],
  ])('%s is a usage error', (_what, cursor) => {
    expect(usageError(() => historyArgs(uid, { cursor }))).toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/^cursor is not one this API gave/),
    });
  });

  it("a page's next_cursor is the API's", () => {
    const item = { uid, entryKey: 'grant:prize-0001', seq: 3, amount: 5, balance: 105, reason: 'prize', atMs: 0 };
    expect(historyReply(uid, { entries: [item as never], more: true }).next_cursor).toBe(encodeCursor(uid, 3));
    expect(historyReply(uid, { entries: [item as never], more: false })).not.toHaveProperty('next_cursor');
  });
});
