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

export interface Store {
  /** Writes the session and creates its user (with the initial credit) if new, atomically. */
  createSession(session: NewSession, initialCredit: number): Promise<void>;
  /** The live session for a token hash; expired ones are absent even before TTL deletes them. */
  findSession(tokenHash: string, nowSeconds: number): Promise<Session | undefined>;
  /** The user's credit, or undefined if there is no such user. */
  findCredit(openid: string): Promise<number | undefined>;
  /** Saves decrypted profile fields; false if the user does not exist. */
  saveProfile(openid: string, profile: Profile, nowSeconds: number): Promise<boolean>;
}
