import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { userInfoPayload } from './wechat-data.ts';

/**
 * A stand-in for api.weixin.qq.com that `npm start`, `npm run try` and the
 * tests talk to over real HTTP. It checks appid and secret like WeChat does.
 *
 * It serves several mini-programs (`apps`), each with its own openids, session keys and access token;
 * a person (a user name) has one unionid across them, as under one Open Platform account.
 *
 * Codes it accepts (each works once, like a real wx.login() code):
 *   alice, alice.1, alice.<anything>  -> the user "alice" (same openid every time, in each app its own)
 *   alice.wx<16 hex>-<anything>       -> minted by that app only: any other app's exchange gets 40029
 *   fail-<errcode>                     -> that WeChat error, e.g. fail-40029, fail-40226, fail-45011, fail--1
 * GET /__fake/userinfo?user=alice[&appid=wx…] returns what wx.getUserInfo() would give
 * that user: encryptedData, iv, rawData and signature under their session_key.
 *
 * Server APIs, with an access_token from POST /cgi-bin/stable_token, modelled on
 * WeChat's documented semantics (getStableAccessToken), on the injected clock:
 *   normal mode         -> the live token and its remaining life; a new one once it has expired, or in its
 *                          last 5 minutes (then the old one stays valid until it expires)
 *   force_refresh: true -> a new token, and the previous ones stop working at once; at most 20 a day
 *                          (Beijing time; 45009 after that), and within 30 s of the last one it does not
 *                          refresh (answers like normal mode)
 *   GET  /wxa/checksession                   -> 0, or 87009 once the user's session_key was rotated
 *   POST /wxa/msg_sec_check (version 2)       -> the verdict by the text: containing "risky" -> suggest risky, "review" ->
 *                                               review, "fail-<errcode>" -> that errcode, anything else -> pass; the
 *                                               openid must be a user of the token's app (else 40003), version 2 and
 *                                               scene 1-4 (else 47001)
 *   POST /wxa/business/getuserphonenumber     -> codes "phone-<digits>" (anyone's, once each), "phone-<digits>.<user>"
 *                                               (minted for that user: a request whose openid is another user's gets
 *                                               40029, as a code WeChat does not accept), "fail-<errcode>"
 *   POST /wxa/getuserriskrank                  -> risk_rank 0, or N for a user named risk<N>… (e.g. "risk3", "risk4-farm");
 *                                               47001 without a scene of 0/1 or a client_ip; scriptRisk() for the rest
 * An unknown or expired access_token gets 40001 / 42001.
 * GET /__fake/rotate-session-key?user=alice does what a later wx.login() does to Alice's session_key.
 * GET /__fake/user?user=alice[&appid=wx…] gives Alice's openid and unionid there (for `npm run admin`).
 */
export interface FakeApp {
  appId: string;
  secret: string;
}

export interface FakeWeChatOptions extends FakeApp {
  /** More mini-programs, beside the first (appId, secret). */
  apps?: FakeApp[];
  port?: number;
  host?: string;
  /** Milliseconds since the epoch: the tests pass their own clock, so token lifetimes and force limits follow it. */
  now?: () => number;
}

/** A scripted answer: JSON or raw text, optionally late; or a connection that hangs or drops. */
export type FakeAnswer =
  | { status?: number; json: unknown; delayMs?: number }
  | { status?: number; text: string; contentType?: string; delayMs?: number }
  | 'hang'
  | 'drop';

export interface FakeUser {
  openid: string;
  sessionKey: string;
  unionid: string;
}

export interface FakeWeChat {
  url: string;
  /** jscode2session requests received, in order (code only). */
  readonly codes: string[];
  /** stable_token requests received (force_refresh flag of each). */
  readonly stableTokenCalls: boolean[];
  /** The appid of each stable_token request, in the same order. */
  readonly stableTokenAppIds: string[];
  /** Server-API requests received, by path. */
  readonly apiCalls: string[];
  /** The texts msg_sec_check was asked about, in order. */
  readonly checkedTexts: string[];
  /** What a later wx.login() does: the user's session_key changes; the old one fails checksession. */
  rotateSessionKey(name: string): void;
  /** Makes WeChat stop accepting the current access_token (42001), as when it expires early; normal mode then issues a new one. */
  expireAccessToken(appId?: string): void;
  /** WeChat refuses the current access_token (40001) yet normal mode keeps handing it back: only force_refresh replaces it. */
  revokeAccessToken(appId?: string): void;
  /** While set, force_refresh is answered with this errcode (e.g. 45009, quota used up); undefined lifts it. */
  refuseForceRefresh(errcode?: number, appId?: string): void;
  /** Answers jscode2session with `script(code)` whenever it returns one; default behaviour otherwise. */
  script(script?: (code: string, callIndex: number) => FakeAnswer | undefined): void;
  /** getuserriskrank requests received (what was asked; the fake's own record, never logged). */
  readonly riskRequests: { appid: string; openid: string; scene: unknown; clientIp: unknown }[];
  /** Answers getuserriskrank with `script(openid)` whenever it returns one (a failure, a late or hanging answer). */
  scriptRisk(script?: (openid: string) => FakeAnswer | undefined): void;
  /** The user `name` as the given app (default: the first) sees them. */
  user(name: string, appId?: string): FakeUser;
  close(): Promise<void>;
}

const TOKEN_SECONDS = 7200;
/** Normal mode hands out a new token this long before the old one expires. */
const RENEW_SECONDS = 300;
const FORCES_PER_DAY = 20;
const FORCE_SPACING_SECONDS = 30;
/** WeChat's daily quotas restart at midnight Beijing time (UTC+8). */
const beijingDay = (epochSeconds: number) => Math.floor((epochSeconds + 8 * 3600) / 86_400);

const USER_CODE = /^([A-Za-z0-9_-]{1,64})(?:\.[\x21-\x7e]{1,64})?$/;
const MINTED_BY = /^[A-Za-z0-9_-]{1,64}\.(wx[0-9a-f]{16})-/i;

interface AppState extends FakeApp {
  accessToken: { value: string; expiresAt: number; expired: boolean; revoked: boolean } | undefined;
  /** The token normal mode replaced in its last 5 minutes: valid until it expires. */
  previousToken: { value: string; expiresAt: number } | undefined;
  forced: { day: number; count: number; lastAt: number };
  forceRefusal: number | undefined;
}

export async function startFakeWeChat(options: FakeWeChatOptions): Promise<FakeWeChat> {
  const used = new Set<string>();
  const codes: string[] = [];
  const stableTokenCalls: boolean[] = [];
  const stableTokenAppIds: string[] = [];
  const apps = new Map<string, AppState>();
  for (const app of [{ appId: options.appId, secret: options.secret }, ...(options.apps ?? [])]) {
    apps.set(app.appId, {
      ...app,
      accessToken: undefined,
      previousToken: undefined,
      forced: { day: -1, count: 0, lastAt: Number.NEGATIVE_INFINITY },
      forceRefusal: undefined,
    });
  }
  const appOf = (appId: string | undefined): AppState => {
    const app = apps.get(appId ?? options.appId);
    if (!app) throw new Error(`the fake WeChat serves no app ${appId}`);
    return app;
  };
  const apiCalls: string[] = [];
  const rotations = new Map<string, number>();
  /** Per app: openid -> user name. */
  const namesByOpenid = new Map<string, string>();
  const clock = options.now ?? Date.now;
  const seconds = () => Math.floor(clock() / 1000);
  let scripted: ((code: string, callIndex: number) => FakeAnswer | undefined) | undefined;
  let scriptedRisk: ((openid: string) => FakeAnswer | undefined) | undefined;
  const riskRequests: FakeWeChat['riskRequests'] = [];

  const user = (name: string, appId?: string): FakeUser => {
    const app = appOf(appId);
    const openid = `o${digest(`${app.appId}:openid:${name}`).slice(0, 27)}`;
    namesByOpenid.set(`${app.appId}:${openid}`, name);
    const generation = rotations.get(name) ?? 0;
    return {
      openid,
      unionid: `u${digest(`unionid:${name}`).slice(0, 27)}`,
      sessionKey: createHash('sha256').update(`${app.secret}:session_key:${name}:${generation}`).digest().subarray(0, 16).toString('base64'),
    };
  };

  const errorAnswer = (errcode: number, errmsg: string): FakeAnswer => ({
    json: { errcode, errmsg: `${errmsg}, rid: ${randomUUID().slice(0, 23)}` },
  });

  const stableToken = (body: Record<string, unknown>): FakeAnswer => {
    stableTokenCalls.push(body.force_refresh === true);
    stableTokenAppIds.push(String(body.appid));
    if (body.grant_type !== 'client_credential') return errorAnswer(40002, 'invalid grant_type');
    const app = apps.get(String(body.appid));
    if (!app) return errorAnswer(40013, 'invalid appid');
    if (body.secret !== app.secret) return errorAnswer(40125, 'invalid appsecret');
    const { forced } = app;
    const now = seconds();
    const issue = () => ({
      value: `fake-access-token-${randomBytes(12).toString('hex')}`,
      expiresAt: now + TOKEN_SECONDS,
      expired: false,
      revoked: false,
    });
    if (body.force_refresh === true) {
      if (app.forceRefusal !== undefined) return errorAnswer(app.forceRefusal, 'force_refresh refused');
      const day = beijingDay(now);
      if (forced.day !== day) Object.assign(forced, { day, count: 0 });
      if (forced.count >= FORCES_PER_DAY) return errorAnswer(45009, 'reach max api daily quota limit');
      forced.count += 1;
      if (now - forced.lastAt >= FORCE_SPACING_SECONDS) {
        forced.lastAt = now;
        app.previousToken = undefined;
        app.accessToken = issue();
      }
    }
    if (!app.accessToken || app.accessToken.expired || now >= app.accessToken.expiresAt) {
      app.previousToken = undefined;
      app.accessToken = issue();
    } else if (app.accessToken.expiresAt - now <= RENEW_SECONDS) {
      app.previousToken = app.accessToken;
      app.accessToken = issue();
    }
    // A clock a test moved back must not stretch a token's life past WeChat's 7200 s.
    return { json: { access_token: app.accessToken.value, expires_in: Math.min(app.accessToken.expiresAt - now, TOKEN_SECONDS) } };
  };

  /** The app whose token it is and 0 when the token is live; else the errcode WeChat gives. */
  const tokenErrcode = (token: string | null): { app?: AppState; errcode: number } => {
    const now = seconds();
    for (const app of apps.values()) {
      const { accessToken, previousToken } = app;
      if (accessToken && token === accessToken.value) {
        if (accessToken.expired || now >= accessToken.expiresAt) return { errcode: 42001 };
        return accessToken.revoked ? { errcode: 40001 } : { app, errcode: 0 };
      }
      if (previousToken && token === previousToken.value) return now < previousToken.expiresAt ? { app, errcode: 0 } : { errcode: 42001 };
    }
    return { errcode: 40001 };
  };

  const checkedTexts: string[] = [];
  const msgSecCheck = (app: AppState, body: Record<string, unknown>): FakeAnswer => {
    const content = typeof body.content === 'string' ? body.content : undefined;
    if (content === undefined || body.version !== 2 || ![1, 2, 3, 4].includes(body.scene as number)) {
      return errorAnswer(47001, 'data format error');
    }
    if (!namesByOpenid.has(`${app.appId}:${String(body.openid)}`)) return errorAnswer(40003, 'invalid openid');
    checkedTexts.push(content);
    const failure = /fail-(-?\d+)/.exec(content);
    if (failure) return errorAnswer(Number(failure[1]), 'scripted failure');
    const suggest = /risky/i.test(content) ? 'risky' : /review/i.test(content) ? 'review' : 'pass';
    const label = suggest === 'pass' ? 100 : 20001;
    const trace_id = randomUUID();
    return {
      json: {
        errcode: 0,
        errmsg: 'ok',
        result: { suggest, label },
        detail: [{ strategy: 'content_model', errcode: 0, suggest, label, prob: 90 }],
        trace_id,
      },
    };
  };

  const usedPhoneCodes = new Set<string>();
  const serverApi = (path: string, query: URLSearchParams, body: Record<string, unknown>): FakeAnswer => {
    apiCalls.push(path);
    const { app, errcode: tokenError } = tokenErrcode(query.get('access_token'));
    if (tokenError || !app)
      return errorAnswer(tokenError, tokenError === 40001 ? 'invalid credential, access_token is invalid or not latest' : 'access_token expired');
    if (path === '/wxa/checksession') {
      // An openid is the user's in one app only: another app's token does not know it.
      const name = namesByOpenid.get(`${app.appId}:${query.get('openid') ?? ''}`);
      if (!name || query.get('sig_method') !== 'hmac_sha256') return errorAnswer(40003, 'invalid openid');
      const expected = createHmac('sha256', Buffer.from(user(name, app.appId).sessionKey, 'utf8'))
        .update('')
        .digest('hex');
      return query.get('signature') === expected ? { json: { errcode: 0, errmsg: 'ok' } } : errorAnswer(87009, 'invalid signature');
    }
    if (path === '/wxa/getuserriskrank') return riskRank(app, body);
    if (path === '/wxa/msg_sec_check') return msgSecCheck(app, body);
    const code = typeof body.code === 'string' ? body.code : '';
    const failure = /^fail-(-?\d+)$/.exec(code);
    if (failure) return errorAnswer(Number(failure[1]), 'scripted failure');
    const phone = /^phone-(\d{5,15})(?:\.([\w-]{1,64}))?$/.exec(code);
    if (!phone) return errorAnswer(40029, 'invalid code');
    // openid is optional at WeChat; when it is sent, a code minted for someone else is not accepted.
    const mintedFor = phone[2];
    if (mintedFor !== undefined && typeof body.openid === 'string' && body.openid !== user(mintedFor, app.appId).openid) {
      return errorAnswer(40029, 'invalid code, openid mismatch');
    }
    if (usedPhoneCodes.has(code)) return errorAnswer(40163, 'code been used');
    usedPhoneCodes.add(code);
    const digits = phone[1]!;
    return {
      json: {
        errcode: 0,
        errmsg: 'ok',
        phone_info: {
          phoneNumber: `+86${digits}`,
          purePhoneNumber: digits,
          countryCode: '86',
          watermark: { timestamp: Math.floor(Date.now() / 1000), appid: app.appId },
        },
      },
    };
  };

  const riskRank = (app: AppState, body: Record<string, unknown>): FakeAnswer => {
    const openid = String(body.openid ?? '');
    riskRequests.push({ appid: String(body.appid), openid, scene: body.scene, clientIp: body.client_ip });
    if (body.appid !== app.appId) return errorAnswer(40013, 'invalid appid');
    if ((body.scene !== 0 && body.scene !== 1) || typeof body.client_ip !== 'string' || !body.client_ip)
      return errorAnswer(47001, 'data format error');
    const scriptedAnswer = scriptedRisk?.(openid);
    if (scriptedAnswer) return scriptedAnswer;
    const name = namesByOpenid.get(`${app.appId}:${openid}`) ?? '';
    const rank = Number(/^risk([0-4])/.exec(name)?.[1] ?? 0);
    return { json: { errcode: 0, errmsg: 'getuserriskrank succ', risk_rank: rank, unoin_id: Math.floor(Math.random() * 1e9) } };
  };

  const jscode2session = (query: URLSearchParams): FakeAnswer => {
    const rid = randomUUID().slice(0, 23);
    const error = (errcode: number, errmsg: string): FakeAnswer => ({ json: { errcode, errmsg: `${errmsg}, rid: ${rid}` } });
    const app = apps.get(query.get('appid') ?? '');
    if (!app) return error(40013, 'invalid appid');
    if (query.get('secret') !== app.secret) return error(40125, 'invalid appsecret');
    if (query.get('grant_type') !== 'authorization_code') return error(40002, 'invalid grant_type');
    const code = query.get('js_code') ?? '';
    if (!code) return error(41008, 'missing code');
    const failure = /^fail-(-?\d+)$/.exec(code);
    if (failure) return error(Number(failure[1]), 'scripted failure');
    const match = USER_CODE.exec(code);
    if (!match) return error(40029, 'invalid code');
    // A code is minted by one app: exchanged with another app's AppSecret, WeChat does not know it.
    const mintedBy = MINTED_BY.exec(code)?.[1];
    if (mintedBy !== undefined && mintedBy !== app.appId) return error(40029, 'invalid code');
    if (used.has(`${app.appId}:${code}`)) return error(40163, 'code been used');
    used.add(`${app.appId}:${code}`);
    const { openid, sessionKey, unionid } = user(match[1]!, app.appId);
    return { json: { openid, session_key: sessionKey, unionid } };
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname === '/sns/jscode2session') {
      const code = url.searchParams.get('js_code') ?? '';
      codes.push(code);
      const answer = scripted?.(code, codes.length - 1) ?? jscode2session(url.searchParams);
      return send(res, answer);
    }
    if (url.pathname === '/cgi-bin/stable_token') return send(res, stableToken(await jsonBody(req)));
    if (
      url.pathname === '/wxa/checksession' ||
      url.pathname === '/wxa/business/getuserphonenumber' ||
      url.pathname === '/wxa/getuserriskrank' ||
      url.pathname === '/wxa/msg_sec_check'
    ) {
      return send(res, serverApi(url.pathname, url.searchParams, req.method === 'POST' ? await jsonBody(req) : {}));
    }
    if (url.pathname === '/__fake/userinfo') {
      const name = url.searchParams.get('user') ?? '';
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) return send(res, { status: 400, json: { error: 'pass ?user=<name>' } });
      const appId = url.searchParams.get('appid') ?? options.appId;
      if (!apps.has(appId)) return send(res, { status: 400, json: { error: 'no such app' } });
      const { openid, sessionKey, unionid } = user(name, appId);
      return send(res, {
        json: userInfoPayload({ openid, unionid, sessionKey, appId, nickName: url.searchParams.get('nickName') ?? name }),
      });
    }
    if (url.pathname === '/__fake/user') {
      // A user's openid and unionid in an app (never its session_key): for tools that name a user, like `npm run admin`.
      const name = url.searchParams.get('user') ?? '';
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) return send(res, { status: 400, json: { error: 'pass ?user=<name>' } });
      const appId = url.searchParams.get('appid') ?? options.appId;
      if (!apps.has(appId)) return send(res, { status: 400, json: { error: 'no such app' } });
      const { openid, unionid } = user(name, appId);
      return send(res, { json: { openid, unionid } });
    }
    if (url.pathname === '/__fake/rotate-session-key') {
      const name = url.searchParams.get('user') ?? '';
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) return send(res, { status: 400, json: { error: 'pass ?user=<name>' } });
      rotations.set(name, (rotations.get(name) ?? 0) + 1);
      return send(res, { json: { rotated: name } });
    }
    if (url.pathname === '/__fake/health') return send(res, { json: { ok: true } });
    return send(res, { status: 404, text: '<html><body>404 Not Found</body></html>', contentType: 'text/html' });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    codes,
    stableTokenCalls,
    stableTokenAppIds,
    apiCalls,
    riskRequests,
    scriptRisk(next) {
      scriptedRisk = next;
    },
    checkedTexts,
    rotateSessionKey(name) {
      rotations.set(name, (rotations.get(name) ?? 0) + 1);
    },
    expireAccessToken(appId) {
      const app = appOf(appId);
      if (app.accessToken) app.accessToken.expired = true;
      app.previousToken = undefined;
    },
    revokeAccessToken(appId) {
      const app = appOf(appId);
      if (app.accessToken) app.accessToken.revoked = true;
      app.previousToken = undefined;
    },
    refuseForceRefresh(errcode, appId) {
      appOf(appId).forceRefusal = errcode;
    },
    script(next) {
      scripted = next;
    },
    user,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function send(res: ServerResponse, answer: FakeAnswer): Promise<void> {
  if (answer === 'hang') return; // keep the socket open, answer nothing
  if (answer === 'drop') {
    res.socket?.destroy();
    return;
  }
  if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
  if (res.destroyed) return;
  const isJson = 'json' in answer;
  res.writeHead(answer.status ?? 200, {
    'content-type': isJson ? 'application/json; charset=utf-8' : (answer.contentType ?? 'text/plain'),
  });
  res.end(isJson ? JSON.stringify(answer.json) : answer.text);
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += chunk;
  try {
    const value = JSON.parse(text);
    return typeof value === 'object' && value !== null ? value : {};
  } catch {
    return {};
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest('base64url');
