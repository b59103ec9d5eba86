import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api } from '../support/invoke.ts';
import { IMAGES, uploadFileBody } from '../support/multipart.ts';
import type { TestDeps } from '../support/stack.ts';
import { useTestStack } from '../support/use-stack.ts';

/** Authenticate first, everywhere: no store read, body parse or WeChat call is made for a caller without a live session. */
const { stack, client } = useTestStack();

const login = async (code: string) => {
  const reply = await client.login(code);
  expect(reply.status, reply.raw).toBe(200);
  return String(reply.body.token);
};
/** A token of the right shape for a real user (its uid), with a secret that names no session. */
const forgedFor = (token: string) => `${token.split('.')[0]}.${randomBytes(32).toString('base64url')}`;

/** deps whose ledger, profiles and avatars stores record every call made on them. */
function recordingDeps(): { deps: TestDeps; calls: string[] } {
  const calls: string[] = [];
  const record = <T extends object>(name: string, target: T): T =>
    new Proxy(target, {
      get(object, key) {
        const value = Reflect.get(object, key);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls.push(`${name}.${String(key)}`);
          return value.apply(object, args);
        };
      },
    });
  const deps = {
    ...stack.deps,
    ledger: record('ledger', stack.deps.ledger),
    avatars: record('avatars', stack.deps.avatars),
  };
  return { deps, calls };
}

describe('GET /credit/history', () => {
  it('a forged token for a real user is 401 before any ledger query', async () => {
    const alice = await login('hist-auth.1');
    const { deps, calls } = recordingDeps();
    const reply = await api(deps).history(forgedFor(alice));
    expect(reply).toMatchObject({ status: 401, body: { code: 'SESSION_INVALID' } });
    expect(calls).toEqual([]);
    // The real token still reads the page.
    expect((await api(deps).history(alice)).status).toBe(200);
    expect(calls).toEqual(['ledger.history']);
  });

  it('a forged token with a bad limit or cursor is 401, not 400', async () => {
    const forged = forgedFor(await login('hist-auth2.1'));
    expect(await client.history(forged, { limit: 'lots' })).toMatchObject({ status: 401, body: { code: 'SESSION_INVALID' } });
    expect(await client.history(forged, { cursor: 'not-a-cursor' })).toMatchObject({ status: 401, body: { code: 'SESSION_INVALID' } });
  });
});

describe('POST /profile/avatar', () => {
  const malformed = { body: Buffer.from('this is not multipart at all'), contentType: 'multipart/form-data; boundary=xyz' };

  it('an anonymous upload is 401, whatever its body', async () => {
    expect(await client.avatar(undefined, malformed)).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    expect(await client.avatar(undefined, { body: Buffer.from('x'), contentType: 'text/plain' })).toMatchObject({
      status: 401,
      body: { code: 'UNAUTHENTICATED' },
    });
    expect(await client.avatar(undefined, uploadFileBody(IMAGES.gif))).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
  });

  it('a forged token is 401 before the body is parsed or anything is stored', async () => {
    const forged = forgedFor(await login('ava-auth.1'));
    const { deps, calls } = recordingDeps();
    expect(await api(deps).avatar(forged, malformed)).toMatchObject({ status: 401, body: { code: 'SESSION_INVALID' } });
    expect(await api(deps).avatar(forged, uploadFileBody(IMAGES.jpeg))).toMatchObject({ status: 401, body: { code: 'SESSION_INVALID' } });
    expect(calls).toEqual([]);
  });
});

describe('JSON bodies are read after the session', () => {
  const bad = '{"not json';
  const endpoints = [
    ['nickname', 'PUT', '/profile'],
    ['phonenumber', 'POST', '/phonenumber'],
    ['spend', 'POST', '/credit/spend'],
    ['userinfo', 'POST', '/userinfo'],
  ] as const;

  it.each(endpoints)('%s: an anonymous request with a malformed body is 401 UNAUTHENTICATED', async (name, method, path) => {
    expect(await client.invoke(name, { method, path, body: bad })).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
  });

  it.each(endpoints)('%s: a forged token with a malformed body is 401 SESSION_INVALID', async (name, method, path) => {
    const forged = forgedFor(await login(`json-auth-${name}.1`));
    expect(await client.invoke(name, { method, path, body: bad, headers: { authorization: `Bearer ${forged}` } })).toMatchObject({
      status: 401,
      body: { code: 'SESSION_INVALID' },
    });
  });

  it.each(endpoints)('%s: a live session with a malformed body is still 400', async (name, method, path) => {
    const token = await login(`json-auth-live-${name}.1`);
    expect(await client.invoke(name, { method, path, body: bad, headers: { authorization: `Bearer ${token}` } })).toMatchObject({
      status: 400,
    });
  });
});
