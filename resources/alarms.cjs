'use strict';
/**
 * Alarms, the metric filters behind them, where they go (an SNS topic), and a dashboard: plain CloudFormation,
 * generated at package time (serverless.yml `resources:`). Nothing runs in the functions for it: the signals are
 * CloudWatch Logs metric filters over the one JSON line each request already writes (lib/http/handler.ts),
 * plus what AWS publishes on its own (AWS/Lambda, AWS/DynamoDB, AWS/ApiGateway) with the dimensions it publishes them
 * with. README: Alarms, Dashboard, Runbook (each alarm's description names its runbook section).
 *
 * Deploy-time settings (per stage: set them when deploying that stage):
 * - ALARM_EMAIL: subscribe this address to the stack's topic (AWS mails a confirmation link first);
 * - ALARM_TOPIC_ARN: send to this existing topic instead; the stack then makes none;
 * - SIGNUPS_HELD_ALARM: sign-up grants held back in 5 minutes that page (default 10).
 * With neither of the first two, the topic is still made and every alarm still notifies it.
 */

/** Every function of serverless.yml (test/deploy/alarms.test.ts checks the list), in two groups of at most 10: a metric-math alarm reads at most 10 metrics. */
const FUNCTION_GROUPS = [
  ['login', 'checklogin', 'credit', 'userinfo', 'phonenumber', 'logout', 'spend'],
  ['checkin', 'history', 'grant', 'profile', 'nickname', 'avatar'],
];
const FUNCTIONS = FUNCTION_GROUPS.flat();
/** The functions that call WeChat, and so write WeChat failures to their log line. */
const WECHAT_FUNCTIONS = ['login', 'checklogin', 'userinfo', 'phonenumber', 'nickname'];
/** The WeChat APIs whose failures fail a request (lib/wechat/errcodes.ts WeChatApiName; getuserriskrank never fails one). */
const WECHAT_APIS = ['jscode2session', 'stable_token', 'getuserphonenumber', 'checksession', 'msg_sec_check'];

/**
 * The operations our functions call on the tables that hold users and points (their IAM statements in serverless.yml;
 * transactions are TransactWriteItems). DynamoDB publishes ThrottledRequests and SystemErrors per TableName and
 * Operation only: an alarm on TableName alone would watch nothing.
 */
const TABLE_OPERATIONS = {
  UsersTable: ['GetItem', 'BatchGetItem', 'UpdateItem', 'TransactWriteItems'],
  LedgerTable: ['GetItem', 'PutItem', 'Query', 'TransactWriteItems'],
};

const WECHAT_FAILURE_CODES = ['WECHAT_BUSY', 'WECHAT_TIMEOUT', 'WECHAT_UNREACHABLE', 'WECHAT_BAD_RESPONSE'];

/**
 * The log-line signals: metric name → the filter pattern, which functions' log groups carry it, and its dimension
 * (at most one, always a bounded field). `{ $.fault = "*" }` is "the field exists" (CDK's FilterPattern.exists).
 */
const SIGNALS = {
  WeChatFailures: {
    pattern: `{ ${WECHAT_FAILURE_CODES.map((code) => `($.code = "${code}")`).join(' || ')} }`,
    functions: WECHAT_FUNCTIONS,
    dimension: ['Api', '$.api'],
  },
  WeChatMisconfigured: { pattern: '{ $.fault = "*" }', functions: WECHAT_FUNCTIONS },
  // A request that sent a WeChat call to the backup domain (WECHAT_API_BACKUP_BASE): its line names the APIs in `wechatBackup`.
  WeChatBackupUsed: { pattern: '{ $.wechatBackup = "*" }', functions: WECHAT_FUNCTIONS },
  RiskChecksUnknown: { pattern: '{ $.riskCheck = "unknown" }', functions: ['login'] },
  StorageUnavailable: { pattern: '{ $.code = "STORAGE_UNAVAILABLE" }', functions: FUNCTIONS },
  DeadlineExceeded: { pattern: '{ $.code = "DEADLINE_EXCEEDED" }', functions: FUNCTIONS },
  UnhandledErrors: { pattern: '{ ($.status = 500) && ($.fault NOT EXISTS) }', functions: FUNCTIONS },
  PhoneQuotaExhausted: { pattern: '{ $.code = "PHONE_QUOTA_EXHAUSTED" }', functions: ['phonenumber'] },
  Logins: { pattern: '{ ($.endpoint = "login") && ($.status = 200) }', functions: ['login'] },
  SignupsGranted: { pattern: '{ $.signupGrant = "given" }', functions: ['login'] },
  SignupsHeld: { pattern: '{ $.signupGrant = "held" }', functions: ['login'] },
};

/** Runbook sections of README.md (## Runbook, ### <title>): each alarm's description names its own. */
const RUNBOOK = {
  wechatUnavailable: 'WeChat unavailable',
  wechatMisconfigured: 'WeChat misconfigured',
  storage: 'Storage unavailable',
  dynamodb: 'DynamoDB throttling or system errors',
  deadline: 'Deadline exceeded or slow functions',
  unhandled: 'Unhandled errors',
  lambdaThrottles: 'Lambda throttles',
  api5xx: 'API 5xx rate',
  phoneQuota: 'Phone-number quota exhausted',
  signupsHeld: 'Sign-up grants held back',
};

const capitalized = (name) => name.charAt(0).toUpperCase() + name.slice(1);
const logicalId = (name) => name.split('-').map(capitalized).join('');

function fail(message) {
  const error = new Error(message);
  error.stack = message;
  throw error;
}

/** Where alarms go, checked at package time. */
function alarmTarget(env) {
  const email = env.ALARM_EMAIL?.trim();
  const topicArn = env.ALARM_TOPIC_ARN?.trim();
  if (email && topicArn)
    fail(
      'ALARM_EMAIL and ALARM_TOPIC_ARN are both set: with ALARM_TOPIC_ARN the stack makes no topic, so subscribe the address to that topic yourself',
    );
  if (email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) fail(`ALARM_EMAIL must be an email address, got "${email}"`);
  if (topicArn && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/.test(topicArn)) {
    fail(`ALARM_TOPIC_ARN must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), got "${topicArn}"`);
  }
  return { email, topicArn };
}

function wholeNumber(env, name, fallback, min, max) {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) fail(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return Number(raw);
}

/**
 * The resources, for one stage. `timeoutSeconds` is the functions' timeout (the duration alarm fires above half of it).
 */
function build({ service, stage, timeoutSeconds, env = {} }) {
  const namespace = `${service}/${stage}`;
  const target = alarmTarget(env);
  const signupsHeld = wholeNumber(env, 'SIGNUPS_HELD_ALARM', 10, 1, 100000);
  const resources = {};
  const actions = target.topicArn ? [target.topicArn] : [{ Ref: 'AlarmTopic' }];
  const alarmNames = [];

  if (!target.topicArn) {
    resources.AlarmTopic = {
      Type: 'AWS::SNS::Topic',
      Properties: { TopicName: `${service}-${stage}-alarms`, DisplayName: `${service} ${stage} alarms` },
    };
    if (target.email) {
      resources.AlarmEmailSubscription = {
        Type: 'AWS::SNS::Subscription',
        Properties: { TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: target.email },
      };
    }
  }

  for (const [metric, signal] of Object.entries(SIGNALS)) {
    for (const fn of signal.functions) {
      const transformation = { MetricNamespace: namespace, MetricName: metric, MetricValue: '1', Unit: 'Count' };
      // A dimension and a default value exclude each other; without a dimension, 0 for every other line keeps the metric continuous.
      if (signal.dimension) transformation.Dimensions = [{ Key: signal.dimension[0], Value: signal.dimension[1] }];
      else transformation.DefaultValue = 0;
      resources[`${capitalized(fn)}${metric}MetricFilter`] = {
        Type: 'AWS::Logs::MetricFilter',
        Properties: { LogGroupName: { Ref: `${capitalized(fn)}LogGroup` }, FilterPattern: signal.pattern, MetricTransformations: [transformation] },
      };
    }
  }

  /** One alarm; `runbook` names its README section. Missing data (no traffic) is not breaching. */
  const alarm = (id, { description, runbook, ...properties }) => {
    const AlarmName = `${service}-${stage}-${id}`;
    alarmNames.push(AlarmName);
    resources[`${logicalId(id)}Alarm`] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName,
        AlarmDescription: `${description} Runbook: README.md, Runbook, "${runbook}".`,
        ActionsEnabled: true,
        AlarmActions: actions,
        OKActions: actions,
        TreatMissingData: 'notBreaching',
        ...properties,
      },
    };
  };
  const ours = (metric, dimensions = []) => ({ Namespace: namespace, MetricName: metric, Dimensions: dimensions });
  /** Sustained: at least `threshold` a minute in 3 of 5 minutes. Tens of logins a minute in an outage reach it within 3 to 5 minutes; one user's retries do not. */
  const sustained = (threshold) => ({
    Statistic: 'Sum',
    Period: 60,
    EvaluationPeriods: 5,
    DatapointsToAlarm: 3,
    Threshold: threshold,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  });
  /** Anything in 2 of 5 minutes: never one request alone, yet minutes after a real fault starts. */
  const twice = () => ({
    Statistic: 'Sum',
    Period: 60,
    EvaluationPeriods: 5,
    DatapointsToAlarm: 2,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  });
  const first = () => ({
    Statistic: 'Sum',
    Period: 60,
    EvaluationPeriods: 1,
    DatapointsToAlarm: 1,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  });

  for (const api of WECHAT_APIS) {
    alarm(`wechat-unavailable-${api.replaceAll('_', '-')}`, {
      description: `WeChat ${api} failing (busy, timeouts, unreachable, bad responses): 3 or more a minute in 3 of 5 minutes.`,
      runbook: RUNBOOK.wechatUnavailable,
      ...ours('WeChatFailures', [{ Name: 'Api', Value: api }]),
      ...sustained(3),
    });
  }
  alarm('wechat-unavailable-getuserriskrank', {
    description: 'WeChat getuserriskrank failing or slow: new users get SIGNUP_RISK_UNKNOWN instead of a rank, 3 or more a minute in 3 of 5 minutes.',
    runbook: RUNBOOK.wechatUnavailable,
    ...ours('RiskChecksUnknown'),
    ...sustained(3),
  });
  alarm('wechat-misconfigured', {
    description: 'WeChat refused our AppID, AppSecret, IP or API permission (a log line with "fault"): the first one.',
    runbook: RUNBOOK.wechatMisconfigured,
    ...ours('WeChatMisconfigured'),
    ...first(),
  });
  alarm('storage-unavailable', {
    description: '503 STORAGE_UNAVAILABLE (DynamoDB or S3 unreachable, throttled, failing): 3 or more a minute in 3 of 5 minutes.',
    runbook: RUNBOOK.storage,
    ...ours('StorageUnavailable'),
    ...sustained(3),
  });
  alarm('deadline-exceeded', {
    description: '503 DEADLINE_EXCEEDED (a request ran out of its time although every call in it is bounded): in 2 of 5 minutes.',
    runbook: RUNBOOK.deadline,
    ...ours('DeadlineExceeded'),
    ...twice(),
  });
  alarm('unhandled-errors', {
    description: 'A 500 without "fault" (a bug on our side): in 2 of 5 minutes.',
    runbook: RUNBOOK.unhandled,
    ...ours('UnhandledErrors'),
    ...twice(),
  });
  alarm('phone-quota-exhausted', {
    description: "503 PHONE_QUOTA_EXHAUSTED: the mini-program's paid phone-number verifications are used up; the first one.",
    runbook: RUNBOOK.phoneQuota,
    ...ours('PhoneQuotaExhausted'),
    ...first(),
  });
  alarm('signups-held', {
    description: `Sign-up grants held back (WeChat rates the new users risky): ${signupsHeld} or more in 5 minutes (SIGNUPS_HELD_ALARM), a farm of fake accounts arriving.`,
    runbook: RUNBOOK.signupsHeld,
    ...ours('SignupsHeld'),
    Statistic: 'Sum',
    Period: 300,
    EvaluationPeriods: 1,
    DatapointsToAlarm: 1,
    Threshold: signupsHeld,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  });
  alarm('api-5xx-rate', {
    description: "More than 5% of the API's requests answered 5xx, 3 minutes in a row (AWS's recommended alarm for an HTTP API).",
    runbook: RUNBOOK.api5xx,
    Namespace: 'AWS/ApiGateway',
    MetricName: '5xx',
    // An HTTP API's metrics are per ApiId and Stage; this API's only stage is $default.
    Dimensions: [
      { Name: 'ApiId', Value: { Ref: 'HttpApi' } },
      { Name: 'Stage', Value: '$default' },
    ],
    Statistic: 'Average',
    Period: 60,
    EvaluationPeriods: 3,
    DatapointsToAlarm: 3,
    Threshold: 0.05,
    ComparisonOperator: 'GreaterThanThreshold',
  });

  /** A metric-math alarm over the same metric of several resources: `expression` of m0..mN. */
  const across = (
    id,
    { description, runbook, namespace: ns, metric, stat, dimensionsOf, members, expression, threshold, comparison, evaluation },
  ) => {
    const metrics = members.map((member, i) => ({
      Id: `m${i}`,
      ReturnData: false,
      MetricStat: { Metric: { Namespace: ns, MetricName: metric, Dimensions: dimensionsOf(member) }, Period: 60, Stat: stat },
    }));
    alarm(id, {
      description,
      runbook,
      Metrics: [...metrics, { Id: 'total', Expression: `${expression}([${metrics.map((m) => m.Id).join(', ')}])`, Label: metric, ReturnData: true }],
      Threshold: threshold,
      ComparisonOperator: comparison,
      ...evaluation,
    });
  };
  const lambdaDimensions = (fn) => [{ Name: 'FunctionName', Value: { Ref: `${capitalized(fn)}LambdaFunction` } }];
  const halfTimeoutMs = (timeoutSeconds * 1000) / 2;
  FUNCTION_GROUPS.forEach((group, i) => {
    const which = `functions ${group.join(', ')}`;
    across(`lambda-errors-${i + 1}`, {
      description: `Lambda Errors (invocations that failed outright: a crash, an init failure, Lambda's own timeout) of ${which}: in 2 of 5 minutes.`,
      runbook: RUNBOOK.unhandled,
      namespace: 'AWS/Lambda',
      metric: 'Errors',
      stat: 'Sum',
      dimensionsOf: lambdaDimensions,
      members: group,
      expression: 'SUM',
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      evaluation: { EvaluationPeriods: 5, DatapointsToAlarm: 2 },
    });
    across(`lambda-throttles-${i + 1}`, {
      description: `Lambda Throttles (the account's concurrency used up: API Gateway answers 5xx) of ${which}: in 2 of 5 minutes.`,
      runbook: RUNBOOK.lambdaThrottles,
      namespace: 'AWS/Lambda',
      metric: 'Throttles',
      stat: 'Sum',
      dimensionsOf: lambdaDimensions,
      members: group,
      expression: 'SUM',
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      evaluation: { EvaluationPeriods: 5, DatapointsToAlarm: 2 },
    });
    across(`lambda-duration-${i + 1}`, {
      description: `Lambda Duration above half the ${timeoutSeconds} s timeout (${halfTimeoutMs} ms) in ${which}: in 2 of 5 minutes.`,
      runbook: RUNBOOK.deadline,
      namespace: 'AWS/Lambda',
      metric: 'Duration',
      stat: 'Maximum',
      dimensionsOf: lambdaDimensions,
      members: group,
      expression: 'MAX',
      threshold: halfTimeoutMs,
      comparison: 'GreaterThanThreshold',
      evaluation: { EvaluationPeriods: 5, DatapointsToAlarm: 2 },
    });
  });
  for (const [table, operations] of Object.entries(TABLE_OPERATIONS)) {
    const name = table.replace(/Table$/, '').toLowerCase();
    const dimensionsOf = (operation) => [
      { Name: 'TableName', Value: { Ref: table } },
      { Name: 'Operation', Value: operation },
    ];
    across(`dynamodb-throttled-${name}`, {
      description: `DynamoDB ThrottledRequests on the ${name} table (${operations.join(', ')}): in 3 of 5 minutes.`,
      runbook: RUNBOOK.dynamodb,
      namespace: 'AWS/DynamoDB',
      metric: 'ThrottledRequests',
      stat: 'Sum',
      dimensionsOf,
      members: operations,
      expression: 'SUM',
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      evaluation: { EvaluationPeriods: 5, DatapointsToAlarm: 3 },
    });
    across(`dynamodb-system-errors-${name}`, {
      description: `DynamoDB SystemErrors (HTTP 500 from DynamoDB) on the ${name} table (${operations.join(', ')}): in 2 of 5 minutes.`,
      runbook: RUNBOOK.dynamodb,
      namespace: 'AWS/DynamoDB',
      metric: 'SystemErrors',
      stat: 'Sum',
      dimensionsOf,
      members: operations,
      expression: 'SUM',
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      evaluation: { EvaluationPeriods: 5, DatapointsToAlarm: 2 },
    });
  }

  resources.Dashboard = dashboard({ service, stage, namespace, alarmNames });
  return { Resources: resources, Outputs: { AlarmTopicArn: { Value: actions[0] }, DashboardName: { Value: { Ref: 'Dashboard' } } } };
}

/** The dashboard: one Fn::Sub over its JSON body, so ids and names are the stack's own. */
function dashboard({ service, stage, namespace, alarmNames }) {
  const region = '${AWS::Region}';
  const logGroups = (fns) => fns.map((fn) => `SOURCE '/aws/lambda/${service}-${stage}-${fn}'`).join(' | ');
  const insights = (title, fns, query, y, width = 12, x = 0) => ({
    type: 'log',
    x,
    y,
    width,
    height: 6,
    properties: { title, region, view: 'table', query: `${logGroups(fns)} | ${query}` },
  });
  const metric = (title, metrics, y, x, extra = {}) => ({
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region, view: 'timeSeries', stacked: false, period: 60, metrics, ...extra },
  });
  const api = (name, stat) => ['AWS/ApiGateway', name, 'ApiId', '${HttpApi}', 'Stage', '$default', { stat }];
  const httpFunctions = FUNCTIONS.filter((fn) => fn !== 'grant');
  const widgets = [
    {
      type: 'alarm',
      x: 0,
      y: 0,
      width: 24,
      height: 4,
      properties: {
        title: 'Alarms',
        alarms: alarmNames.map((name) => `arn:\${AWS::Partition}:cloudwatch:${region}:\${AWS::AccountId}:alarm:${name}`),
      },
    },
    metric('API requests, 4xx, 5xx (whole stage)', [api('Count', 'Sum'), api('4xx', 'Sum'), api('5xx', 'Sum')], 4, 0),
    metric('API latency p50 / p99 (ms)', [api('Latency', 'p50'), api('Latency', 'p99')], 4, 12),
    insights(
      'Per route: requests, 4xx and 5xx rate, latency (from the request log line)',
      httpFunctions,
      'filter ispresent(status) and ispresent(endpoint) | stats count(*) as requests, avg(status >= 400 and status < 500) * 100 as pct4xx, avg(status >= 500) * 100 as pct5xx, pct(durationMs, 50) as p50ms, pct(durationMs, 99) as p99ms by endpoint | sort requests desc',
      10,
      24,
    ),
    metric(
      'Logins and sign-ups (granted, held)',
      [
        [namespace, 'Logins', { stat: 'Sum' }],
        [namespace, 'SignupsGranted', { stat: 'Sum' }],
        [namespace, 'SignupsHeld', { stat: 'Sum' }],
      ],
      16,
      0,
    ),
    metric(
      'WeChat failures per API, risk checks unknown, misconfigurations, requests sent to the backup domain',
      [
        ...WECHAT_APIS.map((a) => [namespace, 'WeChatFailures', 'Api', a, { stat: 'Sum', label: a }]),
        [namespace, 'RiskChecksUnknown', { stat: 'Sum', label: 'getuserriskrank (unknown)' }],
        [namespace, 'WeChatMisconfigured', { stat: 'Sum' }],
        [namespace, 'WeChatBackupUsed', { stat: 'Sum', label: 'requests sent to the backup domain (api2)' }],
      ],
      16,
      12,
    ),
    metric(
      'DynamoDB consumed capacity per table',
      Object.keys(TABLE_OPERATIONS)
        .concat(['SessionsTable', 'LoginsTable', 'AppCacheTable'])
        .flatMap((table) => [
          ['AWS/DynamoDB', 'ConsumedReadCapacityUnits', 'TableName', `\${${table}}`, { stat: 'Sum', label: `${table} read` }],
          ['AWS/DynamoDB', 'ConsumedWriteCapacityUnits', 'TableName', `\${${table}}`, { stat: 'Sum', label: `${table} write` }],
        ]),
      22,
      0,
    ),
    metric(
      'DynamoDB throttles and system errors (users, ledger)',
      Object.entries(TABLE_OPERATIONS).flatMap(([table, operations]) =>
        operations.flatMap((operation) => [
          [
            'AWS/DynamoDB',
            'ThrottledRequests',
            'TableName',
            `\${${table}}`,
            'Operation',
            operation,
            { stat: 'Sum', label: `${table} ${operation} throttled` },
          ],
          [
            'AWS/DynamoDB',
            'SystemErrors',
            'TableName',
            `\${${table}}`,
            'Operation',
            operation,
            { stat: 'Sum', label: `${table} ${operation} errors` },
          ],
        ]),
      ),
      22,
      12,
    ),
    insights(
      'Points moved (spend, check-in, server-side grants)',
      ['spend', 'checkin', 'grant'],
      'filter status = 200 | stats count(*) as moves by endpoint, bin(1h)',
      28,
    ),
    metric(
      'Our 5xx signals (storage, deadline, unhandled, phone quota)',
      ['StorageUnavailable', 'DeadlineExceeded', 'UnhandledErrors', 'PhoneQuotaExhausted'].map((m) => [namespace, m, { stat: 'Sum' }]),
      28,
      12,
    ),
  ];
  return {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: { DashboardName: `${service}-${stage}`, DashboardBody: { 'Fn::Sub': JSON.stringify({ widgets }) } },
  };
}

module.exports = {
  FUNCTIONS,
  WECHAT_APIS,
  SIGNALS,
  RUNBOOK,
  TABLE_OPERATIONS,
  build,
  /** What serverless.yml includes: `${file(./resources/alarms.cjs):resources}`. */
  async resources({ resolveVariable }) {
    return build({
      service: await resolveVariable('self:service'),
      stage: await resolveVariable('sls:stage'),
      timeoutSeconds: Number(await resolveVariable('self:provider.timeout')),
      env: process.env,
    });
  },
};
