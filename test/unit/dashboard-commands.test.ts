import { describe, expect, it } from 'vitest';
import {
  fetchShadow, formFromShadow, NO_SHADOW, parseCommand, parseShadow, refusalText, sendDesired, shadowRows, ShadowHttpError,
} from '../../dashboard/shadow.js';
import { json } from './dashboard-fakes.js';

/** A document as GET /api/devices/{id}/shadow answers it. */
const doc = (state: Record<string, unknown>, version = 3) => ({ state, metadata: {}, version, timestamp: 1_764_000_000 });

/** A fetch that answers `response` and records what it was asked. */
function fakeFetch(response: () => Response) {
  const calls: { url: string; init: RequestInit | undefined }[] = [];
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(input), init });
    return response();
  }) as typeof fetch;
  return { fetchFn, calls };
}

describe('dashboard device shadow', () => {
  it('shows desired, reported and pending per field, the command fields first', () => {
    const view = parseShadow(doc({
      desired: { intervalMs: 250, relay: true },
      reported: { intervalMs: 1000, relay: true, setpoint: 20, firmware: '1.2' },
      delta: { intervalMs: 250 },
    }));
    expect(shadowRows(view)).toEqual([
      { field: 'intervalMs', desired: '250', reported: '1000', state: 'pending' },
      { field: 'relay', desired: 'true', reported: 'true', state: 'in sync' },
      { field: 'setpoint', desired: '—', reported: '20', state: 'not set' },
      { field: 'firmware', desired: '—', reported: '1.2', state: 'not set' },
    ]);
  });

  it('shows a desired field the device never reported as pending, and nested values as JSON', () => {
    const view = parseShadow(doc({ desired: { colour: { r: 1 } }, delta: { colour: { r: 1 } } }));
    expect(shadowRows(view).at(-1)).toEqual({ field: 'colour', desired: '{"r":1}', reported: '—', state: 'pending' });
  });

  it('refuses a response without a state, and ignores sections that are not objects', () => {
    expect(() => parseShadow({ error: {} })).toThrow(/state/);
    expect(() => parseShadow(null)).toThrow(/state/);
    expect(parseShadow({ state: { desired: [1], reported: 'x' } })).toEqual({ desired: {}, reported: {}, delta: {}, version: null });
  });

  it('fills the form from what is desired, else what is reported, else blank', () => {
    const view = parseShadow(doc({ desired: { intervalMs: 250 }, reported: { intervalMs: 1000, relay: true } }));
    expect(formFromShadow(view)).toEqual({ intervalMs: '250', relay: true, setpoint: '' });
    expect(formFromShadow(NO_SHADOW)).toEqual({ intervalMs: '', relay: false, setpoint: '' });
  });

  it('turns the form into a desired state, leaving blank numbers out', () => {
    expect(parseCommand({ intervalMs: '250', relay: true, setpoint: '21.5' })).toEqual({ ok: true, desired: { intervalMs: 250, relay: true, setpoint: 21.5 } });
    expect(parseCommand({ intervalMs: ' ', relay: false, setpoint: '' })).toEqual({ ok: true, desired: { relay: false } });
    expect(parseCommand({ intervalMs: '100', relay: false, setpoint: '-3' })).toEqual({ ok: true, desired: { intervalMs: 100, relay: false, setpoint: -3 } });
  });

  it('refuses an interval the devices would not apply, and a setpoint that is not a number', () => {
    for (const intervalMs of ['99', '3600001', '250.5', 'fast']) {
      expect(parseCommand({ intervalMs, relay: false, setpoint: '' })).toMatchObject({ ok: false, error: expect.stringMatching(/interval/) });
    }
    expect(parseCommand({ intervalMs: '', relay: false, setpoint: 'warm' })).toMatchObject({ ok: false, error: expect.stringMatching(/setpoint/) });
  });

  it('reads the shadow, and takes 404 no_shadow for an empty one', async () => {
    const found = fakeFetch(() => json(doc({ reported: { relay: false } }, 7)));
    expect(await fetchShadow('http://gw', 'dev 1', found.fetchFn)).toEqual({ desired: {}, reported: { relay: false }, delta: {}, version: 7 });
    expect(found.calls[0]!.url).toBe('http://gw/api/devices/dev%201/shadow');

    const none = fakeFetch(() => json({ error: { code: 'no_shadow', message: 'No shadow exists' } }, 404));
    expect(await fetchShadow('', 'dev-1', none.fetchFn)).toBe(NO_SHADOW);
    const gone = fakeFetch(() => json({ error: { code: 'not_found', message: 'Route not found' } }, 404));
    await expect(fetchShadow('', 'dev-1', gone.fetchFn)).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('posts the desired state, with the admin token as the bearer when there is one', async () => {
    const api = fakeFetch(() => json({ state: {}, version: 4 }));
    await sendDesired('', 'dev-1', { intervalMs: 250 }, 'tok', api.fetchFn);
    await sendDesired('', 'dev-1', { relay: true }, null, api.fetchFn);
    const [withToken, without] = api.calls.map((c) => c.init!);
    expect(withToken!.method).toBe('POST');
    expect(JSON.parse(String(withToken!.body))).toEqual({ state: { desired: { intervalMs: 250 } } });
    expect(withToken!.headers).toMatchObject({ authorization: 'Bearer tok', 'content-type': 'application/json' });
    expect(without!.headers).not.toHaveProperty('authorization');
  });

  it('explains a refused command, and asks for a token only where one could help', async () => {
    const api = fakeFetch(() => json({ error: { code: 'unauthorized', message: 'admin API needs Authorization: Bearer <ADMIN_TOKEN>' } }, 401));
    const err = await sendDesired('', 'dev-1', {}, null, api.fetchFn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShadowHttpError);
    expect(refusalText(err as ShadowHttpError, false)).toEqual({ askToken: true, text: expect.stringMatching(/needs the gateway’s admin token/) });
    expect(refusalText(err as ShadowHttpError, true)).toEqual({ askToken: true, text: expect.stringMatching(/refused the admin token/) });

    const loopbackOnly = new ShadowHttpError('admin API is loopback-only until ADMIN_TOKEN is set', 403, 'forbidden');
    expect(refusalText(loopbackOnly, false)).toEqual({ askToken: true, text: expect.stringMatching(/loopback-only.*paste the token/) });
    const tooLarge = new ShadowHttpError('The shadow state would exceed 8192 bytes', 413, 'shadow_too_large');
    expect(refusalText(tooLarge, false)).toEqual({ askToken: false, text: 'The command was not accepted (413 shadow_too_large): The shadow state would exceed 8192 bytes' });
  });
});
