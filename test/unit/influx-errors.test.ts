// Which InfluxDB failures the ingest path retries (spooling the readings
// meanwhile) and which it refuses for good.
import { RequestError as InfluxRequestError, ServiceNotAvailableError } from 'influx/lib/src/pool.js';
import { ResultError } from 'influx/lib/src/results.js';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../broker/errors.js';
import { isRetriableInfluxError } from '../../broker/store/influx-setup.js';

function requestError(statusCode: number): InfluxRequestError {
  return new InfluxRequestError({} as never, { statusCode, statusMessage: 'x' } as never, 'body');
}

function networkError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

describe('isRetriableInfluxError', () => {
  it('retries what may succeed later: InfluxDB away or busy, a statement that failed as it ran, access not yet granted', () => {
    expect(isRetriableInfluxError(networkError('ECONNREFUSED'))).toBe(true);
    expect(isRetriableInfluxError(networkError('ECONNRESET'))).toBe(true);
    expect(isRetriableInfluxError(new ServiceNotAvailableError('Request timed out'))).toBe(true);
    expect(isRetriableInfluxError(new ResultError('query engine shutdown'))).toBe(true);
    expect(isRetriableInfluxError(new ResultError('max-select-series limit exceeded: (2/1)'))).toBe(true);
    for (const status of [401, 403, 404, 408, 429]) expect(isRetriableInfluxError(requestError(status)), String(status)).toBe(true);
  });

  it('refuses what no retry fixes: a request InfluxDB cannot take, as it stands', () => {
    expect(isRetriableInfluxError(requestError(400))).toBe(false);
    expect(isRetriableInfluxError(requestError(413))).toBe(false);
    expect(isRetriableInfluxError(new Error('no code'))).toBe(false);
  });

  it('keeps the verdict of a StoreError', () => {
    expect(isRetriableInfluxError(new StoreError('x', false))).toBe(false);
    expect(isRetriableInfluxError(new StoreError('x', true))).toBe(true);
  });
});
