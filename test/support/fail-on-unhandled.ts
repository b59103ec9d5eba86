import { afterEach } from 'vitest';

/**
 * An unhandled rejection or uncaught exception anywhere in a test process fails
 * the test during which it surfaced (Lambda's Node runtime would fail whichever
 * invocation was in flight and restart the instance). Vitest reports them too,
 * at the end of the run; this names the test.
 */
const KEY = Symbol.for('wechat-login.unhandled');
type Registry = { seen: unknown[] };
const registry: Registry = ((globalThis as Record<symbol, unknown>)[KEY] as Registry | undefined) ?? { seen: [] };
if (!(globalThis as Record<symbol, unknown>)[KEY]) {
  (globalThis as Record<symbol, unknown>)[KEY] = registry;
  process.on('unhandledRejection', (reason) => registry.seen.push(reason));
  process.on('uncaughtException', (error) => registry.seen.push(error));
}

afterEach(() => {
  const seen = registry.seen.splice(0);
  if (seen.length > 0) {
    throw new Error(
      `unhandled rejection or uncaught exception in this process: ${seen.map((e) => (e instanceof Error ? e.stack : String(e))).join('\n')}`,
    );
  }
});
