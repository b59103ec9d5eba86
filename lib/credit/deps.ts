import type { Balance, BalanceStore } from '#lib/credit/balance';
import type { CheckinConfig } from '#lib/credit/checkin';
import type { LedgerStore } from '#lib/credit/ledger';
import type { Deps, SessionConfig } from '#lib/session/deps';
import type { SessionRead } from '#lib/session/guard';

/** The settings the credit feature reads (lib/config.ts reads them all). */
export interface CreditConfig extends SessionConfig {
  checkin: CheckinConfig;
}

/** For the endpoints that move credit. */
export interface LedgerDeps extends Deps<CreditConfig> {
  ledger: LedgerStore;
  /** A user's balance alone (a grant, or after a move that found the balance moved). */
  balances: BalanceStore;
  /** The guard's read: the session and its user's balance in one round-trip (lib/credit/balance.ts). */
  sessionWithBalance: SessionRead<Balance>;
}
