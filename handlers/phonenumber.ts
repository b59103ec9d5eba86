import { PhoneNumberBody, phoneNumber } from '#lib/endpoints/phonenumber';
import type { ProfileDeps, WeChatApiDeps } from '#lib/platform/deps';
import { httpHandler } from '#lib/platform/http/handler';
import { bodyReader, readAppId, readToken } from '#lib/platform/http/request';
import { profileWeChatDeps } from '#lib/platform/wiring';

/** POST /phonenumber {"code", "replace"?} (from the getPhoneNumber button) -> {"phoneNumber", "purePhoneNumber", "countryCode"}; asked once */
export const createHandler = (deps: ProfileDeps & WeChatApiDeps) =>
  httpHandler('phonenumber', (event) => phoneNumber(deps, readToken(event), bodyReader(event, PhoneNumberBody), readAppId(event)));

export const handler = createHandler(profileWeChatDeps());
