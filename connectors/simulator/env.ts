/**
 * The simulator's own variables (main.ts lists them all): fault options read from the
 * environment, every problem reported at once. Pure.
 */
import type { FaultOptions, SilenceWindow } from './simulator.js';

/** The fault variables: rates from 0 to 1, and `SIM_SILENCE`. */
export const FAULT_VARIABLES = ['SIM_DUPLICATE_RATE', 'SIM_REORDER_RATE', 'SIM_GARBAGE_RATE', 'SIM_DISCONNECT_RATE', 'SIM_SILENCE'] as const;

/**
 * `SIM_SILENCE`: comma-separated `<deviceId>:<seconds>[@<afterSeconds>]`, e.g.
 * `mbus:1002038704771403:120@30` keeps that meter quiet for 120 s, starting 30 s after the
 * simulator starts sending. The device id itself contains a colon; the seconds follow the last one.
 *
 * @throws {TypeError} naming every malformed entry.
 */
export function parseSilence(text: string | undefined): SilenceWindow[] {
  const windows: SilenceWindow[] = [];
  const problems: string[] = [];
  for (const entry of (text ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const match = /^(.+):(\d+(?:\.\d+)?)(?:@(\d+(?:\.\d+)?))?$/.exec(entry);
    if (match === null || !match[1]!.includes(':')) {
      problems.push(`"${entry}" (expected <deviceId>:<seconds>[@<afterSeconds>], e.g. mbus:1002038704771403:120@30)`);
      continue;
    }
    windows.push({
      deviceId: match[1]!,
      durationMs: Number(match[2]) * 1000,
      ...(match[3] === undefined ? {} : { afterMs: Number(match[3]) * 1000 }),
    });
  }
  if (problems.length > 0) throw new TypeError(`SIM_SILENCE entries must be <deviceId>:<seconds>[@<afterSeconds>]: ${problems.join('; ')}`);
  return windows;
}

/**
 * The faults the environment asks for: `SIM_DUPLICATE_RATE`, `SIM_REORDER_RATE`,
 * `SIM_GARBAGE_RATE` (per message), `SIM_DISCONNECT_RATE` (per 100 ms tick), each a probability
 * from 0 to 1 (default 0), and `SIM_SILENCE` ({@link parseSilence}).
 *
 * @throws {TypeError} listing every problem.
 */
export function faultsFromEnv(env: Readonly<Record<string, string | undefined>>): FaultOptions {
  const problems: string[] = [];
  const rate = (name: string): number => {
    const raw = env[name]?.trim() ?? '';
    if (raw === '') return 0;
    const value = Number(raw);
    if (Number.isFinite(value) && value >= 0 && value <= 1) return value;
    problems.push(`${name} must be a probability from 0 to 1, got "${raw}"`);
    return 0;
  };
  const faults = {
    duplicateRate: rate('SIM_DUPLICATE_RATE'),
    reorderRate: rate('SIM_REORDER_RATE'),
    garbageRate: rate('SIM_GARBAGE_RATE'),
    disconnectRate: rate('SIM_DISCONNECT_RATE'),
  };
  let silence: SilenceWindow[] = [];
  try {
    silence = parseSilence(env['SIM_SILENCE']);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (problems.length > 0) throw new TypeError(problems.join('\n'));
  return { ...faults, silence };
}
