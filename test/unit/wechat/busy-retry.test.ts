import { describe, expect, it, vi } from 'vitest';
import { withBusyRetry } from '#lib/wechat/api';
import { ERRCODE } from '#lib/wechat/errcodes';

describe('withBusyRetry: the pause runs on the injected sleep', () => {
  it('-1 earns one more try after busyRetryDelayMs, on the sleep it is given', async () => {
    const sleep = vi.fn(async () => undefined);
    const answers = [ERRCODE.SYSTEM_BUSY, ERRCODE.SYSTEM_BUSY].map((errcode) => ({ body: {}, errcode, rid: undefined }));
    const attempt = vi.fn(async () => answers.shift()!);
    const answer = await withBusyRetry({ busyRetryDelayMs: 60_000, waits: { sleep } }, attempt);
    expect(answer.errcode).toBe(ERRCODE.SYSTEM_BUSY);
    expect(attempt).toHaveBeenCalledTimes(2);
    expect(sleep).toHaveBeenCalledWith(60_000);
  });
});
