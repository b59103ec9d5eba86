import { hashSessionToken, newSessionToken } from '#lib/auth/token';
import { epochSeconds, type LoginDeps } from '#lib/deps';

export interface LoginReply {
  token: string;
  expires_in: number;
}

/**
 * wx.login() code -> WeChat session -> our session. The session and, for a
 * first login, the user are written in one transaction, so a failure leaves
 * nothing behind; only the token's hash is stored.
 */
export async function login(deps: LoginDeps, code: string): Promise<LoginReply> {
  const wechat = await deps.code2Session(code);
  const token = newSessionToken();
  const createdAt = epochSeconds(deps);
  const ttl = deps.config.sessionTtlSeconds;
  await deps.store.createSession(
    { tokenHash: hashSessionToken(token), ...wechat, createdAt, expiresAt: createdAt + ttl },
    deps.config.initialCredit,
  );
  return { token, expires_in: ttl };
}
