import { NicknameBody, setNickname } from '#lib/endpoints/nickname';
import type { ProfileDeps, WeChatApiDeps } from '#lib/platform/deps';
import { httpHandler } from '#lib/platform/http/handler';
import { readAppId, readBody, readToken } from '#lib/platform/http/request';
import { nicknameDeps } from '#lib/platform/wiring';

/** PUT /profile {"nickName"} (checked by WeChat's msg_sec_check) -> the profile */
export const createHandler = (deps: ProfileDeps & WeChatApiDeps) =>
  httpHandler('nickname', async (event) => setNickname(deps, readToken(event), readBody(event, NicknameBody), readAppId(event)));

export const handler = createHandler(nicknameDeps());
