// The account page's own sections, used the way a person would: new
// recovery codes (twice: the second set replaces the first), a password set
// and removed again, and the activity list telling each of these in plain
// words. (Turning the authenticator app off is in totp.test.mjs.)

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { setup, uniqueName } from './harness.mjs';
import { signUpWithPasskey, accountReady } from './steps.mjs';

/** The first `n` activity lines, newest first. */
async function activity(page, n) {
  return (await page.locator('#event-list .item-title').allTextContents()).slice(0, n);
}

test('a person makes recovery codes, replaces them, and sets and removes a password', async (t) => {
  const { newPage } = await setup(t);
  const { page } = await newPage();
  await signUpWithPasskey(page, uniqueName('lamport'));

  // No codes yet: the section says so and offers to create them.
  const summary = page.locator('#recovery-summary');
  assert.equal(await summary.textContent(), "You don't have any recovery codes.");
  await page.getByRole('button', { name: 'Create recovery codes' }).click();
  const shown = page.locator('#recovery-codes .codes li');
  await shown.nth(9).waitFor();
  const first = await shown.allTextContents();
  assert.equal(first.length, 10);
  assert.equal(new Set(first).size, 10);
  await summary.filter({ hasText: /^10 codes left, created / }).waitFor();
  await page.getByRole('button', { name: 'I have saved them' }).click();
  assert.equal(await page.locator('#recovery-new-codes').isHidden(), true);
  assert.equal(await shown.count(), 0);

  // New codes replace the old ones, after an inline "are you sure".
  await page.getByRole('button', { name: 'Create new recovery codes' }).click();
  await page.locator('#recovery .confirm').getByRole('button', { name: 'Create new codes' }).click();
  await page.locator('#recovery-new-codes').waitFor();
  await shown.nth(9).waitFor();
  const second = await shown.allTextContents();
  assert.equal(second.length, 10);
  assert.equal(second.filter((code) => first.includes(code)).length, 0);
  await accountReady(page);

  // A password, then no password again.
  const passwordSummary = page.locator('#password-summary');
  await page.getByRole('button', { name: 'Set a password' }).click();
  await page.getByLabel('New password').fill('kitten mitten sitting');
  await page.getByLabel('Type it again').fill('kitten mittens sitting');
  await page.getByRole('button', { name: 'Save password' }).click();
  await page.locator('#password-form-error', { hasText: "The two passwords aren't the same." }).waitFor();
  await page.getByLabel('Type it again').fill('kitten mitten sitting');
  await page.getByRole('button', { name: 'Save password' }).click();
  await page.locator('#page-status', { hasText: 'Password saved' }).waitFor();
  await passwordSummary.filter({ hasText: 'A password is set.' }).waitFor();

  await page.locator('#password-remove').click();
  await page.locator('#password .confirm').getByRole('button', { name: 'Remove password' }).click();
  await page.locator('#page-status', { hasText: 'Password removed.' }).waitFor();
  await page.getByRole('button', { name: 'Set a password' }).waitFor();
  assert.equal(await page.locator('#password-remove').isHidden(), true);
  await passwordSummary.filter({ hasText: "You don't have a password" }).waitFor();

  // Each change is in the activity list, newest first, in plain words.
  await page.locator('#event-list .item-title', { hasText: 'Password removed' }).waitFor();
  assert.deepEqual(await activity(page, 4), [
    'Password removed',
    'Password set',
    'New recovery codes created',
    'New recovery codes created',
  ]);
});

test('new recovery codes saved at once, before the page has read the account again, leave no error', async (t) => {
  const { newPage } = await setup(t);
  const { page } = await newPage();
  await signUpWithPasskey(page, uniqueName('liskov'));
  // The account is read again after the codes are made; hold that read back.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route('**/api/v1/account', async (route) => {
    if (route.request().method() === 'GET') await held;
    await route.continue();
  });
  await page.getByRole('button', { name: 'Create recovery codes' }).click();
  await page.locator('#recovery-new-codes .codes li').nth(9).waitFor();
  await page.getByRole('button', { name: 'I have saved them' }).click();
  release();
  await accountReady(page);
  await page.unroute('**/api/v1/account');
  assert.equal(await page.locator('#recovery-codes li').count(), 0, 'the codes are off the page');
  // The harness fails the test on any error the page raised.
});
