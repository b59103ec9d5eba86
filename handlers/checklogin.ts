import { httpHandler } from '#lib/http/handler';
import { readAppId, readToken } from '#lib/http/request';
import { checkLogin } from '#lib/session/checklogin';
import type { WeChatApiDeps } from '#lib/session/deps';
import { weChatApiDeps } from '#lib/wiring';

/**
 * GET /checklogin -> {"is_login"}; always 200, a missing or unusable token is simply false.
 * ?verify=wechat adds "session_key_valid" (asks WeChat; a failure there is an error reply).
 */
export const createHandler = (deps: WeChatApiDeps) =>
  httpHandler('checklogin', async (event) => {
    let token: string | undefined;
    try {
      token = readToken(event);
    } catch {
      return { is_login: false };
    }
    return checkLogin(deps, token, event.queryStringParameters?.verify === 'wechat', readAppId(event));
  });

export const handler = createHandler(weChatApiDeps());
