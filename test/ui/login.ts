/**
 * Signing in through the web UI's own sign-in dialog (issue 15), as a user does: the page loads,
 * the first API call answers 401, the dialog opens, the password is typed and sent.
 */
import { chromium, type Browser, type Page } from 'playwright-core';

/** Types `password` into the sign-in dialog and waits until the dialog has closed. */
export async function loginThroughUi(page: Page, password: string): Promise<void> {
  const dialog = page.getByTestId('login-dialog');
  // playwright's own waiting (usable in beforeAll, where expect.poll is not)
  await dialog.waitFor({ state: 'visible', timeout: 15_000 });
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await dialog.waitFor({ state: 'hidden', timeout: 15_000 });
}

/** Browser console lines that a sign-in flow causes on purpose (the first call is a 401). */
export function expectedConsoleError(text: string): boolean {
  return text.includes('status of 401');
}

/**
 * Debian's Chromium, headless, making no connections of its own (updates, sync, QUIC probes): the
 * one set of flags every browser test starts it with.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--lang=en-US',
    ],
  });
}

/**
 * Collect into `into` the page's uncaught errors and its console errors, except the sign-in's 401
 * (expectedConsoleError) and lines `allowed` matches (answers a test provokes on purpose).
 */
export function collectPageErrors(page: Page, into: string[], allowed?: RegExp): void {
  page.on('pageerror', (e) => into.push(String(e)));
  page.on('console', (m) => {
    const t = m.text();
    if (m.type() === 'error' && !expectedConsoleError(t) && !allowed?.test(t)) into.push(t);
  });
}
