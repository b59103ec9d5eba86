/** What the login logic needs from storage; lib/store/dynamo-store.ts is the DynamoDB adapter. */
export interface Session {
  openid: string;
  sessionKey: string;
  unionid?: string;
  /** Epoch seconds. */
  expiresAt: number;
}

export interface NewSession extends Session {
  tokenHash: string;
  /** Epoch seconds. */
  createdAt: number;
}

export type Profile = Record<string, unknown>;

/** What WeChat told us for one wx.login() code, kept briefly so a retry of that code can be answered. */
export type LoginCode =
  | { state: 'pending'; expiresAt: number }
  /** WeChat accepted the code but the session could not be written: WeChat will not take it again. */
  | { state: 'spent'; expiresAt: number }
  | { state: 'done'; expiresAt: number; openid: string; sessionKey: string; unionid?: string };

/** The code a new session came from: marked done, with its WeChat answer, in the same write. */
export interface ExchangedCode {
  codeHash: string;
  /** Epoch seconds until which a retry of the code gets a session too. */
  replayUntil: number;
}

/** claimId tells our own claim from another request's (e.g. when a retried write finds its own first try). */
export type CodeClaim = { claimed: true; claimId: string } | { claimed: false; current: LoginCode };

export interface Store {
  /**
   * Writes the session and creates its user (with the initial credit) if new,
   * and marks the code it came from as done, atomically.
   */
  createSession(session: NewSession, initialCredit: number, exchanged?: ExchangedCode): Promise<void>;
  /** Takes a code for exchange unless a live record of it exists; that record is returned instead. */
  claimLoginCode(codeHash: string, nowSeconds: number, pendingUntil: number): Promise<CodeClaim>;
  /** The live record of a code, if any. */
  findLoginCode(codeHash: string, nowSeconds: number): Promise<LoginCode | undefined>;
  /** Gives our pending claim up after a failed exchange, so that a retry can ask WeChat again. */
  releaseLoginCode(codeHash: string, claimId: string): Promise<void>;
  /** Marks our claim spent: WeChat took the code, so a retry can be refused at once without asking it. */
  spendLoginCode(codeHash: string, claimId: string): Promise<void>;
  /** The live session for a token hash; expired ones are absent even before TTL deletes them. */
  findSession(tokenHash: string, nowSeconds: number): Promise<Session | undefined>;
  /** The user's credit, or undefined if there is no such user. */
  findCredit(openid: string): Promise<number | undefined>;
  /** Deletes one session; true if there was one. */
  revokeSession(tokenHash: string): Promise<boolean>;
  /**
   * Deletes every session of a user that its index lists (eventually consistent: one made a
   * moment ago may be missing); how many this call deleted.
   */
  revokeAllSessions(openid: string): Promise<number>;
  /** Saves the user's phone number; false if the user does not exist. */
  savePhoneNumber(openid: string, phone: Record<string, string>, nowSeconds: number): Promise<boolean>;
  /** Saves decrypted profile fields; false if the user does not exist. */
  saveProfile(openid: string, profile: Profile, nowSeconds: number): Promise<boolean>;
}
