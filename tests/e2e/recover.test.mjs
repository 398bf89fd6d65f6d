// An administrator's recovery link (`sesame account recovery`): on a new
// device it adds a passkey and signs in; the page takes the token out of the
// address bar, so a reload asks for the link again instead of calling a
// working link used up.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { setup, screenshot, uniqueName } from './harness.mjs';
import { signUpWithPasskey, expectSignedInAs, passkeyNames } from './steps.mjs';

test('a recovery link adds a passkey on a new device, and a reload asks for the link again', async (t) => {
  const { server, newPage } = await setup(t);
  const old = await newPage();
  const username = uniqueName('franklin');
  await signUpWithPasskey(old.page, username);

  const issued = JSON.parse(await server.admin(['account', 'recovery', username, '--json']));
  const link = new URL(issued.link);
  assert.equal(link.pathname, '/recover');
  assert.equal(link.search, '', 'the token is not in the query, which proxies log');
  const token = new URLSearchParams(link.hash.slice(1)).get('token');
  assert.ok(token);

  // A new device, whose authenticator has nothing for this site yet.
  const { page, auth } = await newPage();
  await page.goto(`/recover#token=${encodeURIComponent(token)}`);
  await page.getByRole('heading', { name: 'Add a new passkey' }).waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');

  // A reload has no token: it says to open the link again, not that it is used up.
  await page.reload();
  await page.locator('#recover-error', { hasText: 'Open the link from your message again' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Add a passkey and sign in' }).isDisabled(), true);
  await screenshot(page, 'recover-without-token');

  // Opened again in the same tab, where only the fragment changes, the link is read anew.
  await page.goto(`/recover#token=${encodeURIComponent(token)}`);
  await page.waitForFunction(() => !document.querySelector('#recover-button').disabled);
  assert.equal(new URL(page.url()).hash, '', 'the token left the address bar again');

  // The link still works, in the earlier form (a query) too.
  await page.goto(`/recover?token=${encodeURIComponent(token)}`);
  await page.getByLabel('Name for this passkey (optional)').fill('New phone');
  await page.getByRole('button', { name: 'Add a passkey and sign in' }).click();
  await page.waitForURL('**/account');
  await expectSignedInAs(page, username);
  assert.equal((await auth.credentials()).length, 1);
  assert.ok((await passkeyNames(page)).includes('New phone'));

  // Used once: the same link again is refused.
  const again = await newPage({ authenticator: false });
  await again.page.goto(`/recover#token=${encodeURIComponent(token)}`);
  await again.page.getByRole('button', { name: 'Add a passkey and sign in' }).click();
  await again.page.locator('#recover-error', { hasText: 'This link has expired or was already used' }).waitFor();
});
