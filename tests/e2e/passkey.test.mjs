// Passkey journeys: sign up, log out, log in with the button, log in from
// the username field's autofill (conditional mediation).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { setup, screenshot, uniqueName } from './harness.mjs';
import { signUpWithPasskey, logOut, expectSignedInAs, passkeyNames, recordPasskeyGets } from './steps.mjs';

test('a person signs up with a passkey and lands on the account page', async (t) => {
  const { newPage } = await setup(t);
  const { page } = await newPage();
  const username = uniqueName('ada');

  await page.goto('/signup');
  await screenshot(page, 'signup');
  await signUpWithPasskey(page, username, { displayName: 'Ada Lovelace' });

  await expectSignedInAs(page, username);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Security and login');
  assert.equal((await passkeyNames(page)).length, 1);
  assert.ok(await page.locator('#session-list').getByText('This device').isVisible());
  await screenshot(page, 'account');
});

test('after logging out, the "Sign in with a passkey" button logs back in', async (t) => {
  const { newPage } = await setup(t);
  const { page, auth } = await newPage();
  const username = uniqueName('grace');
  await signUpWithPasskey(page, username);
  const gets = await recordPasskeyGets(page);
  // The authenticator is silent while /login loads, so the autofill request
  // (which it would answer at once) waits and the button is what signs in.
  await logOut(page, auth);
  assert.equal(await page.locator('#username').getAttribute('autocomplete'), 'username webauthn');
  await screenshot(page, 'login');
  await page.waitForTimeout(300);
  await auth.setPresence(true);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();

  await page.waitForURL('**/account');
  await expectSignedInAs(page, username);
  // The button's request (not the autofill one) produced the passkey.
  assert.deepEqual(gets, [{ mediation: 'optional', resolved: true }]);
});

test('a passkey offered in the username autofill logs in', async (t) => {
  const { newPage } = await setup(t);
  const { page, auth } = await newPage();
  const username = uniqueName('alan');
  await signUpWithPasskey(page, username);
  await logOut(page, auth);
  await auth.setPresence(true);

  const gets = await recordPasskeyGets(page);

  await page.goto('/login');
  // A person focuses the username field and picks the passkey from the
  // autofill list; the virtual authenticator answers the conditional request
  // by itself (often before the field can even be focused).
  await page.locator('#username').focus({ timeout: 2000 }).catch(() => {});
  await page.waitForURL('**/account');
  await expectSignedInAs(page, username);
  assert.deepEqual(gets, [{ mediation: 'conditional', resolved: true }]);
});

test('signing in returns to the page that asked for it, and only to this site', async (t) => {
  const { newPage, url } = await setup(t);
  const { page, auth } = await newPage();
  const username = uniqueName('lovelace');
  await signUpWithPasskey(page, username);
  await logOut(page, auth);
  await auth.setPresence(true);

  // Signed out, "/" leads to the account page, which sends to /login and,
  // once signed in (here by autofill), back to the account page.
  const visited = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) visited.push(new URL(frame.url()).pathname + new URL(frame.url()).search);
  });
  await page.goto('/');
  await expectSignedInAs(page, username);
  assert.ok(visited.includes('/login?return_to=%2Faccount'), `visited ${visited.join(', ')}`);
  assert.equal(visited.at(-1), '/account');

  // A return address on another site is ignored, also when it only becomes
  // one once its dot segments are removed ("/.//evil.example" is "//evil.example").
  for (const evil of ['%2F%2Fevil.example%2Fsteal', '%2F.%2F%2Fevil.example%2Fsteal', '%2Fa%2F..%2F%2Fevil.example%2Fsteal']) {
    await logOut(page, auth);
    await auth.setPresence(true);
    visited.length = 0;
    await page.goto(`/login?return_to=${evil}`);
    await expectSignedInAs(page, username);
    assert.equal(new URL(page.url()).origin, new URL(url).origin, evil);
    assert.ok(visited.every((url) => !url.includes('steal') || url.startsWith('/login?')), `visited ${visited.join(', ')}`);
    assert.equal(visited.at(-1), '/account', evil);
  }
});

test('a person sent to log in by an app signs up instead and is sent back to it', async (t) => {
  const { newPage } = await setup(t);
  const { page } = await newPage();
  const username = uniqueName('hypatia');
  await page.goto('/login?return_to=%2Faccount%3Ffrom%3Dapp');
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.waitForURL(/\/signup\?return_to=%2Faccount%3Ffrom%3Dapp$/);
  // And back again: "Sign in" keeps it too.
  assert.equal(
    await page.locator('main a', { hasText: 'Sign in' }).getAttribute('href'),
    '/login?return_to=%2Faccount%3Ffrom%3Dapp',
  );
  await page.locator('#username').fill(username);
  await page.getByRole('button', { name: 'Continue with fingerprint or face' }).click();
  await page.waitForURL(/\/account\?from=app$/);
  await expectSignedInAs(page, username);
});
