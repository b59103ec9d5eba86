/**
 * `npm run admin -- <command> [options]`: the operator's tool, on the same code as the API (the
 * grant function's lib/credit/grant.ts, the ledger and session stores, lib/wiring.ts).
 *
 *   show     --openid O [--appid A]                          the user's balance, check-in and latest entries
 *   grant    --openid O --amount N --key K --reason R [--appid A]   grant (N > 0) or deduct (--amount=-N), once per key
 *   history  --openid O [--appid A] [--limit N] [--cursor C]  the user's entries, newest first (as GET /credit/history)
 *   revoke-sessions --openid O [--appid A]                    log the user out everywhere
 *
 * Target: the stack `npm start` runs (the default; its DynamoDB Local and default app from .local/stack.json),
 * or a deployed stage: --stage S [--region R], with AWS credentials from the usual places (environment,
 * profile, SSO), which need the DynamoDB actions on that stage's tables. --endpoint URL points a stage at
 * another DynamoDB (DynamoDB Local, in the tests). Numbers are whole numbers written out (no 1e3, no 0x10);
 * --limit and --cursor are the API's (1-100; next_cursor as a page gave it). Prints JSON; exits 1 on a refusal
 * (4xx), 2 on a usage error (nothing touched), 3 on an outage (5xx: run the same command again).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createDocumentClient } from '#lib/aws/dynamodb';
import { type Config, readConfig } from '#lib/config';
import { grant } from '#lib/credit/grant';
import { toEntry } from '#lib/credit/ledger';
import { STATUS_BY_CODE } from '#lib/http/status';
import { isAppError } from '#lib/kernel/errors';
import { userId } from '#lib/session/token';
import { ledgerDeps } from '#lib/wiring';
import { STATE_FILE } from '../local/state.ts';
import { tableNamesForStage } from '../local/tables.ts';
import { grantArgs, historyArgs, historyReply } from './args.ts';

const USAGE = 'usage: npm run admin -- show|grant|history|revoke-sessions --openid <openid> [--appid <appid>] [--stage <stage> [--region <region>]]';

function fail(status: number, message: string): never {
  console.error(message);
  process.exit(status);
}

const { positionals, values } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        openid: { type: 'string' },
        appid: { type: 'string' },
        amount: { type: 'string' },
        key: { type: 'string' },
        reason: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
        stage: { type: 'string' },
        region: { type: 'string' },
        endpoint: { type: 'string' },
      },
    });
  } catch (err) {
    return fail(2, `${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
})();

/** The deployment's tables and default app: a deployed stage's (by its names), or the running `npm start`'s. */
function targetConfig(): Config {
  const local = !values.stage;
  const state = local && existsSync(STATE_FILE) ? (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as { appId?: string; dynamodb?: string }) : {};
  if (local && !state.dynamodb && !values.endpoint) fail(2, `No running \`npm start\` found (${STATE_FILE}): start it, or pass --stage <stage>`);
  const stage = values.stage ?? 'local';
  const tables = tableNamesForStage(stage);
  return readConfig({
    // The default app: --appid, else the local stack's, else WECHAT_APPID (a deployed stage's own setting).
    WECHAT_APPID: values.appid ?? state.appId ?? process.env.WECHAT_APPID,
    // Never read: moving points needs no AppSecret. Named so that config validation is the API's own.
    WECHAT_SECRET_PARAM: `/wechat-login/${stage}/wechat-app-secret`,
    SESSIONS_TABLE: tables.sessions,
    USERS_TABLE: tables.users,
    LOGINS_TABLE: tables.logins,
    APP_CACHE_TABLE: tables.appCache,
    LEDGER_TABLE: tables.ledger,
    // Never used by these commands (no avatar is touched); a valid name, so that config validation is the API's own.
    AVATARS_BUCKET: `wechat-login-${stage}-avatars`,
    DYNAMODB_ENDPOINT: values.endpoint ?? state.dynamodb,
    AWS_REGION: values.region ?? process.env.AWS_REGION ?? 'us-east-1',
  });
}

const COMMANDS = ['show', 'grant', 'history', 'revoke-sessions'];

/** Checks the command line before anything else: a mistake in it is a usage error (2), never sent to storage. */
function usage<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    return fail(2, `${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
}

async function main(): Promise<unknown> {
  const [command] = positionals;
  if (!command || !COMMANDS.includes(command)) fail(2, USAGE);
  const openid = values.openid;
  if (!openid) fail(2, `--openid is required\n${USAGE}`);
  const config = usage(targetConfig);
  const appid = values.appid ?? config.appId;
  const uid = userId(appid, openid);
  const request =
    command === 'grant' ? usage(() => grantArgs({ appid, openid, amount: values.amount, key: values.key, reason: values.reason })) : undefined;
  const page = command === 'history' ? usage(() => historyArgs(uid, values)) : undefined;
  const db = createDocumentClient({ region: config.region, endpoint: config.dynamodbEndpoint });
  const deps = ledgerDeps(config, { db });
  try {
    if (request) return await grant(deps, request);
    if (page) return historyReply(uid, await deps.ledger.history(uid, page));
    if (command === 'revoke-sessions') {
      // What POST /logout?all=1 does: the sessions end, and replays of codes exchanged before now too.
      await deps.users.endCodeReplays(uid, Date.now());
      return { uid, sessions_revoked: await deps.sessions.revokeAll(uid, Math.floor(Date.now() / 1000)) };
    }
    const balance = await deps.balances.find(uid);
    if (!balance) return { uid, exists: false };
    const latest = await deps.ledger.history(uid, { limit: 5 });
    return {
      uid,
      appid,
      exists: true,
      credit: balance.credit,
      entries: balance.seq,
      checkin: balance.checkin ?? null,
      latest: latest.entries.map(toEntry),
    };
  } finally {
    db.destroy();
  }
}

try {
  console.log(JSON.stringify(await main(), null, 2));
} catch (err) {
  // A refusal (4xx) exits 1; an outage (5xx), or anything unforeseen, exits 3: the command may be run again as it is.
  const {
    err: message,
    code,
    status,
  } = isAppError(err)
    ? { err: err.message, code: err.code, status: STATUS_BY_CODE[err.code] }
    : { err: err instanceof Error ? err.message : String(err), code: 'INTERNAL', status: 500 };
  if (status < 500) fail(1, JSON.stringify({ err: message, code, status }));
  const again =
    positionals[0] === 'grant'
      ? 'Not known whether it was applied: run the same command again (same --key); a key is applied once.'
      : 'Nothing was refused: run the same command again once the outage has passed.';
  fail(3, `${JSON.stringify({ err: message, code, status })}\n${again}`);
}
