import { httpHandler } from '#lib/http/handler';
import { bodyReader, readAppId, readToken } from '#lib/http/request';
import type { ProfileDeps } from '#lib/profile/deps';
import { PhoneNumberBody, phoneNumber } from '#lib/profile/phone-number';
import type { WeChatApiDeps } from '#lib/session/deps';
import { profileWeChatDeps } from '#lib/wiring';

/** POST /phonenumber {"code", "replace"?} (from the getPhoneNumber button) -> {"phoneNumber", "purePhoneNumber", "countryCode"}; asked once */
export const createHandler = (deps: ProfileDeps & WeChatApiDeps) =>
  httpHandler('phonenumber', async (event) => phoneNumber(deps, readToken(event), bodyReader(event, PhoneNumberBody), readAppId(event)));

export const handler = createHandler(profileWeChatDeps());
