// The customer's order page, /o/{token}: where the order is, the pickup code
// to show at the counter, each parcel's tracking, the history, live;
// cancellation while allowed, and "I'm here" for a curbside collection.
import { client, follow, h, showError, money, when, describe, productName, STATUS } from './api.js';
import { qrSvg } from './qr.js';

const view = document.getElementById('view');
const live = document.getElementById('live');
const token = decodeURIComponent(location.pathname.replace(/^\/o\//, ''));
const api = client(token);
const sendCancel = api.action(); // the customer’s cancellation: one Idempotency-Key per press
const sendArrived = api.action(); // the customer’s "I'm here": one Idempotency-Key per press

let order = null;
let store = null;
let others = []; // the customer's other open orders, each with its own link
let events = [];
let stream = null;
let timer = null;
let confirming = false;
let cancelError = null; // the last cancellation error, shown next to the button
let arrivedError = null; // the last "I'm here" error, shown next to its button
const arrivalDraft = { bay: null, vehicle: null }; // what the customer typed, kept across live updates

// What each status means for the customer, in their words.
function words(o, storeName) {
  const by = o.pickup.expires_at ? ` by ${when(o.pickup.expires_at)}` : '';
  if (o.fulfilment.type === 'ship') {
    const n = (o.fulfilments || []).filter((f) => f.type === 'ship' && f.status !== 'cancelled').length;
    switch (o.status) {
      case 'placed': return ['Order received', 'We are passing your order on to be packed.'];
      case 'awaiting_pick': return ['Being prepared', `We are getting your order ready. We will send you the tracking when ${n > 1 ? 'each parcel is' : 'it is'} on the way.`];
      case 'picked': return ['Being packed', `Your order is being packed. We will send you the tracking when it is on the way.`];
      case 'partially_shipped': return ['Partly on its way', 'Part of your order is on its way; the rest follows in its own parcel. Each parcel’s tracking is below.'];
      case 'shipped': return ['On its way', n > 1 ? `Your ${n} parcels are on their way. Their tracking is below.` : 'Your parcel is on its way. Its tracking is below.'];
      case 'delivered': return ['Delivered', 'Your order has been delivered. Thank you!'];
      case 'returned_to_sender': return ['Returned to us', 'The carrier could not deliver your order and brought it back. The payment for it has been refunded.'];
      default: break;
    }
  }
  switch (o.status) {
    case 'awaiting_transfer': {
      const expected = (o.fulfilments || []).map((f) => f.expected_at).filter(Boolean).sort().pop();
      return ['Being prepared', `Some items are on their way to ${storeName}${expected ? `, expected ${when(expected)}` : ''}. We will send you a message with your pickup code when your order is ready.`];
    }
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
  ['Being prepared', ['awaiting_pick', 'awaiting_transfer']],
  ['Ready', ['ready_for_collection', 'partially_collected']],
  ['Collected', ['collected', 'partially_returned', 'returned']],
];

// The steps of a home delivery.
const SHIP_STEPS = [
  ['Ordered', ['placed']],
  ['Being prepared', ['awaiting_pick', 'picked']],
  ['On its way', ['partially_shipped', 'shipped']],
  ['Delivered', ['delivered', 'partially_returned', 'returned']],
];

// What a parcel's tracking status means, in the customer's words.
const PARCEL = {
  awaiting_pick: 'Being prepared',
  picked: 'Being packed',
  shipped: 'With the carrier',
  in_transit: 'In transit',
  out_for_delivery: 'Out for delivery',
  failed_attempt: 'Delivery attempt failed: the carrier will try again',
  delivered: 'Delivered',
  returned_to_sender: 'Returned to us',
  cancelled: 'Cancelled',
};

async function load() {
  try {
    const res = await api.get('/v1/customer/order');
    const first = !order;
    if (order && res.order.version < order.version) return;
    order = res.order;
    store = res.store;
    others = res.other_orders || [];
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
  const ship = o.fulfilment.type === 'ship';
  const steps = ship ? SHIP_STEPS : STEPS;
  const stepIndex = steps.findIndex(([, statuses]) => statuses.includes(o.status));
  const sections = [];

  sections.push(h('section', { class: `card status-card ${o.status}`, 'aria-labelledby': 'status-word' },
    h('p', { class: 'eyebrow' }, `Order ${o.number} · placed ${when(o.created_at)}`),
    h('h1', { class: 'status-word', id: 'status-word', 'data-status': o.status, 'aria-live': 'polite' }, headline),
    h('p', { id: 'status-text' }, explanation),
    stepIndex >= 0 ? h('ol', { class: 'progress', 'aria-label': 'Progress' }, steps.map(([label], i) => h('li', {
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

  if (o.fulfilment.curbside && (o.status === 'ready_for_collection' || o.status === 'partially_collected')) sections.push(arrivedSection(o, storeName));
  if (ship) sections.push(...deliverySections(o));

  const facts = [];
  if (o.fulfilment.curbside) facts.push(['Collection', 'Curbside: we bring it to your car']);
  if (o.pickup.ready_at) facts.push(['Ready since', when(o.pickup.ready_at)]);
  if (o.pickup.expires_at && ['ready_for_collection', 'partially_collected'].includes(o.status)) facts.push(['Collect by', when(o.pickup.expires_at)]);
  if (!o.pickup.ready_at && ['placed', 'awaiting_pick', 'awaiting_transfer'].includes(o.status)) facts.push(['Pickup', 'We will tell you when it is ready']);
  if (o.pickup.nominee) facts.push(['Can also be collected by', o.pickup.nominee.name]);
  if (o.returnable_until && ['collected', 'partially_collected', 'partially_returned'].includes(o.status)) facts.push(['Returns accepted until', when(o.returnable_until)]);
  if (!ship) sections.push(h('section', { class: 'card', 'aria-labelledby': 'store-title' },
    h('h2', { id: 'store-title' }, ['placed', 'awaiting_pick', 'awaiting_transfer', 'ready_for_collection', 'partially_collected'].includes(o.status) ? 'Collect from' : 'Store'),
    h('p', { class: 'store', id: 'store-name' }, h('strong', {}, storeName)),
    h('dl', { class: 'facts' }, facts.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))))));

  const total = o.lines.reduce((n, l) => n + l.quantity * l.unit_price, 0);
  sections.push(h('section', { class: 'card', 'aria-labelledby': 'items-title' },
    h('h2', { id: 'items-title' }, 'Items'),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Item'), h('th', { scope: 'col', class: 'n' }, 'Quantity'), h('th', { scope: 'col', class: 'n' }, 'Price'))),
      h('tbody', {}, o.lines.map((l) => h('tr', {},
        h('th', { scope: 'row' }, productName(l), l.returned ? h('span', { class: 'hint' }, `${l.returned} returned`) : null),
        h('td', { class: 'n' }, l.quantity),
        h('td', { class: 'n' }, fmt(l.quantity * l.unit_price))))),
      h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', colspan: '2' }, 'Total'), h('td', { class: 'n' }, fmt(total))))))));

  if (o.status === 'placed' || o.status === 'awaiting_pick') sections.push(cancelSection(o));

  sections.push(h('section', { class: 'card', 'aria-labelledby': 'history-title' },
    h('h2', { id: 'history-title' }, 'History'),
    h('ol', { class: 'timeline', id: 'timeline' })));

  if (others.length > 0) {
    sections.push(h('section', { class: 'card', 'aria-labelledby': 'others-title' },
      h('h2', { id: 'others-title' }, 'Your other orders'),
      h('ul', { class: 'other-orders' }, others.map((x) => h('li', {},
        h('a', { href: x.link, rel: 'noreferrer' }, `Order ${x.number}`), ` · ${STATUS[x.status] || x.status.replace(/_/g, ' ')}`)))));
  }

  const focused = document.activeElement && document.activeElement.id;
  view.replaceChildren(...sections);
  renderTimeline();
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

// deliverySections are a home delivery's address and its parcels, each
// with its tracking number, link and status.
function deliverySections(o) {
  const a = o.fulfilment.address || {};
  const facts = [['Deliver to', [a.name, a.line1, a.line2, a.city, a.postcode, a.country].filter(Boolean).join(', ')],
    ['Delivery', o.fulfilment.service === 'express' ? 'Express' : 'Standard']];
  if (o.returnable_until && ['delivered', 'partially_returned', 'shipped', 'partially_shipped'].includes(o.status)) {
    facts.push(['Returns accepted until', `${when(o.returnable_until)}, in any of our stores`]);
  }
  const parts = (o.fulfilments || []).filter((f) => f.type === 'ship' && f.status !== 'cancelled');
  const out = [h('section', { class: 'card', 'aria-labelledby': 'delivery-title' },
    h('h2', { id: 'delivery-title' }, 'Delivery'),
    h('dl', { class: 'facts' }, facts.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v)))))];
  if (parts.length === 0) return out;
  out.push(h('section', { class: 'card', 'aria-labelledby': 'parcels-title' },
    h('h2', { id: 'parcels-title' }, parts.length > 1 ? `Your ${parts.length} parcels` : 'Your parcel'),
    parts.length > 1 ? h('p', { class: 'muted' }, 'Your order comes in more than one parcel, each with its own tracking.') : null,
    h('ul', { class: 'shipments', id: 'shipments' }, parts.map((f, i) => {
      const s = f.shipment;
      const status = s ? s.status : f.status;
      const facts = [['Status', h('span', { class: 'parcel-status', 'data-status': status }, PARCEL[status] || status)]];
      if (s && s.tracking_number) {
        facts.push(['Tracking number', s.tracking_url
          ? h('a', { href: s.tracking_url, class: 'tracking-number', target: '_blank', rel: 'noopener noreferrer', 'aria-label': `Track parcel ${s.tracking_number} on the carrier's site (opens a new tab)` }, s.tracking_number)
          : h('span', { class: 'tracking-number' }, s.tracking_number)]);
      }
      if (s && s.parcels > 1) facts.push(['Boxes', String(s.parcels)]);
      if (s && s.shipped_at) facts.push(['Sent', when(s.shipped_at)]);
      if (s && s.delivered_at) facts.push(['Delivered', when(s.delivered_at)]);
      const items = f.lines.map((l) => `${s ? l.picked : l.quantity} × ${l.sku}`).filter((x) => !x.startsWith('0 ')).join(', ');
      return h('li', { class: 'shipment', id: `shipment-${f.id}`, 'data-fulfilment-id': f.id, 'data-status': status },
        h('h3', {}, parts.length > 1 ? `Parcel ${i + 1} of ${parts.length}` : 'Parcel'),
        items ? h('p', { class: 'muted' }, items) : null,
        h('dl', { class: 'facts' }, facts.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v)))));
    }))));
  return out;
}

// arrivedSection is a curbside customer's "I'm here": the bay and the car,
// for the store to bring the order out.
function arrivedSection(o, storeName) {
  const a = o.arrival;
  const err = h('div', { class: 'error', role: 'alert', id: 'arrived-error', hidden: true });
  showError(err, arrivedError);
  if (arrivalDraft.bay === null) arrivalDraft.bay = (a && a.bay) || '';
  if (arrivalDraft.vehicle === null) arrivalDraft.vehicle = (a && a.vehicle) || '';
  const bay = h('input', { id: 'arrived-bay', name: 'bay', autocomplete: 'off', maxlength: '100', value: arrivalDraft.bay, 'aria-describedby': 'arrived-bay-hint' });
  const vehicle = h('input', { id: 'arrived-vehicle', name: 'vehicle', autocomplete: 'off', maxlength: '100', value: arrivalDraft.vehicle, 'aria-describedby': 'arrived-vehicle-hint' });
  bay.addEventListener('input', () => { arrivalDraft.bay = bay.value; });
  vehicle.addEventListener('input', () => { arrivalDraft.vehicle = vehicle.value; });
  const button = h('button', { type: 'submit', id: 'arrived-submit' }, a ? 'Update where I am' : 'I’m here');
  const form = h('form', { class: 'card action', 'aria-labelledby': 'arrived-title', novalidate: true },
    h('h2', { id: 'arrived-title', tabindex: '-1' }, a ? 'We know you are here' : 'At the store? Tell us you’re here'),
    a ? h('p', { class: 'success', id: 'arrived-done' },
      `Thanks: ${storeName || 'the store'} knows you are here${a.bay ? `, in bay ${a.bay}` : ''}${a.vehicle ? ` (${a.vehicle})` : ''}. Someone will bring your order to your car; have your pickup code ready.`)
      : h('p', { class: 'muted' }, `Park in a collection bay at ${storeName || 'the store'}, then tell us where you are: we bring your order out to your car.`),
    h('div', { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: 'arrived-bay' }, 'Bay number ', h('span', { class: 'hint', id: 'arrived-bay-hint' }, 'Optional: on the sign in front of your car.')), bay),
      h('div', { class: 'field' }, h('label', { for: 'arrived-vehicle' }, 'Your car ', h('span', { class: 'hint', id: 'arrived-vehicle-hint' }, 'Optional: colour and make, or the number plate.')), vehicle)),
    h('div', { class: 'actions-row' }, button),
    err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      const res = await sendArrived(`/v1/orders/${encodeURIComponent(o.id)}/arrived`, { bay: bay.value.trim(), vehicle: vehicle.value.trim() });
      arrivedError = null;
      if (res && res.id === order.id && res.version >= order.version) order = { ...res, pickup: { ...res.pickup, code: res.pickup.code || order.pickup.code } };
      render();
      document.getElementById('arrived-title')?.focus();
    } catch (err2) {
      arrivedError = err2;
      render();
      document.getElementById('arrived-submit')?.focus();
    }
  });
  return form;
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
