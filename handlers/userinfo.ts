import { UserInfoBody, userInfo } from '#lib/endpoints/userinfo';
import type { WeChatApiDeps } from '#lib/platform/deps';
import { httpHandler } from '#lib/platform/http/handler';
import { bodyReader, readAppId, readToken } from '#lib/platform/http/request';
import { weChatApiDeps } from '#lib/platform/wiring';

/** POST /userinfo {"encryptedData", "iv", "rawData"?, "signature"?} -> {"pass", "userInfo"?} (legacy wx.getUserInfo data) */
export const createHandler = (deps: WeChatApiDeps) =>
  httpHandler('userinfo', (event) => userInfo(deps, readToken(event), bodyReader(event, UserInfoBody), readAppId(event)));

export const handler = createHandler(weChatApiDeps());
