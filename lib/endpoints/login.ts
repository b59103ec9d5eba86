import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { hashSessionToken, newSessionToken } from '#lib/auth/token';
import { remainingMs, withDeadline } from '#lib/platform/deadline';
import type { LoginDeps } from '#lib/platform/deps';
import { AppError } from '#lib/platform/errors';
import { epochSeconds, pollUntil } from '#lib/platform/time';
import type { ExchangedCode } from '#lib/store/login-codes';
import { busyRetryBoundMs } from '#lib/wechat/api';
import { oneTimeCode } from '#lib/wechat/code';
import type { WeChatSession } from '#lib/wechat/code2session';

export const LoginBody = v.object({ code: oneTimeCode('the code from wx.login()') });

export interface LoginReply {
  token: string;
  expires_in: number;
}

/** How long a retry of an exchanged code still gets a session (a client retry, a double tap). */
export const CODE_REPLAY_SECONDS = 60;
const POLL_INTERVAL_MS = 100;
/** Kept back from WeChat's share of a request's time, so that a failed exchange can still give its claim back. */
const CLEANUP_RESERVE_MS = 250;

/**
 * POST /login: wx.login() code -> WeChat session -> our session, idempotently: the first
 * request with a code claims it and asks WeChat; a retry within a minute, or a
 * request racing the first, gets a new session for the same user instead of
 * WeChat's 40163, and WeChat is asked once. Only hashes of codes are stored.
 */
export async function login(deps: LoginDeps, { code }: v.InferOutput<typeof LoginBody>): Promise<LoginReply> {
  const codeHash = createHash('sha256').update(code, 'utf8').digest('base64url');
  const exchangeBoundMs = busyRetryBoundMs({ timeoutMs: deps.config.wechatTimeoutMs });
  // A claim outlives its exchange by a second at most: one left by a request that died is soon free.
  const pendingSeconds = Math.ceil(exchangeBoundMs / 1000) + 1;

  for (let round = 1; ; round++) {
    const now = epochSeconds(deps.now);
    const claim = await deps.loginCodes.claim(codeHash, now, now + pendingSeconds);
    if (claim.claimed) return exchange(deps, code, codeHash, claim.claimId);
    if (claim.current.state === 'spent') throw spentCode('spent');
    if (claim.current.state === 'done') return startSession(deps, claim.current);

    // Another request is exchanging this code right now: wait (bounded) for its answer.
    const settled = await waitForExchange(deps, codeHash, pendingSeconds * 1000 + 1000);
    if (settled) return startSession(deps, settled);
    // Its claim was released (its exchange failed) or went stale (it died): take the code over, once.
    if (round === 2) {
      throw new AppError('CODE_ALREADY_USED', 'This login code is already being used: get a fresh one from wx.login()', {
        replay: 'stalled',
      });
    }
  }
}

/** Ours to exchange: ask WeChat, keep the session, and leave the claim in a state a retry understands. */
async function exchange(deps: LoginDeps, code: string, codeHash: string, claimId: string): Promise<LoginReply> {
  let wechat: WeChatSession;
  try {
    wechat = await withDeadline(Math.max(0, remainingMs() - CLEANUP_RESERVE_MS), () => deps.code2Session(code));
  } catch (err) {
    // Let a retry ask WeChat again (it may well answer differently after a timeout).
    await deps.loginCodes.release(codeHash, claimId).catch(() => undefined);
    throw err;
  }
  try {
    return await startSession(deps, wechat, { codeHash, replayUntil: epochSeconds(deps.now) + CODE_REPLAY_SECONDS });
  } catch (err) {
    // WeChat took the code but we could not keep the session: a retry is refused at once, not after a wait.
    await deps.loginCodes.spend(codeHash, claimId).catch(() => undefined);
    throw err;
  }
}

/** A new session, and the user if new, in one transaction; only the token's hash is stored. */
async function startSession(deps: LoginDeps, wechat: WeChatSession, exchanged?: ExchangedCode): Promise<LoginReply> {
  const token = newSessionToken();
  const createdAt = epochSeconds(deps.now);
  const ttl = deps.config.sessionTtlSeconds;
  const session = { tokenHash: hashSessionToken(token), openid: wechat.openid, sessionKey: wechat.sessionKey, createdAt, expiresAt: createdAt + ttl };
  if (wechat.unionid) Object.assign(session, { unionid: wechat.unionid });
  await deps.sessions.create(session, deps.config.initialCredit, exchanged);
  return { token, expires_in: ttl };
}

/**
 * Polls another request's claim until it is done (its WeChat answer) or spent (refused),
 * or until it is gone or stale (undefined: the caller may take the code over).
 */
async function waitForExchange(deps: LoginDeps, codeHash: string, waitMs: number): Promise<WeChatSession | undefined> {
  const outcome = await pollUntil(waitMs, POLL_INTERVAL_MS, async () => {
    const record = await deps.loginCodes.find(codeHash, epochSeconds(deps.now));
    // Gone (released or stale) ends the wait as much as done does.
    if (!record) return { session: undefined };
    if (record.state === 'spent') throw spentCode('spent');
    return record.state === 'done' ? { session: record } : undefined;
  });
  return outcome?.session;
}

const spentCode = (replay: string) =>
  new AppError('CODE_ALREADY_USED', 'This login code was used but the login could not be completed: get a fresh one from wx.login()', {
    replay,
  });
