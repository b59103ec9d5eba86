/**
 * CloudWatch Logs metric filters and CloudWatch alarms, evaluated offline.
 *
 * Filter patterns: the JSON form AWS documents ("Using filter patterns to match terms in JSON log events"):
 * `{ <expr> }` where expr joins comparisons with `&&`, `||` and parentheses; a comparison is `$.field <op> <value>`
 * (`=`, `!=`, `<`, `>`, `<=`, `>=`; a quoted or bare string, where `*` is a wildcard, or a number), or
 * `$.field IS NULL`, `$.field NOT EXISTS`, `$.field IS TRUE`, `$.field IS FALSE`. A comparison on a field the event
 * lacks is false; strings compare only with strings, numbers only with numbers. A log event that is not a JSON object
 * matches no JSON pattern (metric filters see the bare line, as Lambda writes it). Anything else is refused, loudly,
 * so a pattern this evaluator does not understand fails the test instead of passing it.
 */

type Json = Record<string, unknown>;
type Node =
  | { kind: 'and'; left: Node; right: Node }
  | { kind: 'or'; left: Node; right: Node }
  | { kind: 'compare'; path: string[]; op: string; value: string | number; quoted: boolean }
  | { kind: 'postfix'; path: string[]; test: 'IS NULL' | 'NOT EXISTS' | 'IS TRUE' | 'IS FALSE' };

export function parseFilterPattern(pattern: string): (event: string) => boolean {
  const trimmed = pattern.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) throw new Error(`not a JSON filter pattern: ${pattern}`);
  const tokens = tokenize(trimmed.slice(1, -1));
  let at = 0;
  const peek = () => tokens[at];
  const next = () => {
    const token = tokens[at++];
    if (token === undefined) throw new Error(`filter pattern ended early: ${pattern}`);
    return token;
  };
  const expect = (token: string) => {
    const got = next();
    if (got !== token) throw new Error(`expected ${token}, got ${got} in: ${pattern}`);
  };
  function primary(): Node {
    if (peek() === '(') {
      next();
      const node = orExpr();
      expect(')');
      return node;
    }
    const selector = next();
    if (!/^\$(\.[A-Za-z0-9_]+)+$/.test(selector)) throw new Error(`unsupported selector ${selector} in: ${pattern}`);
    const path = selector.split('.').slice(1);
    const op = next();
    if (op === 'IS' || op === 'NOT') {
      const test = `${op} ${next()}` as 'IS NULL' | 'NOT EXISTS' | 'IS TRUE' | 'IS FALSE';
      if (!['IS NULL', 'NOT EXISTS', 'IS TRUE', 'IS FALSE'].includes(test)) throw new Error(`unsupported ${test} in: ${pattern}`);
      return { kind: 'postfix', path, test };
    }
    if (!['=', '!=', '<', '>', '<=', '>='].includes(op)) throw new Error(`unsupported operator ${op} in: ${pattern}`);
    const raw = next();
    if (raw.startsWith('"')) return { kind: 'compare', path, op, value: raw.slice(1, -1), quoted: true };
    if (/^-?\d+(\.\d+)?$/.test(raw)) return { kind: 'compare', path, op, value: Number(raw), quoted: false };
    return { kind: 'compare', path, op, value: raw, quoted: false };
  }
  function andExpr(): Node {
    let node = primary();
    while (peek() === '&&') {
      next();
      node = { kind: 'and', left: node, right: primary() };
    }
    return node;
  }
  function orExpr(): Node {
    let node = andExpr();
    while (peek() === '||') {
      next();
      node = { kind: 'or', left: node, right: andExpr() };
    }
    return node;
  }
  const tree = orExpr();
  if (at !== tokens.length) throw new Error(`unexpected ${tokens[at]} in: ${pattern}`);
  return (event) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(event);
    } catch {
      return false;
    }
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && evaluate(tree, parsed as Json);
  };
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|&&|\|\||!=|<=|>=|[()=<>]|[^\s()=<>!&|"]+)/y;
  let match: RegExpExecArray | null;
  let index = 0;
  while (index < text.length) {
    if (/^\s*$/.test(text.slice(index))) break;
    re.lastIndex = index;
    match = re.exec(text);
    if (!match) throw new Error(`cannot read filter pattern at: ${text.slice(index)}`);
    tokens.push(match[1]!);
    index = re.lastIndex;
  }
  return tokens;
}

function lookup(event: Json, path: string[]): { present: boolean; value?: unknown } {
  let current: unknown = event;
  for (const key of path) {
    if (typeof current !== 'object' || current === null || !(key in current)) return { present: false };
    current = (current as Json)[key];
  }
  return { present: true, value: current };
}

const glob = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(value);

function evaluate(node: Node, event: Json): boolean {
  if (node.kind === 'and') return evaluate(node.left, event) && evaluate(node.right, event);
  if (node.kind === 'or') return evaluate(node.left, event) || evaluate(node.right, event);
  const field = lookup(event, node.path);
  if (node.kind === 'postfix') {
    if (node.test === 'NOT EXISTS') return !field.present;
    if (node.test === 'IS NULL') return field.present && field.value === null;
    return field.present && field.value === (node.test === 'IS TRUE');
  }
  if (!field.present || field.value === null) return false;
  if (typeof node.value === 'number') {
    if (typeof field.value !== 'number') return false;
    const [a, b] = [field.value, node.value];
    const results: Record<string, boolean> = { '=': a === b, '!=': a !== b, '<': a < b, '>': a > b, '<=': a <= b, '>=': a >= b };
    return results[node.op]!;
  }
  if (typeof field.value !== 'string') return false;
  if (node.op === '=') return glob(node.value, field.value);
  if (node.op === '!=') return !glob(node.value, field.value);
  throw new Error(`${node.op} compares numbers, got "${node.value}"`);
}

/** A metric filter's transformation as CloudFormation declares it. */
export interface MetricTransformation {
  MetricNamespace: string;
  MetricName: string;
  MetricValue: string;
  DefaultValue?: number;
  Dimensions?: { Key: string; Value: string }[];
}

/** One published value: which metric (namespace, name, dimensions as `Name=Value` sorted), and the value. */
export interface Datapoint {
  metric: string;
  value: number;
}

export const metricKey = (namespace: string, name: string, dimensions: Record<string, string> = {}) =>
  [
    namespace,
    name,
    ...Object.entries(dimensions)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`),
  ].join('|');

/** What one metric filter publishes for one log event: its value (or DefaultValue when the event does not match). */
export function applyMetricFilter(pattern: string, transformation: MetricTransformation, event: string): Datapoint[] {
  const matches = parseFilterPattern(pattern)(event);
  const base = { namespace: transformation.MetricNamespace, name: transformation.MetricName };
  if (!matches) {
    return transformation.DefaultValue === undefined ? [] : [{ metric: metricKey(base.namespace, base.name), value: transformation.DefaultValue }];
  }
  const parsed = JSON.parse(event) as Json;
  const dimensions: Record<string, string> = {};
  for (const { Key, Value } of transformation.Dimensions ?? []) {
    const field = lookup(parsed, Value.replace(/^\$\./, '').split('.'));
    // No value for a dimension: nothing is published (and test/deploy/alarms.test.ts requires every matching line to have it).
    if (!field.present || (typeof field.value !== 'string' && typeof field.value !== 'number')) return [];
    dimensions[Key] = String(field.value);
  }
  const value = transformation.MetricValue === '1' ? 1 : Number(lookup(parsed, transformation.MetricValue.replace(/^\$\./, '').split('.')).value);
  return [{ metric: metricKey(base.namespace, base.name, dimensions), value }];
}

/** The datapoints of one period: every value published into each metric. */
export type PeriodData = Map<string, number[]>;

export function statistic(values: number[] | undefined, stat: string): number | undefined {
  if (!values || values.length === 0) return undefined;
  switch (stat) {
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Maximum':
      return Math.max(...values);
    case 'Minimum':
      return Math.min(...values);
    case 'SampleCount':
      return values.length;
    default:
      throw new Error(`statistic ${stat} is not evaluated here`);
  }
}

/** The alarm's properties this evaluator reads (AWS::CloudWatch::Alarm), with dimension values resolved to strings. */
export interface AlarmSpec {
  Namespace?: string;
  MetricName?: string;
  Dimensions?: { Name: string; Value: string }[];
  Statistic?: string;
  Period?: number;
  Metrics?: {
    Id: string;
    Expression?: string;
    ReturnData?: boolean;
    MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: string }[] }; Period: number; Stat: string };
  }[];
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  Threshold: number;
  ComparisonOperator: string;
  TreatMissingData?: string;
}

const dimensionsOf = (dimensions: { Name: string; Value: string }[] = []) => Object.fromEntries(dimensions.map((d) => [d.Name, d.Value]));

/** The value the alarm watches in one period: its metric's statistic, or its metric-math expression (SUM / MAX over metrics). */
export function alarmValue(alarm: AlarmSpec, period: PeriodData): number | undefined {
  if (!alarm.Metrics) return statistic(period.get(metricKey(alarm.Namespace!, alarm.MetricName!, dimensionsOf(alarm.Dimensions))), alarm.Statistic!);
  const values = new Map<string, number | undefined>();
  for (const query of alarm.Metrics) {
    if (!query.MetricStat) continue;
    const { Metric, Stat } = query.MetricStat;
    values.set(query.Id, statistic(period.get(metricKey(Metric.Namespace, Metric.MetricName, dimensionsOf(Metric.Dimensions))), Stat));
  }
  const watched = alarm.Metrics.filter((q) => q.ReturnData);
  if (watched.length !== 1 || !watched[0]!.Expression) throw new Error('a metric-math alarm returns exactly one expression');
  const match = /^(SUM|MAX)\(\[([\w\s,]+)\]\)$/.exec(watched[0]!.Expression);
  if (!match) throw new Error(`expression ${watched[0]!.Expression} is not evaluated here`);
  // Metric math drops series without data in a period; with none at all, the expression has no value.
  const present = match[2]!
    .split(',')
    .map((id) => values.get(id.trim()))
    .filter((v): v is number => v !== undefined);
  if (present.length === 0) return undefined;
  return match[1] === 'SUM' ? present.reduce((a, b) => a + b, 0) : Math.max(...present);
}

const BREACHES: Record<string, (value: number, threshold: number) => boolean> = {
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  GreaterThanThreshold: (v, t) => v > t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

/**
 * The alarm's state after the given periods (oldest first, each the data published in it): ALARM when at least
 * DatapointsToAlarm of the last EvaluationPeriods breach, missing data treated as TreatMissingData says.
 */
export function alarmState(alarm: AlarmSpec, periods: PeriodData[]): 'ALARM' | 'OK' {
  const window = periods.slice(-alarm.EvaluationPeriods);
  const breaches = BREACHES[alarm.ComparisonOperator];
  if (!breaches) throw new Error(`comparison ${alarm.ComparisonOperator} is not evaluated here`);
  let breaching = 0;
  for (const period of window) {
    const value = alarmValue(alarm, period);
    if (value === undefined) {
      if (alarm.TreatMissingData === 'breaching') breaching++;
      else if (alarm.TreatMissingData !== 'notBreaching') throw new Error(`TreatMissingData ${alarm.TreatMissingData} is not evaluated here`);
    } else if (breaches(value, alarm.Threshold)) {
      breaching++;
    }
  }
  return breaching >= (alarm.DatapointsToAlarm ?? alarm.EvaluationPeriods) ? 'ALARM' : 'OK';
}
