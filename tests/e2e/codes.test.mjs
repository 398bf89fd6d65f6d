// Code journeys: signing up with an emailed code, and a device without
// fingerprint or face unlock that signs up and logs in with codes.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { setup, screenshot, uniqueName } from './harness.mjs';
import { signUpWithEmailCode, signUpWithPasskey, logOut, logInWithCode, expectSignedInAs, passkeyNames, sendContactCode } from './steps.mjs';

test('a person signs up with a code emailed to them', async (t) => {
  const { newPage, smtp } = await setup(t);
  const { page } = await newPage();
  const username = uniqueName('emmy');
  const email = `${username}@example.com`;

  await page.goto('/signup');
  await page.getByRole('button', { name: 'Sign up with an email or SMS code' }).click();
  await screenshot(page, 'signup-code');
  assert.equal(await signUpWithEmailCode(page, smtp, username, email), true, 'a passkey offered for next time');

  await expectSignedInAs(page, username);
  const contact = page.locator('#contact-list li').first();
  await contact.waitFor();
  assert.match(await contact.textContent(), /Email: .*@example\.com/);
  assert.match(await contact.textContent(), /Verified/);
  assert.deepEqual(await passkeyNames(page), []);
});

test('a code sign-up on a device with fingerprint unlock adds the passkey it is offered', async (t) => {
  const { newPage, smtp } = await setup(t);
  const { page, auth } = await newPage();
  const username = uniqueName('ada');
  const email = `${username}@example.com`;

  assert.equal(await signUpWithEmailCode(page, smtp, username, email, { passkeyLabel: 'Test laptop' }), true);
  await expectSignedInAs(page, username);
  assert.deepEqual(await passkeyNames(page), ['Test laptop']);
  assert.equal((await auth.credentials()).length, 1, 'the passkey is on this device');
});

test('on a device without fingerprint or face unlock, a person signs up and logs in with email codes', async (t) => {
  const { newPage, smtp } = await setup(t);
  const { page } = await newPage({ uv: false });
  const username = uniqueName('noether');
  const email = `${username}@example.com`;

  // The passkey path fails in the browser (user verification is required),
  // and the page says what to do instead.
  await page.goto('/signup');
  await page.locator('#username').fill(username);
  await page.getByRole('button', { name: 'Continue with fingerprint or face' }).click();
  const error = page.locator('#passkey-error');
  await error.filter({ hasText: /\S/ }).waitFor();
  assert.match(await error.textContent(), /code/);
  assert.equal(await error.getAttribute('role'), 'alert');

  assert.equal(await signUpWithEmailCode(page, smtp, username, email), false, 'no passkey offered on this device');
  await logOut(page);
  // The back button does not bring the account page back after a log-out.
  await page.goBack();
  await page.waitForURL(/\/login(\?|$)/);

  await logInWithCode(page, username, 'Email', () => smtp.waitForCode(email));
  // No offer to add a passkey on this device: straight to the account page.
  await page.waitForURL('**/account');
  await expectSignedInAs(page, username);
});

test('after a code log-in on a device with fingerprint unlock, the person adds a passkey for next time', async (t) => {
  const { newPage, smtp } = await setup(t);
  const { page } = await newPage();
  const username = uniqueName('hopper');
  const email = `${username}@example.com`;

  await signUpWithEmailCode(page, smtp, username, email);
  await logOut(page);
  await logInWithCode(page, username, 'Email', () => smtp.waitForCode(email));

  const offer = page.getByRole('heading', { name: 'Use your fingerprint or face next time' });
  await offer.waitFor();
  await screenshot(page, 'login-passkey-offer');
  await page.getByLabel('Name for this passkey (optional)').fill('Test phone');
  await page.getByRole('button', { name: 'Use fingerprint or face' }).click();

  await page.waitForURL('**/account');
  await expectSignedInAs(page, username);
  assert.deepEqual(await passkeyNames(page), ['Test phone']);
});

test('a wrong code is refused in plain words and the right one still works', async (t) => {
  const { newPage, smtp } = await setup(t);
  const { page } = await newPage({ uv: false });
  const username = uniqueName('lamarr');
  const email = `${username}@example.com`;

  await signUpWithEmailCode(page, smtp, username, email);
  await logOut(page);

  let right = null;
  await logInWithCode(page, username, 'Email', async () => {
    right = await smtp.waitForCode(email);
    return right === '000000' ? '111111' : '000000';
  });
  const error = page.locator('#code-error');
  await error.filter({ hasText: /\S/ }).waitFor();
  assert.match(await error.textContent(), /That code didn't work/);
  assert.equal(await page.locator('#code').getAttribute('aria-invalid'), 'true');

  await page.locator('#code').fill(right);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL('**/account');
  await expectSignedInAs(page, username);
});

test('with a password set, a code log-in needs the password too', async (t) => {
  const { newPage, smtp } = await setup(t);
  const { page } = await newPage({ uv: false });
  const username = uniqueName('goldwasser');
  const email = `${username}@example.com`;
  const password = 'correct horse battery staple';

  await signUpWithEmailCode(page, smtp, username, email);
  await page.getByRole('button', { name: 'Set a password' }).click();
  await page.getByLabel('New password').fill(password);
  await page.getByLabel('Type it again').fill(password);
  await page.getByRole('button', { name: 'Save password' }).click();
  await page.locator('#page-status', { hasText: 'Password saved' }).waitFor();
  await page.getByRole('button', { name: 'Change password' }).waitFor();
  await logOut(page);

  // The code alone is refused, in the same words as a wrong code.
  let code = null;
  await logInWithCode(page, username, 'Email', async () => {
    code = await smtp.waitForCode(email);
    return code;
  });
  assert.match(await page.locator('#password-hint').textContent(), /Only if you set a password/);
  const error = page.locator('#code-error');
  await error.filter({ hasText: /\S/ }).waitFor();
  assert.match(await error.textContent(), /That code didn't work/);

  // The same code with the password gets in (a wrong code does not end the ceremony).
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL('**/account');
  await expectSignedInAs(page, username);
});

test('a person adds an email address for codes on the account page, then removes it', async (t) => {
  const { newPage, smtp } = await setup(t);
  const { page } = await newPage();
  const username = uniqueName('shannon');
  const email = `${username}@example.com`;
  await signUpWithPasskey(page, username);

  await sendContactCode(page, email);
  await page.getByLabel('6-digit code').fill(await smtp.waitForCode(email));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.locator('#page-status', { hasText: 'Email address verified' }).waitFor();

  const contact = page.locator('#contact-list > li');
  await contact.first().waitFor();
  assert.equal(await contact.count(), 1);
  assert.match(await contact.first().textContent(), /Email: .*@example\.com.*Verified/);

  await contact.first().getByRole('button', { name: /^Remove/ }).click();
  await contact.first().getByRole('button', { name: 'Remove', exact: true }).last().click();
  await page.locator('#page-status', { hasText: 'removed' }).waitFor();
  assert.equal(await contact.count(), 0);
});

test('a contact code that ran out sends the person back to ask for a new one', async (t) => {
  const { newPage, smtp } = await setup(t);
  const { page } = await newPage();
  const username = uniqueName('hamming');
  const email = `${username}@example.com`;
  await signUpWithPasskey(page, username);

  await sendContactCode(page, email);
  const code = await smtp.waitForCode(email);
  const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
  const finishError = page.locator('#contact-finish-error');
  // Five wrong codes end the code (the fifth is still answered as wrong) …
  for (let i = 0; i < 5; i += 1) {
    await page.getByLabel('6-digit code').fill(wrong);
    await page.getByRole('button', { name: 'Verify' }).click();
    await finishError.filter({ hasText: /\S/ }).waitFor();
    await page.getByRole('button', { name: 'Verify' }).and(page.locator(':enabled')).waitFor();
  }
  // … and the next try, even with the right code, leads back to sending a new one.
  await page.getByLabel('6-digit code').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.locator('#contact-start-error', { hasText: 'Send a new code' }).waitFor();
  assert.equal(await page.locator('#contact-finish-form').isHidden(), true);
  assert.equal(await page.getByLabel('Email address').inputValue(), email);
  assert.equal(await page.locator('#contact-list > li').count(), 0);
});
