import { LoginBody, login } from '#lib/endpoints/login';
import type { LoginDeps } from '#lib/platform/deps';
import { httpHandler } from '#lib/platform/http/handler';
import { readBody } from '#lib/platform/http/request';
import { loginDeps } from '#lib/platform/wiring';

/** POST /login {"code", "appid"?} (or X-WX-AppId) -> {"token", "expires_in"} */
export const createHandler = (deps: LoginDeps) =>
  httpHandler('login', async (event) =>
    login(deps, readBody(event, LoginBody), {
      header: event.headers?.['x-wx-appid'],
      referer: event.headers?.referer,
      clientIp: event.requestContext?.http?.sourceIp,
    }),
  );

export const handler = createHandler(loginDeps());
