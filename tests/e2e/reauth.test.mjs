// Re-authentication: a sensitive change asks "Confirm it's you" inline, then
// goes through. The test moves the server's clock past the re-authentication
// window (its default, 10 minutes) instead of waiting.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { setup, screenshot, addAuthenticator, uniqueName } from './harness.mjs';
import { signUpWithPasskey, signUpWithEmailCode, passkeyNames, accountReady } from './steps.mjs';

/** The server's default SESAME_REAUTH_WINDOW_SECS. */
const REAUTH_WINDOW_SECS = 600;

test('removing a passkey asks the person to confirm it is them, then removes it', async (t) => {
  const { server, newPage } = await setup(t);
  const pastTheWindow = () => server.clock.advance(REAUTH_WINDOW_SECS + 1);
  const { page, auth: first } = await newPage();
  const username = uniqueName('hamilton');
  await signUpWithPasskey(page, username);
  assert.equal((await passkeyNames(page)).length, 1);
  const [firstName] = await passkeyNames(page);

  // A second authenticator, a security key, for the second passkey. The
  // first one already holds a passkey for this account, which the server
  // excludes, so only the second may answer the create() request: whenever
  // the page starts adding a passkey, the first one is told not to answer.
  const second = await addAuthenticator(page, { transport: 'usb' });
  await second.setPresence(false);
  await page.route('**/api/v1/account/passkeys/start', async (route) => {
    await first.setPresence(false);
    await second.setPresence(true);
    await route.fallback();
  });

  // The passkey log-ins that confirm it's you name the account, so the browser
  // offers only its passkeys (not another account's on the same device).
  const logInStarts = [];
  page.on('request', (request) => {
    if (request.url().endsWith('/api/v1/login/passkey/start')) logInStarts.push(request.postDataJSON());
  });

  pastTheWindow();
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.getByLabel('Name for the new passkey (optional)').fill('Security key');
  await page.getByRole('button', { name: 'Continue' }).click();

  // The server wants a recent sign-in: the inline panel asks for it.
  const panel = page.locator('[data-reauth]');
  await panel.getByRole('heading', { name: "Confirm it's you" }).waitFor();
  await first.setPresence(true);
  await second.setPresence(false);
  await panel.getByRole('button', { name: 'Use your passkey' }).click();
  await page.locator('#page-status', { hasText: 'Passkey added' }).waitFor();
  assert.equal(await panel.count(), 0);
  assert.deepEqual((await passkeyNames(page)).sort(), [firstName, 'Security key'].sort());
  await page.unroute('**/api/v1/account/passkeys/start');

  // Remove the first passkey, after the window has passed again.
  pastTheWindow();
  const item = page.locator('#passkey-list > li', { has: page.locator('.passkey-name', { hasText: firstName }) });
  await item.getByRole('button', { name: /^Remove/ }).click();
  await item.getByRole('button', { name: 'Remove passkey', exact: true }).click();

  await panel.getByRole('heading', { name: "Confirm it's you" }).waitFor();
  await screenshot(page, 'account-reauth');
  await panel.getByRole('button', { name: 'Use your passkey' }).click();

  await page.locator('#page-status', { hasText: /Passkey .* removed/ }).waitFor();
  await accountReady(page);
  assert.deepEqual(await passkeyNames(page), ['Security key']);
  assert.equal(logInStarts.length, 2);
  for (const body of logInStarts) assert.equal(body.username, username);

  // The page told the browser (WebAuthn Signal API) which passkeys the
  // account still accepts, so the removed one is gone from the first
  // authenticator too and will not be offered again.
  for (let i = 0; i < 30 && (await first.credentials()).length > 0; i += 1) await page.waitForTimeout(100);
  assert.equal((await first.credentials()).length, 0);
  assert.equal((await second.credentials()).length, 1);

  // Renaming needs no re-authentication.
  const key = page.locator('#passkey-list > li').first();
  await key.getByRole('button', { name: /^Rename/ }).click();
  await key.getByLabel('New name').fill('Blue key');
  await key.getByRole('button', { name: 'Save' }).click();
  await page.locator('#page-status', { hasText: 'Passkey renamed to Blue key.' }).waitFor();
  assert.deepEqual(await passkeyNames(page), ['Blue key']);
});

test('going back from the code form in "Confirm it\'s you" keeps the keyboard focus in the panel', async (t) => {
  const { server, newPage } = await setup(t);
  const { page } = await newPage();
  await signUpWithPasskey(page, uniqueName('hopper'));
  // Recovery codes give the panel a kind of code to offer.
  await page.getByRole('button', { name: 'Create recovery codes' }).click();
  await page.locator('#recovery-new-codes .codes li').nth(9).waitFor();
  await page.getByRole('button', { name: 'I have saved them' }).click();
  await accountReady(page);

  server.clock.advance(REAUTH_WINDOW_SECS + 1);
  await page.getByRole('button', { name: 'Create new recovery codes' }).click();
  await page.getByRole('button', { name: 'Create new codes' }).click();
  const panel = page.locator('[data-reauth]');
  await panel.getByRole('heading', { name: "Confirm it's you" }).waitFor();
  await panel.getByRole('button', { name: 'Use a code instead' }).click();
  await panel.getByLabel('Recovery code').check();
  await panel.getByRole('button', { name: 'Continue' }).click();
  await panel.locator('#reauth-code').waitFor();
  await panel.getByRole('button', { name: 'Use another way' }).click();
  const focused = await page.evaluate(() => ({
    name: document.activeElement && document.activeElement.getAttribute('name'),
    inPanel: Boolean(document.activeElement && document.activeElement.closest('[data-reauth]')),
  }));
  assert.deepEqual(focused, { name: 'reauth-method', inPanel: true });
});

test('an account without passkeys confirms it is them with an emailed code', async (t) => {
  const { server, newPage, smtp } = await setup(t);
  const { page } = await newPage({ authenticator: false });
  const username = uniqueName('noether');
  const email = `${username}@example.com`;
  await signUpWithEmailCode(page, smtp, username, email);
  await accountReady(page);

  server.clock.advance(REAUTH_WINDOW_SECS + 1);
  await page.getByRole('button', { name: 'Set a password' }).click();
  await page.getByLabel('New password').fill('kitten mitten sitting');
  await page.getByLabel('Type it again').fill('kitten mitten sitting');
  await page.getByRole('button', { name: 'Save password' }).click();
  const panel = page.locator('[data-reauth]');
  await panel.getByRole('heading', { name: "Confirm it's you" }).waitFor();
  // No passkey to offer: the browser's prompt could only fail.
  assert.equal(await panel.getByRole('button', { name: 'Use your passkey' }).isVisible(), false);
  await panel.getByRole('button', { name: 'Use a code instead' }).click();
  await panel.getByLabel('Email').check();
  await panel.getByRole('button', { name: 'Continue' }).click();
  await panel.getByLabel('The 6-digit code we emailed you').fill(await smtp.waitForCode(email));
  await panel.getByRole('button', { name: 'Confirm' }).click();
  await page.locator('#page-status', { hasText: 'Password saved' }).waitFor();
  assert.equal(await panel.count(), 0);
  await page.locator('#password-summary', { hasText: 'A password is set.' }).waitFor();
  // The activity calls it what it was, not a new sign-in.
  await page.locator('#event-list .item-title', { hasText: "Confirmed it's you with email code" }).waitFor();
});
