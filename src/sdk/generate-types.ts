/**
 * Writes the TypeScript types of the SDK (src/sdk/stage-io.generated.ts) from the stage-type
 * registry: the schema language is the single source of every stage type's inputs and outputs, so
 * a pipeline written in TypeScript is checked by the compiler against the same definition the YAML
 * validator uses. Every input value may also be a `Ref` (a `${{ … }}` expression), as in YAML.
 * `test/unit/sdk/generated-types.test.ts` fails when the generated file is stale.
 */
import type { InputSchema, OutputType } from '../spec/schema-language';
import type { StageTypeDefinition } from '../spec/stage-type-definition';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function key(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

function literal(value: string | number | boolean): string {
  return JSON.stringify(value);
}

/**
 * Which side of `${{ }}` resolution a type describes: `authored` is what a pipeline writes (any value
 * may be a `Ref`, defaults may be left out); `resolved` is what a stage implementation receives after
 * resolution, the schema check and defaults (activities/ml-stage-support.ts `checkInputsAgainst`).
 */
export type TypeSide = 'authored' | 'resolved';

/** The TypeScript type a value of `schema` has in a pipeline (before expressions are resolved). */
export function inputType(schema: InputSchema, indent = ''): string {
  return typeOf(schema, indent, 'authored');
}

/** The TypeScript type a stage implementation receives for a value of `schema` (defaults filled in). */
export function resolvedInputType(schema: InputSchema, indent = ''): string {
  return typeOf(schema, indent, 'resolved');
}

function typeOf(schema: InputSchema, indent: string, side: TypeSide): string {
  const plain = plainType(schema, indent, side);
  return side === 'authored' ? `In<${plain}>` : plain;
}

function objectType(schema: Extract<InputSchema, { type: 'object' }>, indent: string, side: TypeSide): string {
  const inner = `${indent}  `;
  const required = new Set(schema.required ?? []);
  const lines: string[] = [];
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (property.description) lines.push(`${inner}/** ${property.description.replace(/\*\//g, '* /')} */`);
    // After resolution a default fills an absent key, so the stage always sees it.
    const present = required.has(name) || (side === 'resolved' && property.default !== undefined);
    lines.push(`${inner}readonly ${key(name)}${present ? '' : '?'}: ${typeOf(property, inner, side)};`);
  }
  const extra = schema.additionalProperties;
  if (extra === true || (extra === undefined && schema.properties === undefined)) {
    lines.push(`${inner}readonly [key: string]: ${side === 'authored' ? 'In<JsonValue>' : 'JsonValue'};`);
  } else if (extra !== undefined && extra !== false) {
    lines.push(`${inner}readonly [key: string]: ${typeOf(extra, inner, side)};`);
  }
  return lines.length === 0 ? '{}' : `{\n${lines.join('\n')}\n${indent}}`;
}

function plainType(schema: InputSchema, indent: string, side: TypeSide): string {
  switch (schema.type) {
    case 'string':
    case 'uri':
    case 'duration':
      return 'string';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'enum':
      return schema.values.map(literal).join(' | ');
    case 'array': {
      const item = typeOf(schema.items, indent, side);
      return `readonly ${item.includes('|') && !item.startsWith('In<') ? `(${item})` : item}[]`;
    }
    case 'object':
      return objectType(schema, indent, side);
    case 'any':
      return side === 'authored' ? 'AnyIn' : 'JsonValue';
    case 'oneOf':
      return schema.variants.map((variant) => plainType(variant, indent, side)).join(' | ');
  }
}

/** The TypeScript type of a stage output, as a reference to it resolves. */
export function outputType(type: OutputType): string {
  switch (type) {
    case 'string':
    case 'uri':
      return 'string';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'object':
      return 'JsonObject';
    case 'array':
      return 'readonly JsonValue[]';
    case 'any':
      return 'never /* any: a reference to it stands anywhere */';
  }
}

/** Where the generated module takes its helper types from, and what it calls the union of type names. */
export interface GenerateOptions {
  /**
   * `internal` (default): the package's own src/sdk/stage-io.generated.ts; `package`: a team's module
   * (`fineflow schema --typescript --stage-module …`), importing from `fineflow`.
   */
  readonly target?: 'internal' | 'package';
}

/** The whole generated module for these stage types. */
export function generateStageIoTypes(
  definitions: readonly StageTypeDefinition[],
  options: GenerateOptions = {},
): string {
  const internal = (options.target ?? 'internal') === 'internal';
  const sorted = [...definitions].sort((a, b) => a.name.localeCompare(b.name));
  const inputs = (side: TypeSide): string[] =>
    sorted.map(
      (d) =>
        `  /** ${d.name}@${d.version}: ${d.description} */\n  readonly ${key(d.name)}: ` +
        `${objectType(d.inputs, '  ', side)};`,
    );
  const outputs = sorted.map((d) => {
    const fields = Object.entries(d.outputs).map(
      ([name, output]) =>
        `    ${output.description ? `/** ${output.description.replace(/\*\//g, '* /')} */\n    ` : ''}readonly ` +
        `${key(name)}: ${outputType(output.type)};`,
    );
    // No declared outputs: a `pipeline` stage's are named at validate time (its child's stage ids).
    if (fields.length === 0) return `  readonly ${key(d.name)}: { readonly [name: string]: JsonObject };`;
    return `  readonly ${key(d.name)}: {\n${fields.join('\n')}\n  };`;
  });
  const header = internal
    ? [
        '// Generated by `npm run generate` (src/sdk/generate-types.ts) from the stage-type registry. Do not edit.',
        "import type { JsonObject, JsonValue } from '../core/spec/plan-types';",
        "import type { AnyIn, In } from './refs';",
      ]
    : [
        '// Generated by `fineflow schema --typescript` from these stage types. Do not edit: generate it again.',
        "import type { AnyIn, In, JsonObject, JsonValue } from 'fineflow';",
      ];
  const kind = internal ? 'built-in' : 'declared';
  return [
    ...header,
    '',
    `/** \`with:\` of every ${kind} stage type. */`,
    'export interface StageInputs {',
    inputs('authored').join('\n'),
    '}',
    '',
    '/**',
    ` * \`with:\` of every ${kind} stage type as its implementation receives it: references resolved, checked`,
    ' * against the schema and defaults filled in (what `checkInputsAgainst` returns).',
    ' */',
    'export interface StageInputValues {',
    inputs('resolved').join('\n'),
    '}',
    '',
    `/** \`outputs\` of every ${kind} stage type, as \`\${{ stages.ID.outputs.NAME }}\` resolves them. */`,
    'export interface StageOutputs {',
    outputs.join('\n'),
    '}',
    '',
    `/** Names of the ${kind} stage types. */`,
    `export type ${internal ? 'BuiltinStageType' : 'DeclaredStageType'} = keyof StageInputs;`,
    '',
  ].join('\n');
}
