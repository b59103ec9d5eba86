import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { type App, appIdField } from '#lib/apps/registry';
import { SSM_TIMEOUT_MS } from '#lib/aws/ssm';
import { remainingMs, withDeadline } from '#lib/kernel/deadline';
import { AppError } from '#lib/kernel/errors';
import { withLogFields } from '#lib/kernel/log';
import { epochSeconds, pollUntil } from '#lib/kernel/time';
import type { LoginDeps } from '#lib/session/deps';
import type { LoginCode } from '#lib/session/login-codes';
import type { NewUserStart, SessionSource } from '#lib/session/session-store';
import { hashSessionToken, newSessionToken, userId } from '#lib/session/token';
import { busyRetryBoundMs } from '#lib/wechat/api';
import { oneTimeCode } from '#lib/wechat/code';
import type { WeChatSession } from '#lib/wechat/code2session';

export const LoginBody = v.object({
  code: oneTimeCode('the code from wx.login()'),
  /** Which mini-program the code is from; without it, X-WX-AppId, then the Referer wx.request sends, then the default app. */
  appid: v.optional(appIdField('appid')),
});

/** What else a login request says about its app. */
export interface LoginHints {
  /** The X-WX-AppId header. */
  header?: string | undefined;
  /** wx.request's Referer, https://servicewechat.com/<appid>/<version>/page-frame.html: a fallback, never proof. */
  referer?: string | undefined;
  /** The client's IP (API Gateway's requestContext.http.sourceIp), for WeChat's risk check of a new user. */
  clientIp?: string | undefined;
}

const REFERER = /^https:\/\/servicewechat\.com\/(wx[0-9a-f]{16})\//i;

/**
 * The app a login names: body, header, Referer, or the default. Naming is no proof: the code is
 * exchanged with that app's AppSecret, so a code from another app fails at WeChat (40029).
 */
export async function appOfLogin(deps: LoginDeps, appId: string | undefined, hints: LoginHints = {}): Promise<App> {
  const header = hints.header?.trim() || undefined;
  if (header !== undefined && !v.is(appIdField('X-WX-AppId'), header)) {
    throw new AppError('INVALID_REQUEST', 'X-WX-AppId must be a mini-program AppID: wx and 16 hex digits');
  }
  if (appId !== undefined && header !== undefined && appId !== header) {
    throw new AppError('INVALID_REQUEST', "The body's appid and the X-WX-AppId header name different mini-programs: send one");
  }
  const named = appId ?? header ?? REFERER.exec(hints.referer ?? '')?.[1] ?? deps.apps.defaultAppId;
  const app = await deps.apps.find(named);
  if (!app) throw new AppError('UNKNOWN_APP', 'This mini-program (appid) is not registered with this deployment');
  return app;
}

export interface LoginReply {
  token: string;
  expires_in: number;
}

/**
 * The longest one exchange waits: a fresh instance's AppSecret read (SSM), then
 * WeChat with its one busy retry. A claim and the replay window are sized from it.
 */
export const exchangeBoundMs = (config: { wechatTimeoutMs: number }): number =>
  SSM_TIMEOUT_MS + busyRetryBoundMs({ timeoutMs: config.wechatTimeoutMs });
/** What a claim adds to the exchange: the claim's write and the login transaction at DynamoDB's usual speed, and clock skew. */
const CLAIM_SLACK_MS = 1000;
/**
 * A claim covers its exchange, a new user's risk check (SIGNUP_RISK_TIMEOUT_MS, before the login transaction)
 * and the slack, and no more, so one left by a request that died is soon free.
 */
export const claimLifetimeMs = (config: { wechatTimeoutMs: number; signupRisk: { timeoutMs: number } }): number =>
  exchangeBoundMs(config) + config.signupRisk.timeoutMs + CLAIM_SLACK_MS;
/**
 * How long after a login its code still gets a session: a double tap or a retry after a lost
 * reply comes within an exchange's time, not a minute. A stolen code is good for no longer.
 */
export const codeReplaySeconds = (config: { wechatTimeoutMs: number }): number => Math.ceil(exchangeBoundMs(config) / 1000) + 2;
/** Sessions a code gives beyond its first: a double tap and one retry after a lost reply. */
export const CODE_MAX_REPLAYS = 2;
const POLL_INTERVAL_MS = 100;
/** Kept back from WeChat's share of a request's time, so that a failed exchange can still give its claim back. */
const CLEANUP_RESERVE_MS = 250;

/** The whole second (epoch) at which `ms` from now have passed, rounded up: a record live until then lives at least that long. */
const secondsAfter = (nowMs: number, ms: number): number => Math.ceil((nowMs + ms) / 1000);

/**
 * POST /login: wx.login() code -> WeChat session -> our session, idempotently: the first
 * request with a code claims it and asks WeChat; a retry within the replay window, or a
 * request racing the first, gets a new session for the same user instead of
 * WeChat's 40163 (two at most), and WeChat is asked once. Only hashes of codes are stored.
 */
export async function login(deps: LoginDeps, { code, appid }: v.InferOutput<typeof LoginBody>, hints: LoginHints = {}): Promise<LoginReply> {
  const app = await appOfLogin(deps, appid, hints);
  // Per app: the same code string in two apps is two codes.
  const codeHash = createHash('sha256').update(`${app.appId}\n${code}`, 'utf8').digest('base64url');
  const lifetimeMs = claimLifetimeMs(deps.config);

  for (let round = 1; ; round++) {
    const nowMs = deps.now();
    const claim = await deps.loginCodes.claim(codeHash, Math.floor(nowMs / 1000), secondsAfter(nowMs, lifetimeMs));
    if (claim.claimed) return exchange(deps, app, code, codeHash, claim.claimId, hints.clientIp);
    if (claim.current.state === 'spent') throw spentCode('spent');
    if (claim.current.state === 'done') return replay(deps, app, codeHash, claim.current);

    // Another request is exchanging this code right now: wait (bounded) for its answer.
    const settled = await waitForExchange(deps, codeHash, lifetimeMs + 2000);
    if (settled) return replay(deps, app, codeHash, settled);
    // Its claim was released (its exchange failed) or went stale (it died): take the code over, once.
    if (round === 2) {
      throw new AppError('CODE_ALREADY_USED', 'This login code is already being used: get a fresh one from wx.login()', {
        replay: 'stalled',
      });
    }
  }
}

/** Ours to exchange: ask WeChat, keep the session, and leave the claim in a state a retry understands. */
async function exchange(
  deps: LoginDeps,
  app: App,
  code: string,
  codeHash: string,
  claimId: string,
  clientIp: string | undefined,
): Promise<LoginReply> {
  let wechat: WeChatSession;
  try {
    wechat = await withDeadline(Math.max(0, remainingMs() - CLEANUP_RESERVE_MS), () => deps.code2Session(app, code));
  } catch (err) {
    // Let a retry ask WeChat again (it may well answer differently after a timeout).
    await deps.loginCodes.release(codeHash, claimId).catch(() => undefined);
    throw err;
  }
  try {
    const nowMs = deps.now();
    const exchanged = { codeHash, replayUntil: secondsAfter(nowMs, codeReplaySeconds(deps.config) * 1000), exchangedAtMs: nowMs };
    const { reply } = await startSession(deps, app, wechat, { exchanged }, clientIp);
    return reply;
  } catch (err) {
    // WeChat took the code but we could not keep the session: a retry is refused at once, not after a wait.
    await deps.loginCodes.spend(codeHash, claimId).catch(() => undefined);
    throw err;
  }
}

/** Another session from a code exchanged already, within its window and cap, unless the user has logged out everywhere since. */
async function replay(deps: LoginDeps, app: App, codeHash: string, done: DoneCode): Promise<LoginReply> {
  const replayed = { codeHash, exchangedAtMs: done.exchangedAtMs, maxReplays: CODE_MAX_REPLAYS };
  const { reply, outcome } = await startSession(deps, app, done, { replayed }, undefined);
  if (outcome === 'created') return withLogFields(reply, { replay: 'served' });
  // The record was live when read: past its end now, it expired under us; otherwise its cap was reached.
  const why = outcome === 'logged out everywhere' ? 'revoked' : epochSeconds(deps.now) >= done.expiresAt ? 'expired' : 'capped';
  throw new AppError('CODE_ALREADY_USED', 'This login code was already used: get a fresh one from wx.login()', { replay: why });
}

/**
 * A new session, and the user if new (with its sign-up grant, decided by WeChat's risk check), in one
 * transaction; only the token's hash is stored.
 */
async function startSession(deps: LoginDeps, app: App, wechat: WeChatSession, source: SessionSource, clientIp: string | undefined) {
  const uid = userId(app.appId, wechat.openid);
  const token = newSessionToken(uid);
  const createdAt = epochSeconds(deps.now);
  const ttl = deps.config.sessionTtlSeconds;
  const session = {
    uid,
    appid: app.appId,
    tokenHash: hashSessionToken(token),
    openid: wechat.openid,
    sessionKey: wechat.sessionKey,
    createdAt,
    expiresAt: createdAt + ttl,
  };
  if (wechat.unionid) Object.assign(session, { unionid: wechat.unionid });
  let start: NewUserStart | undefined;
  const outcome = await deps.sessions.create(session, source, async () => {
    start = await deps.startNewUser({ uid, appid: app.appId, openid: wechat.openid, clientIp, createdAtMs: createdAt * 1000 });
    return start;
  });
  const reply: LoginReply = { token, expires_in: ttl };
  return { reply: start?.logFields ? withLogFields(reply, start.logFields) : reply, outcome };
}

/**
 * Polls another request's claim until it is done (its WeChat answer) or spent (refused),
 * or until it is gone or stale (undefined: the caller may take the code over).
 */
async function waitForExchange(deps: LoginDeps, codeHash: string, waitMs: number): Promise<DoneCode | undefined> {
  const outcome = await pollUntil(
    waitMs,
    POLL_INTERVAL_MS,
    async () => {
      const record = await deps.loginCodes.find(codeHash, epochSeconds(deps.now));
      // Gone (released or stale) ends the wait as much as done does.
      if (!record) return { session: undefined };
      if (record.state === 'spent') throw spentCode('spent');
      return record.state === 'done' ? { session: record } : undefined;
    },
    deps.waits,
  );
  return outcome?.session;
}

type DoneCode = Extract<LoginCode, { state: 'done' }>;

const spentCode = (why: string) =>
  new AppError('CODE_ALREADY_USED', 'This login code was used but the login could not be completed: get a fresh one from wx.login()', {
    replay: why,
  });
