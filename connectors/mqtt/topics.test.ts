import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../core/errors.js';
import { parseTopic, subscriptionFilters, topicMatches, topicPrefixProblems } from './topics.js';

describe('parseTopic', () => {
  const understood: [topic: string, route: object][] = [
    ['stations/minsk-01/telemetry', { kind: 'station_telemetry', stationId: 'minsk-01', deviceId: 'station:minsk-01' }],
    ['stations/minsk-01/status', { kind: 'station_status', stationId: 'minsk-01', deviceId: 'station:minsk-01' }],
    ['application/app-1/device/70B3D5E75E001234/event/up',
      { kind: 'chirpstack_up', event: 'up', applicationId: 'app-1', devEui: '70b3d5e75e001234', deviceId: 'lorawan:70b3d5e75e001234' }],
    ['application/app-1/device/70b3d5e75e001234/event/status', { kind: 'chirpstack_status', event: 'status' }],
    ['application/app-1/device/70b3d5e75e001234/event/join', { kind: 'chirpstack_join', event: 'join' }],
    ['wmbus/gw-7/telegram', { kind: 'wmbus_telegram', gatewayId: 'gw-7' }],
  ];
  for (const [topic, route] of understood) {
    it(`understands ${topic}`, () => {
      expect(parseTopic(topic, '')).toMatchObject(route);
      expect(parseTopic(`site-a/${topic}`, 'site-a/')).toMatchObject(route);
    });
  }

  const refused: [topic: string, reason: string, field: string][] = [
    ['stations/minsk-01', 'UNKNOWN_TOPIC', 'topic'],
    ['stations/minsk-01/telemetry/extra', 'UNKNOWN_TOPIC', 'topic'],
    ['stations//telemetry', 'INVALID_FIELD', 'topic stationId'],
    ['stations/-minsk/telemetry', 'INVALID_FIELD', 'topic stationId'],
    ['stations/a|b/telemetry', 'INVALID_FIELD', 'topic stationId'],
    [`stations/${'x'.repeat(65)}/telemetry`, 'INVALID_FIELD', 'topic stationId'],
    ['application/app-1/device/70b3d5e75e00123/event/up', 'INVALID_FIELD', 'topic devEui'],
    ['application/app-1/device/70b3d5e75e001234/event/txack', 'UNKNOWN_TOPIC', 'topic'],
    ['application//device/70b3d5e75e001234/event/up', 'UNKNOWN_TOPIC', 'topic'],
    ['wmbus/gw-7/status', 'UNKNOWN_TOPIC', 'topic'],
    ['elsewhere/stations/minsk-01/telemetry', 'UNKNOWN_TOPIC', 'topic'],
  ];
  for (const [topic, reason, field] of refused) {
    it(`refuses ${topic} with ${reason}`, () => {
      expect(() => parseTopic(topic, '')).toThrow(PayloadError);
      expect(() => parseTopic(topic, '')).toThrow(expect.objectContaining({ reason, field }));
    });
  }

  it('refuses a topic outside its prefix', () => {
    expect(() => parseTopic('stations/minsk-01/telemetry', 'site-a/')).toThrow(expect.objectContaining({ reason: 'UNKNOWN_TOPIC' }));
  });
});

describe('subscriptions', () => {
  it('subscribes to every topic kind under the prefix, and nothing of ChirpStack it does not ingest', () => {
    const filters = subscriptionFilters('p/');
    expect(filters).toEqual([
      'p/stations/+/+',
      'p/application/+/device/+/event/up',
      'p/application/+/device/+/event/status',
      'p/application/+/device/+/event/join',
      'p/wmbus/+/+',
    ]);
    expect(filters.some((f) => topicMatches(f, 'p/application/a/device/d/event/log'))).toBe(false);
    expect(filters.some((f) => topicMatches(f, 'p/wmbus/gw/telegram'))).toBe(true);
  });

  it('matches topics against filters the way a broker does', () => {
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+/c', 'a/b/c/d')).toBe(false);
    expect(topicMatches('a/+', 'a')).toBe(false);
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(topicMatches('a/b', 'a/c')).toBe(false);
  });

  it('accepts an empty prefix or one ending with a slash, without wildcards', () => {
    expect(topicPrefixProblems('')).toEqual([]);
    expect(topicPrefixProblems('it-3f9a/')).toEqual([]);
    expect(topicPrefixProblems('it-3f9a')).toEqual(['topicPrefix must be empty or end with "/", got "it-3f9a"']);
    expect(topicPrefixProblems('+/')).toEqual(['topicPrefix must not contain the wildcards "+" or "#", got "+/"']);
  });
});
