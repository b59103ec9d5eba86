import type { LedgerDeps } from '#lib/credit/deps';
import { type Entry, toEntry } from '#lib/credit/ledger';
import { AppError } from '#lib/kernel/errors';
import { requireSessionWith, sessionOnly } from '#lib/session/guard';

export interface HistoryQuery {
  limit?: string | undefined;
  cursor?: string | undefined;
}

export interface HistoryReply {
  entries: Entry[];
  /** Present when there are older entries: pass it as ?cursor= for the next page. */
  next_cursor?: string;
}

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

/**
 * A page's cursor: the sequence number of its last entry and the user it belongs to, base64url. Not a
 * secret (a user pages only through its own ledger), but checked: a cursor that is not one this API gave
 * this user is a 400, never a page of something else.
 */
export const encodeCursor = (uid: string, seq: number) => Buffer.from(`${seq}.${uid}`, 'utf8').toString('base64url');

export function decodeCursor(cursor: string, uid: string): number {
  const decoded = /^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = /^([1-9]\d{0,14})\.([A-Za-z0-9_-]{22})$/.exec(decoded);
  // Only the exact text this API gave: base64url decoding alone would let a changed last character through.
  if (!match || match[2] !== uid || encodeCursor(uid, Number(match[1])) !== cursor)
    throw new AppError('INVALID_REQUEST', 'cursor is not one this API gave for this user: pass next_cursor as it came');
  return Number(match[1]);
}

export function parseLimit(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_LIMIT;
  const limit = /^\d{1,3}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) throw new AppError('INVALID_REQUEST', `limit must be a whole number from 1 to ${MAX_LIMIT}`);
  return limit;
}

/**
 * GET /credit/history?limit=&cursor=: the caller's ledger, newest first. The session is checked first, and
 * only then are the query's parameters read and the page queried: no caller without a live session makes
 * us read a ledger (two round-trips, README Decisions).
 */
export async function history(deps: LedgerDeps, token: string | undefined, query: HistoryQuery, appId?: string): Promise<HistoryReply> {
  const { session } = await requireSessionWith(deps, token, appId, sessionOnly(deps));
  const limit = parseLimit(query.limit);
  const beforeSeq = query.cursor === undefined ? undefined : decodeCursor(query.cursor, session.uid);
  const page = await deps.ledger.history(session.uid, { limit, beforeSeq });
  const last = page.entries.at(-1);
  return {
    entries: page.entries.map(toEntry),
    ...(page.more && last ? { next_cursor: encodeCursor(session.uid, last.seq) } : {}),
  };
}
