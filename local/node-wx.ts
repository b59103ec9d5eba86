import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { WxLike, WxRequestOptions, WxUploadOptions } from '../client/src/index.ts';

/**
 * A `wx` for Node that behaves like the mini-program's where the client
 * looks: `request` does real HTTP (fetch) and answers like `wx.request`
 * (any status is a success; the body parsed as JSON when it is JSON; no
 * reply at all is a fail with an errMsg), `login` hands out codes the fake
 * WeChat accepts, and storage is a Map that keeps what wx would (a JSON
 * copy). `uploadFile` sends a file from disk as multipart/form-data (fetch's FormData), and hands the
 * reply's body over as a string, as wx.uploadFile does. It counts what it was asked to do. `npm run try` and the tests use it.
 */
export interface NodeWxOptions {
  /** The fake WeChat user the codes log in: `<user>.<n>`. */
  user: string;
  /** Storage shared with another NodeWx: a client "started again". */
  storage?: Map<string, string>;
  /** The next wx.login() codes, used before `<user>.<n>` ones (e.g. 'fail-40029'). */
  codes?: string[];
  /** Makes wx.login() itself fail (as it does offline) this many times. */
  loginFailures?: number;
  /** Called with each exchange once its reply has arrived, before the client sees it. */
  onReply?: (exchange: Exchange) => void | Promise<void>;
}

export interface Exchange {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** Whether an Authorization header was sent. */
  auth: boolean;
  /** The data sent, as the client passed it. */
  data: unknown;
  status: number;
  body: unknown;
}

export interface NodeWx extends WxLike {
  readonly storage: Map<string, string>;
  /** Number of wx.login() calls. */
  readonly logins: number;
  /** Every request that got a reply, in the order the replies arrived. */
  readonly exchanges: Exchange[];
  /** "METHOD /path -> status" of each exchange: what a test compares. */
  trace(): string[];
}

let sequence = 0;

export function nodeWx(options: NodeWxOptions): NodeWx {
  const storage = options.storage ?? new Map<string, string>();
  const codes = [...(options.codes ?? [])];
  let loginFailures = options.loginFailures ?? 0;
  const exchanges: Exchange[] = [];
  let logins = 0;

  const request = (req: WxRequestOptions) => {
    const method = req.method.toUpperCase();
    const url = new URL(req.url);
    let body: string | undefined;
    if (req.data !== undefined && method === 'GET') {
      // wx.request puts a GET's data into the query string.
      for (const [key, value] of Object.entries(req.data as Record<string, unknown>)) url.searchParams.set(key, String(value));
    } else if (req.data !== undefined) {
      body = typeof req.data === 'string' ? req.data : JSON.stringify(req.data);
    }
    void fetch(url, { method, headers: req.header, ...(body === undefined ? {} : { body }) }).then(
      async (response) => {
        const text = await response.text();
        let data: unknown = text;
        try {
          data = JSON.parse(text);
        } catch {
          // wx.request hands over the text when it is not JSON
        }
        const exchange = {
          method,
          path: url.pathname + url.search,
          auth: Object.keys(req.header).some((name) => name.toLowerCase() === 'authorization'),
          data: req.data,
          status: response.status,
          body: data,
        };
        exchanges.push(exchange);
        await options.onReply?.(exchange);
        req.success({ statusCode: response.status, data });
      },
      (error: unknown) => req.fail({ errMsg: `request:fail ${error instanceof Error ? error.message : String(error)}` }),
    );
  };

  /** As wx.uploadFile: the file at filePath as a multipart/form-data part `name`; the reply's body handed over as a string. */
  const uploadFile = (req: WxUploadOptions) => {
    const url = new URL(req.url);
    void (async () => {
      const form = new FormData();
      const bytes = await readFile(req.filePath);
      form.append(req.name, new Blob([bytes]), basename(req.filePath));
      const response = await fetch(url, { method: 'POST', headers: req.header, body: form });
      const text = await response.text();
      const exchange = {
        method: 'POST',
        path: url.pathname,
        auth: Object.keys(req.header).some((name) => name.toLowerCase() === 'authorization'),
        data: undefined,
        status: response.status,
        body: text,
      };
      exchanges.push(exchange);
      await options.onReply?.(exchange);
      req.success({ statusCode: response.status, data: text });
    })().catch((error: unknown) => req.fail({ errMsg: `uploadFile:fail ${error instanceof Error ? error.message : String(error)}` }));
  };

  return {
    storage,
    uploadFile,
    get logins() {
      return logins;
    },
    exchanges,
    trace: () => exchanges.map((e) => `${e.method} ${e.path.replace(/\?.*/, '')} -> ${e.status}`),
    login({ success, fail }) {
      logins += 1;
      // Asynchronous like the real one: callers that start together really overlap.
      setTimeout(() => {
        if (loginFailures > 0) {
          loginFailures -= 1;
          fail({ errMsg: 'login:fail network error' });
          return;
        }
        success({ code: codes.shift() ?? `${options.user}.${++sequence}-${process.pid}` });
      }, 1);
    },
    request,
    getStorageSync: (key) => {
      const value = storage.get(key);
      return value === undefined ? '' : JSON.parse(value);
    },
    setStorageSync: (key, value) => {
      storage.set(key, JSON.stringify(value));
    },
    removeStorageSync: (key) => {
      storage.delete(key);
    },
  };
}
