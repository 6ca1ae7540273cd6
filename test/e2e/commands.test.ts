// Commands from the dashboard in headless Chromium (issue #7, item 3): a
// person sets a device's reporting interval in the "Device shadow" panel, the
// simulated device (the fleet's own simulator, with ShadowSync) applies it and
// reports back, the panel shows the field in sync, and the stored series really
// speeds up. With ADMIN_TOKEN set, the panel asks for the token and sends it.
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../../devices/fleet.js';
import { getJson, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { findExecutable, requireTool } from '../helpers/tools.js';
import { CHROMIUM_ARGS, openPage } from './chromium.js';

// Off CI a missing browser skips the suite with the reason printed; in CI requireTool throws, failing the file.
const available = requireTool('chromium', 'chromium');

const DEVICE = 'e2e-relay-0001';
const WINDOW_MS = 3000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!available)('commands from the dashboard in headless Chromium', () => {
  let browser: Browser | undefined;
  let gw: TestGateway | undefined;
  let fleet: Fleet | undefined;
  let page: Page | undefined;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: findExecutable('chromium')!, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await page?.close();
    await fleet?.stop();
    await gw?.close();
    page = fleet = gw = undefined;
    pageErrors.length = 0;
  });

  /** A gateway, the device running and reported, and the shadow panel open on it with the form filled in. */
  async function open(env: Record<string, string> = {}): Promise<Page> {
    gw = await startTestGateway(env);
    fleet = await startFleet({ url: gw.mqttUrl, count: 1, rate: 1, profile: 'thermostat', idPrefix: 'e2e-relay', jitter: 0 });
    const p = await openPage(browser!, pageErrors);
    await p.goto(`${gw.httpUrl}/?device=${DEVICE}&metric=temperature`);
    await p.click('#shadow summary');
    await p.locator('#shadow tr[data-field="intervalMs"] td:nth-child(3)', { hasText: '1000' }).waitFor();
    await waitFor(async () => (await p.inputValue('#shadow [name="intervalMs"]')) === '1000', { what: 'the form filled from the shadow' });
    return p;
  }

  /** What the device itself reported in its shadow. */
  async function reported(field: string): Promise<unknown> {
    return (await getJson(`${gw!.httpUrl}/api/devices/${DEVICE}/shadow`)).body.state.reported[field];
  }

  /** Readings whose device timestamp falls in [from, to). */
  async function storedBetween(from: number, to: number): Promise<number> {
    const { body } = await getJson<{ points: [number, number][] }>(`${gw!.httpUrl}/api/devices/${DEVICE}/series?metric=temperature&limit=10000`);
    return body.points.filter(([ts]) => ts >= from && ts < to).length;
  }

  it('sets the reporting interval from the form; the panel shows it in sync and the device reports four times as often', async () => {
    page = await open();
    const rowState = (field: string) => page!.locator(`#shadow tr[data-field="${field}"]`).getAttribute('data-state');
    expect(await rowState('intervalMs')).toBe('not set');

    const before = Date.now();
    await sleep(WINDOW_MS);
    const beforeEnd = Date.now();

    await page.fill('#shadow [name="intervalMs"]', '250');
    await page.click('#shadow button:has-text("Send")');
    await page.locator('#shadow tr[data-field="intervalMs"][data-state="in sync"]').waitFor({ timeout: 10_000 });
    const cells = await page.locator('#shadow tr[data-field="intervalMs"] td').allTextContents();
    expect(cells).toEqual(['intervalMs', '250', '250', 'in sync']);
    // The form sent the relay and setpoint it was filled with; the device already had them, so nothing is pending.
    expect(await page.locator('#shadow tr[data-state="pending"]').count()).toBe(0);
    expect(await page.textContent('#shadow [data-field="summary"]')).toMatch(new RegExp(`^${DEVICE} · in sync · version \\d+$`));
    expect(await page.textContent('#shadow [data-field="status"]')).toContain(`Sent to ${DEVICE}`);
    expect(await reported('intervalMs')).toBe(250);

    const after = Date.now();
    await sleep(WINDOW_MS);
    const slow = await storedBetween(before, beforeEnd);
    const fast = await storedBetween(after, Date.now());
    expect(slow).toBeGreaterThanOrEqual(2);
    expect(slow).toBeLessThanOrEqual(4);
    expect(fast).toBeGreaterThanOrEqual(10);
    expect(fast).toBeLessThanOrEqual(14);
    // The gateway's own figures, shed messages among them, are on the page too.
    await page.locator('#gateway-stats [data-stat="shed"]', { hasText: 'QoS 0 shed (overload / rate limit): 0 / 0' }).waitFor();
    expect(Number((await page.textContent('#gateway-stats [data-stat="stored"]'))!.replace(/\D/g, ''))).toBeGreaterThan(0);
    expect(pageErrors).toEqual([]);
  });

  it('with ADMIN_TOKEN set, says the command needs the token, and sends it as the bearer once pasted', async () => {
    const token = 'e2e-admin-token-0123456789';
    page = await open({ ADMIN_TOKEN: token });
    await page.check('#shadow [name="relay"]');
    await page.click('#shadow button:has-text("Send")');
    await page.locator('#shadow [data-field="status"]', { hasText: 'needs the gateway’s admin token' }).waitFor();
    expect(await page.isVisible('#shadow form.shadow-token')).toBe(true);
    expect(await reported('relay')).toBe(false);

    await page.fill('#shadow [name="token"]', token);
    await page.click('#shadow button:has-text("Use token and send")');
    await page.locator('#shadow tr[data-field="relay"][data-state="in sync"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('#shadow tr[data-field="relay"] td').allTextContents()).toEqual(['relay', 'true', 'true', 'in sync']);
    expect(await page.isVisible('#shadow form.shadow-token')).toBe(false);
    expect(await reported('relay')).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('gateway.adminToken'))).toBe(token);
    // The refused POST is logged by Chromium as a failed resource load; nothing else may be.
    expect(pageErrors.filter((e) => !e.includes('401'))).toEqual([]);
  });
});
