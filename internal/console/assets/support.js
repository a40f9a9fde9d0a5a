// The support console (contact centre): sign in with a support key, find a
// customer by email, phone (typed any way), name or order number, see the
// customer's details, every order and every earlier contact, follow the
// customer's timeline live, log a call, chat, email, social message or store
// visit, and cancel an order, extend its pickup or resend its last message
// without leaving the page.
import {
  client, follow, h, showError, money, when, STATUS, describe, channelWords, loadSession, announceTo, focusHeading, plainError,
  busy,
} from './api.js';

const SESSION_KEY = 'omni.support';
const PAGE = 20; // timeline entries per page
const view = document.getElementById('view');
const who = document.getElementById('who');
const live = document.getElementById('live');
const announcer = document.getElementById('announce');
const enc = encodeURIComponent;

let session = loadSession(SESSION_KEY); // { key, actor, name }
let api = null;
let rendered = ''; // the route the view shows
let current = null; // the open customer: { id, data, stream, entries, seen, next, refreshTimer }
let storeNames = {};

document.getElementById('sign-out').addEventListener('click', signOut);
window.addEventListener('hashchange', route);

function start() {
  if (!session) {
    showSignIn();
    return;
  }
  const headers = { 'Omni-Channel': 'contact_centre' };
  if (session.actor) headers['Omni-Actor'] = session.actor;
  api = client(session.key, headers);
  who.hidden = false;
  document.getElementById('agent-name').textContent = session.actor || session.name || 'Support';
  api.get('/v1/me').then((me) => {
    storeNames = Object.fromEntries((me.all_stores || []).map((s) => [s.id, s.name]));
    if (current && current.data) renderOrders();
  }).catch(() => {}); // names are a nicety: ids are shown without them
  route();
}

function signOut() {
  sessionStorage.removeItem(SESSION_KEY);
  session = null;
  api = null;
  closeCustomer();
  who.hidden = true;
  rendered = '';
  showSignIn();
}

// Routes: #/search (optionally #/search/<what was typed>), #/customer/<id>,
// #/analytics.
function route() {
  if (!session) return;
  const hash = location.hash.replace(/^#\/?/, '');
  const slash = hash.indexOf('/');
  const kind = slash < 0 ? hash : hash.slice(0, slash);
  const arg = slash < 0 ? '' : decodeURIComponent(hash.slice(slash + 1));
  if (kind === 'customer' && arg) {
    if (rendered === `customer:${arg}`) return;
    closeCustomer();
    rendered = `customer:${arg}`;
    openCustomer(arg);
    return;
  }
  if (kind === 'analytics') {
    if (rendered === 'analytics') return;
    closeCustomer();
    rendered = 'analytics';
    showAnalytics();
    return;
  }
  if (rendered === `search:${arg}`) return;
  closeCustomer();
  rendered = `search:${arg}`;
  showSearch(arg);
}

// ---- Sign in ----

function showSignIn() {
  document.title = 'Sign in · Support console';
  const err = h('div', { class: 'error', role: 'alert', hidden: true });
  const key = h('input', { id: 'key', name: 'key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const actor = h('input', { id: 'actor', name: 'actor', autocomplete: 'name', maxlength: '100' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'card narrow', 'aria-labelledby': 'sign-in-title', novalidate: true },
    h('h1', { id: 'sign-in-title' }, 'Sign in to the support console'),
    h('p', { class: 'muted' }, 'Use your support key. It is kept in this browser tab only, until you sign out or close the tab.'),
    h('div', { class: 'field' }, h('label', { for: 'key' }, 'Support key'), key),
    h('div', { class: 'field' },
      h('label', { for: 'actor' }, 'Your name ', h('span', { class: 'hint' }, 'Optional: shown on the customer’s history next to what you do.')), actor),
    h('div', { class: 'actions-row' }, button),
    err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!key.value.trim()) {
      key.setAttribute('aria-invalid', 'true');
      err.replaceChildren(h('strong', {}, 'Enter the support key.'));
      err.hidden = false;
      key.focus();
      return;
    }
    key.removeAttribute('aria-invalid');
    await busy(button, err, async () => {
      const me = await client(key.value.trim()).get('/v1/me');
      if (me.role !== 'support') {
        throw plainError(`This is not a support key (it belongs to “${me.name}”, role ${me.role}).`);
      }
      session = { key: key.value.trim(), actor: actor.value.trim(), name: me.name };
      sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
      if (!location.hash.startsWith('#/')) history.replaceState(null, '', '#/search');
      start();
    });
  });
  view.replaceChildren(form);
  key.focus();
}

// ---- Search ----

// searchQuery says how to look for what was typed: an email, a phone number
// (any spacing, dashes, dots or brackets; 00 for +), or anything else (a
// name or an order number).
export function searchQuery(text) {
  const t = text.trim();
  if (t.includes('@')) return `email=${enc(t.toLowerCase())}`;
  const compact = t.replace(/[\s().\-/]/g, '').replace(/^00/, '+');
  if (/^\+\d{7,15}$/.test(compact)) return `phone=${enc(compact)}`;
  return `q=${enc(t)}`;
}

function listOf(body, ...names) {
  if (Array.isArray(body)) return body;
  for (const n of names) if (body && Array.isArray(body[n])) return body[n];
  return [];
}

function showSearch(text) {
  document.title = 'Find a customer · Support console';
  const err = h('div', { class: 'error', role: 'alert', hidden: true });
  const input = h('input', { id: 'search-q', name: 'q', type: 'search', autocomplete: 'off', spellcheck: 'false', maxlength: '200',
    required: true, value: text });
  const button = h('button', { type: 'submit' }, 'Search');
  const results = h('section', { id: 'results', 'aria-labelledby': 'results-title', hidden: true });
  const form = h('form', { class: 'card', role: 'search', 'aria-label': 'Find a customer', novalidate: true },
    h('h1', { id: 'search-title' }, 'Find a customer'),
    h('div', { class: 'row' },
      h('div', { class: 'field' },
        h('label', { for: 'search-q' }, 'Email, phone, name or order number ',
          h('span', { class: 'hint' }, 'Type the phone number any way the customer says it, e.g. +44 7700 900001.')),
        input),
      h('div', { class: 'field shrink' }, button)),
    err);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (!q) {
      input.setAttribute('aria-invalid', 'true');
      err.replaceChildren(h('strong', {}, 'Enter an email, a phone number, a name or an order number.'));
      err.hidden = false;
      input.focus();
      return;
    }
    input.removeAttribute('aria-invalid');
    rendered = `search:${q}`;
    history.replaceState(null, '', `#/search/${enc(q)}`);
    busy(button, err, () => runSearch(q, results));
  });
  view.replaceChildren(form, results);
  input.focus();
  if (text) busy(button, err, () => runSearch(text, results));
}

async function runSearch(q, results) {
  const body = await api.get(`/v1/customers?${searchQuery(q)}`);
  const found = listOf(body, 'customers', 'results', 'items');
  const title = found.length === 0 ? `No customer found for “${q}”` : found.length === 1 ? '1 customer found' : `${found.length} customers found`;
  results.replaceChildren(
    h('h2', { id: 'results-title' }, title),
    found.length === 0
      ? h('p', { class: 'empty' }, 'Check the spelling, or try the email, the phone number or an order number.')
      : h('ul', { class: 'orders customers' }, found.map((c) => h('li', {},
        h('a', { href: `#/customer/${enc(c.id)}`, 'data-customer-id': c.id },
          h('span', { class: 'num' }, c.name || c.email || c.id),
          h('span', { class: 'meta' }, [c.email, c.phone].filter(Boolean).join(' · ')),
          h('span', { class: 'tags' }, countWords(c)))))));
  results.hidden = false;
  announceTo(announcer, title);
}

function countWords(c) {
  const n = c.order_count ?? c.orders_count ?? (c.counts && c.counts.orders);
  const last = c.last_order_at || (c.last_order && c.last_order.at);
  return [typeof n === 'number' ? `${n} order${n === 1 ? '' : 's'}` : '', last ? `last ${when(last)}` : ''].filter(Boolean).join(', ');
}

// ---- The customer ----

function closeCustomer() {
  if (!current) return;
  if (current.stream) current.stream.close();
  clearTimeout(current.refreshTimer);
  current = null;
  live.textContent = '';
  live.className = 'live';
}

async function openCustomer(id) {
  document.title = 'Customer · Support console';
  view.replaceChildren(h('p', { class: 'loading', role: 'status' }, 'Loading the customer…'));
  const me = { id, data: null, stream: null, entries: [], seen: new Set(), next: null, refreshTimer: null };
  current = me;
  let data;
  try {
    data = await api.get(`/v1/customers/${enc(id)}`);
  } catch (e) {
    if (current !== me) return;
    const err = h('div', { class: 'error', role: 'alert' });
    showError(err, e);
    view.replaceChildren(h('h1', {}, 'Customer'), err, h('p', {}, h('a', { href: '#/search' }, 'Find a customer')));
    focusHeading(view);
    return;
  }
  if (current !== me) return;
  me.data = data;
  renderCustomer();
  focusHeading(view);
  await loadTimeline(true);
  if (current !== me) return;
  // The stream starts with the newest entry (already shown), then sends each
  // new one; after a drop it resumes from the last one it sent.
  me.stream = follow(`/v1/customers/${enc(id)}/timeline/stream?limit=1`, session.key, onLive, (state, status) => {
    if (current !== me) return;
    live.className = `live ${state === 'live' ? 'on' : 'off'}`;
    live.textContent = state === 'live' ? 'Live' : state === 'closed' ? 'Not updating' : 'Reconnecting…';
    if (state === 'closed' && status === 401) signOut();
  });
}

const customerOf = (data) => data.customer || data;
const ordersOf = (data) => listOf(data, 'orders');
const interactionsOf = (data) => listOf(data, 'interactions');

function renderCustomer() {
  const c = customerOf(current.data);
  const name = c.name || c.email || c.id;
  document.title = `${name} · Support console`;
  view.replaceChildren(
    h('p', { class: 'back' }, h('a', { href: '#/search' }, '← Find another customer')),
    h('div', { class: 'order-head' }, h('h1', { id: 'customer-title' }, name)),
    h('dl', { class: 'facts card', id: 'customer-facts' },
      fact('Email', c.email),
      fact('Phone', c.phone),
      fact('Customer id', c.id),
      fact('Orders', countWords(c)),
      fact('First order', c.first_order_at ? when(c.first_order_at) : '')),
    h('div', { class: 'order-grid support-grid' },
      h('div', { class: 'order-actions' },
        h('section', { class: 'card', 'aria-labelledby': 'orders-title', id: 'orders' }),
        interactionForm()),
      h('div', { class: 'order-record' },
        h('section', { class: 'card', 'aria-labelledby': 'interactions-title', id: 'interactions' }),
        h('section', { class: 'card', 'aria-labelledby': 'timeline-title', id: 'customer-timeline' },
          h('h2', { id: 'timeline-title' }, 'Timeline'),
          h('p', { class: 'muted' }, 'Newest first. New events appear here as they happen.'),
          h('ol', { class: 'timeline', id: 'timeline' }),
          h('div', { class: 'error', role: 'alert', hidden: true, id: 'timeline-error' }),
          h('div', { class: 'actions-row' },
            h('button', { type: 'button', class: 'secondary', id: 'load-more', hidden: true, onclick: () => loadTimeline(false) }, 'Load older events'))))));
  renderOrders();
  renderInteractions();
}

function fact(label, value) {
  if (!value) return null;
  return h('div', {}, h('dt', {}, label), h('dd', {}, value));
}

function storeLabel(id) {
  if (!id) return '';
  return storeNames[id] ? `${storeNames[id]} (${id})` : id;
}

// pickupWindow says from when to when an order waits to be collected.
function pickupWindow(o) {
  const p = o.pickup || {};
  const ready = o.ready_at || p.ready_at;
  const expires = o.expires_at || p.expires_at;
  if (!ready && !expires) return '';
  if (ready && expires) return `${when(ready)} – ${when(expires)}`;
  return ready ? `from ${when(ready)}` : `until ${when(expires)}`;
}

function storeOf(o) {
  return o.store_id || (o.fulfilment && o.fulfilment.store_id) || '';
}

function totalOf(o) {
  const t = typeof o.total === 'object' && o.total ? o.total.amount : o.total;
  return typeof t === 'number' ? money(t, o.currency || (o.total && o.total.currency) || 'GBP') : '';
}

const orderFlash = new Map(); // order id → { ok, text } of the last action on it

function renderOrders() {
  const box = document.getElementById('orders');
  if (!box) return;
  const orders = ordersOf(current.data);
  box.replaceChildren(
    h('h2', { id: 'orders-title' }, `Orders (${orders.length})`),
    orders.length === 0 ? h('p', { class: 'empty' }, 'No orders.') : h('ul', { class: 'customer-orders' }, orders.map(orderItem)));
}

function orderItem(o) {
  const status = o.status || '';
  const flash = orderFlash.get(o.id);
  const err = h('div', { class: 'error', role: 'alert', hidden: true, id: `order-error-${o.id}` });
  const open = ['placed', 'awaiting_pick', 'awaiting_transfer', 'ready_for_collection', 'picked'].includes(status);
  return h('li', { class: 'customer-order card', 'data-order-id': o.id, 'data-number': o.number, 'aria-labelledby': `order-title-${o.id}` },
    h('div', { class: 'fulfilment-head' },
      h('h3', { id: `order-title-${o.id}` }, `Order ${o.number}`),
      h('span', { class: `badge ${status}`, 'data-status': status }, STATUS[status] || status)),
    h('dl', { class: 'facts' },
      fact('Channel', channelWords(o.channel)),
      fact('Store', storeLabel(storeOf(o))),
      fact('Pickup window', pickupWindow(o)),
      fact('Total', totalOf(o)),
      fact('Placed', o.created_at ? when(o.created_at) : '')),
    flash ? h('p', { class: flash.ok ? 'success' : 'notice', role: 'status' }, flash.text) : null,
    h('div', { class: 'actions-row' },
      open ? h('button', { type: 'button', class: 'danger', 'aria-label': `Cancel order ${o.number}`,
        onclick: (e) => confirmCancel(o, e.currentTarget, err) }, 'Cancel…') : null,
      status === 'ready_for_collection' || status === 'partially_collected'
        ? h('button', { type: 'button', class: 'secondary', 'aria-label': `Extend the pickup of order ${o.number}`,
          onclick: (e) => orderAction(o, e.currentTarget, err, 'extend-pickup', {}, `The pickup of order ${o.number} is extended.`) }, 'Extend pickup')
        : null,
      h('button', { type: 'button', class: 'secondary', 'aria-label': `Resend the last message of order ${o.number}`,
        onclick: (e) => orderAction(o, e.currentTarget, err, 'notifications/resend', {}, `The last message of order ${o.number} was sent again.`) },
      'Resend last message')),
    err);
}

// One sender per kind of order action, so that a retry after a lost answer
// reuses its Idempotency-Key and any other press is a new one.
const senders = {};
function sender(name) {
  if (!senders[name]) senders[name] = api.action();
  return senders[name];
}

async function orderAction(o, button, err, path, body, done) {
  if (button.disabled) return;
  orderFlash.delete(o.id); // the last action's word makes way for this one's
  button.closest('li.customer-order')?.querySelector(':scope > .success')?.remove();
  await busy(button, err, async () => {
    await sender(path)(`/v1/orders/${enc(o.id)}/${path}`, body);
    orderFlash.set(o.id, { ok: true, text: done });
    announceTo(announcer, done);
    await refreshCustomer();
    document.querySelector(`[data-order-id="${CSS.escape(o.id)}"] h3`)?.focus();
  });
}

function confirmCancel(o, button, err) {
  const item = button.closest('li');
  if (item.querySelector('.cancel-form')) {
    item.querySelector('.cancel-form textarea').focus();
    return;
  }
  const reasonId = `cancel-reason-${o.id}`;
  const reason = h('textarea', { id: reasonId, rows: '2', maxlength: '500', required: true });
  const go = h('button', { type: 'submit', class: 'danger' }, `Cancel order ${o.number}`);
  const formErr = h('div', { class: 'error', role: 'alert', hidden: true });
  const form = h('form', { class: 'cancel-form action danger-zone', novalidate: true, 'aria-label': `Cancel order ${o.number}` },
    h('div', { class: 'field' }, h('label', { for: reasonId }, 'Reason for cancelling ', h('span', { class: 'hint' }, 'Shown on the order’s history.')), reason),
    h('div', { class: 'actions-row' }, go,
      h('button', { type: 'button', class: 'secondary', onclick: () => { form.remove(); button.focus(); } }, 'Keep the order')),
    formErr);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!reason.value.trim()) {
      reason.setAttribute('aria-invalid', 'true');
      formErr.replaceChildren(h('strong', {}, 'Say why the order is cancelled.'));
      formErr.hidden = false;
      reason.focus();
      return;
    }
    reason.removeAttribute('aria-invalid');
    orderAction(o, go, formErr, 'cancel', { reason: reason.value.trim() }, `Order ${o.number} is cancelled.`);
  });
  err.before(form);
  reason.focus();
}

// refreshCustomer reads the customer again (orders and interactions), keeping
// the form and the timeline as they are.
async function refreshCustomer() {
  if (!current) return;
  const me = current;
  const data = await api.get(`/v1/customers/${enc(me.id)}`);
  if (current !== me) return;
  me.data = data;
  renderOrders();
  renderInteractions();
  refreshOrderChoice();
}

// A live event changes an order or adds a contact: read the customer again,
// at most once a second.
function scheduleRefresh() {
  if (!current || current.refreshTimer) return;
  const me = current;
  me.refreshTimer = setTimeout(() => {
    me.refreshTimer = null;
    if (document.activeElement && document.activeElement.closest('#orders')) return; // not under the agent's hands
    refreshCustomer().catch(() => {});
  }, 1000);
}

const CONTACT = { phone: 'Phone call', chat: 'Chat', email: 'Email', social: 'Social message', store: 'Store visit' };

function orderNumber(id) {
  const o = current && ordersOf(current.data).find((x) => x.id === id);
  return o ? o.number : id;
}

function renderInteractions() {
  const box = document.getElementById('interactions');
  if (!box) return;
  const list = interactionsOf(current.data);
  box.replaceChildren(
    h('h2', { id: 'interactions-title' }, `Contacts (${list.length})`),
    list.length === 0 ? h('p', { class: 'empty' }, 'No earlier contact.')
      : h('ul', { class: 'interactions', id: 'interaction-list' }, list.map((i) => h('li', { 'data-interaction-id': i.id, 'data-channel': i.channel },
        h('p', { class: 'what' }, `${CONTACT[i.channel] || i.channel}${i.order_id ? ` about order ${orderNumber(i.order_id)}` : ''}`),
        h('p', {}, i.summary),
        i.outcome ? h('p', { class: 'muted' }, `Outcome: ${i.outcome}`) : null,
        h('p', { class: 'when' }, [i.at || i.created_at ? when(i.at || i.created_at) : '', i.actor].filter(Boolean).join(' · '))))));
}

// ---- Log a contact ----

const FIELDS = ['channel', 'summary', 'order_id', 'outcome'];

function interactionForm() {
  const err = h('div', { class: 'error', role: 'alert', hidden: true, id: 'log-error' });
  const fieldError = (name) => h('p', { class: 'field-error', id: `log-${name}-error`, hidden: true });
  const channel = h('select', { id: 'log-channel', name: 'channel' },
    Object.entries(CONTACT).map(([v, label]) => h('option', { value: v }, label)));
  const summary = h('textarea', { id: 'log-summary', name: 'summary', rows: '3', maxlength: '2000' });
  const orderSel = h('select', { id: 'log-order_id', name: 'order_id' });
  const outcome = h('input', { id: 'log-outcome', name: 'outcome', maxlength: '200', autocomplete: 'off' });
  const button = h('button', { type: 'submit' }, 'Log contact');
  const done = h('p', { class: 'success', role: 'status', id: 'log-done', hidden: true });
  const form = h('form', { class: 'card', id: 'log-form', 'aria-labelledby': 'log-title', novalidate: true },
    h('h2', { id: 'log-title' }, 'Log a contact'),
    h('div', { class: 'field' }, h('label', { for: 'log-channel' }, 'How the customer got in touch'), channel, fieldError('channel')),
    h('div', { class: 'field' }, h('label', { for: 'log-summary' }, 'Summary ', h('span', { class: 'hint' }, 'What the customer asked and what you did.')), summary, fieldError('summary')),
    h('div', { class: 'field' }, h('label', { for: 'log-order_id' }, 'About order ', h('span', { class: 'hint' }, 'Optional.')), orderSel, fieldError('order_id')),
    h('div', { class: 'field' }, h('label', { for: 'log-outcome' }, 'Outcome ', h('span', { class: 'hint' }, 'Optional, e.g. “resolved” or “call back tomorrow”.')), outcome, fieldError('outcome')),
    h('div', { class: 'actions-row' }, button),
    err, done);
  const inputs = { channel, summary, order_id: orderSel, outcome };
  const clearField = (name) => {
    const input = inputs[name];
    const p = document.getElementById(`log-${name}-error`) || form.querySelector(`#log-${name}-error`);
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
    if (p) { p.hidden = true; p.textContent = ''; }
  };
  for (const name of FIELDS) inputs[name].addEventListener('input', () => clearField(name));
  let send = null;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    done.hidden = true;
    FIELDS.forEach(clearField);
    const body = { channel: channel.value, summary: summary.value.trim() };
    if (orderSel.value) body.order_id = orderSel.value;
    if (outcome.value.trim()) body.outcome = outcome.value.trim();
    if (!send) send = api.action();
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    showError(err, null);
    try {
      const me = current;
      const made = await send(`/v1/customers/${enc(me.id)}/interactions`, body);
      summary.value = '';
      outcome.value = '';
      orderSel.value = '';
      done.textContent = `${CONTACT[body.channel]} logged${body.order_id ? ` about order ${orderNumber(body.order_id)}` : ''}.`;
      done.hidden = false;
      announceTo(announcer, done.textContent);
      if (made && made.id) done.dataset.interactionId = made.id;
      await refreshCustomer().catch(() => {});
    } catch (ex) {
      showError(err, ex);
      const wrong = ((ex && ex.problem && ex.problem.errors) || []).filter((f) => inputs[fieldName(f.field)]);
      for (const f of wrong) {
        const name = fieldName(f.field);
        const p = form.querySelector(`#log-${name}-error`);
        p.textContent = f.detail;
        p.hidden = false;
        inputs[name].setAttribute('aria-invalid', 'true');
        inputs[name].setAttribute('aria-describedby', p.id);
      }
      if (wrong.length) {
        err.replaceChildren(h('strong', {}, wrong.length === 1 ? 'Check the field marked below.' : 'Check the fields marked below.'));
        inputs[fieldName(wrong[0].field)].focus();
      }
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  });
  fillOrderChoice(orderSel);
  return form;
}

// fieldName maps a problem's field ("summary", "/summary", "body.summary") to the form's.
function fieldName(field) {
  return String(field || '').replace(/^\/|^body\./, '').replace(/^order$/, 'order_id');
}

function fillOrderChoice(sel) {
  const keep = sel.value;
  const orders = current && current.data ? ordersOf(current.data) : [];
  sel.replaceChildren(h('option', { value: '' }, 'Not about one order'),
    ...orders.map((o) => h('option', { value: o.id }, `Order ${o.number} · ${STATUS[o.status] || o.status}`)));
  sel.value = orders.some((o) => o.id === keep) ? keep : '';
}

function refreshOrderChoice() {
  const sel = document.getElementById('log-order_id');
  if (sel) fillOrderChoice(sel);
}

// ---- Timeline ----

function entryKey(e) {
  return e.id || e.seq || `${e.at}|${e.kind}|${e.type}|${e.order_id || ''}|${(e.data && (e.data.id || e.data.interaction_id)) || ''}`;
}

async function loadTimeline(first) {
  const me = current;
  const more = document.getElementById('load-more');
  const err = document.getElementById('timeline-error');
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (!first && me.next) params.set('before', me.next);
  const run = async () => {
    const body = await api.get(`/v1/customers/${enc(me.id)}/timeline?${params}`);
    if (current !== me) return;
    const entries = listOf(body, 'entries', 'timeline', 'events', 'items');
    me.next = (body && (body.next_before || body.next || body.before || body.cursor)) || null;
    const added = addEntries(entries);
    more.hidden = !me.next || entries.length === 0;
    if (!first) {
      announceTo(announcer, added.length ? `${added.length} older event${added.length === 1 ? '' : 's'} loaded` : 'No older events');
      const firstNew = added[0];
      if (firstNew) {
        firstNew.tabIndex = -1;
        firstNew.focus();
      } else if (more.hidden) {
        document.getElementById('timeline-title').focus();
      }
    }
  };
  if (first) {
    try {
      await run();
    } catch (e) {
      showError(err, e);
    }
  } else {
    await busy(more, err, run);
  }
}

// addEntries puts entries on the timeline, newest first, each in its place
// by time (live ones on top, an older page at the bottom). Entries already
// shown are skipped. It answers how many were added.
function addEntries(entries) {
  const list = document.getElementById('timeline');
  if (!list) return [];
  const fresh = entries.filter((e) => !current.seen.has(entryKey(e)));
  const added = [];
  for (const e of fresh) {
    current.seen.add(entryKey(e));
    const li = entryItem(e);
    const at = String(e.at || '');
    const after = [...list.children].find((x) => String(x.dataset.at || '') < at);
    list.insertBefore(li, after || null);
    added.push(li);
  }
  [...list.children].forEach((li, i) => li.classList.toggle('latest', i === 0));
  return added;
}

function entryWords(e) {
  const d = e.data || {};
  if (e.kind === 'interaction') {
    const what = CONTACT[d.channel || e.channel] || 'Contact';
    return `${what}: ${d.summary || ''}${d.outcome ? ` (${d.outcome})` : ''}`;
  }
  if (e.kind === 'notification') {
    const template = String(d.template || e.type || 'message').replace(/_/g, ' ');
    return d.status === 'failed' || e.type === 'notification_failed' ? `Message could not be sent: ${template}` : `Message sent: ${template}`;
  }
  if (e.type === 'customer_contacted') return `${CONTACT[d.contact_channel || d.channel] || 'Contact'}: ${d.summary || ''}`;
  return describe(e, { money: (n) => money(n, 'GBP') });
}

function entryItem(e) {
  const order = e.order_id ? `Order ${orderNumber(e.order_id)}` : '';
  return h('li', { 'data-kind': e.kind || 'order_event', 'data-type': e.type, 'data-order-id': e.order_id, 'data-at': e.at || '',
    'data-key': String(entryKey(e)) },
    h('p', { class: 'what' }, entryWords(e)),
    h('p', { class: 'when' }, [e.at ? when(e.at) : '', order, channelWords(e.channel || ''), e.actor].filter(Boolean).join(' · ')));
}

function onLive(msg) {
  if (!current || !document.getElementById('timeline')) return;
  const d = msg.data;
  if (!d || typeof d !== 'object') return;
  const entries = Array.isArray(d) ? d : Array.isArray(d.entries) ? d.entries : d.kind || d.type ? [d] : [];
  if (!entries.length) return;
  const added = addEntries(entries);
  if (added.length) {
    const newest = entries.find((e) => entryKey(e) === added[0].dataset.key) || entries[0];
    announceTo(announcer, `New on the timeline: ${entryWords(newest)}${newest.order_id ? `, order ${orderNumber(newest.order_id)}` : ''}`);
    scheduleRefresh();
  }
}

// ---- Store analytics ----

// The figures of a row, in the table's order: the API's field, the column's
// heading, and how it is written.
const FIGURES = [
  ['orders', 'Orders', 'count'],
  ['ready', 'Ready', 'count'],
  ['ready_seconds_p50', 'Time to ready, median (p50)', 'duration'],
  ['ready_seconds_p90', 'Time to ready, p90', 'duration'],
  ['pick_deadline_breaches', 'Pick deadline breaches', 'count'],
  ['escalations', 'Escalations', 'count'],
  ['reassignments', 'Reassignments', 'count'],
  ['expired', 'No-shows (expired)', 'count'],
  ['no_show_rate', 'No-show rate', 'rate'],
  ['collected', 'Collected', 'count'],
  ['collection_rate', 'Collection rate', 'rate'],
  ['returned', 'Returned', 'count'],
  ['return_rate', 'Return rate', 'rate'],
  ['refunded', 'Refunds', 'money'],
  ['exchanges', 'Exchanges', 'count'],
];
const SVG = 'http://www.w3.org/2000/svg';

// isoDay is a date as YYYY-MM-DD, in UTC (the API reads a date as its midnight in UTC).
function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return isoDay(d);
}

// duration writes seconds as people say them: "45 s", "12 min 5 s", "2 h 10 min".
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

function figure(row, [name, , kind]) {
  const v = row[name];
  if (v === null || v === undefined) return '—';
  if (kind === 'duration') return duration(v);
  if (kind === 'rate') return `${(v * 100).toFixed(1).replace(/\.0$/, '')}%`;
  if (kind === 'money') return money(v, row.currency);
  return String(v);
}

function rowLabel(r) {
  return `${storeLabel(r.store_id)} · ${channelWords(r.channel)} · ${r.currency}`;
}

function showAnalytics() {
  document.title = 'Store analytics · Support console';
  const today = isoDay(new Date());
  const err = h('div', { class: 'error', role: 'alert', hidden: true, id: 'analytics-error' });
  const from = h('input', { id: 'analytics-from', name: 'from', type: 'date', required: true, value: addDays(today, -6), max: today });
  const to = h('input', { id: 'analytics-to', name: 'to', type: 'date', required: true, value: today, max: today });
  const button = h('button', { type: 'submit' }, 'Show');
  const csv = h('button', { type: 'button', class: 'secondary', id: 'analytics-csv' }, 'Download CSV');
  const results = h('section', { id: 'analytics-results', 'aria-labelledby': 'analytics-results-title', 'aria-live': 'off' });
  const form = h('form', { class: 'card', id: 'analytics-form', 'aria-labelledby': 'analytics-title', novalidate: true },
    h('h1', { id: 'analytics-title' }, 'Store analytics'),
    h('p', { class: 'muted' }, 'Orders placed in the period, per store, channel and currency. Days run midnight to midnight UTC.'),
    h('div', { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: 'analytics-from' }, 'From'), from),
      h('div', { class: 'field' }, h('label', { for: 'analytics-to' }, 'To ', h('span', { class: 'hint' }, 'Included.')), to),
      h('div', { class: 'field shrink' }, button),
      h('div', { class: 'field shrink' }, csv)),
    err);
  const period = () => {
    if (!from.value || !to.value || to.value < from.value) {
      throw plainError('Choose a period: the “From” date, then a “To” date on or after it.');
    }
    return { from: from.value, to: addDays(to.value, 1), words: `${from.value} to ${to.value}` };
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(button, err, async () => {
      const p = period();
      await loadAnalytics(p, results);
    });
  });
  csv.addEventListener('click', () => busy(csv, err, async () => {
    const p = period();
    await downloadCSV(p);
  }));
  view.replaceChildren(form, results);
  focusHeading(view);
  busy(button, err, () => loadAnalytics(period(), results));
}

async function loadAnalytics(p, results) {
  results.replaceChildren(h('p', { class: 'loading', role: 'status' }, 'Loading the figures…'));
  const body = await api.get(`/v1/analytics/stores?from=${enc(p.from)}&to=${enc(p.to)}`);
  const rows = listOf(body, 'stores', 'rows');
  const title = `${rows.length} store row${rows.length === 1 ? '' : 's'}, ${p.words}`;
  if (rows.length === 0) {
    results.replaceChildren(h('h2', { id: 'analytics-results-title' }, 'No orders in this period'),
      h('p', { class: 'empty' }, 'No order was placed between these dates. Choose a longer period.'));
    announceTo(announcer, 'No orders in this period');
    return;
  }
  results.replaceChildren(
    h('h2', { id: 'analytics-results-title' }, title),
    h('div', { class: 'charts' },
      barChart({ id: 'chart-orders', title: 'Orders per store and channel', rows,
        series: [{ name: 'orders', label: 'orders', cls: 'orders' }], format: String }),
      barChart({ id: 'chart-ready', title: 'Time from order to ready per store and channel: median (p50) and p90', rows,
        series: [{ name: 'ready_seconds_p90', label: 'p90', cls: 'p90' }, { name: 'ready_seconds_p50', label: 'median', cls: 'p50' }],
        format: duration, legend: true })),
    analyticsTable(rows, p));
  announceTo(announcer, title);
}

// barChart draws horizontal bars, one row of the table each, as inline SVG
// built from the data; each series is a bar on the row (the later ones on
// top, from the same origin). The chart's text alternative is its title and
// a description of every bar; the table below holds the same figures.
function barChart({ id, title, rows, series, format, legend }) {
  const el = (tag, attrs = {}, ...kids) => {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) n.setAttribute(k, String(v));
    for (const k of kids) if (k !== null && k !== undefined) n.append(k instanceof Node ? k : String(k));
    return n;
  };
  const W = 720; const LABEL = 330; const VALUE = 100; const ROW = 30; const TOP = legend ? 34 : 8;
  const plot = W - LABEL - VALUE;
  const max = Math.max(1, ...rows.flatMap((r) => series.map((s) => Number(r[s.name]) || 0)));
  const height = TOP + rows.length * ROW + 8;
  const desc = rows.map((r) => `${rowLabel(r)}: ${series.map((s) => `${s.label} ${format(r[s.name] ?? null)}`).join(', ')}`).join('; ');
  const svg = el('svg', { id, class: 'chart', viewBox: `0 0 ${W} ${height}`, role: 'img',
    'aria-labelledby': `${id}-title ${id}-desc`, preserveAspectRatio: 'xMinYMin meet' },
  el('title', { id: `${id}-title` }, title),
  el('desc', { id: `${id}-desc` }, desc));
  if (legend) {
    let x = LABEL;
    for (const s of series) {
      svg.append(el('rect', { class: `chart-key ${s.cls}`, x, y: 8, width: 16, height: 16, rx: 3 }),
        el('text', { class: 'chart-label', x: x + 22, y: 21 }, s.label));
      x += 110;
    }
  }
  rows.forEach((r, i) => {
    const y = TOP + i * ROW;
    const g = el('g', { class: 'chart-row', 'data-store-id': r.store_id, 'data-channel': r.channel, 'data-currency': r.currency });
    const label = rowLabel(r);
    const short = `${storeNames[r.store_id] || r.store_id} · ${channelWords(r.channel)} · ${r.currency}`;
    g.append(el('text', { class: 'chart-label', x: LABEL - 8, y: y + 19, 'text-anchor': 'end' },
      short.length > 46 ? `${short.slice(0, 45)}…` : short));
    for (const s of series) {
      const v = r[s.name];
      const w = v === null || v === undefined ? 0 : Math.max(2, (Number(v) / max) * plot);
      if (v === null || v === undefined) continue;
      g.append(el('rect', { class: `chart-bar ${s.cls}`, x: LABEL, y: y + 5, width: w.toFixed(1), height: ROW - 10, rx: 3,
        'data-value': v }, el('title', {}, `${label}: ${s.label} ${format(v)}`)));
    }
    const top = series[series.length - 1];
    const shown = series.length === 1 ? format(r[top.name] ?? null)
      : series.slice().reverse().map((s) => format(r[s.name] ?? null)).join(' / ');
    g.append(el('text', { class: 'chart-value', x: W - VALUE + 6, y: y + 19 }, shown));
    svg.append(g);
  });
  return h('figure', { class: 'card chart-card' }, svg,
    h('figcaption', { class: 'muted' }, `${title}. The figures are in the table below.`));
}

function analyticsTable(rows, p) {
  const table = h('table', { id: 'analytics-table', class: 'analytics-table' },
    h('caption', {}, `Store figures, orders placed ${p.words}`),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Store'),
      h('th', { scope: 'col' }, 'Channel'),
      h('th', { scope: 'col' }, 'Currency'),
      FIGURES.map(([name, label]) => h('th', { scope: 'col', class: 'n', 'data-figure': name }, label)))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-store-id': r.store_id, 'data-channel': r.channel, 'data-currency': r.currency },
      h('th', { scope: 'row' }, storeLabel(r.store_id)),
      h('td', {}, channelWords(r.channel)),
      h('td', {}, r.currency),
      FIGURES.map((f) => h('td', { class: 'n', 'data-figure': f[0] }, figure(r, f)))))));
  return h('div', { class: 'table-wrap card', role: 'region', tabindex: '0', 'aria-label': 'Store figures (scrolls sideways)' }, table);
}

// downloadCSV fetches the figures as CSV with the support key and saves the file.
async function downloadCSV(p) {
  let res;
  try {
    res = await fetch(`/v1/analytics/stores?from=${enc(p.from)}&to=${enc(p.to)}`, {
      headers: { Authorization: `Bearer ${session.key}`, Accept: 'text/csv' }, cache: 'no-store' });
  } catch {
    throw plainError('Omni could not be reached. Check the connection and try again.');
  }
  if (!res.ok) {
    let detail = '';
    try { detail = (await res.json()).detail || ''; } catch { /* not a problem document */ }
    throw plainError(`The CSV could not be made: ${detail || `Omni answered ${res.status}`}.`);
  }
  const blob = await res.blob();
  const named = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '');
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: named ? named[1] : `store-analytics-${p.from}-${p.to}.csv`, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  announceTo(announcer, 'The CSV is downloaded.');
}

start();
