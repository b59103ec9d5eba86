import { login } from '#lib/auth/login';
import type { LoginDeps } from '#lib/deps';
import { httpHandler } from '#lib/http/handler';
import { readBody } from '#lib/http/request';
import { LoginBody } from '#lib/http/schemas';
import { productionLoginDeps } from '#lib/runtime';

/** POST /login {"code"} -> {"token", "expires_in"} */
export const createHandler = (deps: LoginDeps) =>
  httpHandler('login', (event) => login(deps, readBody(event, LoginBody).code));

export const handler = createHandler(productionLoginDeps());
