import type { WeChatApiDeps } from '#lib/deps';
import { httpHandler } from '#lib/http/handler';
import { readBody, readToken } from '#lib/http/request';
import { UserInfoBody } from '#lib/http/schemas';
import { productionWeChatApiDeps } from '#lib/runtime';
import { submitUserInfo } from '#lib/userinfo';

/** POST /userinfo {"encryptedData", "iv", "rawData"?, "signature"?} -> {"pass", "userInfo"?} */
export const createHandler = (deps: WeChatApiDeps) =>
  httpHandler('userinfo', (event) => submitUserInfo(deps, readToken(event), readBody(event, UserInfoBody)));

export const handler = createHandler(productionWeChatApiDeps());
