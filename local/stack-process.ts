import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { ROOT } from './state.ts';

export interface StackProcess {
  child: ChildProcess;
  api: string;
  /** What `npm start` wrote to its state file: where DynamoDB Local, s3rver (and its bucket) and WeChat are. */
  state: { api: string; wechat: string; dynamodb: string; s3: string; bucket: string; fakeWeChat: boolean; appId: string };
  /** Where the stack wrote its state (LOCAL_STACK_FILE): `npm run try` and `npm run admin` find it there. */
  stateFile: string;
  output(): string;
  /** SIGTERM, as Ctrl-C would; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `npm start` (local/start.ts) as a child process on a free port, resolved once it says it is ready.
 * A port found free can be taken by another process before the stack binds it: then it tries again.
 */
export async function spawnLocalStack(env: Record<string, string> = {}): Promise<StackProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnOnce(env);
    } catch (err) {
      if (attempt === 3 || !String(err).includes('EADDRINUSE')) throw err;
    }
  }
}

async function spawnOnce(env: Record<string, string>): Promise<StackProcess> {
  const port = await freePort();
  const stateFile = join(mkdtempSync(join(tmpdir(), 'stack-')), 'stack.json');
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), LOCAL_STACK_FILE: stateFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('WeChat login API ready')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  return {
    child,
    api: `http://127.0.0.1:${port}`,
    state: JSON.parse(readFileSync(stateFile, 'utf8')),
    stateFile,
    output: () => output,
    stop() {
      if (child.exitCode !== null) return Promise.resolve(child.exitCode);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      return exited;
    },
  };
}
