import type { CheckinConfig } from '#lib/credit/checkin';
import type { LedgerStore } from '#lib/credit/ledger';
import type { Deps, SessionConfig } from '#lib/session/deps';

/** The settings the credit feature reads (lib/config.ts reads them all). */
export interface CreditConfig extends SessionConfig {
  checkin: CheckinConfig;
}

/** For the endpoints that move credit. */
export interface LedgerDeps extends Deps<CreditConfig> {
  ledger: LedgerStore;
}
