import { describe, expect, it } from 'vitest';
import { emptyState, nextTimer } from './engine.js';
import { parseNano } from './nano.js';
import { consumptionStateCodec } from './state.js';
import { runReadings, runTimer, testProfile, type TestReading } from './testing/series.js';

const DAY = 86_400_000;

/** Hourly readings from `from` for `count` hours, the value rising by `perHour` (decimal text). */
function hourly(from: string, count: number, start: number, perHour: number): TestReading[] {
  return Array.from({ length: count }, (_, i) => [new Date(Date.parse(from) + i * 3_600_000).toISOString(), (start + i * perHour).toFixed(3)] as const);
}

describe('daily and monthly consumption', () => {
  it('measures a Europe/Berlin DST day of 23 hours and one of 25 hours from hourly readings', () => {
    const profile = testProfile({ timeZone: 'Europe/Berlin' });
    const spring = runReadings(hourly('2025-03-29T23:00:00Z', 25, 0, 1), { profile });
    expect(spring.latest.get('DAILY|2025-03-30')).toMatchObject({ delta: '23.000000000', quality: 'MEASURED', open: false });
    const autumn = runReadings(hourly('2025-10-25T22:00:00Z', 27, 0, 1), { profile });
    expect(autumn.latest.get('DAILY|2025-10-26')).toMatchObject({ delta: '25.000000000', quality: 'MEASURED', periodEndAt: Date.parse('2025-10-26T23:00:00Z') });
  });

  it('uses 24-hour local days in Europe/Moscow and Europe/Minsk', () => {
    for (const timeZone of ['Europe/Moscow', 'Europe/Minsk']) {
      const run = runReadings(hourly('2025-03-29T21:00:00Z', 49, 0, 0.5), { profile: testProfile({ timeZone }) });
      expect(run.latest.get('DAILY|2025-03-30')).toMatchObject({ delta: '12.000000000', startValue: '0.000000000', quality: 'MEASURED', periodStartAt: Date.parse('2025-03-29T21:00:00Z') });
    }
  });

  it('takes a reading exactly at midnight as the measured boundary of both days', () => {
    const run = runReadings([['2025-01-01T12:00:00Z', '10'], ['2025-01-02T00:00:00Z', '20'], ['2025-01-02T12:00:00Z', '26']]);
    expect(run.latest.get('DAILY|2025-01-01')).toBeUndefined(); // its start is before the first reading
    expect(run.latest.get('DAILY|2025-01-02')).toMatchObject({ startValue: '20.000000000', endValue: null, delta: null, open: true, quality: 'MEASURED', status: 'PROVISIONAL' });
  });

  it('interpolates boundaries linearly and marks a boundary with a wider gap than max_gap_s as estimated (one reading a week)', () => {
    const run = runReadings([['2025-01-01T00:00:00Z', '0'], ['2025-01-08T00:00:00Z', '70'], ['2025-01-15T00:00:00Z', '140']]);
    for (let d = 1; d <= 14; d++) {
      const r = run.latest.get(`DAILY|2025-01-${String(d).padStart(2, '0')}`);
      expect(r?.delta).toBe('10.000000000');
      expect(r?.quality).toBe('ESTIMATED');
    }
    const daily = runReadings(hourly('2025-01-01T00:00:00Z', 50, 0, 1));
    expect(daily.latest.get('DAILY|2025-01-01')?.quality).toBe('MEASURED');
    const sparse = runReadings([['2025-01-01T06:00:00Z', '6'], ['2025-01-02T06:00:00Z', '30'], ['2025-01-03T06:00:00Z', '54']]);
    expect(sparse.latest.get('DAILY|2025-01-02')).toMatchObject({ startValue: '24.000000000', endValue: '48.000000000', quality: 'INTERPOLATED' });
  });

  it('covers the leap day and a month of 29 days', () => {
    const readings = Array.from({ length: 32 }, (_, i) => [new Date(Date.parse('2024-02-01T00:00:00Z') + i * DAY).toISOString(), String(i * 2)] as const);
    const run = runReadings(readings);
    expect(run.latest.get('DAILY|2024-02-29')).toMatchObject({ delta: '2.000000000', quality: 'MEASURED' });
    expect(run.latest.get('MONTHLY|2024-02')).toMatchObject({ delta: '58.000000000', periodEndAt: Date.parse('2024-03-01T00:00:00Z') });
  });

  it('closes December across the year end in the site zone', () => {
    const profile = testProfile({ timeZone: 'Europe/Berlin' });
    const run = runReadings([['2024-11-30T23:00:00Z', '100'], ['2024-12-31T23:00:00Z', '410'], ['2025-01-01T11:00:00Z', '420']], { profile });
    expect(run.latest.get('MONTHLY|2024-12')).toMatchObject({ delta: '310.000000000', quality: 'MEASURED' });
    expect(run.latest.get('MONTHLY|2025-01')).toMatchObject({ open: true, startValue: '410.000000000' });
  });

  it('gives every month of 28 to 31 days the sum of its days', () => {
    const readings = Array.from({ length: 366 }, (_, i) => [new Date(Date.parse('2025-01-01T00:00:00Z') + i * DAY).toISOString(), String(i * 3)] as const);
    const run = runReadings(readings);
    for (const [month, days] of [['2025-01', 31], ['2025-02', 28], ['2025-04', 30], ['2025-12', 31]] as const) {
      expect(run.latest.get(`MONTHLY|${month}`)?.delta).toBe(`${days * 3}.000000000`);
    }
  });
});

describe('rollover, resets and replacements', () => {
  it('adds the range for each wrap, twice in one month', () => {
    const profile = testProfile({ range: parseNano('1000') });
    const readings: TestReading[] = [
      ['2025-05-01T00:00:00Z', '900'], ['2025-05-10T00:00:00Z', '990'], ['2025-05-11T00:00:00Z', '20'],
      ['2025-05-20T00:00:00Z', '980'], ['2025-05-21T00:00:00Z', '30'], ['2025-06-01T00:00:00Z', '100'],
    ];
    const run = runReadings(readings, { profile });
    expect(run.latest.get('MONTHLY|2025-05')).toMatchObject({ startValue: '900.000000000', endValue: '100.000000000', delta: '1200.000000000', rollovers: 2 });
    expect(run.latest.get('DAILY|2025-05-10')).toMatchObject({ delta: '30.000000000', rollovers: 1, endValue: '20.000000000' });
    expect(run.quarantined).toEqual([]);
  });

  it('quarantines a drop of less than half the range as a suspected reset and keeps it out of consumption', () => {
    const run = runReadings([['2025-05-01T00:00:00Z', '500'], ['2025-05-01T12:00:00Z', '100'], ['2025-05-02T00:00:00Z', '520'], ['2025-05-03T00:00:00Z', '540']]);
    expect(run.quarantined).toEqual(['2025-05-01T12:00:00Z']);
    expect(run.latest.get('DAILY|2025-05-01')).toMatchObject({ delta: '20.000000000', quality: 'MEASURED' });
    expect(run.state.readings.map((r) => r.value)).toContain(parseNano('100')); // kept, not dropped
  });

  it('treats every drop as a suspected reset when the range is unknown', () => {
    const run = runReadings([['2025-05-01T00:00:00Z', '99990'], ['2025-05-01T12:00:00Z', '5']], { profile: testProfile({ range: null }) });
    expect(run.quarantined).toEqual(['2025-05-01T12:00:00Z']);
  });

  it('sums both sides of a meter replacement in the middle of a day', () => {
    const replacements = [{ id: 'r1', at: Date.parse('2025-05-02T12:00:00Z'), oldFinalValue: parseNano('1130'), newInitialValue: parseNano('0.5') }];
    const run = runReadings(
      [['2025-05-02T00:00:00Z', '1000'], ['2025-05-02T06:00:00Z', '1100'], ['2025-05-02T18:00:00Z', '40.5'], ['2025-05-03T00:00:00Z', '60.5']],
      { replacements },
    );
    // old side 1000 → 1130 (130), new side 0.5 → 60.5 (60)
    expect(run.latest.get('DAILY|2025-05-02')).toMatchObject({ startValue: '1000.000000000', endValue: '60.500000000', delta: '190.000000000', meterReplacements: 1 });
    expect(run.quarantined).toEqual([]);
  });

  it('recomputes when a replacement becomes known after the readings', () => {
    const readings: TestReading[] = [['2025-05-02T00:00:00Z', '1000'], ['2025-05-02T18:00:00Z', '40'], ['2025-05-03T00:00:00Z', '60']];
    const before = runReadings(readings);
    expect(before.quarantined).toEqual(['2025-05-02T18:00:00Z', '2025-05-03T00:00:00Z']);
    const replacements = [{ id: 'r1', at: Date.parse('2025-05-02T12:00:00Z'), oldFinalValue: parseNano('1100'), newInitialValue: parseNano('0') }];
    const after = runTimer(before.state, '2100-01-01T00:00:00Z', { replacements });
    expect(after.records.find((r) => r.localPeriod === '2025-05-02' && r.granularity === 'DAILY')).toMatchObject({ delta: '160.000000000', meterReplacements: 1, revision: 2, status: 'FINAL' });
  });
});

describe('late readings, revisions and statuses', () => {
  const rules = { graceMs: 2 * DAY, lateWindowMs: 10 * DAY };

  it('gives the same figures for a burst out of order as in order', () => {
    const readings = hourly('2025-03-28T00:00:00Z', 96, 50, 1.25);
    const inOrder = runReadings(readings, { profile: testProfile({ timeZone: 'Europe/Berlin' }) });
    const shuffled = [...readings].sort((a, b) => (a[0].charCodeAt(12) * 7 + a[0].charCodeAt(15)) % 11 - (b[0].charCodeAt(12) * 7 + b[0].charCodeAt(15)) % 11);
    const disorder = runReadings(shuffled, { profile: testProfile({ timeZone: 'Europe/Berlin' }) });
    const figures = (m: Map<string, { delta: string | null; startValue: string; quality: string }>) =>
      [...m].map(([k, r]) => [k, r.startValue, r.delta, r.quality]).sort();
    expect(figures(disorder.latest)).toEqual(figures(inOrder.latest));
  });

  it('emits a new revision only when the figures change', () => {
    const first = runReadings([['2025-05-01T00:00:00Z', '10'], ['2025-05-02T00:00:00Z', '20']], { rules, now: '2025-05-02T01:00:00Z' });
    expect(first.records.filter((r) => r.localPeriod === '2025-05-01').map((r) => [r.revision, r.open])).toEqual([[1, true], [2, false]]);
    expect(first.latest.get('DAILY|2025-05-01')).toMatchObject({ revision: 2, status: 'PROVISIONAL', delta: '10.000000000' });
    const again = runReadings([['2025-05-02T00:00:00Z', '20'], ['2025-05-01T00:00:00Z', '10']], { rules, now: '2025-05-02T02:00:00Z', state: first.state });
    expect(again.records).toEqual([]);
    const later = runReadings([['2025-05-01T12:00:00Z', '12']], { rules, now: '2025-05-02T03:00:00Z', state: first.state });
    expect(later.records).toEqual([]); // a point on the same line changes no figure
  });

  it('turns a closed period FINAL by timer when its grace passes, and RESTATED when a reading older than the grace window changes it', () => {
    const run = runReadings([['2025-05-01T00:00:00Z', '10'], ['2025-05-02T12:00:00Z', '25']], { rules, now: '2025-05-02T13:00:00Z' });
    expect(run.latest.get('DAILY|2025-05-01')).toMatchObject({ delta: '10.000000000', quality: 'INTERPOLATED', status: 'PROVISIONAL', revision: 2 });
    expect(nextTimer(run.state, rules.graceMs)).toBe(Date.parse('2025-05-04T00:00:00Z'));
    expect(runTimer(run.state, '2025-05-03T23:59:59Z', { rules }).records).toEqual([]);
    const timer = runTimer(run.state, '2025-05-04T00:00:00Z', { rules });
    expect(timer.records).toMatchObject([{ localPeriod: '2025-05-01', status: 'FINAL', revision: 3, delta: '10.000000000' }]);
    expect(nextTimer(timer.state, rules.graceMs)).toBeUndefined();
    const late = runReadings([['2025-05-02T00:00:00Z', '14']], { rules, now: '2025-05-05T00:00:00Z', state: timer.state });
    expect(late.latest.get('DAILY|2025-05-01')).toMatchObject({ status: 'RESTATED', revision: 4, delta: '4.000000000', quality: 'MEASURED' });
  });

  it('answers a reading before the kept history as too late and changes nothing', () => {
    const readings: TestReading[] = Array.from({ length: 30 }, (_, i) => [new Date(Date.parse('2025-05-01T00:00:00Z') + i * DAY).toISOString(), String(i)] as const);
    const run = runReadings(readings, { rules, now: '2025-07-01T00:00:00Z' });
    expect(run.state.base?.at).toBe(Date.parse('2025-05-20T00:00:00Z'));
    const late = runReadings([['2025-05-10T12:00:00Z', '9.5']], { rules, now: '2025-07-01T00:00:00Z', state: run.state });
    expect(late.tooLate).toEqual(['2025-05-10T12:00:00Z']);
    expect(late.state).toBe(run.state);
  });

  it('keeps recomputing the month after pruning from the frozen month start', () => {
    // one reading a day at noon, 2 units a day, 05-01 to 07-02
    const readings: TestReading[] = Array.from({ length: 63 }, (_, i) => [new Date(Date.parse('2025-05-01T12:00:00Z') + i * DAY).toISOString(), String(i * 2)] as const);
    const pruned = runReadings(readings, { rules, now: '2025-08-01T00:00:00Z' });
    const whole = runReadings(readings, { now: '2025-08-01T00:00:00Z' });
    expect(pruned.state.base?.at).toBe(Date.parse('2025-06-22T00:00:00Z'));
    expect(pruned.state.base?.monthStart?.at).toBe(Date.parse('2025-06-01T00:00:00Z'));
    expect(pruned.latest.get('MONTHLY|2025-06')).toEqual(whole.latest.get('MONTHLY|2025-06'));
    expect(pruned.latest.get('MONTHLY|2025-06')).toMatchObject({ delta: '60.000000000', startValue: '61.000000000' });
    // 06-25 00:00 lies on the line at 109; a reading of 110 there moves two days, not the month
    const late = runReadings([['2025-06-25T00:00:00Z', '110']], { rules, now: '2025-08-01T00:00:00Z', state: pruned.state });
    expect(late.tooLate).toEqual([]);
    expect([...late.latest.values()].map((r) => [r.granularity, r.localPeriod, r.delta, r.status])).toEqual([
      ['DAILY', '2025-06-24', '3.000000000', 'RESTATED'],
      ['DAILY', '2025-06-25', '1.000000000', 'RESTATED'],
    ]);
  });

  it('survives the changelog codec unchanged', () => {
    const replacements = [{ id: 'r1', at: Date.parse('2025-05-02T12:00:00Z'), oldFinalValue: parseNano('1130'), newInitialValue: parseNano('0.5') }];
    const readings: TestReading[] = Array.from({ length: 40 }, (_, i) => [new Date(Date.parse('2025-05-01T00:00:00Z') + i * DAY).toISOString(), String(i * 2 + 2000)] as const);
    const run = runReadings(readings, { rules, replacements, now: '2025-06-01T00:00:00Z' });
    expect(consumptionStateCodec.decode(consumptionStateCodec.encode(run.state))).toEqual(run.state);
    expect(consumptionStateCodec.decode(consumptionStateCodec.encode(emptyState(testProfile())))).toEqual(emptyState(testProfile()));
  });
});
