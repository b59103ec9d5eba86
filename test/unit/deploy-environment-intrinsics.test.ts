import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * serverless.yml hands custom.environmentChecked the whole provider.environment as osls resolved it: AVATARS_BUCKET's
 * default is a CloudFormation Fn::Sub over the account and region (only CloudFormation resolves it). The check must
 * check the name it becomes, not the object: a bare `serverless package` (no AVATARS_BUCKET) once failed with
 * `AVATARS_BUCKET is malformed ... got "[object Object]"`.
 */
const settings = createRequire(import.meta.url)('../../resources/settings.cjs') as {
  environmentChecked(context: { resolveVariable(name: string): Promise<unknown> }): Promise<string>;
  checkEnvironment(env: Record<string, unknown>): string;
};

const environment = {
  WECHAT_APPID: 'wx0000000000000000',
  WECHAT_SECRET_PARAM: '/wechat-login/prod/wechat-app-secret',
  SESSIONS_TABLE: 's',
  USERS_TABLE: 'u',
  LOGINS_TABLE: 'l',
  APP_CACHE_TABLE: 'a',
  LEDGER_TABLE: 'g',
};
const defaultBucket = { 'Fn::Sub': 'wechat-login-prod-avatars-${AWS::AccountId}-${AWS::Region}' };

describe('the package-time environment check with the default bucket name (an Fn::Sub)', () => {
  it('checks the name the Fn::Sub becomes, with the longest account and region', async () => {
    const resolveVariable = async () => ({ ...environment, AVATARS_BUCKET: defaultBucket });
    await expect(settings.environmentChecked({ resolveVariable })).resolves.toBe('checked');
  });

  it('still refuses an Fn::Sub that cannot become a valid bucket name, naming the setting', () => {
    expect(() => settings.checkEnvironment({ ...environment, AVATARS_BUCKET: { 'Fn::Sub': 'Avatars.${AWS::Region}' } })).toThrow(/^AVATARS_BUCKET/);
  });

  it('refuses any other CloudFormation value it cannot check, naming the setting', () => {
    expect(() => settings.checkEnvironment({ ...environment, AVATARS_BUCKET: { Ref: 'SomeBucket' } })).toThrow(/^AVATARS_BUCKET/);
  });
});
