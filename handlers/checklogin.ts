import { checkLogin } from '#lib/auth/session';
import type { Deps } from '#lib/deps';
import { httpHandler } from '#lib/http/handler';
import { readToken } from '#lib/http/request';
import { productionDeps } from '#lib/runtime';

/** GET /checklogin -> {"is_login"}; always 200, a missing or unusable token is simply false. */
export const createHandler = (deps: Deps) =>
  httpHandler('checklogin', async (event) => {
    let token: string | undefined;
    try {
      token = readToken(event);
    } catch {
      return { is_login: false };
    }
    return checkLogin(deps, token);
  });

export const handler = createHandler(productionDeps());
