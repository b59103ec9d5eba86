import { ApiError } from './api-error';

/**
 * The part of `wx` the client uses. The mini-program's own `wx` fits it (the
 * example mini-program passes it in, type-checked against
 * miniprogram-api-typings), and so do Taro's `Taro` and uni-app's `uni`.
 */
export interface WxLike {
  login(options: { success(result: { code: string }): void; fail(error: { errMsg: string }): void }): unknown;
  request(options: WxRequestOptions): unknown;
  getStorageSync(key: string): unknown;
  setStorageSync(key: string, value: unknown): void;
  removeStorageSync(key: string): void;
  /** Only for `uploadAvatar` (multipart/form-data; the reply's `data` is the body as a string). */
  uploadFile?(options: WxUploadOptions): unknown;
}

export interface WxUploadOptions {
  url: string;
  filePath: string;
  name: string;
  header: Record<string, string>;
  success(result: { statusCode: number; data: unknown }): void;
  fail(error: { errMsg: string }): void;
}

/** What wx.request accepts (and so what every mini-program framework's request does). */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD' | 'OPTIONS' | 'TRACE' | 'CONNECT';

export interface WxRequestOptions {
  url: string;
  method: HttpMethod;
  data?: Record<string, unknown> | string;
  header: Record<string, string>;
  success(result: { statusCode: number; data: unknown }): void;
  fail(error: { errMsg: string }): void;
}

// Module-scoped: at run time `wx` is the mini-program's global, when there is one.
declare const wx: WxLike | undefined;

export const globalWx = (): WxLike | undefined => (typeof wx === 'undefined' ? undefined : wx);

/** A `wx.login()` code; rejects with WX_LOGIN_FAILED. */
export const wxLogin = (wx: WxLike): Promise<string> =>
  new Promise((resolve, reject) => {
    const failed = (message: string) => reject(new ApiError(0, 'WX_LOGIN_FAILED', message));
    wx.login({
      success: (result) => (result && result.code ? resolve(result.code) : failed('wx.login() gave no code')),
      fail: (error) => failed((error && error.errMsg) || 'wx.login() failed'),
    });
  });

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** The JSON body of a 200, or the ApiError a reply stands for. */
const settle = (statusCode: number, body: unknown, resolve: (value: unknown) => void, reject: (error: ApiError) => void) => {
  if (statusCode === 200 && isObject(body)) return resolve(body);
  if (isObject(body) && typeof body.code === 'string' && typeof body.err === 'string') {
    return reject(new ApiError(statusCode, body.code as ApiError['code'], body.err));
  }
  reject(new ApiError(statusCode, 'BAD_RESPONSE', 'The reply (HTTP ' + statusCode + ") is not the API's JSON"));
};

/** wx.uploadFile of `filePath` as the form field `file`: its reply is a string, parsed like wx.request's JSON. */
export const wxUpload = (wx: WxLike, url: string, filePath: string, token: string): Promise<unknown> =>
  new Promise((resolve, reject) => {
    if (!wx.uploadFile) return reject(new ApiError(0, 'NETWORK', 'This wx has no uploadFile'));
    wx.uploadFile({
      url,
      filePath,
      name: 'file',
      header: { Authorization: 'Bearer ' + token },
      success: ({ statusCode, data }) => {
        let body: unknown = data;
        try {
          if (typeof data === 'string') body = JSON.parse(data);
        } catch (_) {
          body = undefined;
        }
        settle(statusCode, body, resolve, reject);
      },
      fail: (error) => reject(new ApiError(0, 'NETWORK', (error && error.errMsg) || 'wx.uploadFile failed')),
    });
  });

/**
 * One `wx.request`: the JSON body of a 200, or an ApiError with the server's
 * status, code and sentence (NETWORK without a reply, BAD_RESPONSE for a reply
 * that is not the API's JSON).
 */
export const wxRequest = (
  wx: WxLike,
  url: string,
  method: HttpMethod,
  data: Record<string, unknown> | string | undefined,
  token: string | undefined,
): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const header: Record<string, string> = {};
    if (token) header.Authorization = 'Bearer ' + token;
    if (data !== undefined) header['content-type'] = 'application/json';
    wx.request({
      url,
      method,
      data,
      header,
      success: ({ statusCode, data: body }) => settle(statusCode, body, resolve, reject),
      fail: (error) => reject(new ApiError(0, 'NETWORK', (error && error.errMsg) || 'wx.request failed')),
    });
  });
