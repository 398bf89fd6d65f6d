// Where you're signed in: every session of the account, this device first,
// with "Sign out" for each other one and for all of them at once.

import { api, errorMessage } from '../api.js';
import { $, h, showError, focusHeading, timeEl, deviceName } from '../ui.js';
import { isSignedOut, toLogin, announce, act, onReload, reload } from './common.js';

function renderSessions(sessions) {
  const list = $('#session-list');
  list.replaceChildren();
  const ordered = [...sessions].sort((a, b) => (b.current ? 1 : 0) - (a.current ? 1 : 0));
  for (const s of ordered) {
    const device = deviceName(s.device, s.user_agent);
    const error = h('p', { class: 'alert', role: 'alert' });
    const meta = [];
    if (s.ip) meta.push(s.ip, ' · ');
    meta.push('Last active ', timeEl(s.last_seen_at, 'unknown'), ' · Signed in ', timeEl(s.created_at, 'unknown'));
    const item = h('li', { class: 'item', dataset: { sessionId: s.id } },
      h('p', { class: 'item-title' },
        h('span', { title: s.user_agent || '' }, device),
        s.current ? h('span', { class: 'badge accent' }, 'This device') : null),
      h('p', { class: 'item-meta' }, meta),
      error);
    if (!s.current) {
      const out = h('button', { type: 'button', class: 'small', 'aria-label': `Sign out ${device}` }, 'Sign out');
      out.addEventListener('click', async () => {
        const ok = await act(out, error, () => api('DELETE', `/account/sessions/${encodeURIComponent(s.id)}`));
        if (ok) {
          await reload('sessions', 'events');
          announce(`Signed out ${device}.`);
          focusHeading($('#sessions'));
        }
      });
      item.append(h('div', { class: 'actions' }, out));
    }
    list.append(item);
  }
  $('#sessions-others').hidden = !sessions.some((s) => !s.current);
}

async function loadSessions() {
  try {
    renderSessions(await api('GET', '/account/sessions'));
    showError($('#sessions-error'), '');
  } catch (err) {
    if (isSignedOut(err)) return toLogin();
    showError($('#sessions-error'), `Couldn't load your sessions. ${errorMessage(err)}`);
  }
  return undefined;
}

onReload('sessions', loadSessions);

export function setUpSessions() {
  $('#sessions-others').addEventListener('click', async () => {
    const button = $('#sessions-others');
    const ok = await act(button, $('#sessions-error'), () => api('DELETE', '/account/sessions'));
    if (ok) {
      await reload('sessions', 'events');
      announce('Signed out of all other sessions.');
      focusHeading($('#sessions'));
    }
  });
}
