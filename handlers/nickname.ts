import { httpHandler } from '#lib/http/handler';
import { readAppId, readBody, readToken } from '#lib/http/request';
import type { ProfileDeps } from '#lib/profile/deps';
import { NicknameBody, setNickname } from '#lib/profile/nickname';
import type { WeChatApiDeps } from '#lib/session/deps';
import { nicknameDeps } from '#lib/wiring';

/** PUT /profile {"nickName"} (checked by WeChat's msg_sec_check) -> the profile */
export const createHandler = (deps: ProfileDeps & WeChatApiDeps) =>
  httpHandler('nickname', async (event) => setNickname(deps, readToken(event), readBody(event, NicknameBody), readAppId(event)));

export const handler = createHandler(nicknameDeps());
