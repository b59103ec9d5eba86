import { logout } from '#lib/auth/logout';
import type { Deps } from '#lib/deps';
import { httpHandler } from '#lib/http/handler';
import { readToken } from '#lib/http/request';
import { productionDeps } from '#lib/runtime';

/** POST /logout[?all=1] -> {"logged_out": true, "sessions_revoked"}; idempotent. */
export const createHandler = (deps: Deps) =>
  httpHandler('logout', (event) => {
    const all = event.queryStringParameters?.all;
    return logout(deps, readToken(event), all === '1' || all === 'true');
  });

export const handler = createHandler(productionDeps());
