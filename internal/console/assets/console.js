// The store console: sign in with a store staff key, follow the store's live
// queue, and pick, reject, pack and ship, receive transfers, hand over (at
// the counter or at the car), take returns and exchanges, and order for a
// customer in the store what the store lacks (endless aisle).
import {
  client, follow, h, showError, money, minorUnits, majorUnits, when, timeOnly, STATUS, FULFILMENT_STATUS, FULFILMENT_TYPE,
  describe, channelWords, productName, productCell, loadSession, announceTo, focusHeading, plainError, busy,
} from './api.js';

const SESSION_KEY = 'omni.console';
const view = document.getElementById('view');
const who = document.getElementById('who');
const live = document.getElementById('live');
const announcer = document.getElementById('announce');
const arrivalsBox = document.getElementById('arrivals');
const arrivalAnnouncer = document.getElementById('arrival-announce');

let session = loadSession(SESSION_KEY); // { key, store, storeName, actor }
let api = null;
let storeNames = {}; // every store's name by id, for orders that move between stores
let allStores = []; // every store and warehouse Omni knows ({ id, name, kind }), to choose a collection store
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

// New order (a customer in the store, an item the store lacks) sits in the
// bar beside Sign out, on every screen of a signed-in console.
document.getElementById('sign-out').before(h('a', { id: 'new-order', class: 'button ghost', href: '#/new' }, 'New order'));
document.getElementById('sign-out').addEventListener('click', signOut);
window.addEventListener('hashchange', route);

function start() {
  if (!session) {
    showSignIn();
    return;
  }
  const headers = { 'Omni-Channel': 'store_console' };
  if (session.actor) headers['Omni-Actor'] = session.actor;
  api = client(session.key, headers);
  api.get('/v1/me').then((me) => {
    allStores = me.all_stores || [];
    storeNames = Object.fromEntries(allStores.map((s) => [s.id, s.name]));
    if (rendered === 'new') refreshStoreChoice();
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

// Routes: #/queue/<tab> (default awaiting), #/order/<id>, #/return/<number>
// (another store's order, found by number for a return), #/new (an order for
// a customer in the store).
function route() {
  if (!session) return;
  const hash = location.hash.replace(/^#\/?/, '');
  const [kind, arg] = hash.split('/');
  const newLink = document.getElementById('new-order');
  if (kind === 'new') newLink.setAttribute('aria-current', 'page');
  else newLink.removeAttribute('aria-current');
  if (kind === 'new') {
    if (rendered === 'new') return;
    closeOrder();
    rendered = 'new';
    showNewOrder();
    return;
  }
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
    if (arrived.length) announceTo(announcer, arrived.length === 1 ? `New order ${arrived[0].number} to pick` : `${arrived.length} new orders to pick`);
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
      announceTo(arrivalAnnouncer, `Curbside: the customer for order ${o.number} has arrived, ${arrivalWords(o.arrival)}.`);
    } else if (news.length > 1) {
      announceTo(arrivalAnnouncer, `Curbside: ${news.length} customers have arrived: ${news.map((o) => `order ${o.number}, ${arrivalWords(o.arrival)}`).join('; ')}.`);
    }
  } else if (here.length) {
    announceTo(arrivalAnnouncer, here.length === 1 ? `Curbside: the customer for order ${here[0].number} is waiting, ${arrivalWords(here[0].arrival)}.`
      : `Curbside: ${here.length} customers are waiting.`);
  }
  seenArrivals = keys;
  renderArrivals();
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
    focusHeading(view);
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
    focusHeading(view);
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
  focusHeading(view);
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
    o.placed_at_store_id ? ['Placed in store', locationLabel(o.placed_at_store_id)] : null,
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
        productCell(l),
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
  announceTo(announcer, message);
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
      h('label', { for: `pick-${i}`, class: 'what' }, productName(o.lines.find((l) => l.sku === line.sku) || line), h('span', { class: 'hint' }, `${line.sku} · ${line.quantity} ordered · ${fmt(line.unit_price)} each`)),
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
        h('span', { class: 'what' }, productName(r.line), h('span', { class: 'hint' }, `${r.line.sku} · ${held(r.line)} waiting · ${fmt(r.line.unit_price)} each`)),
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

// ---- New order: the endless aisle ----

// An order placed in the console for a customer standing in the store whose
// item the store lacks: Omni sends it from where it is, to the customer's
// home or to another store for collection. The customer pays at the till
// first; the order carries the till's reference. Omni checks the order as it
// checks the checkout's, and its field errors are shown next to their fields.

const NEW_CURRENCY = 'GBP';

// What to ask for when the API says a field is missing, by its name there
// (lines[i].x as lines.x).
const ASK = {
  'customer.email': 'the customer’s email address',
  'fulfilment.address.name': 'the name to deliver to',
  'fulfilment.address.line1': 'the first line of the address',
  'fulfilment.address.city': 'the town or city',
  'fulfilment.address.postcode': 'the postcode',
  'fulfilment.address.country': 'the country',
  'payment.reference': 'the payment reference from the till receipt',
  'payment.method': 'how the customer paid',
  'lines.sku': 'the item’s SKU',
};

// plainField says a field error of the API in words for the associate.
function plainField(name, detail) {
  const key = name.replace(/^lines\[\d+\]\./, 'lines.');
  const d = String(detail || '');
  if (/^is required/.test(d) && ASK[key]) return `Enter ${ASK[key]}.`;
  const long = d.match(/must be at most (\d+) characters/);
  if (long) return `Too long: at most ${long[1]} characters.`;
  switch (key) {
    case 'customer.email': return 'This is not an email address. Check it with the customer: it looks like name@example.com.';
    case 'customer.phone': return 'Enter the number with its country code, like +44 7700 900001, or leave it empty.';
    case 'fulfilment.address.country': return 'Enter the country as its two-letter code, like GB.';
    case 'fulfilment.service': return 'Choose standard or express delivery.';
    case 'fulfilment.type': return 'Choose home delivery or collection at another store.';
    case 'fulfilment.store_id': return /^is required/.test(d) ? 'Choose the store where the customer collects.'
      : 'Omni takes no collections at that place: choose a store.';
    case 'lines': return /at least one/.test(d) ? 'Enter at least one item.' : 'Too many items for one order: place two orders.';
    case 'lines.sku': return /twice/.test(d) ? 'This item is entered twice: enter it once, with the whole quantity.'
      : 'A SKU is letters and digits (and - _ . : /), as on the shelf ticket.';
    case 'lines.quantity': {
      const most = d.match(/between 1 and (\d+)/);
      return `Enter a quantity from 1 to ${most ? most[1] : 'the most allowed'}.`;
    }
    case 'lines.unit_price': return 'Enter the price of one item, more than £0.00.';
    case 'payment.amount': return 'The payment does not match the order’s total: check the prices and take the total shown.';
    default: return d ? `${d.charAt(0).toUpperCase()}${d.slice(1)}.` : 'This is not valid.';
  }
}

let refreshStoreChoice = () => {}; // fills the collection store list once the stores are known

function showNewOrder() {
  document.title = `New order · ${session.storeName || session.store}`;
  const send = api.action(); // one Idempotency-Key per attempt, kept on retries of the same order
  const err = errorBox('new-error');
  const fields = new Map(); // the API's field name → { input, error } (line fields are on their row)

  // fieldError is the message under a control, tied to it once shown.
  function fieldError(id) {
    return h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  }
  // control lays out a labelled input with its error under it, known to
  // the form as the API's field name.
  function control(name, input, label, hint) {
    const error = fieldError(input.id);
    if (name) fields.set(name, { input, error });
    input.addEventListener('input', () => clearField({ input, error }));
    input.addEventListener('change', () => clearField({ input, error }));
    return h('div', { class: 'field' },
      h('label', { for: input.id }, label, hint ? h('span', { class: 'hint' }, hint) : null), input, error);
  }
  const text = (id, attrs = {}) => h('input', { id, autocomplete: 'off', maxlength: '200', ...attrs });

  // Customer.
  const email = text('new-email', { type: 'email', inputmode: 'email', spellcheck: 'false', maxlength: '254' });
  const name = text('new-name', { maxlength: '100' });
  const phone = text('new-phone', { type: 'tel', inputmode: 'tel', maxlength: '32' });

  // Items.
  const rows = [];
  const list = h('div', { id: 'new-lines', class: 'new-lines' });
  const linesError = fieldError('new-lines');
  let n = 0;
  function addRow(focus) {
    const i = n++;
    const sku = text(`new-sku-${i}`, { spellcheck: 'false', autocapitalize: 'characters', maxlength: '64' });
    const qty = h('input', { id: `new-qty-${i}`, type: 'number', inputmode: 'numeric', min: '1', step: '1', value: '1' });
    const price = text(`new-price-${i}`, { inputmode: 'decimal', placeholder: '0.00', maxlength: '12' });
    const stock = h('p', { class: 'stock', id: `new-stock-${i}`, 'aria-live': 'polite' });
    const which = () => h('span', { class: 'visually-hidden', 'data-which': '' });
    const row = { sku, qty, price, stock, prefilled: '', f: {} };
    const cell = (key, input, label) => {
      const error = fieldError(input.id);
      row.f[key] = { input, error };
      input.addEventListener('input', () => clearField(row.f[key]));
      return h('div', { class: 'field' }, h('label', { for: input.id }, label, which()), input, error);
    };
    const remove = h('button', { type: 'button', class: 'secondary', id: `new-remove-${i}`, onclick: () => {
      const at = rows.indexOf(row);
      rows.splice(at, 1);
      row.el.remove();
      renumber();
      update();
      rows[Math.min(at, rows.length - 1)].sku.focus();
    } }, 'Remove');
    row.remove = remove;
    row.el = h('div', { class: 'new-item', 'data-row': String(i) },
      cell('sku', sku, 'SKU'), cell('quantity', qty, 'Quantity'), cell('unit_price', price, 'Price each (£)'),
      h('div', { class: 'remove' }, remove), stock);
    sku.addEventListener('change', () => lookUp(row));
    for (const x of [qty, price]) x.addEventListener('input', update);
    price.addEventListener('input', () => { row.prefilled = ''; });
    rows.push(row);
    list.append(row.el);
    renumber();
    update();
    if (focus) sku.focus();
  }
  // renumber names each row's controls "of item k" for screen readers, and
  // offers Remove only while there is more than one item.
  function renumber() {
    rows.forEach((r, k) => {
      for (const s of r.el.querySelectorAll('[data-which]')) s.textContent = ` of item ${k + 1}`;
      r.remove.setAttribute('aria-label', `Remove item ${k + 1}${r.sku.value.trim() ? ` (${r.sku.value.trim()})` : ''}`);
      r.remove.hidden = rows.length === 1;
    });
  }
  // lookUp says whether this store has the SKU and fills in its list price.
  async function lookUp(row) {
    const s = row.sku.value.trim();
    row.sku.value = s;
    renumber();
    row.stock.textContent = '';
    if (!s) return;
    const [stock, price] = await Promise.allSettled([
      api.get(`/v1/stores/${enc(session.store)}/stock/${enc(s)}`),
      api.get(`/v1/prices/${enc(s)}?currency=${NEW_CURRENCY}`),
    ]);
    if (row.sku.value.trim() !== s) return; // changed meanwhile
    const said = [];
    if (stock.status === 'fulfilled') {
      const a = stock.value.available;
      said.push(a > 0 ? `${a} in this store: the customer can take it today, at the till.` : 'None in this store: Omni sends it from where it is.');
    }
    if (price.status === 'fulfilled' && price.value && price.value.unit_price > 0) {
      const p = majorUnits(price.value.unit_price, NEW_CURRENCY);
      if (!row.price.value.trim() || row.price.value === row.prefilled) {
        row.price.value = p;
        row.prefilled = p;
        clearField(row.f.unit_price);
      }
      said.push(`List price ${money(price.value.unit_price, NEW_CURRENCY)}.`);
    } else {
      said.push('No list price: enter the price on the ticket.');
    }
    row.stock.textContent = said.join(' ');
    update();
  }

  // How it reaches the customer.
  const how = (value, label, checked) => h('label', {},
    h('input', { type: 'radio', name: 'new-how', value, checked, onchange: () => showHow() }), label);
  const howField = h('fieldset', { id: 'new-how' },
    h('legend', {}, 'How does it reach the customer?'),
    h('div', { class: 'choice' }, how('ship', 'Home delivery', true), how('collect', 'Collect at another store', false)),
    fieldError('new-how'));
  fields.set('fulfilment.type', { input: howField.querySelector('input'), error: howField.querySelector('.field-error') });
  const addrName = text('new-address-name', { autocomplete: 'off' });
  const line1 = text('new-address-line1');
  const line2 = text('new-address-line2');
  const city = text('new-address-city', { maxlength: '100' });
  const postcode = text('new-address-postcode', { autocapitalize: 'characters', maxlength: '16' });
  const country = text('new-address-country', { value: 'GB', maxlength: '2', autocapitalize: 'characters', spellcheck: 'false' });
  country.addEventListener('input', () => {
    const v = country.value.toUpperCase();
    if (v !== country.value) country.value = v;
  });
  const service = h('select', { id: 'new-service' },
    h('option', { value: 'standard' }, 'Standard'), h('option', { value: 'express' }, 'Express'));
  const shipPart = h('div', { id: 'new-ship' },
    h('div', { class: 'row' },
      control('fulfilment.address.name', addrName, 'Deliver to (name)'),
      control('fulfilment.service', service, 'Delivery')),
    control('fulfilment.address.line1', line1, 'Address line 1'),
    control('fulfilment.address.line2', line2, 'Address line 2 ', 'Optional'),
    h('div', { class: 'row' },
      control('fulfilment.address.city', city, 'Town or city'),
      control('fulfilment.address.postcode', postcode, 'Postcode'),
      control('fulfilment.address.country', country, 'Country ', 'Two letters, like GB')));
  // The name to deliver to follows the customer's until it is typed.
  name.addEventListener('input', () => {
    if (!addrName.dataset.typed) addrName.value = name.value;
  });
  addrName.addEventListener('input', () => { addrName.dataset.typed = addrName.value ? '1' : ''; });
  const storeSlot = h('div', {});
  const collectPart = h('div', { id: 'new-collect', hidden: true }, storeSlot);
  let storeInput = null;
  refreshStoreChoice = () => {
    if (rendered !== 'new' || !storeSlot.isConnected) return;
    const before = storeInput ? storeInput.value : '';
    const others = allStores.filter((s) => s.id !== session.store && s.kind !== 'warehouse');
    // Omni lists its stores to a store key; without the list, the store's id is typed.
    storeInput = others.length
      ? h('select', { id: 'new-collect-store' }, h('option', { value: '' }, 'Choose a store'),
        others.map((s) => h('option', { value: s.id, selected: s.id === before }, `${s.name} (${s.id})`)))
      : text('new-collect-store', { spellcheck: 'false', maxlength: '64', value: before });
    storeSlot.replaceChildren(control('fulfilment.store_id', storeInput, 'Collection store ',
      others.length ? 'Omni brings the items there and tells the customer when to collect.' : 'The store’s id, like store-002.'));
  };
  refreshStoreChoice();
  function chosenHow() {
    return howField.querySelector('input[name="new-how"]:checked').value;
  }
  function showHow() {
    const ship = chosenHow() === 'ship';
    shipPart.hidden = !ship;
    collectPart.hidden = ship;
    clearField(fields.get('fulfilment.type'));
  }

  // Payment.
  const reference = text('new-payment-reference', { spellcheck: 'false' });
  const total = h('p', { class: 'summary', id: 'new-total', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', id: 'new-submit' }, 'Place order');

  // readLines reads the rows that hold something; problems lists what
  // cannot be sent as it is ([field, words]).
  function readLines() {
    const lines = [];
    const problems = [];
    for (const r of rows) {
      const sku = r.sku.value.trim();
      const qtyText = r.qty.value.trim();
      const priceText = r.price.value.trim();
      if (!sku && !priceText && (qtyText === '' || qtyText === '1')) continue; // an empty row
      const quantity = Number(qtyText);
      const unitPrice = minorUnits(priceText, NEW_CURRENCY);
      if (!qtyText || !Number.isInteger(quantity) || quantity < 1) problems.push([r.f.quantity, 'Enter a whole quantity of at least 1.']);
      if (!priceText) problems.push([r.f.unit_price, 'Enter the price of one item, like 12.99.']);
      else if (!Number.isFinite(unitPrice)) problems.push([r.f.unit_price, 'Enter the price in pounds and pence, like 12.99.']);
      lines.push({ sku, quantity, unit_price: unitPrice, row: r });
    }
    return { lines, problems };
  }
  function update() {
    const { lines, problems } = readLines();
    const sum = lines.reduce((s, l) => s + l.quantity * l.unit_price, 0);
    const known = lines.length > 0 && problems.length === 0 && Number.isFinite(sum);
    total.dataset.total = known ? String(sum) : '';
    total.textContent = known
      ? `Total to take at the till: ${money(sum, NEW_CURRENCY)} (${lines.reduce((s, l) => s + l.quantity, 0)} item${lines.length === 1 && lines[0].quantity === 1 ? '' : 's'})`
      : lines.length ? 'Total: enter a quantity and a price for each item.' : 'Total: enter the items.';
    button.textContent = known ? `Place order · ${money(sum, NEW_CURRENCY)}` : 'Place order';
    return known ? sum : NaN;
  }

  function clearField(f) {
    if (!f || f.error.hidden) return;
    f.error.hidden = true;
    f.error.textContent = '';
    f.input.removeAttribute('aria-invalid');
    f.input.removeAttribute('aria-describedby');
    const group = f.input.closest('fieldset');
    if (group && group.getAttribute('aria-describedby') === f.error.id) group.removeAttribute('aria-describedby');
  }
  function clearAll() {
    for (const f of fields.values()) clearField(f);
    for (const r of rows) Object.values(r.f).forEach(clearField);
    clearField({ input: itemsField, error: linesError });
  }
  // markField shows words under a field, ties them to it and marks it invalid.
  function markField(f, words) {
    f.error.textContent = words;
    f.error.hidden = false;
    const group = f.input.type === 'radio' || f.input.tagName === 'FIELDSET' ? f.input.closest('fieldset') : null;
    if (group) group.setAttribute('aria-describedby', f.error.id);
    if (f.input.tagName !== 'FIELDSET') {
      f.input.setAttribute('aria-invalid', 'true');
      f.input.setAttribute('aria-describedby', f.error.id);
    }
  }
  // showProblems marks each field at fault, says how many in the alert
  // (with what belongs to no field) and moves the focus to the first.
  function showProblems(marked, loose) {
    for (const [f, words] of marked) markField(f, words);
    const count = marked.length;
    err.replaceChildren(h('strong', {}, count
      ? `Check ${count === 1 ? 'the field' : `the ${count} fields`} marked below: nothing was ordered yet.`
      : 'The order was not placed.'));
    if (loose.length) err.append(h('ul', {}, loose.map((w) => h('li', {}, w))));
    err.hidden = false;
    const first = marked.map(([f]) => (f.input.tagName === 'FIELDSET' ? f.input.querySelector('input') : f.input))
      .sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1))[0];
    if (first) first.focus();
  }

  const itemsField = h('fieldset', { id: 'new-items' },
    h('legend', {}, 'Items'),
    h('p', { class: 'hint' }, 'Scan or type each item’s SKU: Omni says whether this store has it and fills in its list price.'),
    list,
    linesError,
    h('button', { type: 'button', class: 'secondary', id: 'new-add', onclick: () => addRow(true) }, '+ Add another item'));

  const form = h('form', { class: 'card action new-order', 'aria-labelledby': 'new-title', novalidate: true },
    h('fieldset', {},
      h('legend', {}, 'Customer'),
      control('customer.email', email, 'Email ', 'Omni sends the order’s confirmation and updates here.'),
      h('div', { class: 'row' },
        control('customer.name', name, 'Name ', 'Optional'),
        control('customer.phone', phone, 'Mobile phone ', 'Optional, with the country code: +44 7700 900001'))),
    itemsField,
    howField, shipPart, collectPart,
    h('fieldset', {},
      h('legend', {}, 'Payment'),
      total,
      control('payment.reference', reference, 'Card payment reference ', 'Take the total at the till first, then enter the reference on its receipt.')),
    h('div', { class: 'actions-row' }, button),
    err);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearAll();
    showError(err, null);
    const { lines, problems } = readLines();
    if (problems.length) {
      showProblems(problems, []);
      return;
    }
    const amount = update();
    const how = chosenHow();
    const opt = (v) => (v ? v : undefined);
    const body = {
      customer: { email: email.value.trim(), name: opt(name.value.trim()), phone: opt(phone.value.trim()) },
      currency: NEW_CURRENCY,
      fulfilment: how === 'ship'
        ? { type: 'ship', service: service.value, address: {
          name: addrName.value.trim(), line1: line1.value.trim(), line2: opt(line2.value.trim()),
          city: city.value.trim(), postcode: postcode.value.trim(), country: country.value.trim() } }
        : { type: 'collect', store_id: storeInput.value.trim() },
      lines: lines.map(({ sku, quantity, unit_price }) => ({ sku, quantity, unit_price })),
      payment: { method: 'card', reference: reference.value.trim(), amount: Number.isFinite(amount) ? amount : 0 },
    };
    busy(button, err, async () => {
      let o;
      try {
        o = await send(`/v1/stores/${enc(session.store)}/orders`, body);
      } catch (e2) {
        if (!(e2 && e2.status === 422 && Array.isArray(e2.problem.errors) && e2.problem.errors.length)) throw e2;
        // Omni's checks, each next to its field; what has no field goes in the alert.
        const marked = [];
        const loose = [];
        for (const fe of e2.problem.errors) {
          const words = plainField(fe.field, fe.detail);
          const line = fe.field.match(/^lines\[(\d+)\]\.(\w+)$/);
          const f = line ? lines[Number(line[1])] && lines[Number(line[1])].row.f[line[2]]
            : fe.field === 'lines' ? { input: itemsField, error: linesError }
              : fields.get(fe.field);
          if (f && !marked.some(([g]) => g === f)) marked.push([f, words]);
          else if (!f) loose.push(words);
        }
        showProblems(marked, loose);
        return;
      }
      showPlaced(o, body);
    });
  });

  view.replaceChildren(
    h('p', { class: 'back' }, h('a', { href: `#/queue/${lastTab}`, class: 'button secondary' }, '← Back to the queue')),
    h('div', { class: 'queue-head' },
      h('h1', { id: 'new-title' }, 'New order'),
      session.actor ? h('p', { class: 'muted' }, `Placed by ${session.actor}`) : null),
    h('p', { class: 'muted new-intro' }, 'For a customer in the store whose item this store does not have: Omni sends it from a store or warehouse that has it, to their home or to another store for them to collect.'),
    form);
  addRow(false);
  showHow();
  update();
  focusHeading(view);
}

// showPlaced says the order is placed, with its number and a link to it,
// and moves the focus there.
function showPlaced(o, body) {
  const ship = body.fulfilment.type === 'ship';
  const where = ship
    ? `Omni sends it ${body.fulfilment.service === 'express' ? 'by express delivery' : 'by standard delivery'} to ${body.fulfilment.address.postcode}`
    : `Omni brings it to ${storeLabel(body.fulfilment.store_id)} for collection`;
  const result = h('section', { class: 'card placed', id: 'new-placed', 'aria-labelledby': 'new-placed-title' },
    h('h2', { id: 'new-placed-title', tabindex: '-1' }, `Order ${o.number} placed`),
    h('p', {}, `${where}. The customer gets the confirmation at ${o.customer.email}, with a link to follow the order.`),
    h('p', { class: 'muted' }, `Give the customer the order number: ${o.number}.`),
    h('div', { class: 'actions-row' },
      h('a', { class: 'button', id: 'new-open', href: `#/order/${enc(o.id)}` }, `Open order ${o.number}`),
      h('button', { type: 'button', class: 'secondary', id: 'new-another', onclick: () => {
        rendered = '';
        route();
      } }, 'New order for another customer')));
  const form = view.querySelector('form.new-order');
  form.replaceWith(result);
  view.querySelector('.new-intro')?.remove();
  document.title = `Order ${o.number} placed · ${session.storeName || session.store}`;
  announceTo(announcer, `Order ${o.number} placed.`);
  document.getElementById('new-placed-title').focus();
}

// Start once every declaration above has run: a console opened again with a
// session in the tab renders its route at once, and the route's code reads
// the constants declared along the way.
start();
