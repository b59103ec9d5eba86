/**
 * `npm start`: the whole API on http://127.0.0.1:$PORT (3000) with nothing
 * installed by hand: DynamoDB Local with the deployed tables, s3rver with the
 * avatars' bucket, the built-in fake WeChat (unless WECHAT_API_BASE is set), and
 * serverless-offline running the real handlers. Ctrl-C or SIGTERM stops everything it started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { type LocalDynamo, startLocalDynamo } from './dynamodb.ts';
import { type FakeWeChat, startFakeWeChat } from './fake-wechat.ts';
import { freePort } from './ports.ts';
import { type LocalS3, startLocalS3 } from './s3.ts';
import { LOCAL_APPID, LOCAL_SECRET, ROOT, STATE_FILE } from './state.ts';
import { createTables, tableNamesForStage } from './tables.ts';

const STAGE = 'local';
const ESBUILD_WORK_FOLDER = `.esbuild/offline-${process.pid}`;
// The SDK warns about Node 20 (this machine's); Lambda runs Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const env = process.env;
const port = Number(env.PORT || 3000);
let dynamo: LocalDynamo | undefined;
let s3: LocalS3 | undefined;
let fake: FakeWeChat | undefined;
let offline: ChildProcess | undefined;
let stopping = false;

/** Stops every child, once; a second caller (e.g. offline's own exit) leaves it to the first. */
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (offline && offline.exitCode === null) {
    const exited = new Promise((resolve) => offline!.once('exit', resolve));
    offline.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  }
  await fake?.close();
  await s3?.stop();
  await dynamo?.stop();
  rmSync(STATE_FILE, { force: true });
  rmSync(`${ROOT}${ESBUILD_WORK_FOLDER}`, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  const appId = env.WECHAT_APPID || LOCAL_APPID;
  const secret = env.WECHAT_SECRET || LOCAL_SECRET;

  dynamo = await startLocalDynamo(env.DYNAMODB_PORT ? { port: Number(env.DYNAMODB_PORT) } : {});
  await createTables(dynamo.client, tableNamesForStage(STAGE));
  void dynamo.exited.then((code) => {
    console.error(`DynamoDB Local exited unexpectedly (code ${code}); stopping`);
    void stop(1);
  });

  // The bucket serverless.yml names for this stage (AVATARS_BUCKET, else <service>-local-avatars), on s3rver.
  const bucket = env.AVATARS_BUCKET?.trim() || `wechat-login-${STAGE}-avatars`;
  s3 = await startLocalS3({ buckets: [bucket], ...(env.S3_PORT ? { port: Number(env.S3_PORT) } : {}) });

  let wechatApiBase = env.WECHAT_API_BASE;
  if (!wechatApiBase) {
    // WECHAT_APPS (wx…=secret,…) registers more mini-programs; the fake serves each of them too.
    const apps = (env.WECHAT_APPS ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry.includes('='))
      .map((entry) => ({ appId: entry.slice(0, entry.indexOf('=')), secret: entry.slice(entry.indexOf('=') + 1) }));
    fake = await startFakeWeChat({ appId, secret, apps });
    wechatApiBase = fake.url;
  }

  offline = spawn(`${ROOT}node_modules/.bin/serverless`, ['offline', '--stage', STAGE, '--localEnvironment'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...env,
      PORT: String(port),
      OFFLINE_LAMBDA_PORT: String(await freePort()),
      ESBUILD_WORK_FOLDER,
      WECHAT_APPID: appId,
      WECHAT_SECRET: secret,
      WECHAT_API_BASE: wechatApiBase,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      S3_ENDPOINT: s3.endpoint,
      AVATARS_BUCKET: bucket,
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });

  const api = `http://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    const watch = (chunk: Buffer) => {
      process.stdout.write(chunk);
      if (chunk.toString().includes('Server ready')) resolve();
    };
    offline!.stdout!.on('data', watch);
    offline!.stderr!.on('data', watch);
    offline!.once('exit', (code) => reject(new Error(`serverless offline exited with code ${code}`)));
  });
  offline.once('exit', (code) => {
    if (stopping) return;
    console.error(`serverless offline exited (code ${code}); stopping`);
    void stop(code ?? 1);
  });

  mkdirSync(`${ROOT}.local`, { recursive: true });
  writeFileSync(
    STATE_FILE,
    JSON.stringify({ api, wechat: wechatApiBase, fakeWeChat: Boolean(fake), appId, dynamodb: dynamo.endpoint, s3: s3.endpoint, bucket }, null, 2),
  );
  console.log(`
  WeChat login API ready on ${api}
    DynamoDB Local:  ${dynamo.endpoint}
    S3 (s3rver):     ${s3.endpoint} (bucket ${bucket}; avatarUrls point here)
    WeChat API:      ${wechatApiBase}${fake ? ' (built-in fake: any code such as "alice.1" logs in the user "alice")' : ''}
  Try it:  npm run try
      or:  curl -s -X POST ${api}/login -H 'content-type: application/json' -d '{"code":"alice.1"}'
  Ctrl-C stops everything.
`);
} catch (err) {
  console.error(`npm start failed: ${err instanceof Error ? err.message : String(err)}`);
  await stop(1);
}
