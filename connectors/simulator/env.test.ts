import { describe, expect, it } from 'vitest';
import { faultsFromEnv, parseSilence } from './env.js';

describe('SIM_SILENCE', () => {
  it('reads device ids with their colon, durations and optional start offsets', () => {
    expect(parseSilence('mbus:1002038704771403:120@30, station:minsk-01:5, lorawan:70b3d5e712345678:0.5')).toEqual([
      { deviceId: 'mbus:1002038704771403', durationMs: 120_000, afterMs: 30_000 },
      { deviceId: 'station:minsk-01', durationMs: 5_000 },
      { deviceId: 'lorawan:70b3d5e712345678', durationMs: 500 },
    ]);
    expect(parseSilence(undefined)).toEqual([]);
  });

  it('names every malformed entry', () => {
    expect(() => parseSilence('mbus:1002038704771403, station:x:ten, 1234:5')).toThrow(
      /"mbus:1002038704771403" .*; "station:x:ten" .*; "1234:5"/,
    );
  });
});

describe('fault variables', () => {
  it('are off unless set, and read as probabilities', () => {
    expect(faultsFromEnv({})).toEqual({ duplicateRate: 0, reorderRate: 0, garbageRate: 0, disconnectRate: 0, silence: [] });
    expect(faultsFromEnv({ SIM_DUPLICATE_RATE: '0.05', SIM_DISCONNECT_RATE: '0.001', SIM_SILENCE: 'station:a:1' })).toMatchObject({
      duplicateRate: 0.05,
      disconnectRate: 0.001,
      silence: [{ deviceId: 'station:a', durationMs: 1000 }],
    });
  });

  it('reports every problem at once', () => {
    expect(() => faultsFromEnv({ SIM_GARBAGE_RATE: '2', SIM_REORDER_RATE: 'often', SIM_SILENCE: 'x' })).toThrow(
      /SIM_REORDER_RATE must be a probability from 0 to 1, got "often"\nSIM_GARBAGE_RATE .*"2"\nSIM_SILENCE entries/,
    );
  });
});
