import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FUNCTIONS, ROUTE_NAMES } from '#lib/http/routes';
import { ROOT } from '../../local/state.ts';

/**
 * The client's reply types (client/src/client.ts, hand-written with their doc comments) against openapi.yaml's 200
 * schemas: for each route of the table, the return type of the client's method of that operationId has exactly the
 * schema's fields, each optional exactly when the schema does not require it, of the same kind, nested objects and
 * arrays included. Read with the TypeScript compiler API (README, Decisions: checked, not generated).
 */
type Shape = 'string' | 'number' | 'boolean' | 'object' | { array: Shape } | { fields: Record<string, { optional: boolean; shape: Shape }> };

interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
  const?: unknown;
  oneOf?: Schema[];
}
const spec = parse(readFileSync(`${ROOT}openapi.yaml`, 'utf8')) as {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>>;
  components: { schemas: Record<string, Schema> };
};

function fromSchema(schema: Schema): Shape {
  if (schema.$ref) return fromSchema(spec.components.schemas[schema.$ref.split('/').pop()!]!);
  if (schema.const !== undefined) return fromSchema({ type: typeof schema.const });
  // One of several objects, as one type with every field of any: required only where every one requires it.
  if (schema.oneOf) {
    const branches = schema.oneOf.map((branch) => fromSchema(branch) as { fields: Record<string, { optional: boolean; shape: Shape }> });
    const names = [...new Set(branches.flatMap((branch) => Object.keys(branch.fields)))];
    return {
      fields: Object.fromEntries(
        names.map((name) => [
          name,
          {
            optional: branches.some((branch) => branch.fields[name]?.optional ?? true),
            shape: branches.find((branch) => branch.fields[name])!.fields[name]!.shape,
          },
        ]),
      ),
    };
  }
  if (schema.type === 'string' || schema.type === 'boolean') return schema.type;
  if (schema.type === 'integer' || schema.type === 'number') return 'number';
  if (schema.type === 'array') return { array: fromSchema(schema.items!) };
  if (schema.type === 'object' && !schema.properties) return 'object';
  if (schema.type === 'object') {
    const required = schema.required ?? [];
    return {
      fields: Object.fromEntries(
        Object.entries(schema.properties!).map(([name, field]) => [name, { optional: !required.includes(name), shape: fromSchema(field) }]),
      ),
    };
  }
  throw new Error(`openapi.yaml: a schema the check does not know: ${JSON.stringify(schema)}`);
}

const program = ts.createProgram([`${ROOT}client/src/client.ts`], {
  target: ts.ScriptTarget.ES2017,
  lib: ['lib.es2017.d.ts'],
  types: [],
  strict: true,
  module: ts.ModuleKind.Preserve,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  noEmit: true,
});
const checker = program.getTypeChecker();
const source = program.getSourceFile(`${ROOT}client/src/client.ts`)!;

function fromType(type: ts.Type): Shape {
  if (type.flags & ts.TypeFlags.StringLike) return 'string';
  if (type.flags & ts.TypeFlags.NumberLike) return 'number';
  if (type.flags & ts.TypeFlags.BooleanLike) return 'boolean';
  if (checker.isArrayType(type)) return { array: fromType(checker.getTypeArguments(type as ts.TypeReference)[0]!) };
  const properties = checker.getPropertiesOfType(type);
  if (properties.length === 0 && checker.getIndexInfosOfType(type).length > 0) return 'object';
  return {
    fields: Object.fromEntries(
      properties.map((property) => {
        const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
        const propertyType = checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(property, source));
        return [property.name, { optional, shape: fromType(propertyType) }];
      }),
    ),
  };
}

/** What the client's method resolves with. */
function replyOf(method: string): Shape {
  const client = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).find((symbol) => symbol.name === 'Client')!;
  const member = checker.getDeclaredTypeOfSymbol(client).getProperty(method);
  if (!member) throw new Error(`the client has no method ${method}`);
  const [signature] = checker.getTypeOfSymbolAtLocation(member, source).getCallSignatures();
  return fromType(checker.getAwaitedType(signature!.getReturnType())!);
}

describe("the client's reply types against openapi.yaml", () => {
  it.each(ROUTE_NAMES.map((name) => [FUNCTIONS[name].operationId, FUNCTIONS[name].method, FUNCTIONS[name].path] as const))(
    '%s (%s %s): the same fields, optional alike, of the same kinds',
    (operationId, method, path) => {
      const schema = spec.paths[path]![method.toLowerCase()]!.responses['200']!.content!['application/json']!.schema;
      expect(replyOf(operationId)).toEqual(fromSchema(schema));
    },
  );

  it('the check can fail: a missing field, a field optional on one side only, or another kind are told apart', () => {
    const login = fromSchema({ $ref: '#/components/schemas/LoginReply' });
    expect(replyOf('credit')).not.toEqual(login);
    expect(replyOf('checkLogin')).not.toEqual(
      fromSchema({
        type: 'object',
        required: ['is_login', 'session_key_valid'],
        properties: { is_login: { type: 'boolean' }, session_key_valid: { type: 'boolean' } },
      }),
    );
    expect(replyOf('credit')).not.toEqual(fromSchema({ type: 'object', required: ['credit'], properties: { credit: { type: 'string' } } }));
    expect(replyOf('credit')).toEqual(fromSchema({ type: 'object', required: ['credit'], properties: { credit: { type: 'integer' } } }));
  });
});
