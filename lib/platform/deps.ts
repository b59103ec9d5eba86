import type { App, AppRegistry } from '#lib/platform/apps';
import type { Config } from '#lib/platform/config';
import type { Clock } from '#lib/platform/time';
import type { AvatarStore } from '#lib/store/avatars';
import type { LedgerStore } from '#lib/store/ledger';
import type { LoginCodeStore } from '#lib/store/login-codes';
import type { ProfileStore } from '#lib/store/profiles';
import type { SessionStore } from '#lib/store/sessions';
import type { UserLimitStore } from '#lib/store/user-limits';
import type { PhoneNumber, UserStore } from '#lib/store/users';
import type { WeChatSession } from '#lib/wechat/code2session';
import type { TextVerdict } from '#lib/wechat/msg-sec-check';

/** What every endpoint's logic depends on, handed in (lib/platform/wiring.ts builds them). */
export interface Deps {
  config: Config;
  sessions: SessionStore;
  users: UserStore;
  now: Clock;
}

export interface LoginDeps extends Deps {
  loginCodes: LoginCodeStore;
  /** The mini-programs this deployment serves (lib/platform/apps.ts). */
  apps: AppRegistry;
  /** sns/jscode2session with that app's AppSecret. */
  code2Session: (app: App, code: string) => Promise<WeChatSession>;
  /** wxa/getuserriskrank (scene 0, registration) for a new user: its rank, 0 to 4. */
  userRiskRank: (appId: string, openid: string, clientIp: string) => Promise<number>;
}

/** For the endpoints that move credit. */
export interface LedgerDeps extends Deps {
  ledger: LedgerStore;
}

/** For endpoints that call WeChat's server APIs, each with the access_token of the session's app. */
export interface WeChatApiDeps extends Deps {
  checkSessionKey: (appId: string, openid: string, sessionKey: string) => Promise<boolean>;
  getPhoneNumber: (appId: string, code: string, openid: string) => Promise<PhoneNumber>;
  /** wxa/msg_sec_check (version 2, scene 1: a profile) of a text the user wrote. */
  checkText: (appId: string, openid: string, content: string) => Promise<TextVerdict>;
}

/** For the profile endpoints: the session read with the user's profile, and the avatar bucket. */
export interface ProfileDeps extends Deps {
  profiles: ProfileStore;
  avatars: AvatarStore;
  /** Per-user bounds on WeChat's paid or quota-bound calls (nickname checks, phone-number exchanges). */
  userLimits: UserLimitStore;
}
