import { readFileSync, readdirSync } from 'node:fs';
import { GraphQLEnumType } from 'graphql/index.js';
import { describe, expect, it } from 'vitest';
import { composeSchema } from '../server/compose.js';
import { coreModule } from './index.js';

/** Every Avro enum of schemas/avro by name, with its symbols. */
function avroEnums(): Map<string, string[]> {
  const enums = new Map<string, string[]>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const record = node as Record<string, unknown>;
    if (record['type'] === 'enum') enums.set(String(record['name']), record['symbols'] as string[]);
    Object.values(record).forEach(visit);
  };
  const dir = new URL('../../schemas/avro/', import.meta.url);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.avsc'))) visit(JSON.parse(readFileSync(new URL(file, dir), 'utf8')));
  return enums;
}

const schema = composeSchema([coreModule]);

describe('GraphQL enums', () => {
  // The API passes record values through; an Avro symbol the GraphQL enum lacks would fail serialisation.
  it.each([
    ['AlertKind', 'AlertKind'],
    ['AlertSeverity', 'AlertSeverity'],
    ['AlertState', 'AlertState'],
    ['QualityFlag', 'QualityFlag'],
    ['Gas', 'Gas'],
    ['EmissionScope', 'EmissionScope'],
    ['ResultStatus', 'ResultStatus'],
    ['ConsumptionQuality', 'ConsumptionQuality'],
    ['ConsumptionGranularity', 'ConsumptionGranularity'],
    ['ConcentrationGranularity', 'ConcentrationGranularity'],
    ['DeviceStatus', 'DeviceStatus'],
  ])('%s holds every symbol of the Avro enum %s (UNKNOWN may be left out where writers never write it)', (graphqlName, avroName) => {
    const symbols = avroEnums().get(avroName);
    expect(symbols, avroName).toBeDefined();
    const type = schema.getType(graphqlName);
    expect(type).toBeInstanceOf(GraphQLEnumType);
    const values = (type as GraphQLEnumType).getValues().map((v) => v.name);
    expect(values.sort()).toEqual(expect.arrayContaining(symbols!.filter((s) => s !== 'UNKNOWN' || values.includes('UNKNOWN')).sort()));
  });
});
