import { type Applied, type Entry, type Move, toEntry } from '#lib/credit/ledger';
import { AppError } from '#lib/kernel/errors';

/** A move's reply: the balance after it and its entry. A retry of it gets exactly the same, from the entry. */
export interface MoveReply {
  credit: number;
  entry: Entry;
}

/**
 * The reply to a spend or a grant: the entry written now, or the one its key was used for, which must be
 * the same move (amount and reason), or the key is being reused for another.
 */
export function moveReply(move: Pick<Move, 'amount' | 'reason'>, applied: Applied): MoveReply {
  if (applied.outcome === 'settled') throw new Error('a spend or grant always moves');
  const { entry } = applied;
  if (applied.outcome === 'exists' && (entry.amount !== move.amount || entry.reason !== move.reason)) {
    throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This key was used for another move (other amount or reason): use a new key for a new move');
  }
  return { credit: entry.balance, entry: toEntry(entry) };
}
