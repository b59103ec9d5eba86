import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Env, readConfig, weChatApiBackupBase } from '#lib/config';
import { couldNotConnect } from '#lib/wechat/api';
import { MINIMAL_ENV } from '../../support/config-env.ts';

const minimal: Env = MINIMAL_ENV;

const settings = createRequire(import.meta.url)('../../../resources/settings.cjs') as {
  wechatApiBackupBase(): string;
  checkEnvironment(env: Record<string, unknown>): string;
};

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('WECHAT_API_BACKUP_BASE', () => {
  it("defaults to WeChat's api2 when the main base is WeChat's own, and to none otherwise", () => {
    expect(readConfig(minimal).wechatApiBackupBase).toBe('https://api2.weixin.qq.com');
    expect(readConfig({ ...minimal, WECHAT_API_BASE: 'https://api.weixin.qq.com/' }).wechatApiBackupBase).toBe('https://api2.weixin.qq.com');
    expect(readConfig({ ...minimal, WECHAT_API_BASE: 'https://wechat-proxy.example' }).wechatApiBackupBase).toBeUndefined();
    expect(readConfig({ ...minimal, WECHAT_API_BASE: 'http://127.0.0.1:9000' }).wechatApiBackupBase).toBeUndefined();
  });

  it('takes an https base, or plain http to loopback, and "none"', () => {
    expect(weChatApiBackupBase({ ...minimal, WECHAT_API_BACKUP_BASE: 'https://backup.example/' })).toBe('https://backup.example');
    expect(weChatApiBackupBase({ ...minimal, WECHAT_API_BACKUP_BASE: 'http://localhost:9001' })).toBe('http://localhost:9001');
    expect(weChatApiBackupBase({ ...minimal, WECHAT_API_BACKUP_BASE: 'none' })).toBeUndefined();
  });

  it.each(['http://api2.weixin.qq.com', 'ftp://api2.weixin.qq.com', 'api2.weixin.qq.com'])('refuses %s at cold start, naming it', (value) => {
    expect(() => readConfig({ ...minimal, WECHAT_API_BACKUP_BASE: value })).toThrow(/^WECHAT_API_BACKUP_BASE/);
  });

  it('is resolved and checked at package time (resources/settings.cjs), as the functions read it', () => {
    vi.stubEnv('WECHAT_API_BASE', '');
    vi.stubEnv('WECHAT_API_BACKUP_BASE', '');
    expect(settings.wechatApiBackupBase()).toBe('https://api2.weixin.qq.com');
    vi.stubEnv('WECHAT_API_BASE', 'http://127.0.0.1:9000');
    expect(settings.wechatApiBackupBase()).toBe('none');
    vi.stubEnv('WECHAT_API_BACKUP_BASE', 'http://api2.weixin.qq.com');
    expect(() => settings.wechatApiBackupBase()).toThrow(/^WECHAT_API_BACKUP_BASE/);
    expect(() => settings.checkEnvironment({ ...minimal, WECHAT_API_BACKUP_BASE: 'http://api2.weixin.qq.com' })).toThrow(/^WECHAT_API_BACKUP_BASE/);
    expect(settings.checkEnvironment({ ...minimal, WECHAT_API_BACKUP_BASE: 'none' })).toBe('checked');
  });
});

/** What undici's fetch rejects with: a TypeError("fetch failed") whose cause carries the system or undici code. */
const fetchFailed = (cause: unknown) => new TypeError('fetch failed', { cause });
const withCode = (code: string) => Object.assign(new Error(code), { code });

describe('couldNotConnect: only a failure that proves the request was never sent', () => {
  it.each([
    'ECONNREFUSED',
    'ENOTFOUND',
    'EAI_AGAIN',
    'ENETUNREACH',
    'EHOSTUNREACH',
    'UND_ERR_CONNECT_TIMEOUT',
    'CERT_HAS_EXPIRED',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
  ])('%s: never connected', (code) => {
    expect(couldNotConnect(fetchFailed(withCode(code)))).toBe(true);
  });

  it('every address of a multi-address connect refused (AggregateError): never connected', () => {
    expect(couldNotConnect(fetchFailed(new AggregateError([withCode('ECONNREFUSED'), withCode('ENETUNREACH')])))).toBe(true);
    expect(couldNotConnect(fetchFailed(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNRESET')])))).toBe(false);
  });

  it.each([
    ['a reset (the request may have been sent)', fetchFailed(withCode('ECONNRESET'))],
    ['the other side closed', fetchFailed(withCode('UND_ERR_SOCKET'))],
    ['a socket timeout after connecting', fetchFailed(withCode('ETIMEDOUT'))],
    ['our own bound (AbortSignal.timeout)', new DOMException('The operation was aborted due to timeout', 'TimeoutError')],
    ['an abort', new DOMException('This operation was aborted', 'AbortError')],
    ['no cause', new TypeError('fetch failed')],
    ['not an error', 'ECONNREFUSED'],
  ])('%s: may have been sent', (_name, err) => {
    expect(couldNotConnect(err)).toBe(false);
  });
});
