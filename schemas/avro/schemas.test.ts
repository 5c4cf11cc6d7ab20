import avsc from 'avsc';
import type { Schema } from 'avsc';
import { describe, expect, it } from 'vitest';
import { AVRO_TYPE_OPTIONS, NAMESPACE, RECORD_NAMES, avroType, recordSchema } from './index.js';
import type { AvroFieldJson, AvroSchemaJson, RecordName } from './index.js';
import { SAMPLE_RECORDS } from './samples.js';

type SchemaObject = Exclude<AvroSchemaJson, string | readonly AvroSchemaJson[]>;

interface FieldAt {
  readonly path: string;
  readonly field: AvroFieldJson;
}

/** Every named type (record or enum) and every field of a schema, with a readable path. */
function walk(name: RecordName): { named: { path: string; node: SchemaObject }[]; fields: FieldAt[] } {
  const named: { path: string; node: SchemaObject }[] = [];
  const fields: FieldAt[] = [];
  const visit = (node: AvroSchemaJson, path: string): void => {
    if (typeof node === 'string') return;
    if (Array.isArray(node)) {
      (node as readonly AvroSchemaJson[]).forEach((branch) => visit(branch, path));
      return;
    }
    const object = node as SchemaObject;
    if (object.type === 'record' || object.type === 'enum') named.push({ path: `${path}<${object.name}>`, node: object });
    for (const field of object.fields ?? []) {
      fields.push({ path: `${path}.${field.name}`, field });
      visit(field.type, `${path}.${field.name}`);
    }
    if (object.items !== undefined) visit(object.items, `${path}[]`);
    if (object.values !== undefined) visit(object.values, `${path}{}`);
  };
  visit(recordSchema(name), name);
  return { named, fields };
}

const all = RECORD_NAMES.map((name) => ({ name, ...walk(name) }));
const allNamed = all.flatMap((record) => record.named);
const allFields = all.flatMap((record) => record.fields);
const enums = allNamed.filter(({ node }) => node.type === 'enum');

/** The non-null branch of `["null", T]`, or the type itself. */
function valueType(type: AvroSchemaJson): AvroSchemaJson {
  return Array.isArray(type) ? (type as readonly AvroSchemaJson[]).find((branch) => branch !== 'null')! : type;
}

function isLogical(type: AvroSchemaJson, logicalType: string): type is SchemaObject {
  return typeof type === 'object' && !Array.isArray(type) && (type as SchemaObject).logicalType === logicalType;
}

describe('the .avsc files', () => {
  it.each(RECORD_NAMES)('%s.avsc defines the record it is named after in the meterflux.v1 namespace', (name) => {
    const schema = recordSchema(name);
    expect([schema.type, schema.name, schema.namespace]).toEqual(['record', name, NAMESPACE]);
  });

  it('document every record, enum and field', () => {
    const undocumented = [
      ...allNamed.filter(({ node }) => !node.doc?.trim()).map(({ path }) => path),
      ...allFields.filter(({ field }) => !field.doc?.trim()).map(({ path }) => path),
    ];
    expect(undocumented).toEqual([]);
  });

  it('give every enum UNKNOWN as its first symbol and its default', () => {
    const wrong = enums
      .filter(({ node }) => node.symbols?.[0] !== 'UNKNOWN' || node.default !== 'UNKNOWN')
      .map(({ path }) => path);
    expect(wrong).toEqual([]);
  });

  it('name fields in camelCase and enum symbols in UPPER_SNAKE_CASE', () => {
    const badFields = allFields.filter(({ field }) => !/^[a-z][a-zA-Z0-9]*$/.test(field.name)).map(({ path }) => path);
    const badSymbols = enums.flatMap(({ path, node }) =>
      (node.symbols ?? []).filter((symbol) => !/^[A-Z][A-Z0-9_]*$/.test(symbol)).map((symbol) => `${path}.${symbol}`),
    );
    expect([...badFields, ...badSymbols]).toEqual([]);
  });

  it('make every union ["null", T] with a null default', () => {
    const wrong = allFields
      .filter(({ field }) => Array.isArray(field.type))
      .filter(({ field }) => {
        const branches = field.type as readonly AvroSchemaJson[];
        return branches.length !== 2 || branches[0] !== 'null' || field.default !== null;
      })
      .map(({ path }) => path);
    expect(wrong).toEqual([]);
  });

  it('type a field as timestamp-millis exactly when its name ends in At', () => {
    const wrong = allFields
      .filter(({ field }) => {
        const type = valueType(field.type);
        const isTimestamp = isLogical(type, 'timestamp-millis') && type.type === 'long';
        return field.name.endsWith('At') !== isTimestamp;
      })
      .map(({ path }) => path);
    expect(wrong).toEqual([]);
  });

  it('write every decimal as bytes with precision 38 and scale 9', () => {
    const decimals = allFields.filter(({ field }) => isLogical(valueType(field.type), 'decimal'));
    expect(decimals.length).toBeGreaterThan(0);
    const wrong = decimals
      .filter(({ field }) => {
        const type = valueType(field.type) as SchemaObject;
        return type.type !== 'bytes' || type.precision !== 38 || type.scale !== 9;
      })
      .map(({ path }) => path);
    expect(wrong).toEqual([]);
  });

  it('define a type that two files share identically in both', () => {
    const byName = new Map<string, string>();
    const conflicts: string[] = [];
    for (const { path, node } of allNamed) {
      const json = JSON.stringify(node);
      const previous = byName.get(node.name ?? '');
      if (previous !== undefined && previous !== json) conflicts.push(path);
      byName.set(node.name ?? '', json);
    }
    expect(conflicts).toEqual([]);
  });
});

describe('schema evolution', () => {
  it.each(RECORD_NAMES)('%s is BACKWARD-compatible with itself', (name) => {
    const writer = avsc.Type.forSchema(recordSchema(name) as unknown as Schema, { ...AVRO_TYPE_OPTIONS });
    const reader = avroType(name);
    const resolver = reader.createResolver(writer);
    expect(reader.fromBuffer(writer.toBuffer(SAMPLE_RECORDS[name]), resolver)).toEqual(SAMPLE_RECORDS[name]);
  });

  it.each(RECORD_NAMES)('a new %s field is readable from old data only when it has a default', (name) => {
    const old = avroType(name);
    const withField = (field: object) =>
      avsc.Type.forSchema({ ...recordSchema(name), fields: [...recordSchema(name).fields, field] } as unknown as Schema, {
        ...AVRO_TYPE_OPTIONS,
      });
    expect(() => withField({ name: 'addedLater', type: 'string', doc: 'x' }).createResolver(old)).toThrow();
    const reader = withField({ name: 'addedLater', type: ['null', 'string'], default: null, doc: 'x' });
    expect(reader.fromBuffer(old.toBuffer(SAMPLE_RECORDS[name]), reader.createResolver(old))).toEqual({
      ...SAMPLE_RECORDS[name],
      addedLater: null,
    });
  });

  it.each(enums.map(({ path, node }) => [path, node] as const))(
    '%s reads a symbol added after its schema as its default',
    (_path, node) => {
      const reader = avsc.Type.forSchema(node as unknown as Schema);
      const writer = avsc.Type.forSchema({ ...node, symbols: [...(node.symbols ?? []), 'ADDED_LATER'] } as unknown as Schema);
      expect(reader.fromBuffer(writer.toBuffer('ADDED_LATER'), reader.createResolver(writer))).toBe(node.default);
    },
  );
});
