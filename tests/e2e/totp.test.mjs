// Two-factor authentication with an authenticator app: the five set-up steps,
// then a log-in with the app's code.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as OTPAuth from 'otpauth';

import { setup, screenshot, uniqueName } from './harness.mjs';
import { signUpWithPasskey, logOut, logInWithCode, expectSignedInAs, accountReady } from './steps.mjs';

test('a person sets up an authenticator app in five steps and then logs in with its code', async (t) => {
  const { server, newPage } = await setup(t);
  const { page, auth } = await newPage();
  const username = uniqueName('turing');
  await signUpWithPasskey(page, username);

  await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
  await page.getByLabel('Authenticator app').check();
  await page.getByRole('button', { name: 'Continue' }).click();

  // 1. Save your recovery codes.
  await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
  const codes = page.locator('#totp-codes .codes li');
  await codes.nth(9).waitFor();
  assert.equal(await codes.count(), 10);
  const recoveryCodes = await codes.allTextContents();
  await page.getByRole('button', { name: 'Copy', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Download (.txt)' }).waitFor();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download (.txt)' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'sesame-recovery-codes.txt');
  await screenshot(page, 'totp-step1-recovery-codes');
  await page.getByRole('button', { name: 'I have saved the recovery codes' }).click();

  // 2. Get an authenticator app.
  await page.getByRole('heading', { name: 'Get an authenticator app' }).waitFor();
  await page.getByRole('button', { name: 'I have an app' }).click();

  // 3. Scan the QR code, or type the key.
  await page.getByRole('heading', { name: 'Scan the QR code' }).waitFor();
  await page.locator('#totp-qr').waitFor();
  assert.match(await page.locator('#totp-qr').getAttribute('src'), /^data:image\/svg\+xml;base64,/);
  const grouped = (await page.locator('#totp-secret').textContent()).trim();
  assert.match(grouped, /^([A-Z2-7=]{1,4} )*[A-Z2-7=]{1,4}$/, `the key is shown in groups of four: ${grouped}`);
  await screenshot(page, 'totp-step3-qr');
  const totp = new OTPAuth.TOTP({
    secret: OTPAuth.Secret.fromBase32(grouped.replace(/\s+/g, '')),
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
  });
  await page.getByRole('button', { name: 'Next' }).click();

  // 4. Enter the 6-digit code.
  await page.getByRole('heading', { name: 'Enter the 6-digit code' }).waitFor();
  const input = page.getByLabel('Code from the app');
  assert.equal(await input.getAttribute('inputmode'), 'numeric');
  assert.equal(await input.getAttribute('autocomplete'), 'one-time-code');
  const stepFourCode = totp.generate();
  await input.fill(stepFourCode);
  await page.getByRole('button', { name: 'Next' }).click();

  // 5. Save.
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByRole('heading', { name: 'Two-factor authentication is on' }).waitFor();
  await page.getByRole('button', { name: 'Done' }).click();
  await page.locator('#totp-state', { hasText: 'On' }).waitFor();
  // Nothing secret stays in the page: the key, its QR code, the recovery codes.
  assert.equal(await page.locator('#totp-secret').textContent(), '');
  assert.equal(await page.locator('#totp-secret').getAttribute('data-secret'), null);
  assert.equal(await page.locator('#totp-qr').getAttribute('src'), null);
  assert.equal(await page.locator('#totp-codes .codes li').count(), 0);

  // Log out, and log in with the app's code. The passkey stays on this
  // device, but the person chooses a code: the authenticator is told not to
  // answer, so the autofill request waits.
  await logOut(page, auth);
  // A step's code is accepted once per account (RFC 6238 §5.2): step 4's code
  // does not sign in. The server's clock then moves on one step, instead of
  // the test waiting for the next, and the app reads the same time.
  await logInWithCode(page, username, 'Authenticator app', async () => stepFourCode);
  await page.locator('#code-error', { hasText: "That code didn't work." }).waitFor();
  server.clock.advance(30);
  await page.locator('#code').fill(totp.generate({ timestamp: server.clock.now() }));
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  const offer = page.getByRole('heading', { name: 'Use your fingerprint or face next time' });

  // This device has fingerprint unlock, so Sesame offers a passkey; not now.
  await offer.waitFor();
  await page.getByRole('button', { name: 'Not now' }).click();
  await page.waitForURL('**/account');
  await expectSignedInAs(page, username);
  await accountReady(page);
  assert.equal(await page.locator('#totp-state').textContent(), 'On');

  // One of the saved recovery codes also gets in, once.
  await logOut(page, auth);
  await logInWithCode(page, username, 'Recovery code', async () => recoveryCodes[3]);
  await offer.waitFor();
  await page.getByRole('button', { name: 'Not now' }).click();
  await page.waitForURL('**/account');
  await expectSignedInAs(page, username);
  await page.locator('#recovery-summary', { hasText: '9 codes left' }).waitFor();

  // Turning the app off again, after an inline "are you sure".
  await page.locator('#totp-off').click();
  await page.locator('#twofa .confirm').getByRole('button', { name: 'Turn off' }).click();
  await page.locator('#page-status', { hasText: 'The authenticator app is turned off.' }).waitFor();
  await page.locator('#totp-state', { hasText: 'Off' }).waitFor();
  assert.equal(await page.locator('#totp-off').isHidden(), true);
  await page.locator('#event-list .item-title', { hasText: 'Authenticator app turned off' }).waitFor();

  // Setting the app up again: the recovery codes the person has are kept
  // unless they ask for new ones.
  await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
  await page.getByLabel('Authenticator app').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.locator('#totp-codes-kept', { hasText: 'You already have 9 recovery codes' }).waitFor();
  assert.equal(await page.locator('#totp-codes-saved').isHidden(), true);
  await page.getByRole('button', { name: 'Keep my recovery codes' }).click();
  await page.getByRole('heading', { name: 'Get an authenticator app' }).waitFor();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('button', { name: 'Set up two-factor authentication' }).waitFor();
  await accountReady(page);
  assert.match(await page.locator('#recovery-summary').textContent(), /^9 codes left\b/);
});

test('leaving the authenticator-app set-up keeps the recovery codes it made, asks before leaving unsaved ones, and replacing them asks first', async (t) => {
  const { newPage } = await setup(t);
  const { page } = await newPage();
  await signUpWithPasskey(page, uniqueName('noether'));
  const openSetUp = async () => {
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await page.getByLabel('Authenticator app').check();
    await page.getByRole('button', { name: 'Continue' }).click();
  };

  // Step 1 makes a set, which replaced any other: leaving before saving it asks first.
  await openSetUp();
  const codes = page.locator('#totp-codes .codes li');
  await codes.nth(9).waitFor();
  const shown = await codes.allTextContents();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByText("Your new recovery codes are the only ones that work now, and they won't be shown again.").waitFor();
  const focused = () => page.evaluate(() => document.activeElement.textContent);
  assert.equal(await focused(), 'Back to the codes', 'Enter keeps the codes');
  await page.getByRole('button', { name: 'Back to the codes' }).click();
  assert.equal(await focused(), 'Cancel', 'back on the button that asked');
  assert.deepEqual(await codes.allTextContents(), shown, 'the same codes, still shown');
  assert.equal(await page.getByRole('button', { name: 'Leave without saving' }).count(), 0);

  // The person saves it, then has no app to hand and leaves (nothing to ask any more).
  await page.getByRole('button', { name: 'I have saved the recovery codes' }).click();
  await page.getByRole('heading', { name: 'Get an authenticator app' }).waitFor();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('#totp-wizard').waitFor({ state: 'hidden' });
  await page.locator('#recovery-summary', { hasText: /^10 codes left\b/ }).waitFor();

  // Back later: the saved set is offered to keep, not silently replaced.
  await openSetUp();
  await page.locator('#totp-codes-kept', { hasText: 'You already have 10 recovery codes' }).waitFor();
  assert.equal(await codes.count(), 0);
  await page.getByRole('button', { name: 'Keep my recovery codes' }).click();
  await page.getByRole('heading', { name: 'Get an authenticator app' }).waitFor();
  await page.getByRole('button', { name: 'Cancel' }).click();
  // A new set made here and left unsaved: the person says so, and the wizard closes. While
  // the set is being made there is no leaving (it replaces the saved one either way).
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route('**/api/v1/account/recovery-codes', async (route) => {
    await held;
    await route.continue();
  });
  await openSetUp();
  const making = page.waitForRequest('**/api/v1/account/recovery-codes');
  await page.getByRole('button', { name: 'Create new codes' }).click();
  await making;
  const cancel = page.locator('#totp-wizard [data-step="1"] [data-totp-cancel]');
  assert.equal(await cancel.isDisabled(), true, 'no Cancel while the codes are being made');
  release();
  await codes.nth(9).waitFor();
  await page.unroute('**/api/v1/account/recovery-codes');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('button', { name: 'Leave without saving' }).click();
  await page.getByRole('button', { name: 'Set up two-factor authentication' }).waitFor();
  assert.equal(await codes.count(), 0, 'no codes left on the page');

  // Replacing them from the recovery section asks first.
  await page.getByRole('button', { name: 'Create new recovery codes' }).click();
  await page.getByText('Create new recovery codes? The ones you have now will stop working.').waitFor();
  await accountReady(page);
  const generated = page.locator('#event-list .item-title', { hasText: /recovery codes/i });
  assert.equal(await generated.count(), 2, 'two sets made in all');
});

test("a set-up whose QR code could not be fetched offers to try again", async (t) => {
  const { newPage } = await setup(t);
  const { page } = await newPage();
  await signUpWithPasskey(page, uniqueName('shannon'));
  // The first request for the app's secret fails on the way (the network, say).
  let failed = 0;
  await page.route('**/api/v1/account/totp/start', async (route) => {
    if (failed === 0) {
      failed += 1;
      await route.abort('connectionreset');
    } else {
      await route.fallback();
    }
  });

  await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
  await page.getByLabel('Authenticator app').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.locator('#totp-codes .codes li').nth(9).waitFor();
  await page.getByRole('button', { name: 'I have saved the recovery codes' }).click();
  await page.getByRole('button', { name: 'I have an app' }).click();
  await page.getByRole('heading', { name: 'Scan the QR code' }).waitFor();
  await page.locator('#totp-step3-error').filter({ hasText: /\S/ }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Next' }).isDisabled(), true);

  await page.getByRole('button', { name: 'Try again' }).click();
  await page.locator('#totp-qr').waitFor();
  assert.equal(failed, 1);
  assert.equal(await page.getByRole('button', { name: 'Next' }).isDisabled(), false);
  assert.equal(await page.getByRole('button', { name: 'Try again' }).isVisible(), false);
  assert.equal((await page.locator('#totp-step3-error').textContent()).trim(), '');
});
