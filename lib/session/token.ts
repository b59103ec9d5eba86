import { createHash, randomBytes } from 'node:crypto';

/** A user's key: 128 bits of sha256(appid, openid), URL-safe: 22 characters. Deterministic, so login needs no lookup. */
export const userId = (appId: string, openid: string): string =>
  createHash('sha256').update(`${appId}\n${openid}`, 'utf8').digest('base64url').slice(0, 22);

/**
 * `<user key>.<256 random bits>`, URL-safe: 66 characters. The user key lets a read find the
 * session and its user together (one round-trip); it reveals nothing without the openid. Opaque to the client.
 */
export const newSessionToken = (uid: string): string => `${uid}.${randomBytes(32).toString('base64url')}`;

const TOKEN_SHAPE = /^([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$/;

/** Lets us refuse junk without a database read. */
export const looksLikeSessionToken = (token: string): boolean => TOKEN_SHAPE.test(token);

/**
 * What a session is stored by: its user's key (read from the token) and the hash of the whole token.
 * The secret has 256 bits of entropy, so a plain SHA-256 (no salt, no slow KDF) is enough to make a leaked table useless.
 */
export interface SessionRef {
  uid: string;
  tokenHash: string;
}

/** The session a well-shaped token names, or undefined for junk. */
export function sessionRef(token: string): SessionRef | undefined {
  const uid = TOKEN_SHAPE.exec(token)?.[1];
  return uid === undefined ? undefined : { uid, tokenHash: hashSessionToken(token) };
}

export const hashSessionToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('base64url');
