import { loadAwsServiceSpec } from '@aws-cdk/aws-service-spec';

/**
 * A CloudFormation template checked against the CloudFormation resource specification (the registry schemas as
 * @aws-cdk/aws-service-spec carries them, the same database CDK generates its L1 constructs from): every resource
 * type exists, every property is known and of the right type, required properties are present, and the resource
 * attributes (DeletionPolicy, …) take values CloudFormation accepts. An intrinsic function (`Ref`, `Fn::…`) stands
 * for a value of any type: CloudFormation resolves it at deploy time. Returns the problems; empty means accepted.
 */
type SpecDatabase = Awaited<ReturnType<typeof loadAwsServiceSpec>>;
type PropertyType = { type: string; element?: PropertyType; reference?: { $ref: string }; types?: PropertyType[] };
type Property = { type: PropertyType; required?: boolean };

let db: SpecDatabase | undefined;

const RESOURCE_ATTRIBUTES = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'Condition',
  'Metadata',
  'CreationPolicy',
  'UpdatePolicy',
]);
const DELETION_POLICIES = ['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot'];
const UPDATE_REPLACE_POLICIES = ['Delete', 'Retain', 'Snapshot'];

const isIntrinsic = (value: unknown): boolean => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::') || keys[0] === 'Condition');
};

export async function validateTemplate(template: { Resources: Record<string, Record<string, any>> }): Promise<string[]> {
  db ??= await loadAwsServiceSpec();
  const spec = db;
  const problems: string[] = [];

  function checkValue(where: string, type: PropertyType, value: unknown): void {
    if (isIntrinsic(value)) return;
    switch (type.type) {
      case 'string':
      case 'date-time':
        if (typeof value !== 'string') problems.push(`${where}: expected a string, got ${JSON.stringify(value)}`);
        return;
      case 'number':
      case 'integer':
        if (typeof value !== 'number' && !(typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)))
          problems.push(`${where}: expected a number, got ${JSON.stringify(value)}`);
        else if (type.type === 'integer' && !Number.isInteger(Number(value)))
          problems.push(`${where}: expected an integer, got ${JSON.stringify(value)}`);
        return;
      case 'boolean':
        if (typeof value !== 'boolean' && value !== 'true' && value !== 'false')
          problems.push(`${where}: expected a boolean, got ${JSON.stringify(value)}`);
        return;
      case 'json':
        return;
      case 'null':
        if (value !== null) problems.push(`${where}: expected null`);
        return;
      case 'tag':
        checkObject(where, { Key: { type: { type: 'string' }, required: true }, Value: { type: { type: 'string' }, required: true } }, value);
        return;
      case 'array':
        if (!Array.isArray(value)) problems.push(`${where}: expected a list, got ${JSON.stringify(value)}`);
        else for (const [i, item] of value.entries()) checkValue(`${where}[${i}]`, type.element!, item);
        return;
      case 'map':
        if (typeof value !== 'object' || value === null || Array.isArray(value))
          problems.push(`${where}: expected a map, got ${JSON.stringify(value)}`);
        else for (const [key, item] of Object.entries(value)) checkValue(`${where}.${key}`, type.element!, item);
        return;
      case 'ref': {
        const definition = spec.get('typeDefinition', type.reference!.$ref) as unknown as { name: string; properties: Record<string, Property> };
        checkObject(`${where} (${definition.name})`, definition.properties, value);
        return;
      }
      case 'union': {
        const before = problems.length;
        for (const option of type.types ?? []) {
          const mark = problems.length;
          checkValue(where, option, value);
          if (problems.length === mark) {
            problems.length = before;
            return;
          }
        }
        problems.splice(before, problems.length - before, `${where}: matches none of the types of a union, got ${JSON.stringify(value)}`);
        return;
      }
      default:
        problems.push(`${where}: type ${type.type} is not checked here`);
    }
  }

  function checkObject(where: string, properties: Record<string, Property>, value: unknown): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`${where}: expected an object, got ${JSON.stringify(value)}`);
      return;
    }
    for (const [name, item] of Object.entries(value)) {
      const property = properties[name];
      if (!property) problems.push(`${where}.${name}: no such property`);
      else checkValue(`${where}.${name}`, property.type, item);
    }
    for (const [name, property] of Object.entries(properties)) {
      if (property.required && !(name in value)) problems.push(`${where}.${name}: required, missing`);
    }
  }

  for (const [id, resource] of Object.entries(template.Resources)) {
    for (const attribute of Object.keys(resource))
      if (!RESOURCE_ATTRIBUTES.has(attribute)) problems.push(`${id}: unknown resource attribute ${attribute}`);
    if (resource.DeletionPolicy !== undefined && !DELETION_POLICIES.includes(resource.DeletionPolicy))
      problems.push(`${id}: DeletionPolicy ${resource.DeletionPolicy}`);
    if (resource.UpdateReplacePolicy !== undefined && !UPDATE_REPLACE_POLICIES.includes(resource.UpdateReplacePolicy)) {
      problems.push(`${id}: UpdateReplacePolicy ${resource.UpdateReplacePolicy}`);
    }
    for (const dependency of [resource.DependsOn ?? []].flat())
      if (!template.Resources[dependency]) problems.push(`${id}: DependsOn ${dependency}, which does not exist`);
    const [type] = spec.lookup('resource', 'cloudFormationType', 'equals', resource.Type);
    if (!type) {
      problems.push(`${id}: no resource type ${resource.Type}`);
      continue;
    }
    checkObject(`${id} (${resource.Type})`, type.properties as unknown as Record<string, Property>, resource.Properties ?? {});
  }
  return problems;
}
