import { afterAll, describe, expect, it, vi } from 'vitest';
import { apiEvent } from '../support/event.ts';
import { ENDPOINTS, type Endpoint, ROUTES } from '../support/handlers.ts';
import { lambdaContext } from '../support/lambda-context.ts';
import { rawHandlers } from '../support/raw.ts';
import { useTestStack } from '../support/use-stack.ts';

/**
 * A refused request must never take down a later one. Each handler races its
 * endpoint against a backstop timer set to Lambda's remaining time; a timer
 * left armed by a request that was refused early would reject unhandled when
 * it fires, and Lambda's Node runtime then fails whichever invocation is in
 * flight on that instance. Here every handler gets hostile input with a short
 * remaining time; the timers are faked, so "later" is a call, not a wait.
 */
const REMAINING_MS = 1_500;
const { stack, client } = useTestStack();
let token = '';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
afterAll(() => process.off('unhandledRejection', onUnhandled));

/** What a clumsy client or an attacker sends: junk bodies, no token, a token of the wrong shape, a forged one of the right shape. */
function hostileEvents(name: Endpoint) {
  const { method, path } = ROUTES[name];
  const forged = `${token.slice(0, 22)}${'A'.repeat(token.length - 22)}`;
  const events = [];
  for (const headers of [
    {},
    { authorization: 'Bearer x' },
    { authorization: `Bearer ${forged}` },
    { authorization: 'Bearer a', 'x-wx-appid': 'wx' },
  ]) {
    for (const body of ['x', '{"code":', '[]', '{"amount":-1,"key":"k"}', undefined]) {
      events.push(apiEvent({ method, path, headers: { ...headers, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body }) }));
    }
    events.push(
      apiEvent({ method, path, headers: { ...headers, 'content-type': 'multipart/form-data; boundary=zz' }, body: Buffer.from('--zz\r\nbroken') }),
    );
  }
  return events;
}

describe('a refused request leaves nothing behind that could fail a later one', () => {
  it('every handler, given hostile input with a short remaining time, replies 4xx and leaves no timer armed', async () => {
    token = ((await client.login('backstop.1')).body as { token: string }).token;
    const send = rawHandlers(stack.deps);
    for (const name of ENDPOINTS) {
      for (const event of hostileEvents(name)) {
        vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
        try {
          const reply = await send(name, event, lambdaContext(REMAINING_MS));
          expect(reply.status, `${name}: ${reply.raw}`).toBeGreaterThanOrEqual(name === 'checklogin' || name === 'logout' ? 200 : 400);
          expect(reply.status, `${name}: ${reply.raw}`).toBeLessThan(500);
          expect(vi.getTimerCount(), `${name}: timers left armed after the reply`).toBe(0);
          // Past the time the request had: nothing fires.
          await vi.advanceTimersByTimeAsync(REMAINING_MS * 2);
        } finally {
          vi.useRealTimers();
        }
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
  });

  it('after all of that, the same handlers still serve a valid request', async () => {
    const login = await client.login('backstop.2');
    expect(login.status).toBe(200);
    expect((await client.credit((login.body as { token: string }).token)).status).toBe(200);
  });
});
