import { PhoneNumberBody, phoneNumber } from '#lib/endpoints/phonenumber';
import type { WeChatApiDeps } from '#lib/platform/deps';
import { httpHandler } from '#lib/platform/http/handler';
import { readAppId, readBody, readToken } from '#lib/platform/http/request';
import { weChatApiDeps } from '#lib/platform/wiring';

/** POST /phonenumber {"code"} (from the getPhoneNumber button) -> {"phoneNumber", "purePhoneNumber", "countryCode"} */
export const createHandler = (deps: WeChatApiDeps) =>
  httpHandler('phonenumber', (event) => phoneNumber(deps, readToken(event), readBody(event, PhoneNumberBody), readAppId(event)));

export const handler = createHandler(weChatApiDeps());
