// The store console: sign in with a store staff key, follow the store's live
// queue, and pick, reject, pack and ship, receive transfers, hand over (at
// the counter or at the car), take returns and exchanges.
import {
  client, follow, h, showError, money, minorUnits, majorUnits, when, timeOnly, STATUS, FULFILMENT_STATUS, FULFILMENT_TYPE,
  describe, channelWords,
} from './api.js';

const SESSION_KEY = 'omni.console';
const view = document.getElementById('view');
const who = document.getElementById('who');
const live = document.getElementById('live');
const announcer = document.getElementById('announce');
const arrivalsBox = document.getElementById('arrivals');
const arrivalAnnouncer = document.getElementById('arrival-announce');

let session = loadSession(); // { key, store, storeName, actor }
let api = null;
let storeNames = {}; // every store's name by id, for orders that move between stores
let queueStream = null;
let queue = null; // the latest snapshot: { orders: [...] }
let seenIds = null; // order ids seen in the queue so far (null before the first snapshot)
const fresh = new Set(); // ids that arrived while the console was open
let current = null; // the open order: { id, order, events, version, flash, stream, forReturn }
let foundForReturn = null; // another store's order just found by number, for a return
let rendered = ''; // the route the view shows
let lastTab = 'awaiting'; // the queue tab to go back to
let seenArrivals = null; // curbside arrivals seen so far, by arrivalKey (null before the first snapshot)
const dismissedArrivals = new Set(); // arrivals the associate put away

document.getElementById('sign-out').addEventListener('click', signOut);
window.addEventListener('hashchange', route);
start();

function loadSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY)) || null;
  } catch {
    return null;
  }
}

function start() {
  if (!session) {
    showSignIn();
    return;
  }
  const headers = { 'Omni-Channel': 'store_console' };
  if (session.actor) headers['Omni-Actor'] = session.actor;
  api = client(session.key, headers);
  api.get('/v1/me').then((me) => {
    storeNames = Object.fromEntries((me.all_stores || []).map((s) => [s.id, s.name]));
  }).catch(() => {}); // names are a nicety: ids are shown without them
  who.hidden = false;
  document.getElementById('store-name').textContent = session.storeName || session.store;
  queueStream = follow(`/v1/stores/${enc(session.store)}/events/stream`, session.key, onQueue, (state, status) => {
    live.className = `live ${state === 'live' ? 'on' : 'off'}`;
    live.textContent = state === 'live' ? 'Live' : state === 'closed' ? 'Not updating' : 'Reconnecting…';
    if (state === 'closed' && status === 401) signOut();
  });
  route();
}

function signOut() {
  sessionStorage.removeItem(SESSION_KEY);
  session = null;
  api = null;
  if (queueStream) queueStream.close();
  closeOrder();
  queue = null;
  seenIds = null;
  seenArrivals = null;
  dismissedArrivals.clear();
  renderArrivals();
  who.hidden = true;
  live.textContent = '';
  rendered = '';
  showSignIn();
}

const enc = encodeURIComponent;

function announce(text) {
  announcer.textContent = '';
  setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

function focusHeading() {
  const heading = view.querySelector('h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: false });
  }
}

// Routes: #/queue/<tab> (default awaiting), #/order/<id>, #/return/<number>
// (another store's order, found by number for a return).
function route() {
  if (!session) return;
  const hash = location.hash.replace(/^#\/?/, '');
  const [kind, arg] = hash.split('/');
  if (kind === 'order' && arg) {
    const id = decodeURIComponent(arg);
    if (rendered === `order:${id}`) return;
    rendered = `order:${id}`;
    openOrder(id);
    return;
  }
  if (kind === 'return' && arg) {
    const number = decodeURIComponent(arg);
    if (rendered === `return:${number}`) return;
    rendered = `return:${number}`;
    openForReturn(number);
    return;
  }
  const tab = Object.keys(TABS).includes(arg) ? arg : 'awaiting';
  closeOrder();
  rendered = `queue:${tab}`;
  lastTab = tab;
  showQueue(tab);
}

// ---- Sign in ----

function showSignIn(stores) {
  document.title = 'Sign in · Store console';
  const err = h('div', { class: 'error', role: 'alert', hidden: true });
  const key = h('input', { id: 'key', name: 'key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const actor = h('input', { id: 'actor', name: 'actor', autocomplete: 'name', maxlength: '100' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  let pending = null; // { key, actor, stores } when the key serves several stores
  const storeField = h('div', { class: 'field', hidden: true });
  const form = h('form', { class: 'card narrow', 'aria-labelledby': 'sign-in-title', novalidate: true },
    h('h1', { id: 'sign-in-title' }, 'Sign in to the store console'),
    h('p', { class: 'muted' }, 'Use your store’s staff key. It is kept in this browser tab only, until you sign out or close the tab.'),
    h('div', { class: 'field' }, h('label', { for: 'key' }, 'Store staff key'), key),
    h('div', { class: 'field' },
      h('label', { for: 'actor' }, 'Your name ', h('span', { class: 'hint' }, 'Optional: shown on the order history next to what you do.')), actor),
    storeField,
    h('div', { class: 'actions-row' }, button),
    err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (pending) {
      const sel = storeField.querySelector('select');
      const s = pending.stores.find((x) => x.id === sel.value);
      finish(pending.key, pending.actor, s);
      return;
    }
    if (!key.value.trim()) {
      key.setAttribute('aria-invalid', 'true');
      err.replaceChildren(h('strong', {}, 'Enter the store staff key.'));
      err.hidden = false;
      key.focus();
      return;
    }
    key.removeAttribute('aria-invalid');
    await busy(button, err, async () => {
      const me = await client(key.value.trim()).get('/v1/me');
      if (me.role !== 'store') {
        throw plainError(`This is not a store staff key (it belongs to “${me.name}”, role ${me.role}).`);
      }
      if (!me.stores || me.stores.length === 0) throw plainError('This key does not work for any store Omni knows.');
      if (me.stores.length === 1) {
        finish(key.value.trim(), actor.value.trim(), me.stores[0]);
        return;
      }
      pending = { key: key.value.trim(), actor: actor.value.trim(), stores: me.stores };
      storeField.replaceChildren(
        h('label', { for: 'store' }, 'Store'),
        h('select', { id: 'store' }, me.stores.map((s) => h('option', { value: s.id }, `${s.name} (${s.id})`))));
      storeField.hidden = false;
      button.textContent = 'Continue';
      storeField.querySelector('select').focus();
    });
  });
  view.replaceChildren(form);
  if (stores) return;
  key.focus();
}

function finish(key, actor, store) {
  session = { key, actor, store: store.id, storeName: store.name };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  if (!location.hash.startsWith('#/')) history.replaceState(null, '', '#/queue/awaiting');
  start();
}

// storeLabel names a store for people: its name when known, with its id.
function storeLabel(id) {
  return storeNames[id] ? `${storeNames[id]} (${id})` : id;
}

// An error of the page itself, shown like an API error.
function plainError(message) {
  const e = new Error(message);
  e.plain = true;
  return e;
}

// busy runs an action from a button: disabled while it runs; its error is
// shown in err, next to the button.
async function busy(button, err, fn) {
  if (button.disabled) return;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  showError(err, null);
  try {
    await fn();
  } catch (e) {
    if (e && e.plain) {
      err.replaceChildren(h('strong', {}, e.message));
      err.hidden = false;
    } else {
      showError(err, e);
    }
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

// ---- Queue ----

// ---- What an order needs of this store ----

// collectsHere reports whether the order is to be collected at this store.
function collectsHere(o) {
  return o.fulfilment.type !== 'ship' && o.fulfilment.store_id === session.store;
}

// sending lists this store's shipments and transfers of the order (to pick,
// pack and send), in one of statuses when any are given.
function sending(o, ...statuses) {
  return (o.fulfilments || []).filter((f) => f.type !== 'collect' && f.location_id === session.store
    && (statuses.length === 0 || statuses.includes(f.status)));
}

// transfersHere lists the transfers of the order coming to this store, in
// one of statuses when any are given.
function transfersHere(o, ...statuses) {
  return (o.fulfilments || []).filter((f) => f.type === 'transfer' && f.to_location_id === session.store
    && (statuses.length === 0 || statuses.includes(f.status)));
}

// task is what the order needs of this store now: pick, ship, receive (a
// transfer has come), incoming (a transfer is still to come), collect, or
// nothing (null).
function task(o) {
  if (sending(o, 'awaiting_pick').length) return 'pick';
  if (sending(o, 'picked').length) return 'ship';
  if (!collectsHere(o)) return null;
  switch (o.status) {
    case 'awaiting_pick': return 'pick';
    case 'ready_for_collection':
    case 'partially_collected': return 'collect';
    case 'awaiting_transfer': return transfersHere(o, 'in_transit').length ? 'receive' : 'incoming';
    default: return null;
  }
}

// waiting reports whether a curbside customer of the order is at the car park
// waiting for the handover.
function waiting(o) {
  return Boolean(o.fulfilment.curbside && o.arrival && task(o) === 'collect');
}

const arrivalKey = (o) => `${o.id}|${o.arrival.at}|${o.arrival.bay || ''}|${o.arrival.vehicle || ''}`;

function arrivalWords(a) {
  return [a.bay ? `bay ${a.bay}` : 'no bay given', a.vehicle].filter(Boolean).join(', ');
}

const TABS = {
  awaiting: { label: 'Awaiting pick', empty: 'Nothing is waiting to be picked.', test: (o) => task(o) === 'pick' },
  overdue: { label: 'Overdue', empty: 'No pick is overdue.', test: (o) => task(o) === 'pick' && o.overdue },
  ship: { label: 'To ship', empty: 'Nothing is waiting to be packed and shipped.', test: (o) => task(o) === 'ship' },
  ready: { label: 'Ready', empty: 'No order is waiting for its customer.', test: (o) => task(o) === 'collect' },
  incoming: { label: 'Transfers in', empty: 'No transfer is on its way to this store.', test: (o) => task(o) === 'receive' || task(o) === 'incoming' },
};

function onQueue(msg) {
  if (msg.type !== 'queue') return;
  queue = msg.data;
  const ids = queue.orders.map((o) => o.id);
  if (seenIds) {
    const arrived = queue.orders.filter((o) => !seenIds.has(o.id) && task(o) === 'pick');
    for (const o of arrived) fresh.add(o.id);
    if (arrived.length) announce(arrived.length === 1 ? `New order ${arrived[0].number} to pick` : `${arrived.length} new orders to pick`);
  }
  seenIds = new Set([...(seenIds || []), ...ids]);
  onArrivals();
  if (rendered.startsWith('queue:')) updateQueue(rendered.slice('queue:'.length));
}

// ---- Curbside arrivals ----

// onArrivals alerts, whatever the console shows, when a curbside customer
// says they are here (or moves to another bay): the banner under the bar
// lists who is waiting, and the arrival is read out by screen readers.
function onArrivals() {
  const here = queue.orders.filter(waiting);
  const keys = new Set(here.map(arrivalKey));
  if (seenArrivals) {
    const news = here.filter((o) => !seenArrivals.has(arrivalKey(o)));
    for (const o of news) dismissedArrivals.delete(o.id);
    if (news.length === 1) {
      const o = news[0];
      announceArrival(`Curbside: the customer for order ${o.number} has arrived, ${arrivalWords(o.arrival)}.`);
    } else if (news.length > 1) {
      announceArrival(`Curbside: ${news.length} customers have arrived: ${news.map((o) => `order ${o.number}, ${arrivalWords(o.arrival)}`).join('; ')}.`);
    }
  } else if (here.length) {
    announceArrival(here.length === 1 ? `Curbside: the customer for order ${here[0].number} is waiting, ${arrivalWords(here[0].arrival)}.`
      : `Curbside: ${here.length} customers are waiting.`);
  }
  seenArrivals = keys;
  renderArrivals();
}

function announceArrival(text) {
  arrivalAnnouncer.textContent = '';
  setTimeout(() => {
    arrivalAnnouncer.textContent = text;
  }, 50);
}

function renderArrivals() {
  const here = session && queue ? queue.orders.filter((o) => waiting(o) && !dismissedArrivals.has(o.id)) : [];
  arrivalsBox.hidden = here.length === 0;
  if (here.length === 0) {
    arrivalsBox.replaceChildren();
    return;
  }
  arrivalsBox.replaceChildren(
    h('h2', { id: 'arrivals-title' }, here.length === 1 ? 'A curbside customer is here' : `${here.length} curbside customers are here`),
    h('ul', {}, here.map((o) => h('li', { class: 'arrival', 'data-order-id': o.id },
      h('p', { class: 'arrival-what' },
        h('strong', {}, `Order ${o.number}`), ` · ${o.customer.name || o.customer.email}`,
        h('span', { class: 'arrival-where' },
          h('span', { class: 'arrival-bay' }, o.arrival.bay ? `Bay ${o.arrival.bay}` : 'No bay given'),
          o.arrival.vehicle ? h('span', { class: 'arrival-vehicle' }, o.arrival.vehicle) : null,
          h('span', { class: 'arrival-when' }, `since ${timeOnly(o.arrival.at)}`))),
      h('div', { class: 'actions-row' },
        h('a', { class: 'button', href: `#/order/${enc(o.id)}`, 'aria-label': `Hand over order ${o.number} at the car` }, 'Hand over'),
        h('button', { type: 'button', class: 'secondary', 'aria-label': `Dismiss the arrival of order ${o.number}`, onclick: () => {
          dismissedArrivals.add(o.id);
          renderArrivals();
          document.getElementById('main')?.focus();
        } }, 'Dismiss'))))));
}

function showQueue(tab) {
  document.title = `${TABS[tab].label} · ${session.storeName || session.store}`;
  const findErr = h('div', { class: 'error', role: 'alert', hidden: true });
  const number = h('input', { id: 'find-number', inputmode: 'numeric', autocomplete: 'off', maxlength: '20', required: true });
  const findButton = h('button', { type: 'submit', class: 'secondary' }, 'Find');
  const find = h('form', { class: 'card', role: 'search', 'aria-label': 'Find an order', novalidate: true },
    h('div', { class: 'row' },
      h('div', { class: 'field' },
        h('label', { for: 'find-number' }, 'Find an order by number ',
          h('span', { class: 'hint' }, 'For a return or an exchange, or an order not in the lists below.')),
        number),
      h('div', { class: 'field shrink' }, findButton)),
    findErr);
  find.addEventListener('submit', (e) => {
    e.preventDefault();
    const n = number.value.trim().replace(/^#/, '');
    if (!n) {
      findErr.replaceChildren(h('strong', {}, 'Enter the order number from the customer’s receipt or message.'));
      findErr.hidden = false;
      number.focus();
      return;
    }
    busy(findButton, findErr, async () => {
      const o = await api.get(`/v1/stores/${enc(session.store)}/orders/by-number/${enc(n)}`);
      if (isForReturn(o)) {
        // Another store's order: Omni answers only what a return needs, once per look-up.
        foundForReturn = o;
        location.hash = `#/return/${enc(o.number)}`;
        return;
      }
      location.hash = `#/order/${enc(o.id)}`;
    });
  });

  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Queue' });
  for (const [name, t] of Object.entries(TABS)) {
    const b = h('button', {
      type: 'button', role: 'tab', id: `tab-${name}`, 'aria-controls': 'queue-list',
      'aria-selected': String(name === tab), tabindex: name === tab ? '0' : '-1', class: 'secondary',
      onclick: () => { location.hash = `#/queue/${name}`; },
    }, t.label, h('span', { class: 'count', 'data-count': name }, '…'));
    tabs.append(b);
  }
  tabs.addEventListener('keydown', (e) => {
    const names = Object.keys(TABS);
    const i = names.indexOf(tab);
    let next = null;
    if (e.key === 'ArrowRight') next = names[(i + 1) % names.length];
    if (e.key === 'ArrowLeft') next = names[(i + names.length - 1) % names.length];
    if (e.key === 'Home') next = names[0];
    if (e.key === 'End') next = names[names.length - 1];
    if (next) {
      e.preventDefault();
      location.hash = `#/queue/${next}`;
      setTimeout(() => document.getElementById(`tab-${next}`)?.focus(), 0);
    }
  });

  view.replaceChildren(
    h('div', { class: 'queue-head' }, h('h1', {}, 'Orders'), h('p', { class: 'muted', id: 'queue-note' }, '')),
    tabs,
    h('div', { id: 'queue-list', role: 'tabpanel', 'aria-labelledby': `tab-${tab}` }, h('p', { class: 'loading' }, 'Loading the queue…')),
    find);
  updateQueue(tab);
}

function updateQueue(tab) {
  const list = document.getElementById('queue-list');
  if (!list || !queue) return;
  for (const [name, t] of Object.entries(TABS)) {
    const n = queue.orders.filter(t.test).length;
    const c = view.querySelector(`[data-count="${name}"]`);
    if (c) c.textContent = String(n);
    const b = document.getElementById(`tab-${name}`);
    if (b) b.classList.toggle('alert', name === 'overdue' && n > 0);
  }
  document.getElementById('queue-note').textContent = `Updated ${new Date().toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' })}`;
  const orders = queue.orders.filter(TABS[tab].test);
  if (orders.length === 0) {
    list.replaceChildren(h('p', { class: 'empty' }, TABS[tab].empty));
    return;
  }
  list.replaceChildren(h('ul', { class: 'orders' }, orders.map((o) => h('li', {}, queueItem(o)))));
}

function queueItem(o) {
  const t = task(o);
  const part = sending(o, 'awaiting_pick', 'picked')[0]; // this store's shipment or transfer
  const units = (part ? part.lines : o.lines).reduce((n, l) => n + l.quantity, 0);
  const ready = t === 'collect';
  const meta = [
    o.customer.name || o.customer.email,
    `${units} item${units === 1 ? '' : 's'}`,
    ready ? `ready ${when(o.pickup.ready_at)}` : `placed ${when(o.created_at)}`,
  ];
  if (part && part.type === 'ship') meta.push('home delivery');
  if (part && part.type === 'transfer') meta.push(`transfer to ${storeLabel(part.to_location_id)}`);
  if (t === 'incoming' || t === 'receive') {
    const tr = transfersHere(o).filter((f) => f.status !== 'cancelled');
    const expected = tr.map((f) => f.expected_at).filter(Boolean).sort()[0];
    if (expected) meta.push(`transfer expected ${when(expected)}`);
  }
  if (ready && o.pickup.expires_at) meta.push(`collect by ${when(o.pickup.expires_at)}`);
  if (o.pickup.nominee) meta.push(`nominee: ${o.pickup.nominee.name}`);
  const status = part ? part.status : t === 'receive' ? 'in_transit' : o.status;
  const here = waiting(o);
  const cls = ['order-link', o.overdue ? 'is-overdue' : '', ready ? 'is-ready' : '', here ? 'is-here' : '', fresh.has(o.id) ? 'is-new' : ''].join(' ');
  return h('a', { href: `#/order/${enc(o.id)}`, class: cls, 'data-order-id': o.id },
    h('span', { class: 'num' }, `Order ${o.number}`),
    h('span', { class: 'meta' }, meta.join(' · ')),
    h('span', { class: 'tags' },
      h('span', { class: `badge ${status}` }, (part || t === 'receive' ? FULFILMENT_STATUS[status] : STATUS[status]) || status),
      o.fulfilment.curbside ? h('span', { class: 'badge curbside' }, 'Curbside') : null,
      here ? h('span', { class: 'badge arrived' }, `Here · ${o.arrival.bay ? `bay ${o.arrival.bay}` : 'no bay'}`) : null,
      o.overdue ? h('span', { class: 'badge overdue' }, 'Overdue') : null,
      fresh.has(o.id) ? h('span', { class: 'badge new' }, 'New') : null));
}

// ---- One order ----

function closeOrder() {
  if (current && current.stream) current.stream.close();
  current = null;
}

async function openOrder(id) {
  closeOrder();
  fresh.delete(id);
  const me = { id, order: null, events: [], version: -1, flash: null, stream: null, timer: null };
  current = me;
  orderView('Order', h('section', { class: 'card', 'aria-labelledby': 'timeline-title' },
    h('h2', { id: 'timeline-title' }, 'History'), h('ol', { class: 'timeline', id: 'timeline' })));
  try {
    const o = await api.get(`/v1/orders/${enc(id)}`);
    if (current !== me) return;
    setOrder(o);
    focusHeading();
  } catch (err) {
    if (current === me) orderUnread(`Order ${id}`, err);
    return;
  }
  me.stream = follow(`/v1/orders/${enc(id)}/events/stream`, session.key, (msg) => {
    if (current !== me || !msg.data || typeof msg.data.seq !== 'number') return;
    if (me.events.some((e) => e.seq === msg.data.seq)) return;
    me.events.push(msg.data);
    renderTimeline();
    clearTimeout(me.timer);
    me.timer = setTimeout(() => refresh(me), 150);
  });
}

// isForReturn tells another store's order, as Omni shows it for a return
// (no customer, no pickup, no fulfilment), from an order of this store.
function isForReturn(o) {
  return !o.customer;
}

// openForReturn shows another store's order found by its number: only what a
// return or an exchange needs. Its history and its customer stay with its
// store; each look-up is on the order's history.
async function openForReturn(number) {
  closeOrder();
  const me = { id: null, order: null, events: [], version: -1, flash: null, stream: null, timer: null, forReturn: true };
  current = me;
  orderView(`Order ${number}`);
  try {
    let o = foundForReturn && foundForReturn.number === number ? foundForReturn : null;
    foundForReturn = null;
    if (!o) o = await api.get(`/v1/stores/${enc(session.store)}/orders/by-number/${enc(number)}`);
    if (current !== me) return;
    if (!isForReturn(o)) {
      // An order of this store after all (the number was typed in the address): the whole order.
      location.replace(`#/order/${enc(o.id)}`);
      return;
    }
    me.id = o.id;
    setOrder(o);
    focusHeading();
  } catch (err) {
    if (current === me) orderUnread(`Order ${number}`, err);
  }
}

// orderView lays an order's page out while it loads: its summary under
// heading, then its actions beside its items and the rest of its record.
function orderView(heading, ...record) {
  view.replaceChildren(
    h('p', { class: 'back' }, h('a', { href: `#/queue/${lastTab}`, class: 'button secondary' }, '← Back to the queue')),
    h('div', { id: 'order-summary' }, h('h1', {}, heading), h('p', { class: 'loading' }, 'Loading the order…')),
    h('div', { class: 'order-grid' },
      h('div', { id: 'order-actions', class: 'order-actions' }),
      h('div', { class: 'order-record' }, h('div', { id: 'order-lines' }), ...record)));
}

// orderUnread says, in place of the order's summary, why it could not be read.
function orderUnread(heading, err) {
  const box = h('div', { class: 'error', role: 'alert' });
  showError(box, err);
  document.getElementById('order-summary').replaceChildren(h('h1', {}, heading), box);
  focusHeading();
}

async function refresh(me) {
  try {
    const o = await api.get(`/v1/orders/${enc(me.id)}`);
    if (current === me) setOrder(o);
  } catch (err) {
    if (current !== me || !err || err.status !== 404) return; // the stream goes on; the next event reads again
    // This console moved it (a reject): the notice already names the store it went to.
    if (me.order && me.order.fulfilment.store_id !== session.store) return;
    // The order is no longer this store's business (it moved to another store): say so.
    const box = h('div', { class: 'error', role: 'alert' },
      'This order is no longer at this store: it has moved, so it can no longer be changed here.');
    const flash = me.flash ? [h('p', { class: 'success', role: 'status', id: 'flash' }, me.flash)] : [];
    document.getElementById('order-actions').replaceChildren(...flash, box);
  }
}

function setOrder(o) {
  if (!current || (current.order && o.version < current.order.version)) return;
  current.order = o;
  document.title = `Order ${o.number} · ${STATUS[o.status] || o.status}`;
  renderSummary();
  if (o.version !== current.version) {
    current.version = o.version;
    renderActions();
  }
}

function fmt(n) {
  return money(n, current.order.currency);
}

function renderSummary() {
  if (current.forReturn) {
    renderForReturn();
    return;
  }
  const o = current.order;
  const ship = o.fulfilment.type === 'ship';
  const a = o.fulfilment.address;
  const facts = [
    ['Customer', [o.customer.name, o.customer.phone].filter(Boolean).join(' · ') || o.customer.email],
    o.pickup.nominee ? ['Nominee (may collect)', [o.pickup.nominee.name, o.pickup.nominee.phone].filter(Boolean).join(' · ')] : null,
    ship ? ['Deliver to', a ? [a.name, a.line1, a.line2, a.city, a.postcode, a.country].filter(Boolean).join(', ') : '–'] : null,
    ship ? ['Delivery', o.fulfilment.service === 'express' ? 'Express' : 'Standard'] : null,
    ship ? null : ['Collect at', o.fulfilment.store_id === session.store ? `${session.storeName} (this store)` : storeLabel(o.fulfilment.store_id)],
    o.fulfilment.curbside ? ['Curbside', o.arrival
      ? `Customer here since ${timeOnly(o.arrival.at)}: ${arrivalWords(o.arrival)}`
      : 'Hand over at the car: the customer says when they arrive'] : null,
    ['Placed', `${when(o.created_at)} (${channelWords(o.channel)})`],
    o.pickup.ready_at ? ['Ready since', when(o.pickup.ready_at)] : null,
    o.pickup.expires_at && ['ready_for_collection', 'partially_collected'].includes(o.status) ? ['Held until', when(o.pickup.expires_at)] : null,
    o.returnable_until ? ['Returnable until', when(o.returnable_until)] : null,
    ['Order id', o.id],
  ].filter(Boolean);
  const notes = waiting(o) ? [h('p', { class: 'notice arrived-note', id: 'arrival-note' },
    h('strong', {}, 'The customer is here: '), `${arrivalWords(o.arrival)}, since ${timeOnly(o.arrival.at)}. Take the order out to the car.`)] : [];
  document.getElementById('order-summary').replaceChildren(summaryCard(o, facts, ...notes));
  const columns = ship ? [
    ['Ordered', (l) => l.quantity],
    ['Picked', (l) => l.picked],
    ['Shipped', (l) => l.shipped || 0],
    ['Delivered', (l) => l.delivered || 0],
    ['Returned', (l) => l.returned],
  ] : [
    ['Ordered', (l) => l.quantity],
    ['Picked', (l) => (['awaiting_pick', 'placed', 'awaiting_transfer'].includes(o.status) ? '–' : l.picked)],
    ['Handed over', (l) => l.collected + (l.refused ? ` (${l.refused} refused)` : '')],
    ['Returned', (l) => l.returned],
  ];
  const parts = (o.fulfilments || []).some((f) => f.type !== 'collect') ? [fulfilmentsCard(o)] : [];
  document.getElementById('order-lines').replaceChildren(linesCard(o, columns), ...parts);
}

// locationLabel names a location of the order, saying which is this store.
function locationLabel(id) {
  return id === session.store ? `${session.storeName || id} (this store)` : storeLabel(id);
}

// fulfilmentsCard shows the parts of an order, this store's first: from
// where, to where, their lines, their status and their shipment's tracking.
function fulfilmentsCard(o) {
  const here = (f) => f.location_id === session.store || f.to_location_id === session.store;
  const list = [...o.fulfilments].filter((f) => f.type !== 'collect').sort((x, y) => Number(here(y)) - Number(here(x)));
  return h('section', { class: 'card', 'aria-labelledby': 'fulfilments-title' },
    h('h2', { id: 'fulfilments-title' }, 'Fulfilments'),
    h('ul', { class: 'fulfilments' }, list.map((f) => {
      const title = f.type === 'transfer'
        ? `Transfer from ${locationLabel(f.location_id)} to ${locationLabel(f.to_location_id)}`
        : `${FULFILMENT_TYPE[f.type] || f.type} from ${locationLabel(f.location_id)}`;
      const s = f.shipment;
      const picked = !['awaiting_pick', 'cancelled'].includes(f.status) || f.lines.some((l) => l.picked > 0);
      return h('li', { class: `fulfilment${here(f) ? ' is-here' : ''}`, id: `fulfilment-${f.id}`, 'data-fulfilment-id': f.id, 'data-status': f.status, 'data-type': f.type },
        h('div', { class: 'fulfilment-head' },
          h('h3', {}, title),
          h('span', { class: `badge ${f.status}` }, FULFILMENT_STATUS[f.status] || f.status)),
        h('table', { class: 'fulfilment-lines' },
          h('caption', { class: 'visually-hidden' }, `Items of the ${(FULFILMENT_TYPE[f.type] || f.type).toLowerCase()} from ${f.location_id}`),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Item'), h('th', { scope: 'col', class: 'n' }, 'Quantity'), h('th', { scope: 'col', class: 'n' }, 'Picked'))),
          h('tbody', {}, f.lines.map((l) => h('tr', {}, h('th', { scope: 'row' }, l.sku), h('td', { class: 'n' }, l.quantity), h('td', { class: 'n' }, picked ? l.picked : '–'))))),
        f.expected_at && !['received', 'cancelled'].includes(f.status) ? h('p', { class: 'muted' }, `Expected ${when(f.expected_at)}`) : null,
        s && f.type === 'ship' ? h('p', { class: 'tracking' },
          'Tracking ',
          s.tracking_url
            ? h('a', { href: s.tracking_url, class: 'tracking-number', target: '_blank', rel: 'noopener noreferrer' }, s.tracking_number)
            : h('strong', { class: 'tracking-number' }, s.tracking_number),
          ` · ${s.parcels} parcel${s.parcels === 1 ? '' : 's'}`,
          s.shipped_at ? ` · shipped ${when(s.shipped_at)}` : '',
          s.delivered_at ? ` · delivered ${when(s.delivered_at)}` : '',
          s.label_url && here(f) ? h('span', {}, ' · ', h('a', { href: s.label_url, target: '_blank', rel: 'noopener noreferrer' }, 'Print the label')) : null) : null,
        s && f.type === 'transfer' && s.shipped_at ? h('p', { class: 'muted' }, `Sent ${when(s.shipped_at)} · ${s.parcels} parcel${s.parcels === 1 ? '' : 's'}`) : null);
    })));
}

// summaryCard is the card at the top of an order: its number, its status,
// notes, then its facts ([term, description] pairs).
function summaryCard(o, facts, ...notes) {
  return h('section', { class: 'card', 'aria-labelledby': 'order-title' },
    h('div', { class: 'order-head' },
      h('h1', { id: 'order-title', tabindex: '-1' }, `Order ${o.number}`),
      h('span', { class: `badge ${o.status}`, id: 'order-status', 'data-status': o.status }, STATUS[o.status] || o.status)),
    ...notes,
    h('dl', { class: 'facts' }, facts.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v)))));
}

// linesCard is the table of an order's items: the SKU, a column for each
// [heading, value of a line], the price, and the order's total.
function linesCard(o, columns) {
  const total = o.lines.reduce((n, l) => n + l.quantity * l.unit_price, 0);
  return h('section', { class: 'card', 'aria-labelledby': 'lines-title' },
    h('h2', { id: 'lines-title' }, 'Items'),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Item'), columns.map(([k]) => h('th', { scope: 'col', class: 'n' }, k)), h('th', { scope: 'col', class: 'n' }, 'Price'))),
      h('tbody', {}, o.lines.map((l) => h('tr', {},
        h('th', { scope: 'row' }, l.sku),
        columns.map(([, value]) => h('td', { class: 'n' }, value(l))),
        h('td', { class: 'n' }, fmt(l.unit_price))))),
      h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', colspan: String(columns.length + 1) }, 'Order total'), h('td', { class: 'n' }, fmt(total)))))));
}

// renderForReturn shows what a return needs of another store's order.
function renderForReturn() {
  const o = current.order;
  const methods = [...new Set((o.payments || []).map((p) => p.method))].join(', ');
  const facts = [
    ['Paid by', methods || '–'],
    o.returnable_until ? ['Returnable until', when(o.returnable_until)] : null,
    ['Order id', o.id],
  ].filter(Boolean);
  document.getElementById('order-summary').replaceChildren(summaryCard(o, facts,
    h('p', { class: 'notice', id: 'for-return-note' },
      'Another store’s order, found by its number for a return: only what a return needs is shown. This look-up is on the order’s history.')));
  document.getElementById('order-lines').replaceChildren(linesCard(o, [
    ['Ordered', (l) => l.quantity],
    ['Handed over', (l) => l.collected],
    ['Returned', (l) => l.returned],
  ]));
}

function renderTimeline() {
  const list = document.getElementById('timeline');
  if (!list || !current) return;
  const events = [...current.events].sort((a, b) => a.seq - b.seq);
  const currency = current.order ? current.order.currency : 'GBP';
  list.replaceChildren(...events.map((e, i) => h('li', { class: i === events.length - 1 ? 'latest' : '', 'data-type': e.type },
    h('div', { class: 'what' }, describe(e, { money: (n) => money(n, currency) })),
    h('div', { class: 'when' }, `${when(e.at)} · ${channelWords(e.channel)}${e.actor && e.channel !== 'system' ? ` · ${e.actor}` : ''}`))));
}

const held = (l) => l.picked - l.collected - l.refused - (l.shipped || 0) - (l.uncollected || 0);
const handedOver = (l) => l.collected + (l.delivered || 0);
const returnable = (l) => handedOver(l) - l.returned;
const refundFor = (l, n) => Math.min(n * l.unit_price, handedOver(l) * l.unit_price - l.refunded);

function renderActions() {
  const o = current.order;
  const box = document.getElementById('order-actions');
  const mine = !current.forReturn && collectsHere(o);
  const toPick = current.forReturn ? null : sending(o, 'awaiting_pick')[0];
  const toShip = current.forReturn ? null : sending(o, 'picked')[0];
  const panels = [];
  if (current.flash) panels.push(h('p', { class: 'success', role: 'status', id: 'flash' }, current.flash));
  if (toPick) panels.push(pickPanel(o, toPick));
  else if (mine && o.status === 'awaiting_pick') panels.push(pickPanel(o), rejectPanel(o));
  if (toShip) panels.push(shipPanel(o, toShip));
  if (mine && o.status === 'awaiting_transfer') panels.push(receivePanel(o));
  if (mine && (o.status === 'ready_for_collection' || o.status === 'partially_collected')) panels.push(collectPanel(o));
  const open = !o.returnable_until || new Date(o.returnable_until) > new Date();
  const afterHandover = ['partially_collected', 'collected', 'partially_returned', 'delivered', 'shipped', 'partially_shipped', 'returned_to_sender'];
  const canReturn = afterHandover.includes(o.status) && open && o.lines.some((l) => returnable(l) > 0);
  if (canReturn) panels.push(returnPanel(o), exchangePanel(o));
  if (!mine && !toPick && !toShip && !current.forReturn && o.fulfilment.type !== 'ship'
    && ['awaiting_pick', 'ready_for_collection', 'partially_collected', 'awaiting_transfer'].includes(o.status)) {
    panels.push(h('p', { class: 'notice' }, `This order is for collection at ${o.fulfilment.store_id}: it can only be picked and handed over there.`));
  }
  if (panels.length === (current.flash ? 1 : 0)) {
    const why = afterHandover.includes(o.status) && !open
      ? 'its return window has closed' : `it is ${(STATUS[o.status] || o.status).toLowerCase()}`;
    panels.push(h('section', { class: 'card' }, h('h2', {}, 'Nothing to do'), h('p', { class: 'muted' }, `No action is possible on this order now: ${why}.`)));
  }
  box.replaceChildren(...panels);
}

// A number input between − and + buttons, from min (0 unless given) to max.
function stepper(id, label, value, max, onChange, sku, min = 0) {
  const input = h('input', { id, 'data-sku': sku, type: 'number', inputmode: 'numeric', min: String(min), max: String(max), value: String(value), step: '1' });
  const clamp = () => {
    let n = Math.round(Number(input.value));
    if (!Number.isFinite(n)) n = min;
    n = Math.max(min, Math.min(max, n));
    return n;
  };
  const set = (n) => {
    input.value = String(Math.max(min, Math.min(max, n)));
    onChange();
  };
  input.addEventListener('input', onChange);
  input.addEventListener('change', () => set(clamp()));
  return {
    input,
    value: clamp,
    el: h('div', { class: 'stepper' },
      h('button', { type: 'button', 'aria-label': `One fewer: ${label}`, 'aria-controls': id, onclick: () => set(clamp() - 1) }, '−'),
      input,
      h('button', { type: 'button', 'aria-label': `One more: ${label}`, 'aria-controls': id, onclick: () => set(clamp() + 1) }, '+')),
  };
}

function errorBox(id) {
  return h('div', { class: 'error', role: 'alert', id, hidden: true });
}

// clearOnEdit hides a form's error as soon as the user changes something.
function clearOnEdit(form, err) {
  const clear = () => {
    if (!err.hidden) showError(err, null);
  };
  form.addEventListener('input', clear);
  form.addEventListener('change', clear);
  return form;
}

function done(message, o) {
  current.flash = message;
  current.version = -1; // render the actions again, with the message
  setOrder(o);
  announce(message);
  document.getElementById('flash')?.scrollIntoView({ block: 'nearest' });
}

function url(action) {
  return `/v1/stores/${enc(session.store)}/orders/${enc(current.order.id)}/${action}`;
}

// pickPanel is the pick of the order's collection here, or of this store's
// part f of it (a shipment or a transfer): only f's lines.
function pickPanel(o, f) {
  const err = errorBox('pick-error');
  const send = api.action(); // one Idempotency-Key per press of the button, kept on retries
  const summary = h('p', { class: 'summary', 'aria-live': 'polite', id: 'pick-summary' });
  const price = (sku) => (o.lines.find((l) => l.sku === sku) || { unit_price: 0 }).unit_price;
  const lines = f ? f.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unit_price: price(l.sku) })) : o.lines;
  const steppers = lines.map((l, i) => ({ line: l, s: stepper(`pick-${i}`, l.sku, l.quantity, l.quantity, update, l.sku) }));
  function update() {
    const want = lines.reduce((n, l) => n + l.quantity, 0);
    const found = steppers.reduce((n, x) => n + x.s.value(), 0);
    summary.className = `summary ${found < want ? 'pay' : ''}`;
    summary.textContent = found === want ? `All ${want} item${want === 1 ? '' : 's'} found.`
      : found === 0 ? (f ? 'Nothing found: these items will be sent from another location that has them (or cancelled).'
        : 'Nothing found: the order will go to another store that has the items (or be cancelled).')
        : `Short pick: ${want - found} of ${want} items not found. The customer is told and pays only for what was found.`;
  }
  const title = !f ? 'Pick' : f.type === 'ship' ? 'Pick for home delivery' : `Pick for the transfer to ${storeLabel(f.to_location_id)}`;
  const button = h('button', { type: 'submit', id: 'pick-submit' }, 'Confirm pick');
  const form = h('form', { class: 'card action', 'aria-labelledby': 'pick-title', novalidate: true, 'data-fulfilment-id': f ? f.id : null },
    h('h2', { id: 'pick-title' }, title),
    h('p', { class: 'muted' }, f && lines.length < o.lines.length
      ? 'Count what you found on the shelf for each item this store sends; the rest of the order comes from elsewhere.'
      : 'Count what you found on the shelf for each item.'),
    h('div', { class: 'lines-form' }, steppers.map(({ line, s }, i) => h('div', { class: 'line-item' },
      h('label', { for: `pick-${i}`, class: 'what' }, line.sku, h('span', { class: 'hint' }, `${line.quantity} ordered · ${fmt(line.unit_price)} each`)),
      s.el))),
    summary,
    h('div', { class: 'actions-row' }, button),
    err);
  update();
  clearOnEdit(form, err);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(button, err, async () => {
      const picks = steppers.map(({ line, s }) => ({ sku: line.sku, quantity: s.value() }));
      const res = await send(url('pick'), { lines: picks });
      const found = picks.reduce((n, l) => n + l.quantity, 0);
      const after = f && (res.fulfilments || []).find((x) => x.id === f.id);
      if (after) {
        done(after.status === 'picked'
          ? `Picked ${found} item${found === 1 ? '' : 's'}: pack ${found === 1 ? 'it' : 'them'} and ${f.type === 'ship' ? 'ship' : 'send them'}.`
          : `Pick recorded: nothing to send from here; ${FULFILMENT_STATUS[after.status] || after.status}.`, res);
        return;
      }
      done(res.status === 'ready_for_collection'
        ? `Picked ${found} item${found === 1 ? '' : 's'}: the order is ready for collection and the customer has been sent the pickup code.`
        : `Pick recorded: the order is now ${(STATUS[res.status] || res.status).toLowerCase()}.`, res);
    });
  });
  return form;
}

function rejectPanel(o) {
  const err = errorBox('reject-error');
  const send = api.action(); // one Idempotency-Key per press of the button, kept on retries
  const reason = h('input', { id: 'reject-reason', list: 'reject-reasons', maxlength: '200', required: true, autocomplete: 'off' });
  const button = h('button', { type: 'submit', class: 'danger', id: 'reject-submit' }, 'Reject order');
  const form = h('form', { class: 'card action danger-zone', 'aria-labelledby': 'reject-title', novalidate: true },
    h('h2', { id: 'reject-title' }, 'Cannot fulfil it?'),
    h('p', { class: 'muted' }, 'Rejecting releases the items here and sends the order to the next store that has them; the customer is told.'),
    h('div', { class: 'field' }, h('label', { for: 'reject-reason' }, 'Reason'), reason,
      h('datalist', { id: 'reject-reasons' }, ['Items not found', 'Items damaged', 'Store closing early', 'Too many orders to pick in time'].map((r) => h('option', { value: r })))),
    h('div', { class: 'actions-row' }, button),
    err);
  clearOnEdit(form, err);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!reason.value.trim()) {
      reason.setAttribute('aria-invalid', 'true');
      err.replaceChildren(h('strong', {}, 'Give a reason for rejecting the order.'));
      err.hidden = false;
      reason.focus();
      return;
    }
    reason.removeAttribute('aria-invalid');
    busy(button, err, async () => {
      const res = await send(url('reject'), { reason: reason.value.trim() });
      done(res.status === 'rejected' ? 'Rejected: no other store has the items, so the order is cancelled and the customer told.'
        : `Rejected: the order has moved to ${storeLabel(res.fulfilment.store_id)}.`, res);
    });
  });
  return form;
}

// shipPanel packs this store's picked shipment (or transfer) f and hands it
// to the carrier: everything in one parcel by default, or split into
// parcels; the answer carries the tracking.
function shipPanel(o, f) {
  const err = errorBox('ship-error');
  const send = api.action(); // one Idempotency-Key per press of the button, kept on retries
  const transfer = f.type === 'transfer';
  const lines = f.lines.filter((l) => l.picked > 0);
  const units = lines.reduce((n, l) => n + l.picked, 0);
  const most = Math.max(1, Math.min(units, 20));
  const summary = h('p', { class: 'summary', 'aria-live': 'polite', id: 'ship-summary' });
  const grid = h('div', { id: 'ship-parcels-detail' });
  let cells = []; // cells[parcel][line]: steppers
  const count = stepper('ship-parcels', 'parcels', 1, most, () => layout(), null, 1);
  function layout() {
    const n = count.value();
    if (n === cells.length && n > 1) {
      update();
      return;
    }
    cells = [];
    if (n <= 1) {
      grid.replaceChildren();
      cells = [];
      update();
      return;
    }
    // Spread the units over the parcels, one at a time, as a starting point.
    const share = Array.from({ length: n }, () => lines.map(() => 0));
    let k = 0;
    lines.forEach((l, i) => {
      for (let u = 0; u < l.picked; u++) share[k++ % n][i]++;
    });
    cells = share.map((row, p) => row.map((q, i) => stepper(`ship-p${p}-${i}`, `${lines[i].sku} in parcel ${p + 1}`, q, lines[i].picked, update, lines[i].sku)));
    grid.replaceChildren(...cells.map((row, p) => h('fieldset', { class: 'parcel' },
      h('legend', {}, `Parcel ${p + 1}`),
      h('div', { class: 'lines-form' }, row.map((c, i) => h('div', { class: 'line-item' },
        h('label', { for: `ship-p${p}-${i}`, class: 'what' }, lines[i].sku), c.el))))));
    update();
  }
  // parcels reads the split, or null for the one-parcel default; problem
  // says what is wrong with it.
  let problem = null;
  function parcels() {
    if (cells.length <= 1) return null;
    return cells.map((row) => ({ lines: row.map((c, i) => ({ sku: lines[i].sku, quantity: c.value() })).filter((l) => l.quantity > 0) }));
  }
  function update() {
    problem = null;
    if (!err.hidden) showError(err, null); // the − and + buttons change the split without an input event
    const split = parcels();
    if (!split) {
      summary.className = 'summary';
      summary.textContent = `Everything in one parcel: ${units} item${units === 1 ? '' : 's'}.`;
      return;
    }
    const packed = lines.map((l, i) => cells.reduce((n, row) => n + row[i].value(), 0));
    const off = lines.findIndex((l, i) => packed[i] !== l.picked);
    const empty = split.findIndex((p) => p.lines.length === 0);
    if (off >= 0) problem = `${lines[off].sku}: ${lines[off].picked} picked, ${packed[off]} in parcels. Put each picked item in exactly one parcel.`;
    else if (empty >= 0) problem = `Parcel ${empty + 1} is empty: put something in it, or use fewer parcels.`;
    summary.className = `summary ${problem ? 'pay' : ''}`;
    summary.textContent = problem || `${split.length} parcels: ${split.map((p) => p.lines.reduce((n, l) => n + l.quantity, 0)).join(' + ')} items.`;
  }
  const button = h('button', { type: 'submit', id: 'ship-submit' }, transfer ? 'Pack & send' : 'Pack & ship');
  const form = h('form', { class: 'card action', 'aria-labelledby': 'ship-title', novalidate: true, 'data-fulfilment-id': f.id },
    h('h2', { id: 'ship-title' }, transfer ? `Pack & send to ${storeLabel(f.to_location_id)}` : 'Pack & ship'),
    h('p', { class: 'muted' }, transfer
      ? 'Pack the picked items for the collection store and send them on their way.'
      : 'Pack the picked items and hand them to the carrier: Omni books the parcels and gives you the label and tracking number.'),
    h('ul', { class: 'pack-list' }, lines.map((l) => h('li', {}, `${l.picked} × ${l.sku}`))),
    h('div', { class: 'field' },
      h('label', { for: 'ship-parcels' }, 'Number of parcels ', h('span', { class: 'hint' }, 'One parcel unless the items do not fit in one box.')),
      count.el),
    grid,
    summary,
    h('div', { class: 'actions-row' }, button),
    err);
  layout();
  clearOnEdit(form, err);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    update();
    if (problem) {
      err.replaceChildren(h('strong', {}, problem));
      err.hidden = false;
      return;
    }
    const split = parcels();
    busy(button, err, async () => {
      const res = await send(url('ship'), split ? { parcels: split } : undefined);
      const after = (res.fulfilments || []).find((x) => x.id === f.id);
      const s = after && after.shipment;
      if (transfer) {
        done(`Sent on its way to ${storeLabel(f.to_location_id)}.`, res);
      } else {
        done(s && s.tracking_number
          ? `Shipped: tracking number ${s.tracking_number}. The customer has been sent the tracking.`
          : 'Shipped: the parcels are with the carrier.', res);
      }
    });
  });
  return form;
}

// receivePanel takes the transfers on their way to this store, for the
// order waiting for them here; once they are in, the order is picked here.
function receivePanel(o) {
  const err = errorBox('receive-error');
  const send = api.action(); // one Idempotency-Key per press of the button, kept on retries
  const coming = transfersHere(o).filter((f) => f.status !== 'cancelled' && f.status !== 'received');
  const arriving = coming.filter((f) => f.status === 'in_transit');
  const section = h('form', { class: 'card action', 'aria-labelledby': 'receive-title', novalidate: true },
    h('h2', { id: 'receive-title' }, arriving.length ? 'Receive transfer' : 'Waiting for a transfer'),
    h('ul', { class: 'pack-list' }, coming.map((f) => h('li', { 'data-fulfilment-id': f.id },
      `From ${storeLabel(f.location_id)}: ${f.lines.map((l) => `${f.status === 'awaiting_pick' ? l.quantity : l.picked} × ${l.sku}`).join(', ')} · `,
      h('span', { class: `badge ${f.status}` }, FULFILMENT_STATUS[f.status] || f.status),
      f.expected_at ? ` · expected ${when(f.expected_at)}` : ''))));
  if (!arriving.length) {
    section.append(h('p', { class: 'muted' }, 'Nothing has been sent yet: this order can be picked here once its transfer has arrived.'));
    return section;
  }
  const button = h('button', { type: 'submit', id: 'receive-submit' }, 'Receive transfer');
  section.append(
    h('p', { class: 'muted' }, 'When the parcel is here, check it and receive it: the items are held for this order, and the order is then picked here.'),
    h('div', { class: 'actions-row' }, button), err);
  section.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(button, err, async () => {
      const res = await send(url('receive'));
      done(res.status === 'awaiting_pick' ? 'Transfer received: the order is ready to pick here.' : 'Transfer received.', res);
    });
  });
  return section;
}

function collectPanel(o) {
  const err = errorBox('collect-error');
  const send = api.action(); // one Idempotency-Key per press of the button, kept on retries
  const code = h('input', {
    id: 'collect-code', name: 'pickup_code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false',
    maxlength: '16', required: true, 'aria-describedby': 'collect-code-hint', class: 'code-input',
  });
  code.addEventListener('input', () => {
    const v = code.value.toUpperCase().replace(/[\s-]/g, '');
    if (v !== code.value) code.value = v;
  });
  const nominee = o.pickup.nominee;
  const name = h('input', { id: 'collect-name', autocomplete: 'off', maxlength: '100', value: o.customer.name || '', required: true });
  const relation = (value, text, checked) => h('label', {},
    h('input', { type: 'radio', name: 'relation', value, checked, onchange: () => {
      name.value = value === 'nominee' ? (nominee ? nominee.name : '') : (o.customer.name || '');
    } }), text);
  const lines = o.lines.filter((l) => held(l) > 0);
  const rows = lines.map((l, i) => ({
    line: l,
    take: stepper(`collect-take-${i}`, `hand over ${l.sku}`, held(l), held(l), update, l.sku),
    refuse: stepper(`collect-refuse-${i}`, `refused ${l.sku}`, 0, held(l), update, l.sku),
  }));
  const refusedReason = h('input', { id: 'collect-refused-reason', maxlength: '200', autocomplete: 'off' });
  const reasonField = h('div', { class: 'field', hidden: true }, h('label', { for: 'collect-refused-reason' }, 'Why the customer refused'), refusedReason);
  const summary = h('p', { class: 'summary', 'aria-live': 'polite', id: 'collect-summary' });
  function update() {
    const all = rows.reduce((n, r) => n + held(r.line), 0);
    const take = rows.reduce((n, r) => n + r.take.value(), 0);
    const refused = rows.reduce((n, r) => n + r.refuse.value(), 0);
    reasonField.hidden = refused === 0;
    const parts = [];
    if (take === all) parts.push(`Hand over everything: ${all} item${all === 1 ? '' : 's'}.`);
    else parts.push(`Hand over ${take} of ${all} items.`);
    if (refused) parts.push(`${refused} refused: back on sale, not charged.`);
    const stay = all - take - refused;
    if (stay > 0) parts.push(`${stay} stay${stay === 1 ? 's' : ''} here for the customer to collect later.`);
    if (stay < 0) parts.push('More items than are waiting: lower a quantity.');
    summary.className = `summary ${stay < 0 ? 'pay' : ''}`;
    summary.textContent = parts.join(' ');
  }
  const button = h('button', { type: 'submit', id: 'collect-submit' }, 'Hand over');
  const curb = o.fulfilment.curbside;
  const form = h('form', { class: 'card action', 'aria-labelledby': 'collect-title', novalidate: true },
    h('h2', { id: 'collect-title' }, curb ? 'Hand over at the car' : 'Hand over'),
    curb ? h('p', { class: o.arrival ? 'notice arrived-note' : 'muted', id: 'collect-arrival' }, o.arrival
      ? `The customer is waiting: ${arrivalWords(o.arrival)}. Check the pickup code at the car.`
      : 'Curbside: the console alerts you when the customer says they have arrived. Check the pickup code at the car.') : null,
    h('div', { class: 'field' },
      h('label', { for: 'collect-code' }, 'Pickup code'),
      code,
      h('span', { class: 'hint', id: 'collect-code-hint' }, 'The 8 letters and digits the customer shows on their phone or in their message. A scanner reading its QR code types it here.')),
    h('fieldset', {},
      h('legend', {}, 'Who is collecting?'),
      h('div', { class: 'choice' },
        relation('customer', `The customer${o.customer.name ? `, ${o.customer.name}` : ''}`, true),
        relation('nominee', nominee ? `Their nominee, ${nominee.name}` : 'Someone for them', false))),
    h('div', { class: 'field' },
      h('label', { for: 'collect-name' }, 'Name of the person collecting ', h('span', { class: 'hint' }, nominee ? 'Check their ID against the nominee’s name.' : 'As on their ID.')),
      name),
    h('fieldset', {},
      h('legend', {}, 'Items'),
      h('div', { class: 'lines-form' }, rows.map((r, i) => h('div', { class: 'line-item wide' },
        h('span', { class: 'what' }, r.line.sku, h('span', { class: 'hint' }, `${held(r.line)} waiting · ${fmt(r.line.unit_price)} each`)),
        h('div', { class: 'line-extra' },
          h('div', {}, h('label', { for: `collect-take-${i}` }, 'Hand over'), r.take.el),
          h('div', {}, h('label', { for: `collect-refuse-${i}` }, 'Refused'), r.refuse.el)))))),
    reasonField,
    summary,
    h('div', { class: 'actions-row' }, button),
    err);
  update();
  clearOnEdit(form, err);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const pickupCode = code.value.trim();
    const rel = form.querySelector('input[name="relation"]:checked').value;
    const problems = [];
    if (!pickupCode) problems.push([code, 'Enter the pickup code the customer shows.']);
    if (!name.value.trim()) problems.push([name, 'Enter the name of the person collecting.']);
    const take = rows.map((r) => ({ sku: r.line.sku, quantity: r.take.value() }));
    const refused = rows.map((r) => ({ sku: r.line.sku, quantity: r.refuse.value(), reason: refusedReason.value.trim() || 'refused at the counter' }));
    const nTake = take.reduce((n, l) => n + l.quantity, 0);
    const nRefused = refused.reduce((n, l) => n + l.quantity, 0);
    const all = rows.reduce((n, r) => n + held(r.line), 0);
    if (rows.some((r) => r.take.value() + r.refuse.value() > held(r.line))) problems.push([null, 'An item is handed over and refused more times than it is waiting.']);
    if (nTake === 0 && nRefused < all) problems.push([null, 'Hand over at least one item, or mark everything refused.']);
    code.toggleAttribute('aria-invalid', !pickupCode);
    if (problems.length) {
      err.replaceChildren(h('strong', {}, problems[0][1]));
      err.hidden = false;
      if (problems[0][0]) problems[0][0].focus();
      return;
    }
    const body = { pickup_code: pickupCode, collected_by: { name: name.value.trim(), relation: rel } };
    // Everything not refused is the default; a partial handover names its lines.
    if (nTake + nRefused < all) body.lines = take.filter((l) => l.quantity > 0);
    if (nRefused) body.refused = refused.filter((l) => l.quantity > 0);
    busy(button, err, async () => {
      const res = await send(url('collect'), body);
      done(res.status === 'collected' ? `Handed over to ${body.collected_by.name}. Payment has been taken.`
        : res.status === 'partially_collected' ? `Handed over ${nTake} item${nTake === 1 ? '' : 's'} to ${body.collected_by.name}; the rest stays here.`
          : `Done: the order is now ${(STATUS[res.status] || res.status).toLowerCase()}.`, res);
    });
  });
  return form;
}

const RETURN_REASONS = ['Too small', 'Too big', 'Not as described', 'Faulty', 'Changed mind', 'Wrong colour'];

// Lines brought back: quantity, reason and condition of each returnable line.
function returnLines(prefix, o, update) {
  const rows = o.lines.filter((l) => returnable(l) > 0).map((l, i) => {
    const qty = stepper(`${prefix}-qty-${i}`, `${l.sku} brought back`, 0, returnable(l), update, l.sku);
    const reason = h('input', { id: `${prefix}-reason-${i}`, 'data-sku': l.sku, list: 'return-reasons', maxlength: '200', autocomplete: 'off' });
    const condition = h('select', { id: `${prefix}-condition-${i}`, 'data-sku': l.sku },
      h('option', { value: 'resellable' }, 'Can be sold again'), h('option', { value: 'damaged' }, 'Damaged'));
    const el = h('div', { class: 'line-item wide' },
      h('div', { class: 'row' },
        h('label', { for: `${prefix}-qty-${i}`, class: 'what' }, l.sku,
          h('span', { class: 'hint' }, `${returnable(l)} can come back · paid ${fmt(l.unit_price)} each`)),
        qty.el),
      h('div', { class: 'line-extra' },
        h('div', {}, h('label', { for: `${prefix}-reason-${i}` }, 'Reason'), reason),
        h('div', {}, h('label', { for: `${prefix}-condition-${i}` }, 'Condition'), condition)));
    return { line: l, qty, reason, condition, el };
  });
  const list = h('div', { class: 'lines-form' }, rows.map((r) => r.el),
    h('datalist', { id: 'return-reasons' }, RETURN_REASONS.map((r) => h('option', { value: r }))));
  const read = () => rows.filter((r) => r.qty.value() > 0).map((r) => ({
    sku: r.line.sku, quantity: r.qty.value(), reason: r.reason.value.trim(), condition: r.condition.value, line: r.line, input: r.reason,
  }));
  return { rows, list, read };
}

// checkBack finds what is missing in lines brought back, or null.
function checkBack(back, err) {
  const missing = back.find((l) => !l.reason);
  if (missing) {
    err.replaceChildren(h('strong', {}, `Give a reason for returning ${missing.sku}.`));
    err.hidden = false;
    missing.input.setAttribute('aria-invalid', 'true');
    missing.input.focus();
    return false;
  }
  return true;
}

const wire = (back) => back.map(({ sku, quantity, reason, condition }) => ({ sku, quantity, reason, condition }));

function returnPanel(o) {
  const err = errorBox('return-error');
  const send = api.action(); // one Idempotency-Key per press of the button, kept on retries
  const summary = h('p', { class: 'summary refund', 'aria-live': 'polite', id: 'return-summary' });
  const lines = returnLines('return', o, update);
  function update() {
    const back = lines.read();
    const refund = back.reduce((n, l) => n + refundFor(l.line, l.quantity), 0);
    const units = back.reduce((n, l) => n + l.quantity, 0);
    summary.textContent = units === 0 ? 'Choose how many of each item come back.'
      : `${units} item${units === 1 ? '' : 's'} back: refund ${fmt(refund)} to the original payment.`;
  }
  const button = h('button', { type: 'submit', id: 'return-submit' }, 'Take return');
  const form = h('form', { class: 'card action', 'aria-labelledby': 'return-title', novalidate: true },
    h('h2', { id: 'return-title' }, 'Return'),
    h('p', { class: 'muted' }, 'Items that can be sold again go back into this store’s stock; damaged ones are written off.'),
    lines.list, summary, h('div', { class: 'actions-row' }, button), err);
  update();
  clearOnEdit(form, err);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const back = lines.read();
    if (back.length === 0) {
      err.replaceChildren(h('strong', {}, 'Choose at least one item that comes back.'));
      err.hidden = false;
      return;
    }
    if (!checkBack(back, err)) return;
    busy(button, err, async () => {
      const res = await send(url('returns'), { lines: wire(back) });
      done(`Return recorded: ${fmt(res.return.refund)} refunded to the original payment.`, res.order);
    });
  });
  return form;
}

function exchangePanel(o) {
  const err = errorBox('exchange-error');
  const send = api.action(); // one Idempotency-Key per press of the button, kept on retries
  const lines = returnLines('exchange-back', o, update);
  const items = h('div', { id: 'exchange-new' });
  const newRows = [];
  const summary = h('div', { class: 'summary', 'aria-live': 'polite', id: 'exchange-summary' });
  const tenderMethod = h('select', { id: 'exchange-tender-method' },
    ['card', 'cash', 'gift_card'].map((m) => h('option', { value: m }, m.replace('_', ' '))));
  const tenderRef = h('input', { id: 'exchange-tender-reference', maxlength: '200', autocomplete: 'off' });
  const tender = h('fieldset', { hidden: true, id: 'exchange-tender' },
    h('legend', {}, 'Payment for the difference'),
    h('p', { class: 'hint', id: 'exchange-tender-note' }),
    h('div', { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: 'exchange-tender-method' }, 'Paid by'), tenderMethod),
      h('div', { class: 'field' }, h('label', { for: 'exchange-tender-reference' }, 'Payment reference ', h('span', { class: 'hint' }, 'From the till receipt')), tenderRef)));
  const button = h('button', { type: 'submit', id: 'exchange-submit' }, 'Confirm exchange');
  let n = 0;
  function addItem(focus) {
    const i = n++;
    const sku = h('input', { id: `exchange-sku-${i}`, autocomplete: 'off', spellcheck: 'false', list: 'exchange-skus' });
    const qty = h('input', { id: `exchange-qty-${i}`, type: 'number', inputmode: 'numeric', min: '1', value: '1' });
    const price = h('input', { id: `exchange-price-${i}`, inputmode: 'decimal', autocomplete: 'off', placeholder: '0.00' });
    const stock = h('p', { class: 'stock', 'aria-live': 'polite', id: `exchange-stock-${i}` });
    const row = { sku, qty, price, stock };
    const remove = h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove new item ${i + 1}`, onclick: () => {
      newRows.splice(newRows.indexOf(row), 1);
      el.remove();
      update();
    } }, 'Remove');
    const el = h('div', { class: 'new-item' },
      h('div', { class: 'field' }, h('label', { for: `exchange-sku-${i}` }, 'New item (SKU)'), sku),
      h('div', { class: 'field' }, h('label', { for: `exchange-qty-${i}` }, 'Quantity'), qty),
      h('div', { class: 'field' }, h('label', { for: `exchange-price-${i}` }, `Price each (${o.currency})`), price),
      remove, stock);
    sku.addEventListener('change', async () => {
      const s = sku.value.trim();
      sku.value = s;
      const onOrder = o.lines.find((l) => l.sku === s);
      if (onOrder && !price.value) price.value = majorUnits(onOrder.unit_price, o.currency);
      update();
      stock.textContent = '';
      if (!s) return;
      try {
        const st = await api.get(`/v1/stores/${enc(session.store)}/stock/${enc(s)}`);
        if (sku.value.trim() === s) stock.textContent = st.available > 0 ? `${st.available} available in this store.` : 'None available in this store.';
      } catch {
        stock.textContent = '';
      }
    });
    for (const x of [sku, qty, price]) x.addEventListener('input', update);
    newRows.push(row);
    items.append(el);
    if (focus) sku.focus();
  }
  function readNew() {
    return newRows.map((r) => ({ sku: r.sku.value.trim(), quantity: Math.round(Number(r.qty.value)), unit_price: minorUnits(r.price.value, o.currency), row: r }))
      .filter((l) => l.sku || l.row.price.value);
  }
  // What the order's authorisation still covers, as Omni decides it. Another
  // store's order does not show it: Omni takes the difference from it when it
  // can, and asks for a payment at the till (payment_required) when it cannot.
  const pay = o.payments[0];
  const coverKnown = !pay || typeof pay.amount === 'number';
  const openAuth = pay && coverKnown ? pay.amount - pay.captured - pay.voided - o.lines.reduce((s, l) => s + held(l) * l.unit_price, 0) : 0;
  let mustPay = false; // Omni asked for the difference to be paid at the till
  function update() {
    const back = lines.read();
    const credit = back.reduce((s, l) => s + refundFor(l.line, l.quantity), 0);
    const taken = readNew();
    const valid = taken.every((l) => Number.isFinite(l.unit_price) && l.quantity > 0);
    const cost = valid ? taken.reduce((s, l) => s + l.quantity * l.unit_price, 0) : NaN;
    const diff = cost - credit;
    const rows = [
      ['Items brought back', `−${fmt(credit)}`],
      ['New items', Number.isFinite(cost) ? fmt(cost) : 'enter a price for each item'],
    ];
    let total = '';
    let cls = 'summary';
    if (!Number.isFinite(diff)) total = 'Difference: enter the new items’ prices';
    else if (diff > 0) { total = `Customer pays ${fmt(diff)}`; cls += ' pay'; }
    else if (diff < 0) { total = `Refund ${fmt(-diff)} to the original payment`; cls += ' refund'; }
    else total = 'Even exchange: no money changes hands';
    summary.className = cls;
    summary.replaceChildren(h('table', { class: 'money-table' }, h('tbody', {},
      rows.map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', { class: 'n' }, v))),
      h('tr', { class: 'total' }, h('td', { colspan: '2', id: 'exchange-difference', 'data-difference': Number.isFinite(diff) ? String(diff) : '' }, total)))));
    const owes = Number.isFinite(diff) && diff > 0;
    const needTender = owes && (coverKnown ? diff > openAuth : mustPay);
    tender.hidden = !owes;
    tender.querySelector('#exchange-tender-note').textContent = needTender
      ? `Take ${fmt(diff)} at the till, then enter the payment reference.`
      : coverKnown
        ? `The order’s card payment still covers ${fmt(Math.max(openAuth, 0))}: the difference is taken from it, no payment needed here.`
        : 'Omni takes the difference from the order’s payment when it still covers it; otherwise it asks you to take it at the till.';
    tenderMethod.disabled = !needTender;
    tenderRef.disabled = !needTender;
    button.textContent = Number.isFinite(diff)
      ? `Confirm exchange · ${diff > 0 ? `customer pays ${fmt(diff)}` : diff < 0 ? `refund ${fmt(-diff)}` : 'even'}`
      : 'Confirm exchange';
    return { diff, needTender };
  }
  const form = h('form', { class: 'card action', 'aria-labelledby': 'exchange-title', novalidate: true },
    h('h2', { id: 'exchange-title' }, 'Exchange'),
    h('fieldset', {}, h('legend', {}, 'Brought back'), lines.list),
    h('fieldset', {}, h('legend', {}, 'New items from this store'), items,
      h('datalist', { id: 'exchange-skus' }, o.lines.map((l) => h('option', { value: l.sku }))),
      h('button', { type: 'button', class: 'secondary', id: 'exchange-add', onclick: () => addItem(true) }, '+ Add another item')),
    summary, tender,
    h('div', { class: 'actions-row' }, button), err);
  addItem(false);
  update();
  clearOnEdit(form, err);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const back = lines.read();
    const taken = readNew();
    const fail = (msg, el) => {
      err.replaceChildren(h('strong', {}, msg));
      err.hidden = false;
      if (el) el.focus();
    };
    if (back.length === 0) return fail('Choose at least one item that comes back.');
    if (!checkBack(back, err)) return;
    if (taken.length === 0) return fail('Enter the new item the customer takes (or make a return instead).', newRows[0] && newRows[0].sku);
    const bad = taken.find((l) => !l.sku || !(l.quantity > 0) || !Number.isFinite(l.unit_price) || l.unit_price < 1);
    if (bad) return fail(`Check the new item ${bad.sku || ''}: it needs a SKU, a quantity of at least 1 and a price like 12.99.`, bad.row.sku);
    const { needTender } = update();
    const body = { return_lines: wire(back), new_lines: taken.map(({ sku, quantity, unit_price }) => ({ sku, quantity, unit_price })) };
    if (needTender) {
      if (!tenderRef.value.trim()) return fail('Take the difference at the till and enter the payment reference.', tenderRef);
      body.tender = { method: tenderMethod.value, reference: tenderRef.value.trim() };
    }
    busy(button, err, async () => {
      let res;
      try {
        res = await send(url('exchanges'), body);
      } catch (e) {
        if (!coverKnown && !mustPay && e && e.code === 'payment_required') {
          mustPay = true; // the order's payment does not cover it: take it at the till
          update();
        }
        throw e;
      }
      const x = res.exchange;
      done(`Exchange done: ${x.difference > 0 ? `the customer paid ${fmt(x.difference)}` : x.difference < 0 ? `${fmt(-x.difference)} refunded to the original payment` : 'an even exchange'}.`, res.order);
    });
  });
  return form;
}
