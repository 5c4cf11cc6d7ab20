import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import { destinationOf } from './main.js';

describe('destinationOf', () => {
  it('writes to the export directory unless a bucket is configured', () => {
    expect(destinationOf(loadConfig({ BILLING_EXPORT_DIR: '/srv/billing' }).billing).description).toBe('directory /srv/billing');
    const s3 = loadConfig({ BILLING_S3_URL: 'http://127.0.0.1:9000/exports/meterflux/', BILLING_S3_ACCESS_KEY_ID: 'k', BILLING_S3_SECRET_ACCESS_KEY: 's' });
    expect(destinationOf(s3.billing).description).toBe('s3 http://127.0.0.1:9000/exports/meterflux/');
  });

  it('refuses a bucket without both credentials, naming each missing variable', () => {
    const config = loadConfig({ BILLING_S3_URL: 'https://s3.example/exports' });
    expect(() => destinationOf(config.billing)).toThrow(ConfigError);
    try {
      destinationOf(config.billing);
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        'BILLING_S3_URL is set, so BILLING_S3_ACCESS_KEY_ID must be set',
        'BILLING_S3_URL is set, so BILLING_S3_SECRET_ACCESS_KEY must be set',
      ]);
    }
  });
});
