import { httpHandler } from '#lib/http/handler';
import { readToken } from '#lib/http/request';
import type { Deps } from '#lib/session/deps';
import { logout } from '#lib/session/logout';
import { commonDeps } from '#lib/wiring';

/** POST /logout[?all=1] -> {"logged_out": true, "sessions_revoked"}; idempotent. */
export const createHandler = (deps: Deps) =>
  httpHandler('logout', async (event) => {
    const all = event.queryStringParameters?.all;
    return logout(deps, readToken(event), all === '1' || all === 'true');
  });

export const handler = createHandler(commonDeps());
