import type { WxLike } from './wx';

/** What is kept in storage: the session token and when it expires (ms since the epoch). Nothing else. */
interface Saved {
  token: string;
  expiresAt: number;
}

const isSaved = (value: unknown): value is Saved =>
  typeof value === 'object' && value !== null && typeof (value as Saved).token === 'string' && typeof (value as Saved).expiresAt === 'number';

export interface TokenStore {
  /** The token while it lives (by the client's clock), else undefined. */
  current(): string | undefined;
  save(token: string, expiresInSeconds: number): void;
  /** Forgets the token; with `token`, only if it is still the one kept (another call may have logged in since). */
  forget(token?: string): void;
}

/**
 * The token in storage, read once and then kept in memory. Storage that fails
 * (full, unavailable) costs a login on the next start, never a failed request.
 */
export function tokenStore(wx: WxLike, key: string, now: () => number): TokenStore {
  let saved: Saved | undefined;
  let loaded = false;
  const read = (): Saved | undefined => {
    if (!loaded) {
      loaded = true;
      try {
        const value = wx.getStorageSync(key);
        saved = isSaved(value) ? value : undefined;
      } catch {
        saved = undefined;
      }
    }
    return saved;
  };
  const forget = (token?: string) => {
    const kept = read();
    if (!kept || (token !== undefined && kept.token !== token)) return;
    saved = undefined;
    try {
      wx.removeStorageSync(key);
    } catch {
      // Nothing to do: the token is gone from memory, and the server will refuse it anyway.
    }
  };
  return {
    current() {
      const kept = read();
      if (kept && kept.expiresAt > now()) return kept.token;
      forget();
      return undefined;
    },
    save(token, expiresInSeconds) {
      saved = { token, expiresAt: now() + expiresInSeconds * 1000 };
      loaded = true;
      try {
        wx.setStorageSync(key, saved);
      } catch {
        // Kept in memory for this run; the next start logs in again.
      }
    },
    forget,
  };
}
