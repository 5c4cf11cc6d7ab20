/**
 * Test support: the libmbus fixture set (`../shared/fixtures/libmbus`, see its README) and a reader
 * for its `.norm.xml` reference decodes. Used by tests only.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Where the fixtures are: `MBUS_FIXTURES_DIR`, or `<repo>/../shared/fixtures/libmbus`. */
export const FIXTURES_DIR =
  process.env['MBUS_FIXTURES_DIR'] ?? resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'libmbus');

/**
 * Fails loudly when the fixture directory is missing, naming the path that was tried.
 *
 * @throws {Error} when `FIXTURES_DIR/frames` does not exist.
 */
export function requireFixtures(): void {
  if (!existsSync(join(FIXTURES_DIR, 'frames'))) {
    throw new Error(
      `libmbus fixtures not found: looked for ${join(FIXTURES_DIR, 'frames')} (set MBUS_FIXTURES_DIR to the directory holding frames/ and error-frames/)`,
    );
  }
}

/** The base names (without `.hex`) of the files in `frames/` or `error-frames/`, sorted. */
export function fixtureNames(folder: 'frames' | 'error-frames'): string[] {
  const dir = join(FIXTURES_DIR, folder);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.hex'))
    .map((name) => name.slice(0, -'.hex'.length))
    .sort();
}

/** Reads a fixture file as text, or `null` when it does not exist. */
export function readFixture(folder: 'frames' | 'error-frames', file: string): string | null {
  const path = join(FIXTURES_DIR, folder, file);
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}

/** Parses space-separated hex bytes (`68 1F 1F 68 …`). */
export function parseHex(text: string): Uint8Array {
  const tokens = text.trim().split(/\s+/);
  return Uint8Array.from(tokens, (token) => {
    if (!/^[0-9a-fA-F]{2}$/.test(token)) throw new Error(`not a hex byte: ${JSON.stringify(token)}`);
    return Number.parseInt(token, 16);
  });
}

/** A libmbus `<DataRecord>`: element name → text, absent elements absent. */
export interface NormRecord {
  readonly id: number;
  readonly fields: Readonly<Record<string, string>>;
}

/** A libmbus `.norm.xml` / `.xml` document. */
export interface NormDocument {
  readonly slave: Readonly<Record<string, string>>;
  readonly records: readonly NormRecord[];
}

/** Reads libmbus's XML output: flat elements inside `<SlaveInformation>` and each `<DataRecord>`. */
export function parseNormXml(xml: string): NormDocument {
  const slave = /<SlaveInformation>([\s\S]*?)<\/SlaveInformation>/.exec(xml)?.[1];
  if (slave === undefined) throw new Error('no <SlaveInformation> element');
  const records = [...xml.matchAll(/<DataRecord id="(\d+)"[^>]*>([\s\S]*?)<\/DataRecord>/g)].map((match) => ({
    id: Number(match[1]),
    fields: elements(match[2]!),
  }));
  return { slave: elements(slave), records };
}

function elements(body: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [, name, text] of body.matchAll(/<(\w+)>([^<]*)<\/\1>/g)) fields[name!] = unescapeXml(text!);
  return fields;
}

function unescapeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (_, entity: string) => XML_ENTITIES[entity]!);
}

const XML_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
