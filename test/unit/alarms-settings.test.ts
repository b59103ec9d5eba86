import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/** resources/alarms.cjs, as serverless.yml includes it: where the alarms go, per stage, checked at package time. */
const alarms = createRequire(import.meta.url)('../../resources/alarms.cjs') as {
  build(input: { service: string; stage: string; timeoutSeconds: number; env?: Record<string, string> }): {
    Resources: Record<string, { Type: string; Properties: Record<string, any> }>;
  };
};
const build = (env: Record<string, string> = {}) => alarms.build({ service: 'wechat-login', stage: 'prod', timeoutSeconds: 28, env });
const alarmActions = (resources: ReturnType<typeof build>['Resources']) =>
  Object.values(resources)
    .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
    .map((r) => r.Properties.AlarmActions);

describe('alarm settings (resources/alarms.cjs)', () => {
  it('a bare deploy makes the topic, no subscription, and every alarm notifies it', () => {
    const { Resources } = build();
    expect(Resources.AlarmTopic?.Type).toBe('AWS::SNS::Topic');
    expect(Resources.AlarmEmailSubscription).toBeUndefined();
    for (const actions of alarmActions(Resources)) expect(actions).toEqual([{ Ref: 'AlarmTopic' }]);
  });

  it('ALARM_EMAIL subscribes the address to the topic', () => {
    expect(build({ ALARM_EMAIL: 'ops@example.com' }).Resources.AlarmEmailSubscription?.Properties).toEqual({
      TopicArn: { Ref: 'AlarmTopic' },
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('ALARM_TOPIC_ARN: the stack makes no topic, and every alarm notifies that one', () => {
    const arn = 'arn:aws:sns:ap-east-1:123456789012:team-alarms';
    const { Resources } = build({ ALARM_TOPIC_ARN: arn });
    expect(Object.values(Resources).filter((r) => r.Type.startsWith('AWS::SNS::'))).toEqual([]);
    const actions = alarmActions(Resources);
    expect(actions.length).toBeGreaterThan(20);
    for (const action of actions) expect(action).toEqual([arn]);
  });

  it.each([
    ['a malformed ALARM_EMAIL', { ALARM_EMAIL: 'ops' }, /^ALARM_EMAIL/],
    ['a malformed ALARM_TOPIC_ARN', { ALARM_TOPIC_ARN: 'team-alarms' }, /^ALARM_TOPIC_ARN/],
    ['both', { ALARM_EMAIL: 'ops@example.com', ALARM_TOPIC_ARN: 'arn:aws:sns:ap-east-1:123456789012:t' }, /ALARM_EMAIL and ALARM_TOPIC_ARN/],
    ['a SIGNUPS_HELD_ALARM of 0', { SIGNUPS_HELD_ALARM: '0' }, /^SIGNUPS_HELD_ALARM/],
  ])('refuses %s, naming the setting', (_name, env, message) => {
    expect(() => build(env)).toThrow(message);
  });
});
