import { describe, expect, it } from 'vitest';
import { sessionKeySignature } from '#lib/wechat/session-check';

describe('sessionKeySignature (hmac_sha256 for wxa/checksession)', () => {
  it("matches WeChat's published sample: the session_key string as UTF-8 bytes is the key", () => {
    expect(sessionKeySignature('o0q0otL8aEzpcZL/FT9WsQ==', '{"foo":"bar"}')).toBe('654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b');
  });

  it('signs the empty message by default, as checksession wants', () => {
    expect(sessionKeySignature('o0q0otL8aEzpcZL/FT9WsQ==')).toBe(sessionKeySignature('o0q0otL8aEzpcZL/FT9WsQ==', ''));
    expect(sessionKeySignature('o0q0otL8aEzpcZL/FT9WsQ==')).not.toBe(sessionKeySignature('HyVFkGl5F5OQWJZZaNzBBg=='));
  });
});
