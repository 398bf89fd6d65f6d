// Sessions: a person signed in on two devices signs the other one out.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { setup, screenshot, uniqueName } from './harness.mjs';
import { signUpWithEmailCode, logInWithCode, expectSignedInAs, accountReady } from './steps.mjs';

test('signing out all other sessions ends the session on the other device', async (t) => {
  const { phone, laptop, username } = await signedInOnTwoDevices(t, 'curie');
  await expectSignedInAs(laptop.page, username);
  const sessions = phone.page.locator('#session-list > li');
  assert.equal(await sessions.count(), 2);
  assert.equal(await phone.page.locator('#session-list').getByText('This device').count(), 1);
  await screenshot(phone.page, 'account-two-sessions');

  await phone.page.getByRole('button', { name: 'Sign out all other sessions' }).click();
  await phone.page.locator('#page-status', { hasText: 'Signed out of all other sessions.' }).waitFor();
  assert.equal(await sessions.count(), 1);

  await laptop.page.reload();
  await laptop.page.waitForURL('**/login?return_to=%2Faccount');

  // The phone is still signed in.
  await phone.page.reload();
  await expectSignedInAs(phone.page, username);
});

test('a person signs out one other session by its own button', async (t) => {
  const { phone, laptop } = await signedInOnTwoDevices(t, 'meitner');
  const other = phone.page.locator('#session-list > li', { hasNotText: 'This device' });
  await other.getByRole('button', { name: /^Sign out/ }).click();
  await phone.page.locator('#page-status', { hasText: /^Signed out / }).waitFor();
  assert.equal(await phone.page.locator('#session-list > li').count(), 1);

  await laptop.page.reload();
  await laptop.page.waitForURL('**/login?return_to=%2Faccount');
});

test('a sign-in past the session limit signs the least recently used device out, and activity says so', async (t) => {
  const { newPage, smtp } = await setup(t, { env: { SESAME_SESSION_LIMIT: '1' } });
  const username = uniqueName('franklin');
  const email = `${username}@example.com`;

  const phone = await newPage({ authenticator: false });
  await signUpWithEmailCode(phone.page, smtp, username, email);
  const laptop = await newPage({ authenticator: false });
  await laptop.page.goto('/login');
  await logInWithCode(laptop.page, username, 'Email', () => smtp.waitForCode(email));
  await laptop.page.waitForURL('**/account');
  await accountReady(laptop.page);
  assert.equal(await laptop.page.locator('#session-list > li').count(), 1);
  await laptop.page.locator('#event-list', { hasText: 'Signed in with email code; 1 older session was signed out' }).waitFor();

  await phone.page.reload();
  await phone.page.waitForURL('**/login?return_to=%2Faccount');
});

test('a change that signs the other sessions out says so, and the list shows it at once', async (t) => {
  const { phone, laptop } = await signedInOnTwoDevices(t, 'hopper');
  const sessions = phone.page.locator('#session-list > li');
  assert.equal(await sessions.count(), 2);
  await phone.page.getByRole('button', { name: 'Set a password' }).click();
  await phone.page.getByLabel('New password').fill('kitten mitten sitting');
  await phone.page.getByLabel('Type it again').fill('kitten mitten sitting');
  await phone.page.getByRole('button', { name: 'Save password' }).click();
  await phone.page.locator('#page-status', { hasText: 'Your other sessions were signed out.' }).waitFor();
  // The list was read again before the page said so.
  assert.equal(await sessions.count(), 1);
  assert.equal(await sessions.getByText('This device').count(), 1);

  await laptop.page.reload();
  await laptop.page.waitForURL('**/login?return_to=%2Faccount');
});

test("a stranger's words in a failed sign-in's user agent never show on the owner's page", async (t) => {
  const { newPage, smtp, url } = await setup(t);
  const username = uniqueName('lovelace');
  const email = `${username}@example.com`;
  const { page } = await newPage({ authenticator: false });
  await signUpWithEmailCode(page, smtp, username, email);

  const bait = 'Sesame Security: your account is locked, call +1 800 555 0100';
  const post = (path, body) => fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url, 'user-agent': bait },
    body: JSON.stringify(body),
  });
  const started = await post('/api/v1/login/code/start', { username, method: 'totp' });
  assert.equal(started.status, 202);
  const { ceremony } = await started.json();
  const failed = await post('/api/v1/login/code/finish', { ceremony, code: '000000' });
  assert.equal(failed.status, 401);

  await page.reload();
  await accountReady(page);
  const attempt = page.locator('#event-list > li', { hasText: 'Failed sign-in attempt' });
  await attempt.waitFor();
  assert.match(await attempt.textContent(), /Unknown device/);
  assert.equal(await page.getByText('call +1 800').count(), 0);
});

/**
 * A person signs up by email on a phone and signs in with an emailed code on a laptop;
 * the phone's account page is then read again. Returns both, and the username.
 */
async function signedInOnTwoDevices(t, name) {
  const { newPage, smtp } = await setup(t);
  const username = uniqueName(name);
  const email = `${username}@example.com`;
  const phone = await newPage({ authenticator: false });
  await signUpWithEmailCode(phone.page, smtp, username, email);
  const laptop = await newPage({ authenticator: false });
  await laptop.page.goto('/login');
  await logInWithCode(laptop.page, username, 'Email', () => smtp.waitForCode(email));
  await laptop.page.waitForURL('**/account');
  await phone.page.reload();
  await accountReady(phone.page);
  return { phone, laptop, username };
}
