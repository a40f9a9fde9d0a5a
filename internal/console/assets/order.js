// The customer's order page, /o/{token}: where the order is, the pickup code
// to show at the counter, the history, live; and cancellation while allowed.
import { client, follow, h, showError, money, when, describe } from './api.js';
import { qrSvg } from './qr.js';

const view = document.getElementById('view');
const live = document.getElementById('live');
const token = decodeURIComponent(location.pathname.replace(/^\/o\//, ''));
const api = client(token);
const sendCancel = api.action(); // the customer’s cancellation: one Idempotency-Key per press

let order = null;
let store = null;
let events = [];
let stream = null;
let timer = null;
let confirming = false;
let cancelError = null; // the last cancellation error, shown next to the button

// What each status means for the customer, in their words.
function words(o, storeName) {
  const by = o.pickup.expires_at ? ` by ${when(o.pickup.expires_at)}` : '';
  switch (o.status) {
    case 'placed': return ['Order received', 'We are passing your order to the store.'];
    case 'awaiting_pick': return ['Being prepared', `${storeName} is getting your order ready. We will send you a message with your pickup code when it is ready.`];
    case 'ready_for_collection': return ['Ready to collect', `Show your pickup code at the counter of ${storeName}${by}.`];
    case 'partially_collected': return ['Partly collected', `The rest of your order is waiting for you at ${storeName}${by}. Show the same pickup code.`];
    case 'collected': return ['Collected', 'You have collected your order. Thank you!'];
    case 'partially_returned': return ['Partly returned', 'Part of your order has been returned. Refunds go back to how you paid.'];
    case 'returned': return ['Returned', 'Your order has been returned. Refunds go back to how you paid.'];
    case 'cancelled': return ['Cancelled', 'Your order has been cancelled. The payment held for it has been released.'];
    case 'expired': return ['Not collected', 'Your order was not collected in time, so it has been cancelled and the payment held for it released.'];
    case 'rejected': return ['Could not be prepared', 'Sorry: no store could prepare your order. The payment held for it has been released.'];
    default: return [o.status, ''];
  }
}

const STEPS = [
  ['Ordered', ['placed']],
  ['Being prepared', ['awaiting_pick']],
  ['Ready', ['ready_for_collection', 'partially_collected']],
  ['Collected', ['collected', 'partially_returned', 'returned']],
];

async function load() {
  try {
    const res = await api.get('/v1/customer/order');
    const first = !order;
    if (order && res.order.version < order.version) return;
    order = res.order;
    store = res.store;
    render();
    if (first) startStream();
  } catch (err) {
    if (order) return; // keep showing what we have; the stream reads again
    const box = h('div', { class: 'error', role: 'alert' });
    if (err.status === 401 || err.status === 403) {
      box.append(h('strong', {}, 'This link has expired or is not valid.'),
        h('p', {}, 'Open the latest message we sent you about your order, or contact us with your order number.'));
    } else {
      showError(box, err);
    }
    view.replaceChildren(h('h1', {}, 'Your order'), box);
  }
}

function startStream() {
  stream = follow(`/v1/orders/${encodeURIComponent(order.id)}/events/stream`, token, (msg) => {
    if (!msg.data || typeof msg.data.seq !== 'number' || events.some((e) => e.seq === msg.data.seq)) return;
    events.push(msg.data);
    renderTimeline();
    clearTimeout(timer);
    timer = setTimeout(load, 150);
  }, (state) => {
    live.className = `live ${state === 'live' ? 'on' : 'off'}`;
    live.textContent = state === 'live' ? 'Live' : state === 'closed' ? 'Not updating' : 'Reconnecting…';
  });
}

function fmt(n) {
  return money(n, order.currency);
}

function render() {
  const o = order;
  const storeName = store.name || store.id;
  const [headline, explanation] = words(o, storeName);
  document.title = `${headline} · Order ${o.number}`;
  const stepIndex = STEPS.findIndex(([, statuses]) => statuses.includes(o.status));
  const sections = [];

  sections.push(h('section', { class: `card status-card ${o.status}`, 'aria-labelledby': 'status-word' },
    h('p', { class: 'eyebrow' }, `Order ${o.number} · placed ${when(o.created_at)}`),
    h('h1', { class: 'status-word', id: 'status-word', 'data-status': o.status, 'aria-live': 'polite' }, headline),
    h('p', { id: 'status-text' }, explanation),
    stepIndex >= 0 ? h('ol', { class: 'progress', 'aria-label': 'Progress' }, STEPS.map(([label], i) => h('li', {
      class: i < stepIndex ? 'done' : i === stepIndex ? 'current' : '',
      'aria-current': i === stepIndex ? 'step' : null,
    }, label))) : null));

  const showCode = o.pickup.code && (o.status === 'ready_for_collection' || o.status === 'partially_collected');
  if (showCode) {
    let qr = null;
    try {
      qr = h('div', { class: 'qr', id: 'pickup-qr', role: 'img', 'aria-label': `QR code of your pickup code, ${o.pickup.code.split('').join(' ')}` }, qrSvg(o.pickup.code));
    } catch {
      qr = null;
    }
    sections.push(h('section', { class: 'card', 'aria-labelledby': 'code-title' },
      h('div', { class: 'pickup-code' },
        h('div', {},
          h('h2', { id: 'code-title' }, 'Your pickup code'),
          h('p', { class: 'code-text', id: 'pickup-code' }, o.pickup.code),
          h('p', { class: 'muted' }, 'Show this code, or let the store scan the QR code. Keep it to yourself: it is what lets someone collect your order.')),
        qr)));
  }

  const facts = [];
  if (o.pickup.ready_at) facts.push(['Ready since', when(o.pickup.ready_at)]);
  if (o.pickup.expires_at && ['ready_for_collection', 'partially_collected'].includes(o.status)) facts.push(['Collect by', when(o.pickup.expires_at)]);
  if (!o.pickup.ready_at && ['placed', 'awaiting_pick'].includes(o.status)) facts.push(['Pickup', 'We will tell you when it is ready']);
  if (o.pickup.nominee) facts.push(['Can also be collected by', o.pickup.nominee.name]);
  if (o.returnable_until && ['collected', 'partially_collected', 'partially_returned'].includes(o.status)) facts.push(['Returns accepted until', when(o.returnable_until)]);
  sections.push(h('section', { class: 'card', 'aria-labelledby': 'store-title' },
    h('h2', { id: 'store-title' }, ['placed', 'awaiting_pick', 'ready_for_collection', 'partially_collected'].includes(o.status) ? 'Collect from' : 'Store'),
    h('p', { class: 'store', id: 'store-name' }, h('strong', {}, storeName)),
    h('dl', { class: 'facts' }, facts.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))))));

  const total = o.lines.reduce((n, l) => n + l.quantity * l.unit_price, 0);
  sections.push(h('section', { class: 'card', 'aria-labelledby': 'items-title' },
    h('h2', { id: 'items-title' }, 'Items'),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Item'), h('th', { scope: 'col', class: 'n' }, 'Quantity'), h('th', { scope: 'col', class: 'n' }, 'Price'))),
      h('tbody', {}, o.lines.map((l) => h('tr', {},
        h('th', { scope: 'row' }, l.sku, l.returned ? h('span', { class: 'hint' }, `${l.returned} returned`) : null),
        h('td', { class: 'n' }, l.quantity),
        h('td', { class: 'n' }, fmt(l.quantity * l.unit_price))))),
      h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', colspan: '2' }, 'Total'), h('td', { class: 'n' }, fmt(total))))))));

  if (o.status === 'placed' || o.status === 'awaiting_pick') sections.push(cancelSection(o));

  sections.push(h('section', { class: 'card', 'aria-labelledby': 'history-title' },
    h('h2', { id: 'history-title' }, 'History'),
    h('ol', { class: 'timeline', id: 'timeline' })));

  const focused = document.activeElement && document.activeElement.id;
  view.replaceChildren(...sections);
  renderTimeline();
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

function cancelSection(o) {
  const err = h('div', { class: 'error', role: 'alert', id: 'cancel-error', hidden: true });
  showError(err, cancelError);
  const section = h('section', { class: 'card action danger-zone', 'aria-labelledby': 'cancel-title' },
    h('h2', { id: 'cancel-title' }, 'Changed your mind?'));
  if (!confirming) {
    section.append(
      h('p', { class: 'muted' }, 'You can cancel until the store has picked your order.'),
      h('div', { class: 'actions-row' }, h('button', { type: 'button', class: 'secondary', id: 'cancel-start', onclick: () => {
        confirming = true;
        cancelError = null;
        render();
        document.getElementById('cancel-confirm')?.focus();
      } }, 'Cancel my order')),
      err);
    return section;
  }
  const yes = h('button', { type: 'button', class: 'danger', id: 'cancel-confirm' }, 'Yes, cancel the order');
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    yes.setAttribute('aria-busy', 'true');
    try {
      const res = await sendCancel(`/v1/orders/${encodeURIComponent(o.id)}/cancel`, { reason: 'cancelled by the customer' });
      confirming = false;
      cancelError = null;
      order = res;
      render();
    } catch (e) {
      cancelError = e;
      confirming = false;
      render();
      document.getElementById('cancel-start')?.focus();
    }
  });
  section.append(
    h('p', {}, h('strong', {}, `Cancel order ${o.number}? This cannot be undone.`)),
    h('div', { class: 'actions-row' }, yes, h('button', { type: 'button', class: 'secondary', onclick: () => {
      confirming = false;
      render();
      document.getElementById('cancel-start')?.focus();
    } }, 'Keep my order')),
    err);
  return section;
}

function renderTimeline() {
  const list = document.getElementById('timeline');
  if (!list) return;
  const shown = [...events].sort((a, b) => a.seq - b.seq)
    .map((e) => ({ e, text: describe(e, { money: fmt, forCustomer: true }) }))
    .filter((x) => x.text);
  list.replaceChildren(...shown.map(({ e, text }, i) => h('li', { class: i === shown.length - 1 ? 'latest' : '', 'data-type': e.type },
    h('div', { class: 'what' }, text),
    h('div', { class: 'when' }, when(e.at)))));
}

if (!token || !token.startsWith('ct1.')) {
  view.replaceChildren(h('h1', {}, 'Your order'),
    h('div', { class: 'error', role: 'alert' }, h('strong', {}, 'This link is not complete.'),
      h('p', {}, 'Open the link from the message we sent you about your order.')));
} else {
  load();
}
