// Steps shared by the journeys: what a person does on the pages, by clicking
// and typing. Each returns once the page shows the result.

import assert from 'node:assert/strict';

/** /signup → passkey → /account. */
export async function signUpWithPasskey(page, username, { displayName } = {}) {
  await page.goto('/signup');
  await page.locator('#username').fill(username);
  if (displayName) await page.locator('#display-name').fill(displayName);
  await page.getByRole('button', { name: 'Continue with fingerprint or face' }).click();
  await page.waitForURL('**/account');
  await accountReady(page);
}

/**
 * /signup → "No fingerprint or face unlock?" → email code → /account. On a
 * device with fingerprint or face unlock the page first offers a passkey for
 * next time: `passkeyLabel` accepts it under that name, else "Not now".
 * Returns whether the offer was made.
 */
export async function signUpWithEmailCode(page, smtp, username, email, { passkeyLabel } = {}) {
  await page.goto('/signup');
  await page.getByRole('button', { name: 'Sign up with an email or SMS code' }).click();
  await page.locator('#code-username').fill(username);
  await page.getByLabel('Email', { exact: true }).check();
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Send code' }).click();
  const code = await smtp.waitForCode(email);
  await page.getByLabel('6-digit code').fill(code);
  await page.getByRole('button', { name: 'Create account' }).click();
  // One or the other: the offer, or straight on to the account page.
  const offer = page.getByRole('heading', { name: 'Use your fingerprint or face next time' });
  const offered = await Promise.race([
    offer.waitFor().then(() => true),
    page.waitForURL('**/account').then(() => false),
  ]);
  if (offered) {
    if (passkeyLabel) {
      await page.getByLabel('Name for this passkey (optional)').fill(passkeyLabel);
      await page.getByRole('button', { name: 'Use fingerprint or face' }).click();
    } else {
      await page.getByRole('button', { name: 'Not now' }).click();
    }
    await page.waitForURL('**/account');
  }
  await accountReady(page);
  return offered;
}

/** Waits until /account has loaded everything. */
export async function accountReady(page) {
  await page.locator('body[data-ready="true"]').waitFor();
}

/**
 * Log out → /login. Pass the page's authenticator when it holds a passkey
 * for the account: on /login the virtual authenticator would answer the
 * autofill request at once and sign straight back in, so it is told not to
 * answer (turn it back on with `auth.setPresence(true)`).
 */
export async function logOut(page, auth) {
  if (auth) await auth.setPresence(false);
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL('**/login');
  if (auth) await autofillWaiting(page);
}

/** Waits until /login's autofill (conditional mediation) request is pending. */
export async function autofillWaiting(page) {
  await page.locator('#passkey-form[data-autofill="waiting"]').waitFor({ state: 'attached' });
  await page.waitForTimeout(100); // let the request reach the authenticator
}

/** On /login: "Use a code instead" → method → code (from `getCode`) → signed in. */
export async function logInWithCode(page, username, methodLabel, getCode) {
  await page.locator('#username').fill(username);
  await page.getByRole('button', { name: 'Use a code instead' }).click();
  await page.getByLabel(methodLabel, { exact: true }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.locator('#code').waitFor();
  await page.locator('#code').fill(await getCode());
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** The account page's passkey names, in order. */
export async function passkeyNames(page) {
  return page.locator('#passkey-list .passkey-name').allTextContents();
}

export async function expectSignedInAs(page, username) {
  await accountReady(page);
  const who = await page.locator('#who').textContent();
  assert.ok(who.includes(username), `expected to be signed in as ${username}, the page says ${who}`);
}

/** Records, from the next page load on, each `navigator.credentials.get()` that
 * produced a passkey and its kind of request (`conditional` for the autofill,
 * `optional` for a button), without changing what the page does. */
export async function recordPasskeyGets(page) {
  const gets = [];
  await page.exposeFunction('recordPasskeyGet', (entry) => gets.push(entry));
  await page.addInitScript(() => {
    const original = navigator.credentials.get.bind(navigator.credentials);
    navigator.credentials.get = async (options) => {
      const mediation = (options && options.mediation) || 'optional';
      const credential = await original(options);
      window.recordPasskeyGet({ mediation, resolved: !!credential });
      return credential;
    };
  });
  return gets;
}

/** On /account: "Set up two-factor authentication" → Email → send a code to `email`. */
export async function sendContactCode(page, email) {
  await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
  await page.getByLabel('Email', { exact: true }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Send code' }).click();
}
