import type { App, AppRegistry } from '#lib/apps/registry';
import type { Clock, Waits } from '#lib/kernel/time';
import type { LoginCodeStore } from '#lib/session/login-codes';
import type { SessionStore, StartNewUser } from '#lib/session/session-store';
import type { PhoneNumber, UserStore } from '#lib/session/users';
import type { WeChatSession } from '#lib/wechat/code2session';
import type { TextVerdict } from '#lib/wechat/msg-sec-check';

/** The settings the session feature reads (lib/config.ts reads them all). */
export interface SessionConfig {
  /** The default app: requests that name none are in its scope. */
  appId: string;
  sessionTtlSeconds: number;
  /** Bound on each call to WeChat (one attempt): sizes a login code's claim and replay window. */
  wechatTimeoutMs: number;
  /** A new user's start may wait this long for WeChat's risk check, which the claim must cover. */
  signupRisk: { timeoutMs: number };
}

/** What every endpoint's logic depends on, handed in (lib/wiring.ts builds them). */
export interface Deps<C extends SessionConfig = SessionConfig> {
  config: C;
  sessions: SessionStore;
  users: UserStore;
  now: Clock;
  /** What waits run on (polling another request's claim, backoffs); the real timer and monotonic clock when unset. */
  waits?: Waits;
}

export interface LoginDeps extends Deps {
  loginCodes: LoginCodeStore;
  /** The mini-programs this deployment serves (lib/apps/registry.ts). */
  apps: AppRegistry;
  /** sns/jscode2session with that app's AppSecret. */
  code2Session: (app: App, code: string) => Promise<WeChatSession>;
  /** What a new user starts with, from the features that own it (credit's sign-up grant, wired in lib/wiring.ts). */
  startNewUser: StartNewUser;
}

/** For endpoints that call WeChat's server APIs, each with the access_token of the session's app. */
export interface WeChatApiDeps extends Deps {
  checkSessionKey: (appId: string, openid: string, sessionKey: string) => Promise<boolean>;
  getPhoneNumber: (appId: string, code: string, openid: string) => Promise<PhoneNumber>;
  /** wxa/msg_sec_check (version 2, scene 1: a profile) of a text the user wrote. */
  checkText: (appId: string, openid: string, content: string) => Promise<TextVerdict>;
}
