/**
 * `npm run admin`'s command line, read as strictly as the API reads its requests: every value is checked
 * before storage is touched, with the API's own rules and messages where the API has them (the grant's
 * fields, the history's limit and cursor). Each failure is an AppError INVALID_REQUEST: a usage error.
 */
import { readGrantRequest } from '#lib/credit/grant';
import { decodeCursor, encodeCursor, parseLimit } from '#lib/credit/history';
import { type EntryItem, toEntry } from '#lib/credit/ledger';
import { AppError } from '#lib/kernel/errors';

/** A whole number as typed: digits with an optional minus sign, nothing that Number() also takes (1e3, 0x10, 1.5, ' 7', '+7', ''). */
export function parseAmount(raw: string | undefined): number {
  if (raw === undefined || !/^-?\d{1,15}$/.test(raw)) {
    throw new AppError('INVALID_REQUEST', '--amount must be a whole number written out, e.g. --amount 50 (a deduction: --amount=-20)');
  }
  return Number(raw);
}

export interface GrantArgs {
  appid: string;
  openid: string;
  amount?: string | undefined;
  key?: string | undefined;
  reason?: string | undefined;
}

/** The grant the command line asks for, checked as the grant function checks its event. */
export const grantArgs = ({ amount, ...rest }: GrantArgs) => readGrantRequest({ ...rest, amount: parseAmount(amount) });

/** `history`'s page: --limit as the API's ?limit= (1-100, default 20), --cursor only as the API gave it for this user. */
export const historyArgs = (uid: string, { limit, cursor }: { limit?: string | undefined; cursor?: string | undefined }) => ({
  limit: parseLimit(limit),
  beforeSeq: cursor === undefined ? undefined : decodeCursor(cursor, uid),
});

/** A page as GET /credit/history answers it: the same entries and the same next_cursor. */
export function historyReply(uid: string, page: { entries: EntryItem[]; more: boolean }) {
  const last = page.entries.at(-1);
  return { entries: page.entries.map(toEntry), ...(page.more && last ? { next_cursor: encodeCursor(uid, last.seq) } : {}) };
}
