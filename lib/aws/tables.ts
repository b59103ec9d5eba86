/** The four tables, by role; serverless.yml names them per stage. One shape everywhere (config, local tables, stores). */
export interface TableNames {
  sessions: string;
  users: string;
  /** Recently exchanged wx.login() codes (hashes), for idempotent retries. */
  logins: string;
  /** WeChat's access_token, shared by every instance. */
  appCache: string;
  /** Every move of a user's credit, append-only, keyed by its idempotency key (lib/credit/ledger.ts). */
  ledger: string;
}
