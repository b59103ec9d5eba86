import { AppError } from '#lib/kernel/errors';
import { type Clock, epochSeconds, pollUntil } from '#lib/kernel/time';
import {
  type AccessTokenStore,
  type CachedAccessToken,
  type CachedAccessTokenState,
  type ForcedRefreshes,
  renewalOf,
} from '#lib/wechat/access-token-store';
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
   * Calls a WeChat API with the token; on 40001/42001 (token refused), marks that token refused (only if it
   * is still the cached one), asks WeChat for its current token (normal mode; forced only if that is the
   * refused one) and calls once more with it. Never a merely different cached copy: another holder of the
   * AppSecret may have replaced that one too.
   */
  call(api: (accessToken: string) => Promise<WeChatAnswer>): Promise<WeChatAnswer>;
}

/** WeChat's "access_token invalid" and "access_token expired". */
export const TOKEN_REFUSED: ReadonlySet<number> = new Set([ERRCODE.ACCESS_TOKEN_INVALID, ERRCODE.ACCESS_TOKEN_EXPIRED]);
const POLL_INTERVAL_MS = 100;

/** WeChat's limits on stable_token's force_refresh: 20 a day, at least 30 s apart (closer calls do not refresh). */
const FORCE_REFRESH_LIMITS = { perDay: 20, spacingSeconds: 30 } as const;
/** WeChat's daily quotas restart at midnight Beijing time (UTC+8). */
const weChatDay = (epochSeconds: number) => Math.floor((epochSeconds + 8 * 3600) / 86_400);

const noToken = (detail: Record<string, unknown>) =>
  new AppError('WECHAT_BUSY', 'Could not get an access token from WeChat: retry in a moment', { api: 'stable_token', ...detail });

/** The next force_refresh, if WeChat's limits allow one now; else why not. */
function nextForce(previous: ForcedRefreshes | undefined, now: number): ForcedRefreshes | string {
  const day = weChatDay(now);
  if (!previous) return { lastAt: now, day, count: 1 };
  if (now - previous.lastAt < FORCE_REFRESH_LIMITS.spacingSeconds) return 'force_refresh less than 30 s after the last one';
  const count = previous.day === day ? previous.count + 1 : 1;
  if (count > FORCE_REFRESH_LIMITS.perDay) return 'force_refresh daily limit reached';
  return { lastAt: now, day, count };
}

/**
 * WeChat's access_token, shared by every Lambda instance through DynamoDB.
 * Fetched with cgi-bin/stable_token, whose normal mode is idempotent, so two
 * instances that refresh at once cannot invalidate each other's token. After
 * a refusal, normal mode is still asked first: it hands out WeChat's current
 * token, which another holder of the AppSecret may just have force-refreshed.
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
    const fetchedAtMs = options.now();
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
    return { accessToken, expiresAt: now + expiresIn, refreshAt: now + Math.max(expiresIn - margin, 0), fetchedAtMs };
  };

  /** With the lease: a token from normal mode, forced only if that is the very token an API refused. */
  const refreshWithLease = async (
    leaseId: string,
    latest: CachedAccessTokenState | undefined,
    refused: string | undefined,
  ): Promise<CachedAccessToken> => {
    const fresh = await fetchStableToken(false);
    if (refused === undefined || fresh.accessToken !== refused) return fresh;
    const force = nextForce(latest?.forced, seconds());
    if (typeof force === 'string') throw noToken({ reason: force });
    // Recorded before the call, so that a call whose answer is lost still counts.
    if (!(await options.cache.recordForce(leaseId, force))) throw noToken({ reason: 'refresh lease lost' });
    const forced = await fetchStableToken(true);
    if (forced.accessToken === refused) throw noToken({ reason: 'force_refresh returned the refused token' });
    return forced;
  };

  /**
   * With the lease. A routine refresh (`refusedNow` absent) takes a token another instance saved meanwhile; a
   * refresh after a refusal always asks WeChat: a cached token, however new, may have been replaced as well.
   */
  /** A token another instance fetched from WeChat, after `calledAtMs`, to replace `refused`: what a refused call may take. */
  const isRenewal = (token: CachedAccessTokenState | undefined, refused: string, calledAtMs: number): token is CachedAccessTokenState =>
    token !== undefined &&
    token.renews === renewalOf(refused) &&
    (token.fetchedAtMs ?? 0) >= calledAtMs &&
    token.accessToken !== refused &&
    seconds() < token.refreshAt;

  const refresh = async (leaseId: string, refusedNow?: { token: string; calledAtMs: number }): Promise<string> => {
    let held = true;
    try {
      // Another instance may have refreshed between our read and our lease (saving frees the lease).
      const latest = await options.cache.read();
      if (refusedNow === undefined && latest && seconds() < latest.refreshAt) return remember(latest);
      // Renewed by another instance between our read and our lease: WeChat was asked after our call, once is enough.
      if (refusedNow && isRenewal(latest, refusedNow.token, refusedNow.calledAtMs)) return remember(latest);
      const refused = refusedNow?.token ?? (latest?.expiresAt === 0 ? latest.accessToken : undefined);
      const fresh = await refreshWithLease(leaseId, latest, refused);
      // Marked as the renewal of a refused token (ours, or one another instance expired), for the instances it refused too.
      const saved = await options.cache.save(refused ? { ...fresh, renews: renewalOf(refused) } : fresh, leaseId);
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
    const refreshed = await pollUntil(
      waitMs,
      POLL_INTERVAL_MS,
      async () => {
        const latest = await options.cache.read();
        return latest && seconds() < latest.refreshAt ? latest : undefined;
      },
      options.waits,
    );
    if (refreshed) return remember(refreshed);
    throw noToken({ waited: waitMs });
  };

  /**
   * After WeChat refused `refused`: a token WeChat handed out after that refusal, never merely a different cached
   * one (another holder of the AppSecret may have replaced that too). With the lease, it asks WeChat (a refresh,
   * saved for the other instances, marked as the renewal of `refused`). Without it, it waits for the lease
   * holder's renewal of the same refused token, or for the lease: however many instances saw one token refused,
   * WeChat is asked once.
   */
  const renew = async (refused: string, calledAtMs: number): Promise<string> => {
    const renewed = await pollUntil(
      waitMs,
      POLL_INTERVAL_MS,
      async () => {
        // Another instance whose call with the same token was refused may have renewed it: taken only if WeChat handed
        // it out after this call was made (an older renewal of that token may have been replaced since, as well).
        const latest = await options.cache.read();
        if (isRenewal(latest, refused, calledAtMs)) return { token: remember(latest) };
        const now = seconds();
        const leaseId = await options.cache.takeLease(now, now + leaseSeconds);
        return leaseId ? { token: await refresh(leaseId, { token: refused, calledAtMs }) } : undefined;
      },
      options.waits,
    );
    if (renewed) return renewed.token;
    // The lease holder saved nothing in time: normal mode, for this call only (it changes nothing at WeChat).
    const fetched = await fetchStableToken(false);
    if (fetched.accessToken !== refused) return remember(fetched);
    throw noToken({ reason: 'the refused token is still handed out; another instance holds the refresh lease', waited: waitMs });
  };

  return {
    get,
    async call(api) {
      const token = await get();
      const calledAtMs = options.now();
      const answer = await api(token);
      if (!TOKEN_REFUSED.has(answer.errcode)) return answer;
      memory = undefined;
      // Compare-and-expire: the other instances stop using it; the retry itself never takes a cached copy.
      await options.cache.expire(token);
      return api(await renew(token, calledAtMs));
    },
  };
}
