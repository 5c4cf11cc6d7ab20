/**
 * The custom scalars: `DateTime` (ISO-8601 out; ISO-8601 or epoch milliseconds in) and `Decimal`
 * (exact decimal strings, never through floating point).
 */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql/index.js';

const DECIMAL = /^-?\d{1,29}(\.\d{1,12})?$/;

/** Epoch ms of an ISO-8601 string or a number, or undefined when it is neither. */
export function parseInstant(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && Math.abs(value) <= 8.64e15 ? value : undefined;
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export const DateTime = new GraphQLScalarType<number, string>({
  name: 'DateTime',
  serialize(value) {
    const ms = value instanceof Date ? value.getTime() : parseInstant(value);
    if (ms === undefined) throw new GraphQLError(`DateTime cannot represent ${String(value)}`);
    return new Date(ms).toISOString();
  },
  parseValue(value) {
    const ms = parseInstant(value);
    if (ms === undefined) throw new GraphQLError(`expected an ISO-8601 instant or epoch milliseconds, got ${JSON.stringify(value)}`, { extensions: { code: 'BAD_USER_INPUT' } });
    return ms;
  },
  parseLiteral(node: ValueNode) {
    const value = node.kind === Kind.STRING ? node.value : node.kind === Kind.INT ? Number(node.value) : undefined;
    const ms = parseInstant(value);
    if (ms === undefined) throw new GraphQLError('expected an ISO-8601 instant or epoch milliseconds', { nodes: [node], extensions: { code: 'BAD_USER_INPUT' } });
    return ms;
  },
});

export const Decimal = new GraphQLScalarType<string, string>({
  name: 'Decimal',
  serialize(value) {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    throw new GraphQLError(`Decimal cannot represent ${String(value)}`);
  },
  parseValue(value) {
    if (typeof value !== 'string' || !DECIMAL.test(value)) {
      throw new GraphQLError(`expected a decimal string such as "12.5", got ${JSON.stringify(value)}`, { extensions: { code: 'BAD_USER_INPUT' } });
    }
    return value;
  },
  parseLiteral(node) {
    if (node.kind !== Kind.STRING || !DECIMAL.test(node.value)) {
      throw new GraphQLError('expected a decimal string such as "12.5"', { nodes: [node], extensions: { code: 'BAD_USER_INPUT' } });
    }
    return node.value;
  },
});
