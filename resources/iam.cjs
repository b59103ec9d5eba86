'use strict';
/**
 * Each function's IAM statements (serverless-iam-roles-per-function: one role per function, nothing inherited from
 * the provider), generated from one description per feature instead of copied blocks in serverless.yml. Every
 * function of the route table (lib/http/routes.ts) gets its role here, or the package stops (resources/functions.cjs);
 * test/deploy/package.test.ts proves each role's exact permissions in the packaged template.
 *
 * The fence: an UpdateItem on the users table is allowed only with a dynamodb:Attributes condition listing the
 * attributes that function writes (lib/session/users.ts, lib/profile/user-limits.ts), as AWS documents it (DynamoDB
 * guide, "Using IAM policy conditions for fine-grained access control"). Credit keeps its balance in its own table
 * (lib/credit/balance.ts), so no role but login writes anything of credit's on a user item, and a credit role may
 * read only the balance attributes a user stored before the split still holds (a read fence). `usersUpdate` is the only way to write one here, and `check` refuses a role that grants
 * UpdateItem (or PutItem) on the users table without the fence, unless UNFENCED names the function and says why.
 */
const { require: tsRequire } = require('tsx/cjs/api');

const { profileWriteAttributes, replayMarkWriteAttributes } = tsRequire('../lib/session/users.ts', __filename);
const { legacyBalanceReadAttributes } = tsRequire('../lib/credit/balance.ts', __filename);
const { limitWriteAttributes } = tsRequire('../lib/profile/user-limits.ts', __filename);

/** The functions that may write the users table unfenced, and why. */
const UNFENCED = {
  login: "the login transaction creates the user (its credit is the sign-up grant) and records every login: it writes the user's item as a whole",
};

const arn = (table) => ({ 'Fn::GetAtt': [table, 'Arn'] });
const allow = (actions, resources, condition) => ({
  Effect: 'Allow',
  Action: actions,
  Resource: resources,
  ...(condition ? { Condition: condition } : {}),
});
const dynamodb = (table, actions) =>
  allow(
    actions.map((action) => `dynamodb:${action}`),
    [arn(table)],
  );
const ssmParameter = (name) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':parameter', name]],
});
const avatarObjects = (bucket) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', bucket, '/avatars/*']] });

/** An update of the user that names only `attributes` (the key among them) and asks for no more than those back. */
function usersUpdate(attributes) {
  return allow(['dynamodb:UpdateItem'], [arn('UsersTable')], {
    'ForAllValues:StringEquals': { 'dynamodb:Attributes': attributes },
    StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES', 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
  });
}

/** One description per feature: what a function of it may do, by what it does. */
const grants = (ctx) => ({
  session: {
    /** The session alone (GetItem by the token's hash). */
    read: dynamodb('SessionsTable', ['GetItem']),
    /** The session and its user in one round-trip (the token names its user). */
    readWithUser: allow(['dynamodb:BatchGetItem'], [arn('SessionsTable'), arn('UsersTable')]),
    /** The login: a new session, the user's login update (unfenced: UNFENCED), the code's claim, and a new user's first ledger entry. */
    login: [
      dynamodb('SessionsTable', ['PutItem']),
      dynamodb('UsersTable', ['UpdateItem']),
      dynamodb('LoginsTable', ['PutItem', 'GetItem', 'UpdateItem', 'DeleteItem']),
      dynamodb('LedgerTable', ['PutItem']),
    ],
    /** ?all=1 lists the user's sessions with one Query of its partition (strongly consistent, no index). */
    logout: dynamodb('SessionsTable', ['GetItem', 'DeleteItem', 'Query']),
    /** Logging out everywhere marks the user (the end of its codes' replays): only that mark. */
    replayMark: usersUpdate(replayMarkWriteAttributes),
  },
  /**
   * WeChat's access_token: its shared cache, and the AppSecrets to refresh it, the default app's by name and further
   * mini-programs' as the stage's apps path listed as a whole, never a parameter by name, so a made-up AppID costs no
   * SSM call (README, Several mini-programs). IAM authorizes the listing against the path.
   */
  wechat: {
    accessToken: [
      dynamodb('AppCacheTable', ['GetItem', 'UpdateItem']),
      allow(['ssm:GetParameter'], [ssmParameter(ctx.appSecretParameter)]),
      allow(['ssm:GetParametersByPath'], [ssmParameter(ctx.appsPath)]),
    ],
  },
  credit: {
    /** The session and the user's balance item (credit's own, in the ledger table) in one round-trip. */
    readWithBalance: allow(['dynamodb:BatchGetItem'], [arn('SessionsTable'), arn('LedgerTable')]),
    /**
     * A user stored before the balance had its own item: only its balance attributes, read (never written), until
     * its first move writes the balance item. A read fence: the request must name exactly these attributes.
     */
    legacyBalanceRead: allow(['dynamodb:GetItem'], [arn('UsersTable')], {
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': legacyBalanceReadAttributes },
      StringEquals: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
    }),
    /**
     * The ledger: entries are put (conditioned on a new key) and read, never updated or deleted; the balance item is
     * read, put once (a new or an older user's first move) and updated by each move, conditioned on its sequence number.
     */
    moves: dynamodb('LedgerTable', ['PutItem', 'GetItem', 'UpdateItem']),
    /** The user's entries by sequence number: a Query of its partition in the local index, nothing else. */
    history: allow(['dynamodb:Query'], [{ 'Fn::Join': ['/', [arn('LedgerTable'), 'index/bySeq']] }]),
  },
  profile: {
    /** Only its own attribute (and when it changed), plus the per-user bound on the paid WeChat call it makes, if any. */
    attribute: (attribute, limited) => usersUpdate([...profileWriteAttributes(attribute), ...(limited ? limitWriteAttributes(limited) : [])]),
    /** Only to presign the avatar's URL (a presigned GET is allowed what its signer is allowed): nothing is written. */
    avatarRead: allow(['s3:GetObject'], [avatarObjects(ctx.avatarsBucket)]),
    /** The only function that writes to the bucket, and only under the avatars' prefix (keys: avatars/<appid>/<uid>/…). */
    avatarWrite: allow(['s3:PutObject', 's3:DeleteObject', 's3:GetObject'], [avatarObjects(ctx.avatarsBucket)]),
  },
});

/** Each function's role, from its features' descriptions. */
function roles(ctx) {
  const { session, wechat, credit, profile } = grants(ctx);
  return {
    // A new user's risk check (wxa/getuserriskrank) needs the access token.
    login: [...session.login, ...wechat.accessToken],
    // The access token only for ?verify=wechat (wxa/checksession).
    checklogin: [session.read, ...wechat.accessToken],
    credit: [credit.readWithBalance, credit.legacyBalanceRead],
    // The access token only to ask wxa/checksession why data did not decrypt.
    userinfo: [session.read, profile.attribute('userInfo'), ...wechat.accessToken],
    // Whether the number is known already, with the session: a known number is not bought again.
    phonenumber: [session.readWithUser, profile.attribute('phoneNumber', 'phoneNumberExchanges'), ...wechat.accessToken],
    logout: [session.logout, session.replayMark],
    spend: [credit.readWithBalance, credit.legacyBalanceRead, credit.moves],
    checkin: [credit.readWithBalance, credit.legacyBalanceRead, credit.moves],
    history: [session.read, credit.history],
    grant: [credit.legacyBalanceRead, credit.moves],
    profile: [session.readWithUser, profile.avatarRead],
    // WeChat's msg_sec_check before anything is saved.
    nickname: [session.readWithUser, profile.attribute('nickName', 'nickNameChecks'), profile.avatarRead, ...wechat.accessToken],
    avatar: [session.read, profile.attribute('avatarKey'), profile.avatarWrite],
  };
}

const writesUsers = (statement) =>
  statement.Action.some((action) => action === 'dynamodb:UpdateItem' || action === 'dynamodb:PutItem') &&
  statement.Resource.some((resource) => resource?.['Fn::GetAtt']?.[0] === 'UsersTable');
const fenced = (statement) => Array.isArray(statement.Condition?.['ForAllValues:StringEquals']?.['dynamodb:Attributes']);

/** Refuses a role with an unfenced write on the users table (unless UNFENCED names it), and a wildcard anywhere. */
function check(name, statements) {
  for (const statement of statements) {
    if (writesUsers(statement) && !fenced(statement) && !(name in UNFENCED)) {
      throw new Error(`resources/iam.cjs: ${name} writes the users table without a dynamodb:Attributes fence (use usersUpdate)`);
    }
    if (JSON.stringify(statement).includes('*"') && !JSON.stringify(statement).includes('/avatars/*"')) {
      throw new Error(`resources/iam.cjs: ${name} has a wildcard`);
    }
  }
  return statements;
}

/** Every function's statements, checked; `names` are the route table's functions, each of which must have a role. */
function statements(ctx, names) {
  const all = roles(ctx);
  const missing = names.filter((name) => !(name in all));
  const extra = Object.keys(all).filter((name) => !names.includes(name));
  if (missing.length || extra.length) {
    throw new Error(`resources/iam.cjs: roles for ${missing.join(', ') || 'none'} missing, ${extra.join(', ') || 'none'} not in lib/http/routes.ts`);
  }
  return Object.fromEntries(names.map((name) => [name, check(name, all[name])]));
}

module.exports = { statements, check, usersUpdate, UNFENCED };
