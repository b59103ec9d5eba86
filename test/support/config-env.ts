import type { Env } from '#lib/config';

/** The stage's tables and bucket, as serverless.yml names them: what every function's configuration needs besides its app. */
export const STACK_RESOURCES_ENV = {
  SESSIONS_TABLE: 'sessions',
  USERS_TABLE: 'users',
  LOGINS_TABLE: 'logins',
  APP_CACHE_TABLE: 'app-cache',
  LEDGER_TABLE: 'ledger',
  AVATARS_BUCKET: 'avatars',
} as const;

/** The least a deployed function's environment holds: the default app, its AppSecret's parameter, the resources. */
export const MINIMAL_ENV: Env = {
  WECHAT_APPID: 'wx4f4bc4dec97d474b',
  WECHAT_SECRET_PARAM: '/wechat-login/prod/wechat-app-secret',
  ...STACK_RESOURCES_ENV,
};
