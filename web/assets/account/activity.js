// Recent security activity (`GET /account/events`), each event in plain
// words, e.g. "Signed in with passkey" or "Email address added".

import { api, errorMessage } from '../api.js';
import { $, h, showError, timeEl, deviceName } from '../ui.js';
import { isSignedOut, toLogin, onReload } from './common.js';

const EVENT_WORDS = {
  login: 'Signed in',
  login_failed: 'Failed sign-in attempt',
  logout: 'Signed out',
  signup: 'Account created',
  account_created: 'Account created',
  reauthenticated: "Confirmed it's you",
  passkey_added: 'Passkey added',
  passkey_removed: 'Passkey removed',
  passkey_renamed: 'Passkey renamed',
  totp_enabled: 'Authenticator app turned on',
  totp_disabled: 'Authenticator app turned off',
  contact_added: 'Email address or phone number added',
  contact_removed: 'Email address or phone number removed',
  recovery_codes_generated: 'New recovery codes created',
  recovery_code_used: 'Recovery code used',
  password_set: 'Password set',
  password_removed: 'Password removed',
  session_revoked: 'A session was signed out',
  sessions_revoked: 'Other sessions were signed out',
  locked_out: 'Code sign-in paused after too many wrong tries',
};

const METHOD_WORDS = {
  passkey: 'passkey',
  totp: 'authenticator app',
  email: 'email code',
  sms: 'text message code',
  recovery: 'recovery code',
  password: 'password',
};

const CHANNEL_THINGS = { email: 'Email address', sms: 'Mobile number' };

function methodWords(detail) {
  const methods = detail.methods || (detail.method ? [detail.method] : null);
  if (!Array.isArray(methods) || !methods.length) return '';
  return methods.map((m) => METHOD_WORDS[m] || m).join(' and ');
}

/** A log-in past the account's session limit (SESAME_SESSION_LIMIT) ended older sessions. */
function endedWords(detail) {
  const n = detail.sessions_ended;
  if (!Number.isInteger(n) || n < 1) return '';
  return n === 1 ? '; 1 older session was signed out' : `; ${n} older sessions were signed out`;
}

/** An event in plain words, e.g. "Signed in with passkey", "Email address added". */
function eventText(e) {
  const detail = e.detail && typeof e.detail === 'object' ? e.detail : {};
  const how = methodWords(detail);
  switch (e.kind) {
    case 'contact_added':
    case 'contact_removed':
      if (CHANNEL_THINGS[detail.channel]) {
        return `${CHANNEL_THINGS[detail.channel]} ${e.kind === 'contact_added' ? 'added' : 'removed'}`;
      }
      break;
    case 'login_failed':
      return how ? `Failed sign-in attempt (${how})` : EVENT_WORDS.login_failed;
    case 'locked_out':
      return EVENT_WORDS.locked_out;
    case 'totp_enabled':
      if (detail.replaced === true) return 'Authenticator app changed';
      break;
    default:
      break;
  }
  // A sign-in in a session that was already this account's confirmed it's you.
  const kind = e.kind === 'login' && detail.reauthentication === true ? 'reauthenticated' : e.kind;
  const words = EVENT_WORDS[kind] || String(kind || 'Activity').replace(/_/g, ' ');
  const ended = e.kind === 'login' ? endedWords(detail) : '';
  if (how && ['login', 'account_created', 'signup', 'reauthenticated'].includes(kind)) return `${words} with ${how}${ended}`;
  if (ended) return `${words}${ended}`;
  if (typeof e.detail === 'string' && e.detail) return `${words}: ${e.detail}`;
  if (detail.label) return `${words}: "${detail.label}"`;
  return words;
}

function renderEvents(events) {
  const list = $('#event-list');
  list.replaceChildren();
  if (!events.length) {
    list.append(h('li', { class: 'item muted' }, 'Nothing yet.'));
    return;
  }
  for (const e of events) {
    const meta = [timeEl(e.at, 'unknown')];
    const device = (e.device || e.user_agent) ? deviceName(e.device, e.user_agent) : '';
    if (device) meta.push(' · ', device);
    if (e.ip) meta.push(' · ', e.ip);
    list.append(h('li', { class: 'item', dataset: { eventKind: e.kind } },
      h('p', { class: 'item-title' }, eventText(e)),
      h('p', { class: 'item-meta' }, meta)));
  }
}

async function loadEvents() {
  try {
    renderEvents(await api('GET', '/account/events?limit=20'));
    showError($('#events-error'), '');
  } catch (err) {
    if (isSignedOut(err)) return toLogin();
    showError($('#events-error'), `Couldn't load recent activity. ${errorMessage(err)}`);
  }
  return undefined;
}

onReload('events', loadEvents);
