import { httpHandler } from '#lib/http/handler';
import { readBody } from '#lib/http/request';
import type { LoginDeps } from '#lib/session/deps';
import { LoginBody, login } from '#lib/session/login';
import { loginDeps } from '#lib/wiring';

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
