/**
 * `npm run admin -- <command> [options]`: the operator's tool, on the same code as the API (the
 * grant function's lib/credit/grant.ts, the ledger and session stores, lib/wiring.ts).
 *
 *   show     --openid O [--appid A]                          the user's balance, check-in and latest entries
 *   grant    --openid O --amount N --key K --reason R [--appid A]   grant (N > 0) or deduct (--amount=-N), once per key
 *   history  --openid O [--appid A] [--limit N] [--cursor C]  the user's entries, newest first
 *   revoke-sessions --openid O [--appid A]                    log the user out everywhere
 *
 * Target: the stack `npm start` runs (the default; its DynamoDB Local and default app from .local/stack.json),
 * or a deployed stage: --stage S [--region R], with AWS credentials from the usual places (environment,
 * profile, SSO), which need the DynamoDB actions on that stage's tables. --endpoint URL points a stage at
 * another DynamoDB (DynamoDB Local, in the tests). Prints JSON; exits 1 on a refusal, 2 on a usage error.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createDocumentClient } from '#lib/aws/dynamodb';
import { type Config, readConfig } from '#lib/config';
import { grant, readGrantRequest } from '#lib/credit/grant';
import { toEntry } from '#lib/credit/ledger';
import { isAppError } from '#lib/kernel/errors';
import { userId } from '#lib/session/token';
import { ledgerDeps } from '#lib/wiring';
import { STATE_FILE } from '../local/state.ts';
import { tableNamesForStage } from '../local/tables.ts';

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

async function main(): Promise<unknown> {
  const [command] = positionals;
  if (!command || !['show', 'grant', 'history', 'revoke-sessions'].includes(command)) fail(2, USAGE);
  if (!values.openid) fail(2, `--openid is required\n${USAGE}`);
  const config = targetConfig();
  const db = createDocumentClient({ region: config.region, endpoint: config.dynamodbEndpoint });
  const deps = ledgerDeps(config, { db });
  const appid = values.appid ?? config.appId;
  const uid = userId(appid, values.openid);
  try {
    switch (command) {
      case 'grant':
        return await grant(
          deps,
          readGrantRequest({ appid, openid: values.openid, amount: Number(values.amount), key: values.key, reason: values.reason }),
        );
      case 'history': {
        const limit = Number(values.limit ?? 20);
        const page = await deps.ledger.history(uid, { limit, beforeSeq: values.cursor ? Number(values.cursor) : undefined });
        const last = page.entries.at(-1);
        return { entries: page.entries.map(toEntry), ...(page.more && last ? { next_cursor: String(last.seq) } : {}) };
      }
      case 'revoke-sessions': {
        // What POST /logout?all=1 does: the sessions end, and replays of codes exchanged before now too.
        await deps.users.endCodeReplays(uid, Date.now());
        return { uid, sessions_revoked: await deps.sessions.revokeAll(uid, Math.floor(Date.now() / 1000)) };
      }
      default: {
        const balance = await deps.users.findBalance(uid);
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
      }
    }
  } finally {
    db.destroy();
  }
}

try {
  console.log(JSON.stringify(await main(), null, 2));
} catch (err) {
  if (isAppError(err)) fail(1, JSON.stringify({ err: err.message, code: err.code }));
  fail(1, err instanceof Error ? err.message : String(err));
}
