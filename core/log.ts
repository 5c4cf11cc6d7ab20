/**
 * Logging: one pino root logger per process, one child per component.
 *
 * Conventions every module follows:
 * - `logger.child({ component: 'decode' })` once per component; record coordinates (`topic`,
 *   `partition`, `offset`, `deviceId`) as fields, not in the message.
 * - Errors under `err` (`logger.error({ err }, 'decode failed')`), serialized with pino's standard
 *   serializer: type, message with causes, stack, and the error's own fields (`code`, `retriable`,
 *   `context`…).
 * - Raw payloads under `payload`, and only at debug or trace: above debug the field is dropped.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/** The levels `LOG_LEVEL` accepts, most to least severe; `silent` turns logging off. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly pino.LevelWithSilent[];

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The logger type every module accepts. */
export type Logger = PinoLogger;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Usually `config.log.level`. */
  readonly level: LogLevel;
  /** Process name, e.g. `decode`, `api`; written as `name` on every line. */
  readonly name: string;
  /**
   * Where lines go. Tests pass a stream to read them back.
   * @default standard output
   */
  readonly destination?: DestinationStream;
}

/** Placed where a `payload` field was dropped, so a reader knows to lower the level to see it. */
export const PAYLOAD_OMITTED = '[omitted above debug]';

const DEBUG = pino.levels.values.debug!;

/**
 * Creates the root logger. Called once by each process entry point; everything else receives a
 * child of it. Lines are newline-delimited JSON with a textual `level` and an ISO `time`, readable
 * without a pretty-printer.
 */
export function createLogger(options: LoggerOptions): Logger {
  const pinoOptions: pino.LoggerOptions = {
    name: options.name,
    level: options.level,
    serializers: { err: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    hooks: {
      logMethod(args, method, level) {
        const [fields] = args;
        if (level > DEBUG && isObjectWithPayload(fields)) {
          method.apply(this, [{ ...fields, payload: PAYLOAD_OMITTED }, ...args.slice(1)] as Parameters<pino.LogFn>);
          return;
        }
        method.apply(this, args);
      },
    },
  };
  return options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination);
}

function isObjectWithPayload(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !(value instanceof Error) && 'payload' in value;
}
