import type { WeChatApiDeps } from '#lib/deps';
import { httpHandler } from '#lib/http/handler';
import { readBody, readToken } from '#lib/http/request';
import { PhoneNumberBody } from '#lib/http/schemas';
import { savePhoneNumber } from '#lib/phone';
import { productionWeChatApiDeps } from '#lib/runtime';

/** POST /phonenumber {"code"} (from the getPhoneNumber button) -> {"phoneNumber", "purePhoneNumber", "countryCode"} */
export const createHandler = (deps: WeChatApiDeps) =>
  httpHandler('phonenumber', (event) => savePhoneNumber(deps, readToken(event), readBody(event, PhoneNumberBody).code));

export const handler = createHandler(productionWeChatApiDeps());
