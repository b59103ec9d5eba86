import { ApiError } from './api-error';
import { ROUTES } from './routes';
import { tokenStore } from './token-store';
import { globalWx, type HttpMethod, type WxLike, wxLogin, wxRequest, wxUpload } from './wx';

export interface ClientOptions {
  /** The API's root, e.g. `https://api.example.com` (a domain listed in the mini-program's console). */
  baseUrl: string;
  /**
   * The mini-program's AppID, for a backend that serves several: sent with `/login`
   * as `appid`, and part of the storage key. A backend with one app ignores it.
   */
  appid?: string;
  /** Defaults to the global `wx`. Taro: `Taro`; uni-app: `uni`. */
  wx?: WxLike;
  /** Where the token is kept; defaults to `wechat-login:token` (plus `:<appid>`). */
  storageKey?: string;
  /** The clock (ms since the epoch) that token expiry is measured with; for tests. */
  now?: () => number;
}

export interface RequestOptions {
  method?: HttpMethod;
  data?: Record<string, unknown> | string;
  /** Send the session token (logging in first if there is none) and log in again once on a 401. Default true. */
  auth?: boolean;
}

export interface LoginReply {
  token: string;
  expires_in: number;
}
export interface CheckLoginReply {
  is_login: boolean;
  /** Only with `verify`, for a live session: whether WeChat still accepts its session_key. */
  session_key_valid?: boolean;
}
export interface CreditReply {
  credit: number;
}
/** What `wx.getUserInfo()` / `wx.getUserProfile()` hand the mini-program; only these four fields are sent. */
export interface UserData {
  encryptedData: string;
  iv: string;
  rawData?: string;
  signature?: string;
}
export interface UserInfoReply {
  pass: boolean;
  userInfo?: Record<string, unknown>;
}
export interface PhoneNumberReply {
  phoneNumber: string;
  purePhoneNumber: string;
  countryCode: string;
}
/** One move of the user's credit, as the history shows it. */
export interface CreditEntry {
  id: string;
  /** Positive earned, negative spent. */
  amount: number;
  /** The balance after it. */
  balance: number;
  reason: string;
  /** ISO 8601, UTC. */
  at: string;
}
export interface SpendReply {
  credit: number;
  entry: CreditEntry;
}
/** One intended spend: the same `key` for every attempt of it, so that however often it is sent it is spent once. */
export interface SpendOptions {
  /** Whole points, 1 to 1,000,000. */
  amount: number;
  /**
   * The idempotency key (8-64 of A-Z a-z 0-9 _ -), required: derive it from what is bought (an order id,
   * `coupon-<id>`), never per call or per tap. A retry after NETWORK or a 5xx, a second tap, the same purchase
   * after an app restart: each sends the same key and gets the first reply, spent once. Another purchase needs
   * another key; the same key with another amount or reason is 409 IDEMPOTENCY_KEY_REUSED.
   */
  key: string;
  /** Shown in the history (at most 64 characters). */
  reason?: string;
}
export interface CheckinReply {
  credit: number;
  /** 0 when already checked in today. */
  granted: number;
  streak: number;
  /** YYYY-MM-DD in the backend's check-in time zone. */
  day: string;
}
export interface HistoryReply {
  entries: CreditEntry[];
  /** Pass as `cursor` for the next (older) page; absent on the last. */
  next_cursor?: string;
}
/** GET /profile (and PUT /profile's reply). */
export interface ProfileReply {
  nickName?: string;
  /** Presigned, short-lived: for `<image src>` (its host must be in the downloadFile domains). */
  avatarUrl?: string;
  /** `known`: hide the getPhoneNumber button (each verification costs money). */
  phone: { known: boolean; masked?: string };
}
export interface AvatarReply {
  avatarUrl: string;
}
export interface LogoutReply {
  logged_out: boolean;
  sessions_revoked: number;
}

export interface Client {
  /** Any endpoint: resolves with the JSON body of a 200, rejects with an ApiError. */
  request<T = unknown>(path: string, options?: RequestOptions): Promise<T>;
  /** A fresh `wx.login()` + `POST /login` (one at a time: concurrent callers share it). */
  login(): Promise<LoginReply>;
  /** Whether the kept token is live; no request (and `false`) without one. Never logs in. */
  checkLogin(options?: { verify?: boolean }): Promise<CheckLoginReply>;
  credit(): Promise<CreditReply>;
  /**
   * Sends `wx.getUserInfo()`'s data. If the server answers SESSION_KEY_EXPIRED (a later
   * `wx.login()` rotated the key the data was encrypted with), the client logs in again
   * and rejects with that code: ask WeChat for the data again, then call this again.
   */
  userInfo(data: UserData): Promise<UserInfoReply>;
  /**
   * `e.detail.code` of `<button open-type="getPhoneNumber">`. A number known already is 409
   * PHONE_ALREADY_KNOWN (WeChat is not asked) unless `replace: true`.
   */
  phoneNumber(code: string, options?: { replace?: boolean }): Promise<PhoneNumberReply>;
  /** The nickname, the avatar's URL and whether the phone number is known. */
  getProfile(): Promise<ProfileReply>;
  /** The value of `<input type="nickname">`; WeChat's content check may refuse it (422 CONTENT_REJECTED). */
  setNickname(nickName: string): Promise<ProfileReply>;
  /** `e.detail.avatarUrl` of `<button open-type="chooseAvatar">` (a temporary file), sent with wx.uploadFile. */
  uploadAvatar(filePath: string): Promise<AvatarReply>;
  /** Forgets the token and ends its session (`all`: every session of the user). Never logs in. */
  logout(options?: { all?: boolean }): Promise<LogoutReply>;
  /**
   * Spends `amount` points once per `key` (409 INSUFFICIENT_CREDIT when there are not enough; nothing is spent).
   * Rejects with a TypeError, sending nothing, when `key` is missing or not 8-64 of A-Z a-z 0-9 _ -.
   */
  spend(options: SpendOptions): Promise<SpendReply>;
  /** Today's check-in; `granted` is 0 if the user checked in today already. */
  checkin(): Promise<CheckinReply>;
  /** The user's credit history, newest first. */
  history(options?: { limit?: number; cursor?: string }): Promise<HistoryReply>;
}

/** The server's idempotency key shape. */
const KEY = /^[\w-]{8,64}$/;

/** 401s that a new session cures; SESSION_KEY_EXPIRED is one too, but the data must be fetched again. */
const SESSION_REFUSED = ['SESSION_INVALID', 'UNAUTHENTICATED'];

const isRefused = (err: unknown): err is ApiError => err instanceof ApiError && SESSION_REFUSED.indexOf(err.code) >= 0;

/** Per call: the token it sends, and whether it has waited for a login (one login beyond its first, at most). */
interface Attempt {
  token: string;
  loggedIn: boolean;
}

export function createClient(options: ClientOptions): Client {
  const wx = options.wx || globalWx();
  if (!wx) throw new TypeError('createClient: no wx here; pass { wx } (Taro: Taro, uni-app: uni)');
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const tokens = tokenStore(wx, options.storageKey || 'wechat-login:token' + (options.appid ? ':' + options.appid : ''), options.now || Date.now);
  let loggingIn: Promise<LoginReply> | undefined;

  const send = (route: string, query: string, data: RequestOptions['data'], token?: string) => {
    const space = route.indexOf(' ');
    return wxRequest(wx, baseUrl + route.slice(space + 1) + query, route.slice(0, space) as HttpMethod, data, token);
  };

  /** The one login in flight, shared by every caller that needs a session meanwhile. */
  const logIn = (): Promise<LoginReply> => {
    if (!loggingIn) {
      const started = wxLogin(wx)
        .then((code) => send(ROUTES.login, '', options.appid ? { code, appid: options.appid } : { code }))
        .then((reply) => {
          const { token, expires_in } = reply as Partial<LoginReply>;
          if (typeof token !== 'string' || typeof expires_in !== 'number') {
            throw new ApiError(200, 'BAD_RESPONSE', '/login answered without token and expires_in');
          }
          tokens.save(token, expires_in);
          return { token, expires_in };
        });
      const done = () => {
        loggingIn = undefined;
      };
      started.then(done, done);
      loggingIn = started;
    }
    return loggingIn;
  };

  /** A token to send: the kept one, or a login's. */
  const begin = async (): Promise<Attempt> => {
    const kept = tokens.current();
    return kept ? { token: kept, loggedIn: false } : { token: (await logIn()).token, loggedIn: true };
  };

  /** After the attempt's token was refused: the token another call got since, or the shared login's. */
  const renew = async (attempt: Attempt): Promise<void> => {
    tokens.forget(attempt.token);
    const kept = tokens.current();
    attempt.token = kept || (await logIn()).token;
    attempt.loggedIn = true;
  };

  /** Sends with a session; on SESSION_INVALID/UNAUTHENTICATED, one new session and one retry. */
  const withSession = async (call: (token: string) => Promise<unknown>, attempt?: Attempt) => {
    const current = attempt || (await begin());
    try {
      return await call(current.token);
    } catch (err) {
      if (!isRefused(err)) throw err;
      await renew(current);
      return call(current.token);
    }
  };
  const authed = (route: string, query: string, data: RequestOptions['data'], attempt?: Attempt) =>
    withSession((token) => send(route, query, data, token), attempt);

  const client: Client = {
    request<T>(path: string, { method = 'GET', data, auth = true }: RequestOptions = {}) {
      const route = method + ' ' + path;
      return (auth ? authed(route, '', data) : send(route, '', data)) as Promise<T>;
    },

    login: logIn,

    async checkLogin({ verify = false } = {}) {
      const token = tokens.current();
      if (!token) return { is_login: false };
      const reply = (await send(ROUTES.checkLogin, verify ? '?verify=wechat' : '', undefined, token)) as CheckLoginReply;
      if (!reply.is_login) tokens.forget(token);
      return reply;
    },

    credit: () => authed(ROUTES.credit, '', undefined) as Promise<CreditReply>,

    async userInfo({ encryptedData, iv, rawData, signature }) {
      const body: Record<string, unknown> = { encryptedData, iv };
      if (rawData !== undefined) body.rawData = rawData;
      if (signature !== undefined) body.signature = signature;
      const attempt = await begin();
      try {
        return (await authed(ROUTES.userInfo, '', body, attempt)) as UserInfoReply;
      } catch (err) {
        // The session's session_key is older than the one WeChat encrypted with. A new session
        // has WeChat's current key, so data the caller fetches after it decrypts; whether this
        // data would (the key may have moved again) the client cannot tell.
        if (err instanceof ApiError && err.code === 'SESSION_KEY_EXPIRED' && !attempt.loggedIn) {
          await renew(attempt).catch(() => undefined);
        }
        throw err;
      }
    },

    phoneNumber: (code, { replace = false } = {}) =>
      authed(ROUTES.phoneNumber, '', replace ? { code, replace } : { code }) as Promise<PhoneNumberReply>,

    getProfile: () => authed(ROUTES.getProfile, '', undefined) as Promise<ProfileReply>,

    setNickname: (nickName) => authed(ROUTES.setNickname, '', { nickName }) as Promise<ProfileReply>,

    uploadAvatar: (filePath) => withSession((token) => wxUpload(wx, baseUrl + ROUTES.uploadAvatar.slice(5), filePath, token)) as Promise<AvatarReply>,

    async logout({ all = false } = {}) {
      const token = tokens.current();
      if (!token) return { logged_out: true, sessions_revoked: 0 };
      // Forgotten first: whatever the server answers, this device is logged out.
      tokens.forget(token);
      return (await send(ROUTES.logout, all ? '?all=1' : '', undefined, token)) as LogoutReply;
    },

    spend(intent) {
      const { amount, key, reason } = intent || ({} as SpendOptions);
      // A key made here, per call, would make a retry a second purchase: the caller names the purchase.
      if (typeof key !== 'string' || !KEY.test(key)) {
        return Promise.reject(
          new TypeError('spend: key is required, 8-64 of A-Z a-z 0-9 _ -, the same for every retry of one purchase (e.g. its order id)'),
        );
      }
      const body: Record<string, unknown> = { amount, key };
      if (reason !== undefined) body.reason = reason;
      return authed(ROUTES.spend, '', body) as Promise<SpendReply>;
    },

    checkin: () => authed(ROUTES.checkin, '', undefined) as Promise<CheckinReply>,

    history({ limit, cursor } = {}) {
      const query = [limit !== undefined ? 'limit=' + limit : '', cursor ? 'cursor=' + encodeURIComponent(cursor) : ''].filter(Boolean).join('&');
      return authed(ROUTES.history, query ? '?' + query : '', undefined) as Promise<HistoryReply>;
    },
  };
  return client;
}
