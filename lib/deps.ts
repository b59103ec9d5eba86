import type { Config } from '#lib/config';
import type { Store } from '#lib/store/store';
import type { Code2Session } from '#lib/wechat/code2session';
import type { GetPhoneNumber } from '#lib/wechat/phone-number';
import type { CheckSessionKey } from '#lib/wechat/session-check';

/** Everything the endpoint logic depends on, handed in so tests can use real-but-local parts. */
export interface Deps {
  config: Config;
  store: Store;
  /** Milliseconds since the epoch. */
  now: () => number;
}

export interface LoginDeps extends Deps {
  code2Session: Code2Session;
}

/** For endpoints that call WeChat's server APIs with the shared access_token. */
export interface WeChatApiDeps extends Deps {
  checkSessionKey: CheckSessionKey;
  getPhoneNumber: GetPhoneNumber;
}

export const epochSeconds = (deps: Pick<Deps, 'now'>): number => Math.floor(deps.now() / 1000);
