import { afterAll, afterEach, beforeAll } from 'vitest';
import { api } from './invoke.ts';
import { startTestStack, type TestStack } from './stack.ts';

export type TestClient = ReturnType<typeof api>;

/**
 * One stack per test file: started before its first test, the fake WeChat's
 * script cleared after each test, closed after the last. The returned objects
 * stand for the stack and its client from the first test on (they are handed
 * out before `beforeAll` has run, so they forward to what it started).
 */
export function useTestStack(overrides?: Parameters<typeof startTestStack>[0] | (() => Parameters<typeof startTestStack>[0])): {
  stack: TestStack;
  client: TestClient;
} {
  let stack: TestStack | undefined;
  let client: TestClient | undefined;
  beforeAll(async () => {
    // A function is read when the stack starts: after the file's own earlier beforeAll (e.g. its own DynamoDB Local).
    stack = await startTestStack(typeof overrides === 'function' ? overrides() : overrides);
    client = api(stack.deps);
  });
  afterEach(() => {
    stack?.fake.script(undefined);
    stack?.fake.scriptRisk(undefined);
  });
  afterAll(() => stack?.close());
  return { stack: late('stack', () => stack), client: late('client', () => client) };
}

function late<T extends object>(name: string, current: () => T | undefined): T {
  return new Proxy({} as T, {
    get(_, key) {
      const target = current();
      if (!target) throw new Error(`the test ${name} is used before beforeAll started it`);
      return Reflect.get(target, key);
    },
  });
}
