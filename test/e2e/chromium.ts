// What the browser suites share: Chromium's flags, and a page that collects
// its own script and console errors for the tests to assert on.
import type { Browser, Page } from 'playwright-core';

// DESIGN.md §6, plus --disable-quic: nothing here may reach out of the machine.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A desktop-sized page; uncaught exceptions and console errors are appended to `errors`. */
export async function openPage(browser: Browser, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  return page;
}
