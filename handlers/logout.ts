import { logout } from '#lib/endpoints/logout';
import type { Deps } from '#lib/platform/deps';
import { httpHandler } from '#lib/platform/http/handler';
import { readToken } from '#lib/platform/http/request';
import { commonDeps } from '#lib/platform/wiring';

/** POST /logout[?all=1] -> {"logged_out": true, "sessions_revoked"}; idempotent. */
export const createHandler = (deps: Deps) =>
  httpHandler('logout', async (event) => {
    const all = event.queryStringParameters?.all;
    return logout(deps, readToken(event), all === '1' || all === 'true');
  });

export const handler = createHandler(commonDeps());
