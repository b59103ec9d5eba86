import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashSessionToken, looksLikeSessionToken, newSessionToken as newToken, sessionRef, userId } from '#lib/session/token';

const UID = userId('wx1234567890abcdef', 'o-user');
const newSessionToken = () => newToken(UID);

const sha256Base64url = (value: string): string => createHash('sha256').update(value, 'utf8').digest('base64url');

describe('newSessionToken', () => {
  it('returns the user key, a dot and a 43-character base64url secret: 66 characters', () => {
    const token = newSessionToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(token.startsWith(`${UID}.`)).toBe(true);
  });

  it('carries exactly 32 random bytes (256 bits) in its secret, which round-trips', () => {
    const token = newSessionToken().split('.')[1]!;
    const bytes = Buffer.from(token, 'base64url');
    expect(bytes).toHaveLength(32);
    expect(bytes.toString('base64url')).toBe(token);
  });

  it('never repeats a token across 1000 calls', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => newSessionToken()));
    expect(tokens.size).toBe(1000);
  });

  it('produces tokens that its own shape check accepts', () => {
    for (let i = 0; i < 100; i++) expect(looksLikeSessionToken(newSessionToken())).toBe(true);
  });
});

describe('looksLikeSessionToken', () => {
  // A user key, a dot, 43 chars of the base64url alphabet
  const valid = `${UID}.${'A'.repeat(20)}-_${'z9'.repeat(10)}q`;

  it('accepts a 22-character key, a dot and a 43-character secret of base64url, including - and _', () => {
    expect(valid).toHaveLength(66);
    expect(looksLikeSessionToken(valid)).toBe(true);
  });

  it.each([
    ['the old guessable format', 'token_123'],
    ['an empty string', ''],
    ['the previous 43-character format (no user key)', valid.slice(23)],
    ['65 characters', valid.slice(0, 65)],
    ['67 characters', valid + 'A'],
    ['no dot', valid.replace('.', 'A')],
    ['a 21-character key', valid.slice(1)],
    ['standard-base64 "+"', '+' + valid.slice(1)],
    ['standard-base64 "/"', valid.slice(0, 65) + '/'],
    ['base64 padding "="', valid.slice(0, 65) + '='],
    ['a space inside', valid.slice(0, 40) + ' ' + valid.slice(41)],
    ['a trailing newline', valid.slice(0, 65) + '\n'],
    ['a non-ASCII letter', 'é' + valid.slice(1)],
    ['a Bearer prefix', 'Bearer ' + valid],
  ])('rejects %s', (_label, token) => {
    expect(looksLikeSessionToken(token)).toBe(false);
  });
});

describe('hashSessionToken', () => {
  it('is deterministic for the same token', () => {
    const token = newSessionToken();
    expect(hashSessionToken(token)).toBe(hashSessionToken(token));
  });

  it('is the SHA-256 of the token, base64url-encoded (independently computed)', () => {
    const token = newSessionToken();
    expect(hashSessionToken(token)).toBe(sha256Base64url(token));
  });

  it('matches a fixed SHA-256 vector, so stored session keys stay valid across releases', () => {
    // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    const expected = Buffer.from('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'hex').toString('base64url');
    expect(hashSessionToken('abc')).toBe(expected);
  });

  it('never equals the token itself, so the table does not store usable tokens', () => {
    const token = newSessionToken();
    const hash = hashSessionToken(token);
    expect(hash).not.toBe(token);
    expect(hash).not.toContain(token);
  });

  it('gives different hashes for different tokens', () => {
    expect(hashSessionToken(newSessionToken())).not.toBe(hashSessionToken(newSessionToken()));
  });
});

describe('userId and sessionRef', () => {
  it('derives a 22-character key from the app and the openid: the same person in two apps is two users', () => {
    expect(userId('wx1234567890abcdef', 'o-user')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(userId('wx1234567890abcdef', 'o-user')).toBe(UID);
    expect(userId('wxfedcba0987654321', 'o-user')).not.toBe(UID);
    expect(userId('wx1234567890abcdef', 'o-other')).not.toBe(UID);
  });

  it("names the token's user and the hash of the whole token; junk names nothing", () => {
    const token = newSessionToken();
    expect(sessionRef(token)).toEqual({ uid: UID, tokenHash: sha256Base64url(token) });
    expect(sessionRef('junk')).toBeUndefined();
  });
});
