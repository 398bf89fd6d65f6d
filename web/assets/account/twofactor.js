// Two-factor authentication: its status, the email addresses and mobile
// numbers that codes go to, turning the authenticator app off, and the choice
// of what to set up next (the authenticator app or a contact).

import { api, errorMessage } from '../api.js';
import { $, h, showError, focusHeading, timeEl } from '../ui.js';
import {
  state, isSignedOut, toLogin, announce, act, confirmInline, onReload, reload, closeWizards,
} from './common.js';
import { updateReauthMethods } from './summary.js';
import { setUpTotpWizard, startTotpWizard } from './totp.js';
import { setUpContactWizard, startContactWizard } from './contact.js';

const CHANNEL_NAMES = { email: 'Email', sms: 'Text message' };

function renderContacts() {
  const list = $('#contact-list');
  list.replaceChildren();
  for (const c of state.contacts || []) {
    const error = h('p', { class: 'alert', role: 'alert' });
    const remove = h('button', { type: 'button', class: 'small danger', 'aria-label': `Remove ${c.address}` }, 'Remove');
    const actions = h('div', { class: 'actions' }, remove);
    const verified = c.verified_at !== null && c.verified_at !== undefined;
    list.append(h('li', { class: 'item', dataset: { contactId: c.id } },
      h('p', { class: 'item-title' },
        h('span', {}, `${CHANNEL_NAMES[c.channel] || c.channel}: ${c.address}`),
        h('span', { class: verified ? 'badge ok' : 'badge' }, verified ? 'Verified' : 'Not verified')),
      verified ? h('p', { class: 'item-meta' }, 'Verified ', timeEl(c.verified_at)) : null,
      error,
      actions));
    remove.addEventListener('click', async () => {
      const sure = await confirmInline(actions, `Stop sending codes to ${c.address}?`, 'Remove');
      if (!sure) return;
      const ok = await act(remove, error, () => api('DELETE', `/account/contacts/${encodeURIComponent(c.id)}`), { anchor: actions });
      if (ok) {
        await reload('account', 'contacts', 'sessions', 'events');
        announce(`${c.address} removed. Your other sessions were signed out.`);
        focusHeading($('#twofa'));
      }
    });
  }
}

async function loadContacts() {
  try {
    state.contacts = await api('GET', '/account/contacts');
    renderContacts();
  } catch (err) {
    if (isSignedOut(err)) return toLogin();
    state.contacts = null;
    showError($('#twofa-error'), `Couldn't load your email addresses and phone numbers. ${errorMessage(err)}`);
  }
  updateReauthMethods();
  return undefined;
}

onReload('contacts', loadContacts);

export function setUpTwoFactor() {
  const setup = $('#twofa-setup');
  const choose = $('#twofa-choose');
  const closeChoose = () => {
    choose.hidden = true;
    setup.setAttribute('aria-expanded', 'false');
  };
  setup.addEventListener('click', () => {
    const open = choose.hidden;
    closeWizards();
    choose.hidden = !open;
    setup.setAttribute('aria-expanded', String(open));
    if (open) (choose.querySelector('input:checked:not(:disabled)') || choose.querySelector('input:not(:disabled)')).focus();
  });
  $('#twofa-cancel').addEventListener('click', () => {
    closeChoose();
    setup.focus();
  });
  choose.addEventListener('submit', (event) => {
    event.preventDefault();
    const picked = choose.querySelector('input[name=twofa-method]:checked');
    if (!picked) return;
    closeChoose();
    if (picked.value === 'totp') startTotpWizard();
    else startContactWizard(picked.value);
  });

  $('#totp-off').addEventListener('click', async () => {
    const line = $('#totp-off').closest('.status-line');
    const sure = await confirmInline(line, "Turn off the authenticator app? Its codes won't sign you in any more.", 'Turn off');
    if (!sure) return;
    const ok = await act($('#totp-off'), $('#twofa-error'), () => api('DELETE', '/account/totp'), { anchor: line });
    if (ok) {
      await reload('account', 'sessions', 'events');
      announce('The authenticator app is turned off. Your other sessions were signed out.');
      focusHeading($('#twofa'));
    }
  });

  setUpTotpWizard();
  setUpContactWizard();
}
