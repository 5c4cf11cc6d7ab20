import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  README_FILE,
  TABLES_BEGIN,
  TABLES_END,
  TYPES_FILE,
  committedSchemas,
  renderFieldTables,
  renderTypes,
  spliceFieldTables,
} from './generate-types.js';
import type { AvroFieldJson, RecordSchemaJson } from './index.js';

const REGENERATE = 'stale: run `npx tsx schemas/avro/generate-types.ts` and commit the result';

function probe(fields: AvroFieldJson[], name = 'Reading'): RecordSchemaJson {
  return { type: 'record', name, namespace: 'meterflux.v1', doc: 'A probe record.', fields } as RecordSchemaJson;
}

describe('generated files', () => {
  it('types.generated.ts matches the .avsc files', () => {
    expect(readFileSync(TYPES_FILE, 'utf8'), REGENERATE).toBe(renderTypes(committedSchemas()));
  });

  it('the README record tables match the .avsc files', () => {
    const readme = readFileSync(README_FILE, 'utf8');
    expect(readme, REGENERATE).toBe(spliceFieldTables(readme, renderFieldTables(committedSchemas())));
  });
});

describe('renderTypes', () => {
  it.each<[string, AvroFieldJson['type'], string]>([
    ['string', 'string', 'string'],
    ['int', 'int', 'number'],
    ['long', 'long', 'number'],
    ['double', 'double', 'number'],
    ['boolean', 'boolean', 'boolean'],
    ['bytes', 'bytes', 'Buffer'],
    ['timestamp-millis', { type: 'long', logicalType: 'timestamp-millis' }, 'number'],
    ['decimal', { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 9 }, 'string'],
    ['a nullable string', ['null', 'string'], 'string | null'],
    ['a nullable decimal', ['null', { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 9 }], 'string | null'],
    ['a map', { type: 'map', values: 'string' }, 'Record<string, string>'],
    ['an array', { type: 'array', items: 'string' }, 'string[]'],
    ['an array of a union', { type: 'array', items: ['null', 'long'] }, 'Array<number | null>'],
    ['an enum', { type: 'enum', name: 'Colour', doc: 'A colour.', symbols: ['UNKNOWN', 'RED'], default: 'UNKNOWN' }, 'Colour'],
  ])('declares %s as %s', (_case, type, tsType) => {
    expect(renderTypes([probe([{ name: 'field', type, doc: 'The field.' }])])).toContain(
      `  /** The field. */\n  field: ${tsType};\n`,
    );
  });

  it('declares an enum as a union of string literals with its doc', () => {
    const colour = { type: 'enum', name: 'Colour', doc: 'A colour.', symbols: ['UNKNOWN', 'RED'], default: 'UNKNOWN' };
    expect(renderTypes([probe([{ name: 'colour', type: colour, doc: 'Its colour.' }])])).toContain(
      "/** A colour. */\nexport type Colour = 'UNKNOWN' | 'RED';\n",
    );
  });

  it('declares a nested record as its own interface', () => {
    const inner = { type: 'record', name: 'Inner', doc: 'Nested.', fields: [{ name: 'x', type: 'int', doc: 'X.' }] };
    expect(renderTypes([probe([{ name: 'inner', type: inner, doc: 'The inner part.' }])])).toContain(
      '/** Nested. */\nexport interface Inner {\n  /** X. */\n  x: number;\n}\n',
    );
  });

  it('declares a type that two records define identically once', () => {
    const colour = { type: 'enum', name: 'Colour', doc: 'A colour.', symbols: ['UNKNOWN', 'RED'], default: 'UNKNOWN' };
    const rendered = renderTypes([
      probe([{ name: 'colour', type: colour, doc: 'Its colour.' }], 'Reading'),
      probe([{ name: 'colour', type: colour, doc: 'Its colour.' }], 'Alert'),
    ]);
    expect(rendered.match(/export type Colour =/g)).toHaveLength(1);
  });

  it('refuses two different definitions under one name', () => {
    const colour = (symbols: string[]) => ({ type: 'enum', name: 'Colour', doc: 'A colour.', symbols, default: 'UNKNOWN' });
    expect(() =>
      renderTypes([
        probe([{ name: 'colour', type: colour(['UNKNOWN', 'RED']), doc: 'Its colour.' }], 'Reading'),
        probe([{ name: 'colour', type: colour(['UNKNOWN', 'BLUE']), doc: 'Its colour.' }], 'Alert'),
      ]),
    ).toThrow('Colour is defined twice, differently');
  });

  it('maps each record name to its type in RecordTypes', () => {
    expect(renderTypes([probe([{ name: 'x', type: 'int', doc: 'X.' }])])).toContain(
      'export interface RecordTypes {\n  Reading: Reading;\n}\n',
    );
  });
});

describe('spliceFieldTables', () => {
  it('replaces only the text between the markers', () => {
    const readme = `# Title\n\n${TABLES_BEGIN}\nold\n${TABLES_END}\n\nAfter.\n`;
    expect(spliceFieldTables(readme, 'new')).toBe(`# Title\n\n${TABLES_BEGIN}\n\nnew\n\n${TABLES_END}\n\nAfter.\n`);
  });

  it('refuses a README without the markers', () => {
    expect(() => spliceFieldTables('# Title\n', 'new')).toThrow('README.md must contain');
  });
});
