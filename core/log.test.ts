import { describe, expect, it } from 'vitest';
import { TransientError } from './errors.js';
import { createLogger, type LogLevel, PAYLOAD_OMITTED } from './log.js';

function capture(level: LogLevel) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level,
    name: 'decode',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, lines };
}

describe('createLogger', () => {
  it('writes JSON lines with the process name, a textual level and an ISO time', () => {
    const { logger, lines } = capture('info');
    logger.child({ component: 'mqtt-source' }).info({ deviceId: 'd1' }, 'uplink received');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ name: 'decode', level: 'info', component: 'mqtt-source', deviceId: 'd1', msg: 'uplink received' });
    expect(String(lines[0]?.['time'])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('serializes errors under err with their code, context and cause', () => {
    const { logger, lines } = capture('info');
    const err = new TransientError('produce failed', { cause: new Error('ECONNRESET'), context: { topic: 'reading.v1' } });
    logger.error({ err }, 'write failed');
    expect(lines[0]?.['err']).toMatchObject({
      type: 'TransientError',
      message: 'produce failed: ECONNRESET',
      code: 'TRANSIENT',
      retriable: true,
      context: { topic: 'reading.v1' },
    });
    expect(String((lines[0]?.['err'] as Record<string, unknown>)['stack'])).toContain('caused by: Error: ECONNRESET');
  });

  it('drops payloads above debug and keeps them at debug', () => {
    const { logger, lines } = capture('debug');
    logger.info({ deviceId: 'd1', payload: '68 1f 1f 68' }, 'frame received');
    logger.debug({ deviceId: 'd1', payload: '68 1f 1f 68' }, 'frame received');
    expect(lines.map((line) => line['payload'])).toEqual([PAYLOAD_OMITTED, '68 1f 1f 68']);
    expect(lines[0]?.['deviceId']).toBe('d1');
  });

  it('writes nothing below the configured level', () => {
    const { logger, lines } = capture('warn');
    logger.info('not shown');
    logger.warn('shown');
    expect(lines.map((line) => line['msg'])).toEqual(['shown']);
  });
});
