import { boundedMs, remainingMs } from '#lib/kernel/deadline';
import { AppError } from '#lib/kernel/errors';
import { notedLogFields, noteLogField } from '#lib/kernel/log';
import { sleep, type Waits } from '#lib/kernel/time';
import { ERRCODE } from '#lib/wechat/errcodes';

export interface WeChatHttpOptions {
  apiBase: string;
  /**
   * WeChat's disaster-recovery domain (WECHAT_API_BACKUP_BASE): an attempt that could not reach apiBase at all (no
   * connection, DNS, TLS) is sent here once, within the same bound. Undefined: no backup.
   */
  backupBase?: string;
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
  const target = `${path}?${new URLSearchParams(request.query)}`;
  // Which API failed, for the log line (and the alarms' per-API metric): the path's last segment, one of WeChatApiName.
  const api = path.slice(path.lastIndexOf('/') + 1);
  const init =
    request.json === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request.json) };
  // One bound for the attempt, whichever domain answers it: the backup gets what the main domain left of it.
  const endsAt = performance.now() + boundedMs(options.timeoutMs);
  const exchange = async (base: string) => {
    const response = await (options.fetch ?? fetch)(`${base}${target}`, {
      signal: AbortSignal.timeout(Math.max(0, Math.floor(endsAt - performance.now()))),
      ...init,
    });
    return { status: response.status, text: await response.text() };
  };
  let status: number;
  let text: string;
  try {
    ({ status, text } = await exchange(options.apiBase));
  } catch (err) {
    // Only a failure that proves nothing was sent goes to the backup: a request sent and then lost may have spent a login code.
    if (!options.backupBase || !couldNotConnect(err) || endsAt - performance.now() < 1) throw networkError(err, api, options, retryAdvice);
    markBackupUse(api);
    try {
      ({ status, text } = await exchange(options.backupBase));
    } catch (backupErr) {
      throw networkError(backupErr, api, options, retryAdvice, networkReason(err));
    }
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

/** The request's log line names every API it sent to the backup domain (`wechatBackup`: API names, space-separated). */
function markBackupUse(api: string): void {
  const used = notedLogFields().wechatBackup;
  const apis = typeof used === 'string' ? used.split(' ') : [];
  if (!apis.includes(api)) noteLogField('wechatBackup', [...apis, api].join(' '));
}

/** A timeout or a network fault as the contract's error (never with `err` as cause: undici's errors can quote the URL, which holds secrets and codes). */
function networkError(err: unknown, api: string, options: Pick<WeChatHttpOptions, 'timeoutMs'>, retryAdvice: string, mainReason?: string): AppError {
  const main = mainReason === undefined ? {} : { mainReason };
  if (isTimeout(err)) {
    return new AppError('WECHAT_TIMEOUT', `WeChat did not answer in time: ${retryAdvice}`, { api, timeoutMs: options.timeoutMs, ...main });
  }
  return new AppError('WECHAT_UNREACHABLE', `Could not reach WeChat: ${retryAdvice}`, { api, reason: networkReason(err), ...main });
}

/**
 * The connection was never made, so the request was never sent: refused, no route, DNS, undici's own connect
 * timeout, or TLS (the handshake comes before the request). Never a reset or a closed socket (ECONNRESET,
 * UND_ERR_SOCKET: the request may have been sent), nor our own bound running out (AbortSignal: it may have run out
 * while WeChat was answering).
 */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'HOSTNAME_MISMATCH',
]);
const TLS_FAILURE = /^(?:CERT_|ERR_TLS_CERT|ERR_SSL_)/;

export function couldNotConnect(err: unknown): boolean {
  if (isTimeout(err) || !(err instanceof Error)) return false;
  const cause = err.cause as { code?: unknown; errors?: unknown } | undefined;
  // Node's happy-eyeballs connect (several addresses) fails with an AggregateError: every address must have failed to connect.
  const codes =
    typeof cause?.code === 'string' ? [cause.code] : Array.isArray(cause?.errors) ? cause.errors.map((e: { code?: unknown }) => e?.code) : [];
  return codes.length > 0 && codes.every((code) => typeof code === 'string' && (CONNECT_FAILURES.has(code) || TLS_FAILURE.test(code)));
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

function networkReason(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'string' ? cause.code : 'network error';
}
