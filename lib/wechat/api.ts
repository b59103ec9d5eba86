import { boundedSignal, remainingMs } from '#lib/kernel/deadline';
import { AppError } from '#lib/kernel/errors';
import { sleep, type Waits } from '#lib/kernel/time';
import { ERRCODE } from '#lib/wechat/errcodes';

export interface WeChatHttpOptions {
  apiBase: string;
  /** Bound on each call, connection and body included. */
  timeoutMs: number;
  /** Pause before the one retry that WeChat's "system busy" (-1) earns. */
  busyRetryDelayMs?: number;
  fetch?: typeof fetch;
  /** The busy pause and the access-token lease polling run on these (lib/kernel/time.ts); the real ones by default. */
  waits?: Waits;
}

export const DEFAULT_BUSY_RETRY_DELAY_MS = 200;

/** Worst case of withBusyRetry: two attempts and the pause between them. */
export const busyRetryBoundMs = (o: Pick<WeChatHttpOptions, 'timeoutMs' | 'busyRetryDelayMs'>): number =>
  2 * o.timeoutMs + (o.busyRetryDelayMs ?? DEFAULT_BUSY_RETRY_DELAY_MS);

/** The one busy policy for every WeChat call: -1 earns one more attempt after a short pause, never more. */
export async function withBusyRetry(
  options: Pick<WeChatHttpOptions, 'busyRetryDelayMs' | 'waits'>,
  attempt: () => Promise<WeChatAnswer>,
): Promise<WeChatAnswer> {
  const answer = await attempt();
  const delayMs = options.busyRetryDelayMs ?? DEFAULT_BUSY_RETRY_DELAY_MS;
  // No time left for a second attempt: "busy" is the truer answer than a timeout.
  if (answer.errcode !== ERRCODE.SYSTEM_BUSY || remainingMs() <= delayMs) return answer;
  await (options.waits?.sleep ?? sleep)(delayMs);
  return attempt();
}

/** A WeChat answer that parsed: its errcode (0 when absent) and the request id WeChat's support asks for. */
export interface WeChatAnswer {
  body: Record<string, unknown>;
  errcode: number;
  rid: string | undefined;
}

/**
 * One bounded call to a WeChat API. Timeouts, network faults and answers that
 * are not a JSON object become AppErrors (504, 502); an errcode is returned for
 * the caller to map, since each API means something else by it.
 */
export async function callWeChat(
  options: WeChatHttpOptions,
  path: string,
  request: { query: Record<string, string>; json?: unknown },
  retryAdvice: string,
): Promise<WeChatAnswer> {
  const url = `${options.apiBase}${path}?${new URLSearchParams(request.query)}`;
  // Which API failed, for the log line (and the alarms' per-API metric): the path's last segment, one of WeChatApiName.
  const api = path.slice(path.lastIndexOf('/') + 1);
  let status: number;
  let text: string;
  try {
    const response = await (options.fetch ?? fetch)(url, {
      signal: boundedSignal(options.timeoutMs),
      ...(request.json === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request.json) }),
    });
    status = response.status;
    text = await response.text();
  } catch (err) {
    // Never attach `err` as cause: undici's errors can quote the URL, which holds secrets and codes.
    if (isTimeout(err)) {
      throw new AppError('WECHAT_TIMEOUT', `WeChat did not answer in time: ${retryAdvice}`, { api, timeoutMs: options.timeoutMs });
    }
    throw new AppError('WECHAT_UNREACHABLE', `Could not reach WeChat: ${retryAdvice}`, { api, reason: networkReason(err) });
  }

  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badWeChatAnswer({ api, httpStatus: status, reason: 'not JSON', length: text.length });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badWeChatAnswer({ api, httpStatus: status, reason: 'not an object' });
  }
  const answer = body as Record<string, unknown>;
  const errcode = answer.errcode ?? 0;
  if (typeof errcode !== 'number') throw badWeChatAnswer({ api, httpStatus: status, reason: 'errcode not a number' });
  return { body: answer, errcode, rid: ridOf(answer.errmsg) };
}

export const badWeChatAnswer = (detail: Record<string, unknown>) =>
  new AppError('WECHAT_BAD_RESPONSE', 'WeChat answered something unusable: retry later', detail);

/** WeChat puts a request id in errmsg ("invalid code, rid: 6385...") that its support asks for. */
function ridOf(errmsg: unknown): string | undefined {
  if (typeof errmsg !== 'string') return undefined;
  return /rid:\s*([\w-]+)/.exec(errmsg)?.[1];
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

function networkReason(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'string' ? cause.code : 'network error';
}
