import { vi } from 'vitest';

/**
 * Keeps everything the process writes to stdout and stderr (the functions' log lines) in `chunks` instead of
 * printing it; `vi.restoreAllMocks()` ends it.
 */
export function captureOutput(chunks: string[]): void {
  const keep = (chunk: unknown) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(keep as typeof process.stdout.write);
  vi.spyOn(process.stderr, 'write').mockImplementation(keep as typeof process.stderr.write);
}
