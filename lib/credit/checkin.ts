import type { Balance } from '#lib/credit/balance';
import { calendarDay, previousDay } from '#lib/credit/day';
import type { LedgerDeps } from '#lib/credit/deps';
import { ENTRY_KEYS, type Plan } from '#lib/credit/ledger';
import { AppError, ConfigError } from '#lib/kernel/errors';
import { requireSessionWith } from '#lib/session/guard';

/** The daily check-in (POST /credit/checkin). */
export interface CheckinConfig {
  /** Credit for a check-in. */
  credit: number;
  /** An IANA time zone: its calendar day is the check-in day. */
  timeZone: string;
  /** Every this-many consecutive days (0: never) a check-in earns `bonusCredit` more. */
  bonusEvery: number;
  bonusCredit: number;
}

/** CHECKIN_TIME_ZONE names no zone the runtime knows: the setting's fault, named (at package time, or at a check-in). */
export const unknownTimeZone = (timeZone: string) => new ConfigError(`CHECKIN_TIME_ZONE is not a time zone this runtime knows: "${timeZone}"`);

export interface CheckinReply {
  credit: number;
  /** What this check-in earned: 0 when the user had checked in today already. */
  granted: number;
  /** Consecutive days checked in, today included. */
  streak: number;
  /** Today, YYYY-MM-DD in the check-in time zone (CHECKIN_TIME_ZONE). */
  day: string;
}

/** Today in the check-in time zone; a zone the runtime does not know is the setting's fault, named (a 500 with its log line). */
function checkinDay(nowMs: number, timeZone: string): string {
  try {
    return calendarDay(nowMs, timeZone);
  } catch (err) {
    if (err instanceof RangeError) throw unknownTimeZone(timeZone);
    throw err;
  }
}

/** What a check-in on day `day` earns after a streak of `streak` days (today included). */
export const checkinCredit = (config: CheckinConfig, streak: number): number =>
  config.credit + (config.bonusEvery > 0 && streak % config.bonusEvery === 0 ? config.bonusCredit : 0);

/**
 * POST /credit/checkin: once per calendar day in CHECKIN_TIME_ZONE, CHECKIN_CREDIT (and a bonus every
 * CHECKIN_BONUS_EVERY days in a row); the streak breaks on a missed day. The day is on the user and in
 * the entry's key (`checkin:<day>`), both in the one transaction: simultaneous check-ins grant once.
 */
export async function checkin(deps: LedgerDeps, token: string | undefined, appId?: string): Promise<CheckinReply> {
  const { session, user: balance } = await requireSessionWith(deps, token, appId, deps.sessionWithBalance);
  const nowMs = deps.now();
  const day = checkinDay(nowMs, deps.config.checkin.timeZone);
  let granted = 0;
  let streak = 0;
  const plan = (current: Balance): Plan => {
    const last = current.checkin;
    // Checked in today already (or, after a change of time zone, "later" than today): nothing more today.
    if (last && last.day >= day) return { settled: true };
    streak = last?.day === previousDay(day) ? last.streak + 1 : 1;
    granted = checkinCredit(deps.config.checkin, streak);
    return { entryKey: ENTRY_KEYS.checkin(day), amount: granted, reason: 'checkin', atMs: nowMs, checkin: { day, streak } };
  };
  const applied = await deps.ledger.apply(session.uid, balance, plan);
  if (applied.outcome === 'applied') return { credit: applied.balance.credit, granted, streak, day };
  // Done already: today's reply with nothing granted, from the user as it is now.
  const now = applied.outcome === 'settled' ? applied.balance : await deps.balances.find(session.uid);
  if (!now) throw new AppError('SESSION_INVALID', 'No user for this session: log in again');
  return { credit: now.credit, granted: 0, streak: now.checkin?.streak ?? 0, day };
}
