import { describe, expect, it } from 'vitest';
import type { estypes } from '@elastic/elasticsearch';
import { recordSchema, type AvroSchemaJson } from '../../schemas/avro/index.js';
import { DOCUMENT_SPECS } from './documents.js';
import { INDEX_TYPES } from './index-names.js';
import { doubleFields, indexMapping } from './mappings.js';

/** Fields holding sentences people search by word; every other string is an exact keyword. */
const TEXT_FIELDS = new Set(['Alert.message', 'DeadLetter.reasonMessage']);
/** Types with a geo_point `location` (devices fill it from their reported position; the others are reserved for site coordinates). */
const SITE_LOCATION = new Set(['readings', 'devices', 'consumption', 'concentrations', 'alerts']);

/** The mapping each Avro type must have, by the rules in mappings.ts. */
function expectedMapping(owner: string, field: string, schema: AvroSchemaJson): estypes.MappingProperty {
  if (Array.isArray(schema)) {
    const branches = (schema as readonly AvroSchemaJson[]).filter((branch) => branch !== 'null');
    return expectedMapping(owner, field, branches[0]!);
  }
  if (typeof schema === 'string') {
    switch (schema) {
      case 'string':
        return { type: TEXT_FIELDS.has(`${owner}.${field}`) ? 'text' : 'keyword' };
      case 'int':
      case 'long':
        return { type: 'long' };
      case 'float':
      case 'double':
        return { type: 'double' };
      case 'boolean':
        return { type: 'boolean' };
      case 'bytes':
        return { type: 'binary' };
      default:
        throw new Error(`no rule for ${owner}.${field}: ${schema}`);
    }
  }
  const node = schema as Exclude<AvroSchemaJson, string | readonly AvroSchemaJson[]>;
  if (node.logicalType === 'timestamp-millis') return { type: 'date', format: 'epoch_millis||strict_date_optional_time' };
  if (node.logicalType === 'decimal') return { type: 'keyword', fields: { double: { type: 'double' } } };
  if (node.type === 'enum') return { type: 'keyword' };
  if (node.type === 'map') return node.values === 'bytes' ? { type: 'object', enabled: false } : { type: 'flattened' };
  if (node.type === 'array') {
    const items = node.items!;
    if (typeof items === 'object' && !Array.isArray(items) && (items as { type: string }).type === 'record') {
      const record = items as { name: string; fields: ReadonlyArray<{ name: string; type: AvroSchemaJson }> };
      return {
        type: 'nested',
        dynamic: 'strict',
        properties: Object.fromEntries(record.fields.map((f) => [f.name, expectedMapping(record.name, f.name, f.type)])),
      };
    }
    return expectedMapping(owner, field, items);
  }
  return expectedMapping(owner, field, node.type);
}

describe('index mappings', () => {
  it.each(INDEX_TYPES)('%s maps every field of its record, as the rules say, and nothing else', (type) => {
    const record = DOCUMENT_SPECS[type].record;
    const expected: Record<string, estypes.MappingProperty> = Object.fromEntries(
      recordSchema(record).fields.map((field) => [field.name, expectedMapping(record, field.name, field.type)]),
    );
    if (SITE_LOCATION.has(type)) expected['location'] = { type: 'geo_point' };
    expect(indexMapping(type)).toEqual({ dynamic: 'strict', properties: expected });
  });

  it('lists the double fields the worker checks for NaN and infinity', () => {
    expect(doubleFields('readings')).toEqual(['value', 'originalValue']);
    expect(doubleFields('rejects')).toEqual([]);
  });
});
