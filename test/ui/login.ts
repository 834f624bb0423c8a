/**
 * Signing in through the web UI's own sign-in dialog (issue 15), as a user does: the page loads,
 * the first API call answers 401, the dialog opens, the password is typed and sent.
 */
import type { Page } from 'playwright-core';

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
