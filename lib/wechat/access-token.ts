import { AppError } from '#lib/errors';
import type { AccessTokenCache, CachedAccessToken } from '#lib/store/access-token-cache';
import { callWeChat, type WeChatAnswer, type WeChatHttpOptions } from '#lib/wechat/http';

export interface AccessTokenOptions extends WeChatHttpOptions {
  appId: string;
  /** Resolved only when this instance has to refresh: most instances never need the AppSecret. */
  secret: () => Promise<string>;
  cache: AccessTokenCache;
  /** Milliseconds since the epoch. */
  now: () => number;
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
export const TOKEN_REFUSED = new Set([40001, 42001]);

/**
 * WeChat's access_token, shared by every Lambda instance through DynamoDB.
 * Fetched with cgi-bin/stable_token, whose normal mode is idempotent, so two
 * instances that refresh at once cannot invalidate each other's token.
 */
export function createAccessTokens(options: AccessTokenOptions): AccessTokens {
  const margin = options.refreshMarginSeconds ?? 300;
  const leaseSeconds = options.leaseSeconds ?? Math.ceil(options.timeoutMs / 1000) + 2;
  const waitMs = options.waitMs ?? options.timeoutMs + 1000;
  const seconds = () => Math.floor(options.now() / 1000);
  let memory: CachedAccessToken | undefined;

  const fetchStableToken = async (forceRefresh: boolean): Promise<CachedAccessToken> => {
    const answer = await callWeChat(
      options,
      '/cgi-bin/stable_token',
      {
        query: {},
        json: { grant_type: 'client_credential', appid: options.appId, secret: await options.secret(), force_refresh: forceRefresh },
      },
      'retry in a moment',
    );
    const { access_token: accessToken, expires_in: expiresIn } = answer.body;
    if (answer.errcode !== 0 || typeof accessToken !== 'string' || typeof expiresIn !== 'number') {
      throw new AppError('WECHAT_BUSY', 'Could not get an access token from WeChat: retry in a moment', {
        errcode: answer.errcode,
        rid: answer.rid,
        api: 'stable_token',
      });
    }
    const now = seconds();
    return { accessToken, expiresAt: now + expiresIn, refreshAt: now + Math.max(expiresIn - margin, 0) };
  };

  const get = async (): Promise<string> => {
    const now = seconds();
    if (memory && now < memory.refreshAt) return memory.accessToken;
    const shared = await options.cache.read();
    if (shared && now < shared.refreshAt) return (memory = shared).accessToken;

    if (await options.cache.takeLease(now, now + leaseSeconds)) {
      // Another instance may have refreshed between our read and our lease (saving frees the lease).
      const latest = await options.cache.read();
      if (latest && now < latest.refreshAt) return (memory = latest).accessToken;
      // Force a new token only when an API refused the cached one (expire() zeroed it).
      const fresh = await fetchStableToken(latest?.expiresAt === 0);
      await options.cache.save(fresh);
      return (memory = fresh).accessToken;
    }
    // Another instance is refreshing: the old token still works until it expires.
    if (shared && now < shared.expiresAt) return shared.accessToken;
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const refreshed = await options.cache.read();
      if (refreshed && seconds() < refreshed.refreshAt) return (memory = refreshed).accessToken;
    }
    throw new AppError('WECHAT_BUSY', 'Could not get an access token from WeChat: retry in a moment', { api: 'stable_token', waited: waitMs });
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
