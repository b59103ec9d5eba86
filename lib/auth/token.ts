import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits, URL-safe: 43 characters. Opaque to the client. */
export const newSessionToken = (): string => randomBytes(32).toString('base64url');

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Lets us refuse junk without a database read. */
export const looksLikeSessionToken = (token: string): boolean => TOKEN_SHAPE.test(token);

/**
 * What the sessions table is keyed by. The token has 256 bits of entropy, so a
 * plain SHA-256 (no salt, no slow KDF) is enough to make a leaked table useless.
 */
export const hashSessionToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('base64url');
