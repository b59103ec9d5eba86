/**
 * Everything the bench starts (DynamoDB Local, the fake WeChat, `serverless
 * package`, cold-start probes) registers its stop here, so a failure, Ctrl-C
 * or SIGTERM still ends all of them.
 */
import type { ChildProcess } from 'node:child_process';

type Stop = () => Promise<void> | void;
const stops = new Map<number, Stop>();
let next = 0;

export function onCleanup(stop: Stop): () => void {
  const id = next++;
  stops.set(id, stop);
  return () => {
    stops.delete(id);
  };
}

export async function cleanupAll(): Promise<void> {
  const pending = [...stops.values()].reverse();
  stops.clear();
  for (const stop of pending) {
    try {
      await stop();
    } catch (err) {
      console.error('cleanup:', err instanceof Error ? err.message : err);
    }
  }
}

/** Kills a child started with `detached: true`, with its whole process group. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

let installed = false;
export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping everything the bench started…`);
      void cleanupAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}
