import type { Config } from '#lib/platform/config';
import type { Clock } from '#lib/platform/time';
import type { LoginCodeStore } from '#lib/store/login-codes';
import type { SessionStore } from '#lib/store/sessions';
import type { UserStore } from '#lib/store/users';
import type { Code2Session } from '#lib/wechat/code2session';
import type { GetPhoneNumber } from '#lib/wechat/phone-number';
import type { CheckSessionKey } from '#lib/wechat/session-check';

/** What every endpoint's logic depends on, handed in (lib/platform/wiring.ts builds them). */
export interface Deps {
  config: Config;
  sessions: SessionStore;
  users: UserStore;
  now: Clock;
}

export interface LoginDeps extends Deps {
  loginCodes: LoginCodeStore;
  code2Session: Code2Session;
}

/** For endpoints that call WeChat's server APIs with the shared access_token. */
export interface WeChatApiDeps extends Deps {
  checkSessionKey: CheckSessionKey;
  getPhoneNumber: GetPhoneNumber;
}
