import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { ConfigError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { createMqttSource, type MqttSourceOptions } from './source.js';

const logger = createLogger({ level: 'silent', name: 'test' });
const base: MqttSourceOptions = { url: 'mqtt://127.0.0.1:1883', metrics: new Registry(), logger };

describe('createMqttSource', () => {
  it('lists every invalid option at once', () => {
    const create = () => createMqttSource({ ...base, url: 'http://broker', topicPrefix: 'a/#/', clientId: '', maxPayloadBytes: 0 });
    expect(create).toThrow(ConfigError);
    expect(create).toThrow(expect.objectContaining({
      problems: [
        'topicPrefix must not contain the wildcards "+" or "#", got "a/#/"',
        'url must be an mqtt:, mqtts:, ws: or wss: URL, got "http://broker"',
        'clientId must not be empty: the persistent session is bound to it',
        'maxPayloadBytes must be a positive integer, got 0',
      ],
    }));
  });

  it('can be stopped before it started, and stopped again', async () => {
    const source = createMqttSource(base);
    await source.stop();
    await source.stop();
    expect(source.health()).toEqual({ healthy: false, detail: 'stopped' });
  });

  it('reports itself unhealthy until started, under the name mqtt', () => {
    const source = createMqttSource(base);
    expect(source.name).toBe('mqtt');
    expect(source.health()).toEqual({ healthy: false, detail: 'not started' });
  });

  it('never shows broker credentials in its configuration errors', () => {
    expect(() => createMqttSource({ ...base, url: 'http://user:secret@broker:1883' })).toThrow(/got "http:\/\/broker:1883"/);
  });
});
