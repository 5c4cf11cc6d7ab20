import { describe, expect, it } from 'vitest';
import { SAMPLE_RECORDS } from '../../schemas/avro/samples.js';
import { alertNode, withAcknowledgement } from './records.js';

const raised = { ...SAMPLE_RECORDS.Alert, raisedAt: 1000, state: 'RAISED' as const };

describe('alert acknowledgements', () => {
  it('mark an open alert ACKNOWLEDGED when acknowledged at or after it was raised', () => {
    expect(withAcknowledgement(raised, { acknowledgedAt: 1000, acknowledgedBy: 'tok-1' })).toMatchObject({ state: 'ACKNOWLEDGED', acknowledgedAt: 1000, acknowledgedBy: 'tok-1' });
  });

  it('do not carry over to a later occurrence of the same alert', () => {
    expect(withAcknowledgement(raised, { acknowledgedAt: 999, acknowledgedBy: 'tok-1' })).toBe(raised);
  });

  it('keep a cleared alert CLEARED while recording who acknowledged it', () => {
    const cleared = { ...raised, state: 'CLEARED' as const, clearedAt: 3000 };
    expect(withAcknowledgement(cleared, { acknowledgedAt: 2000, acknowledgedBy: 'tok-1' })).toMatchObject({ state: 'CLEARED', acknowledgedAt: 2000 });
  });

  it('show details as sorted entries', () => {
    expect(alertNode({ ...raised, details: { b: '2', a: '1' } }).details).toEqual([{ key: 'a', value: '1' }, { key: 'b', value: '2' }]);
  });
});
