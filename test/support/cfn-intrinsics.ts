/**
 * The few intrinsics CloudFormation resolves in the values this stack hands its functions: `Fn::Sub` over the
 * pseudo parameters `AWS::AccountId`, `AWS::Region` and `AWS::Partition` (e.g. the default avatars' bucket name).
 * A value with anything else is returned unchanged, so a test that needs more fails loudly on it.
 */
export const DEPLOYED_ACCOUNT = { 'AWS::AccountId': '123456789012', 'AWS::Region': 'us-east-1', 'AWS::Partition': 'aws' } as const;

export function resolvePseudo(value: unknown, pseudo: Record<string, string> = DEPLOYED_ACCOUNT): unknown {
  if (typeof value !== 'object' || value === null || !('Fn::Sub' in value)) return value;
  const template = (value as { 'Fn::Sub': unknown })['Fn::Sub'];
  if (typeof template !== 'string') return value;
  return template.replace(/\$\{([^}]+)\}/g, (whole, name: string) => pseudo[name] ?? whole);
}

/** A function's environment as Lambda would see it once deployed: every value a string. */
export function deployedEnvironment(variables: Record<string, unknown>, pseudo: Record<string, string> = DEPLOYED_ACCOUNT): Record<string, string> {
  return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, String(resolvePseudo(value, pseudo))]));
}
