import { AppError } from '#lib/platform/errors';
import { type Clock, epochSeconds, pollUntil } from '#lib/platform/time';
import type { AccessTokenStore, CachedAccessToken } from '#lib/store/access-tokens';
import { callWeChat, type WeChatAnswer, type WeChatHttpOptions, withBusyRetry } from '#lib/wechat/api';
import { ERRCODE, weChatError } from '#lib/wechat/errcodes';

export interface AccessTokenOptions extends WeChatHttpOptions {
  appId: string;
  /** Resolved only when this instance has to refresh: most instances never need the AppSecret. */
  secret: () => Promise<string>;
  cache: AccessTokenStore;
  now: Clock;
  /** Refresh this long before WeChat's expires_in runs out. */
  refreshMarginSeconds?: number;
  /** How long an instance may hold the refresh lease. */
  leaseSeconds?: number;
  /** How long an instance without a usable token waits for another one's refresh. */
  waitMs?: number;
}

export interface AccessTokens {
  /** A valid access_token: from memory, the shared cache, or a refresh. */
  get(): Promise<string>;
  /**
   * Calls a WeChat API with the token; on 40001/42001 (token refused), expires
   * that token (only if it is still the cached one), gets a fresh one and calls once more.
   */
  call(api: (accessToken: string) => Promise<WeChatAnswer>): Promise<WeChatAnswer>;
}

/** WeChat's "access_token invalid" and "access_token expired". */
export const TOKEN_REFUSED: ReadonlySet<number> = new Set([ERRCODE.ACCESS_TOKEN_INVALID, ERRCODE.ACCESS_TOKEN_EXPIRED]);
const POLL_INTERVAL_MS = 100;

const noToken = (detail: Record<string, unknown>) =>
  new AppError('WECHAT_BUSY', 'Could not get an access token from WeChat: retry in a moment', { api: 'stable_token', ...detail });

/**
 * WeChat's access_token, shared by every Lambda instance through DynamoDB.
 * Fetched with cgi-bin/stable_token, whose normal mode is idempotent, so two
 * instances that refresh at once cannot invalidate each other's token.
 */
export function createAccessTokens(options: AccessTokenOptions): AccessTokens {
  const margin = options.refreshMarginSeconds ?? 300;
  const leaseSeconds = options.leaseSeconds ?? Math.ceil(options.timeoutMs / 1000) + 2;
  const waitMs = options.waitMs ?? options.timeoutMs + 1000;
  const seconds = () => epochSeconds(options.now);
  let memory: CachedAccessToken | undefined;
  const remember = (token: CachedAccessToken): string => {
    memory = token;
    return token.accessToken;
  };

  const fetchStableToken = async (forceRefresh: boolean): Promise<CachedAccessToken> => {
    const secret = await options.secret();
    const answer = await withBusyRetry(options, () =>
      callWeChat(
        options,
        '/cgi-bin/stable_token',
        { query: {}, json: { grant_type: 'client_credential', appid: options.appId, secret, force_refresh: forceRefresh } },
        'retry in a moment',
      ),
    );
    if (answer.errcode !== 0) throw weChatError('stable_token', answer);
    const { access_token: accessToken, expires_in: expiresIn } = answer.body;
    if (typeof accessToken !== 'string' || typeof expiresIn !== 'number') throw weChatError('stable_token', answer);
    const now = seconds();
    return { accessToken, expiresAt: now + expiresIn, refreshAt: now + Math.max(expiresIn - margin, 0) };
  };

  const refresh = async (leaseId: string): Promise<string> => {
    let held = true;
    try {
      // Another instance may have refreshed between our read and our lease (saving frees the lease).
      const latest = await options.cache.read();
      if (latest && seconds() < latest.refreshAt) return remember(latest);
      // Force a new token only when an API refused the cached one (expire() zeroed it).
      const fresh = await fetchStableToken(latest?.expiresAt === 0);
      const saved = await options.cache.save(fresh, leaseId);
      held = false; // given back by the save, or already someone else's
      if (saved) return remember(fresh);
      // The lease ran out and another instance took it: its token may have replaced ours, so the cache wins.
      const current = await options.cache.read();
      return current && seconds() < current.refreshAt ? remember(current) : fresh.accessToken;
    } finally {
      // Given back at once, so that the next request need not wait for the lease to run out.
      // A release that fails is harmless: the lease runs out by itself within leaseSeconds.
      if (held) await options.cache.releaseLease(leaseId).catch(() => undefined);
    }
  };

  const get = async (): Promise<string> => {
    const now = seconds();
    if (memory && now < memory.refreshAt) return memory.accessToken;
    const shared = await options.cache.read();
    if (shared && now < shared.refreshAt) return remember(shared);

    const leaseId = await options.cache.takeLease(now, now + leaseSeconds);
    if (leaseId) return refresh(leaseId);
    // Another instance is refreshing: the old token still works until it expires.
    if (shared && now < shared.expiresAt) return shared.accessToken;
    const refreshed = await pollUntil(waitMs, POLL_INTERVAL_MS, async () => {
      const latest = await options.cache.read();
      return latest && seconds() < latest.refreshAt ? latest : undefined;
    });
    if (refreshed) return remember(refreshed);
    throw noToken({ waited: waitMs });
  };

  return {
    get,
    async call(api) {
      const token = await get();
      const answer = await api(token);
      if (!TOKEN_REFUSED.has(answer.errcode)) return answer;
      memory = undefined;
      await options.cache.expire(token);
      return api(await get());
    },
  };
}
