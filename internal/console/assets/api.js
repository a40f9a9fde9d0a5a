// What the store console and the customer's page share: calls to the Omni API,
// its errors in plain words, live event streams, and formatting.

// ApiError is an API answer other than 2xx, with its problem document.
export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super((problem && problem.detail) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.code = String(this.problem.type || '').replace('urn:omni:problem:', '');
    this.retryAfter = retryAfter;
  }
}

// newKey is a fresh Idempotency-Key: a random UUID (built from
// getRandomValues where randomUUID is missing: a page served over plain http
// on a store's network is not a secure context).
export function newKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// How often one action is sent before its error is shown, and the longest
// pause between two tries.
const ATTEMPTS = 3;
const MAX_PAUSE_MS = 5000;

// unsettled reports whether an error leaves it open if the action happened:
// Omni was not reached, or did not answer in time, or is still busy with it.
// Any other answer is Omni's final word on the action.
function unsettled(err) {
  return err instanceof ApiError && (err.status === 0 || err.status >= 500 || err.code === 'request_in_progress');
}

// client calls the API with a credential (a key or a customer token) and
// extra headers (Omni-Channel, Omni-Actor).
export function client(credential, extraHeaders = {}) {
  async function call(method, path, body, more = {}) {
    const headers = { Authorization: `Bearer ${credential}`, Accept: 'application/json', ...extraHeaders, ...more };
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch {
      throw new ApiError(0, { type: 'urn:omni:problem:network', detail: 'Omni could not be reached.' });
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { detail: text };
    }
    if (!res.ok) throw new ApiError(res.status, data, res.headers.get('Retry-After'));
    return data;
  }
  // action makes a sender for one kind of user action (a pick, a handover, a
  // return ...). Each send is one action under one Idempotency-Key, retried
  // with that same key while its outcome is unsettled (no connection, a
  // timeout, Omni busy with it), so an answer lost on the way never becomes a
  // second handover or a second refund: Omni answers the retry with the first
  // outcome. When the tries run out the error is shown, and the key is kept
  // for the same request sent again (the button pressed again, nothing
  // changed); any other send is a new action with a new key.
  function action() {
    let unsettledSend = null; // { key, request } of the last send, while its outcome is open
    return async function send(path, body) {
      const request = `${path}\n${JSON.stringify(body === undefined ? null : body)}`;
      const key = unsettledSend && unsettledSend.request === request ? unsettledSend.key : newKey();
      unsettledSend = null;
      for (let attempt = 1; ; attempt++) {
        try {
          return await call('POST', path, body, { 'Idempotency-Key': key });
        } catch (err) {
          if (!unsettled(err)) throw err;
          if (attempt >= ATTEMPTS) {
            unsettledSend = { key, request };
            throw err;
          }
          const after = Number(err.retryAfter);
          const pause = after > 0 ? after * 1000 : 500 * 2 ** (attempt - 1);
          await new Promise((r) => setTimeout(r, Math.min(pause, MAX_PAUSE_MS)));
        }
      }
    };
  }
  return {
    credential,
    headers: extraHeaders,
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    action,
  };
}

// What each problem means for the person in front of the screen. The API's
// own detail is added where it names the line or value at fault.
const PLAIN = {
  network: 'Omni could not be reached. Check the connection and try again.',
  unauthenticated: 'This key or link is not valid, or it has expired.',
  forbidden: 'This key may not do that.',
  order_not_found: 'There is no such order. Check the number.',
  timeline_unavailable: 'Omni could not record this look-up on the order’s history, so it does not show the order yet. Try again in a moment.',
  store_not_found: 'Omni does not know this store.',
  route_not_found: 'Omni does not offer that here.',
  wrong_pickup_code: 'That pickup code does not match this order. Ask the customer to show the code from their message or order page, and try again.',
  pickup_code_locked: 'Too many wrong pickup codes for this order: handover is locked for now. Try again later or call the contact centre.',
  not_nominee: 'This order names someone else to collect it. Check the collector’s name against the nominee’s.',
  nominee_name: 'Enter the name of the person collecting.',
  bad_relation: 'Say whether the customer or their nominee is collecting.',
  not_awaiting_pick: 'This order is no longer waiting to be picked: it has been picked, cancelled or moved.',
  not_ready: 'This order is not ready for collection.',
  wrong_store: 'This order is for collection at another store.',
  order_closed: 'This order is closed: it can no longer be changed.',
  not_started: 'The order is still being set up. Try again in a few seconds.',
  too_late_to_cancel: 'The store has already picked your order, so it can no longer be cancelled here. You can refuse it at the counter, or contact us.',
  not_collected: 'Nothing of this order has been handed over yet, so nothing can be returned.',
  not_returnable: 'This order cannot be returned: nothing of it was handed over.',
  nothing_to_return: 'Everything on this order has already been returned.',
  return_window_closed: 'The return window of this order has closed.',
  over_return: 'That is more than the customer took home and has not yet returned.',
  unknown_line: 'That item is not on this order.',
  no_stock: 'This store does not have the new item in stock. Nothing was changed.',
  payment_required: 'The customer owes the difference: take the payment at the till, enter its reference below, and confirm again.',
  price_mismatch: 'That item is on the order at another price: exchange it at the order’s price.',
  bad_quantity: 'One of the quantities is not possible for this order.',
  bad_condition: 'Say whether each item brought back can be sold again or is damaged.',
  duplicate_line: 'The same item is entered twice: enter it once with the total quantity.',
  no_lines: 'Enter at least one item.',
  reason: 'A reason is required.',
  validation: 'Some details are missing or not valid.',
  timeout: 'Omni is taking longer than usual. The change may still go through: press the same button again, changing nothing, and it is done once.',
  request_in_progress: 'Omni is still working on this. Wait a moment, then press the same button again, changing nothing.',
  idempotency_key_reused: 'This action was already sent with other details. Reload the order and try again.',
  too_many_streams: 'Omni is very busy; live updates will resume shortly.',
  already_extended: 'The pickup has already been extended once.',
  not_picked: 'This store’s part of the order is not picked and waiting to ship: pick it first, or it has already been shipped.',
  empty_parcel: 'A parcel is empty: put at least one item in each parcel, or use fewer parcels.',
  bad_parcel: 'A parcel holds more of an item than is left to pack.',
  unpacked: 'Some picked items are in no parcel: put every picked item in a parcel.',
  nothing_in_transit: 'No transfer of this order is on its way to this store: it has been received already, or not sent yet.',
  not_curbside: 'This order is not for curbside collection: collect it in the store.',
  already_shipped: 'Part of this order has already been shipped, so it can no longer be cancelled here.',
  not_delivered: 'Nothing of this order has been delivered yet, so nothing can be returned.',
};
// Codes whose detail names the line or value at fault.
const SPECIFIC = new Set(['bad_parcel', 'unpacked', 'over_return', 'bad_quantity', 'unknown_line', 'price_mismatch', 'duplicate_line', 'no_stock', 'pickup_code_locked']);

// explain turns an error into { message, details } in plain words.
export function explain(err) {
  if (!(err instanceof ApiError)) return { message: 'Something went wrong in this page. Reload it and try again.', details: [String(err)] };
  const details = [];
  const message = PLAIN[err.code] || err.problem.detail || `Omni answered ${err.status}.`;
  if (PLAIN[err.code] && SPECIFIC.has(err.code) && err.problem.detail) details.push(err.problem.detail);
  for (const f of err.problem.errors || []) details.push(`${f.field}: ${f.detail}`);
  return { message, details };
}

// showError writes an error (or nothing, to clear it) into an alert element.
export function showError(el, err) {
  el.replaceChildren();
  el.hidden = !err;
  if (!err) return;
  const { message, details } = explain(err);
  el.append(h('strong', {}, message));
  if (details.length) el.append(h('ul', {}, details.map((d) => h('li', {}, d))));
}

// follow reads a Server-Sent Events stream with fetch, so that the request
// carries the Authorization header (EventSource cannot), and reconnects with
// Last-Event-ID after a drop. onMessage gets { type, id, data }; onState gets
// 'live', 'reconnecting' or 'closed' (with the HTTP status that closed it).
export function follow(url, credential, onMessage, onState = () => {}) {
  let stopped = false;
  let ctrl = null;
  let lastId = null;
  let delay = 1000;
  (async () => {
    while (!stopped) {
      ctrl = new AbortController();
      try {
        const headers = { Authorization: `Bearer ${credential}`, Accept: 'text/event-stream' };
        if (lastId !== null) headers['Last-Event-ID'] = lastId;
        const res = await fetch(url, { headers, signal: ctrl.signal, cache: 'no-store' });
        if ([401, 403, 404].includes(res.status)) {
          onState('closed', res.status);
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        onState('live');
        delay = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        let ev = { type: 'message', id: null, data: [] };
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).replace(/\r$/, '');
            buf = buf.slice(nl + 1);
            if (line === '') {
              if (ev.id !== null) lastId = ev.id;
              if (ev.data.length) {
                let data = ev.data.join('\n');
                try {
                  data = JSON.parse(data);
                } catch {
                  /* not JSON: pass the text on */
                }
                if (!stopped) onMessage({ type: ev.type, id: ev.id, data });
              }
              ev = { type: 'message', id: null, data: [] };
              continue;
            }
            if (line.startsWith(':')) continue; // a comment: keepalive
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') ev.type = val;
            else if (field === 'data') ev.data.push(val);
            else if (field === 'id') ev.id = val;
          }
        }
      } catch {
        /* dropped: reconnect below */
      }
      if (stopped) return;
      onState('reconnecting');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  })();
  return {
    close() {
      stopped = true;
      if (ctrl) ctrl.abort();
    },
  };
}

// h builds an element: h('p', {class: 'x', onclick: f}, 'text', child, [more]).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  const add = (c) => {
    if (c === undefined || c === null || c === false) return;
    if (Array.isArray(c)) c.forEach(add);
    else el.append(c instanceof Node ? c : String(c));
  };
  children.forEach(add);
  return el;
}

// money formats minor units of a currency (1999 GBP → £19.99).
export function money(minor, currency) {
  try {
    const f = new Intl.NumberFormat('en-GB', { style: 'currency', currency });
    return f.format(minor / 10 ** f.resolvedOptions().maximumFractionDigits);
  } catch {
    return `${minor} ${currency}`;
  }
}

// minorUnits reads an amount typed in major units ("12.99") as minor units, or NaN.
export function minorUnits(text, currency) {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en-GB', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    /* keep 2 */
  }
  const s = String(text).trim().replace(/^[£$€]/, '');
  if (!/^\d+(\.\d+)?$/.test(s)) return NaN;
  const [whole, frac = ''] = s.split('.');
  if (frac.length > digits) return NaN;
  return Number(whole) * 10 ** digits + Number(frac.padEnd(digits, '0') || 0);
}

// majorUnits writes minor units as a plain amount to type ("1999" GBP → "19.99").
export function majorUnits(minor, currency) {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en-GB', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    /* keep 2 */
  }
  return (minor / 10 ** digits).toFixed(digits);
}

export function when(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString('en-GB', { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

export function timeOnly(iso) {
  return new Date(iso).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

// Words for the statuses, as store staff say them.
export const STATUS = {
  placed: 'Placed',
  awaiting_pick: 'Awaiting pick',
  ready_for_collection: 'Ready for collection',
  partially_collected: 'Partly collected',
  collected: 'Collected',
  partially_returned: 'Partly returned',
  returned: 'Returned',
  cancelled: 'Cancelled',
  expired: 'Expired',
  rejected: 'Rejected',
  picked: 'Picked',
  partially_shipped: 'Partly shipped',
  shipped: 'Shipped',
  delivered: 'Delivered',
  returned_to_sender: 'Returned to sender',
  awaiting_transfer: 'Awaiting transfer',
};

// Words for a fulfilment's status (a collect fulfilment's is the order's).
export const FULFILMENT_STATUS = {
  ...STATUS,
  awaiting_pick: 'Awaiting pick',
  picked: 'Picked: to pack',
  shipped: 'Shipped',
  in_transit: 'In transit',
  out_for_delivery: 'Out for delivery',
  failed_attempt: 'Delivery attempt failed',
  delivered: 'Delivered',
  returned_to_sender: 'Returned to sender',
  received: 'Received',
  cancelled: 'Cancelled',
};

// Words for a fulfilment's type.
export const FULFILMENT_TYPE = {
  collect: 'Collection',
  ship: 'Home delivery',
  transfer: 'Transfer',
};

const CHANNEL = {
  web: 'online',
  app: 'in the app',
  pos: 'at the till',
  store: 'in store',
  store_console: 'store console',
  contact_centre: 'contact centre',
  system: 'Omni',
};

export function channelWords(c) {
  return CHANNEL[c] || c;
}

// waitWords says a wait in seconds as people say it ("45 s", "3 min").
export function waitWords(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s} s` : `${Math.round(s / 60)} min`;
}

// describe says what a timeline event means, for the customer or for staff.
export function describe(e, { money: fmt = (n) => String(n), forCustomer = false } = {}) {
  const d = e.data || {};
  const items = (lines) => (lines || []).map((l) => `${l.quantity} × ${l.sku}`).join(', ');
  switch (e.type) {
    case 'placed': return d.placed_at_store_id && !forCustomer ? `Order placed in store at ${d.placed_at_store_id}` : 'Order placed';
    case 'stock_reserved': return 'Items reserved at the store';
    case 'no_stock': return 'The store did not have every item';
    case 'pick_requested': return forCustomer ? 'Sent to the store' : `Sent to ${d.store_id || 'the store'} to pick`;
    case 'pick_overdue': return forCustomer ? 'Taking a little longer than usual' : 'Pick overdue';
    case 'pick_escalated': return forCustomer ? 'Taking longer than usual' : 'Pick escalated';
    case 'pick_task_withdrawn': return forCustomer ? 'The store stopped preparing it' : 'Pick task withdrawn';
    case 'picked': return d.lines ? `Picked: ${items(d.lines)}` : 'Picked';
    case 'short_picked': return 'Some items could not be found';
    case 'ready_for_collection': return 'Ready to collect';
    case 'collected': return (d.collected_by && d.collected_by.name && !forCustomer ? `Collected by ${d.collected_by.name} (${d.collected_by.relation})` : 'Collected')
      + (d.curbside && !forCustomer && typeof d.wait_seconds === 'number' ? `, at the car after ${waitWords(d.wait_seconds)}` : '');
    case 'lines_refused': return `Refused at the counter${d.lines ? `: ${items(d.lines)}` : ''}`;
    case 'pickup_reminder_sent': return 'Reminder sent';
    case 'pickup_extended': return 'Pickup extended';
    case 'pickup_code_locked': return 'Too many wrong pickup codes: handover locked for a while';
    case 'looked_up_for_return': return forCustomer ? 'Looked up at a store for a return' : `Looked up for a return at ${d.store_id || 'another store'}`;
    case 'customer_notified': return forCustomer ? `We sent you a message${d.template ? ` (${String(d.template).replace(/_/g, ' ')})` : ''}` : `Customer notified${d.template ? `: ${String(d.template).replace(/_/g, ' ')}` : ''}`;
    case 'payment_captured': return d.amount ? `Payment taken: ${fmt(d.amount)}` : 'Payment taken';
    case 'payment_voided': return d.amount ? `Payment released: ${fmt(d.amount)}` : 'Payment released';
    case 'payment_refunded': return d.amount ? `Refunded: ${fmt(d.amount)}` : 'Refunded';
    case 'price_adjusted': return 'Price adjusted';
    case 'stock_released': return forCustomer ? 'Items put back' : 'Stock released';
    case 'store_rejected': return forCustomer ? 'The store could not prepare it' : `Rejected by the store${d.reason ? `: ${d.reason}` : ''}`;
    case 'reassigned': return forCustomer ? 'Moved to another store' : `Moved to ${d.to || d.store_id || 'another store'}`;
    case 'rejected': return 'No store could fulfil the order';
    case 'cancelled': return `Cancelled${d.reason && !forCustomer ? `: ${d.reason}` : ''}`;
    case 'expired': return 'Not collected in time';
    case 'returned': return d.refund ? `Returned, ${fmt(d.refund)} refunded` : 'Returned';
    case 'exchanged': return 'Exchanged';
    case 'restocked': return forCustomer ? '' : 'Returned items back on sale';
    case 'written_off': return forCustomer ? '' : 'Damaged items written off';
    case 'return_window_closed': return 'Return window closed';
    case 'fulfilment_created': return forCustomer ? '' : `${d.type === 'transfer' ? 'Transfer' : 'Shipment'} to be sent from ${d.location_id || 'a location'}${d.lines ? `: ${items(d.lines)}` : ''}`;
    case 'fulfilment_cancelled': return forCustomer ? '' : `Part of the order cancelled${d.reason ? ` (${String(d.reason).replace(/_/g, ' ')})` : ''}`;
    case 'shipped': return forCustomer
      ? `Parcel on its way${d.tracking_number ? `, tracking number ${d.tracking_number}` : ''}`
      : `Shipped from ${d.store_id || 'the store'}${d.tracking_number ? `, tracking ${d.tracking_number}` : ''}${d.parcels > 1 ? ` (${d.parcels} parcels)` : ''}`;
    case 'tracking_updated': return `Parcel ${String(d.status || 'updated').replace(/_/g, ' ')}${d.tracking_number && !forCustomer ? ` (${d.tracking_number})` : ''}`;
    case 'delivered': return `Parcel delivered${d.tracking_number && !forCustomer ? ` (${d.tracking_number})` : ''}`;
    case 'delivery_failed': return forCustomer ? 'The carrier could not deliver your parcel: they will try again' : `Delivery attempt failed${d.tracking_number ? ` (${d.tracking_number})` : ''}`;
    case 'returned_to_sender': return d.refund ? `Parcel returned to sender, ${fmt(d.refund)} refunded` : 'Parcel returned to sender';
    case 'transfer_requested': return forCustomer
      ? `Items are being brought to the store${d.expected_at ? `, expected ${when(d.expected_at)}` : ''}`
      : `Transfer requested from ${d.from_location_id || 'another location'} to ${d.store_id || 'the store'}${d.lines ? `: ${items(d.lines)}` : ''}`;
    case 'transfer_dispatched': return forCustomer ? 'Items on their way to the store' : `Transfer sent from ${d.from_location_id || 'another location'} to ${d.store_id || 'the store'}`;
    case 'transfer_received': return forCustomer ? 'Items arrived at the store' : `Transfer received from ${d.from_location_id || 'another location'}`;
    case 'transfer_short': return forCustomer ? '' : `Transfer short from ${d.from_location_id || 'another location'}${d.missing ? `: ${items(d.missing)} not found` : ''}`;
    case 'transfer_overdue': return forCustomer ? 'Your items are taking longer than expected to reach the store' : `Transfer from ${d.from_location_id || 'another location'} is overdue (expected ${d.expected_at ? when(d.expected_at) : 'earlier'})`;
    case 'customer_contacted': {
      const how = { phone: 'by phone', chat: 'by chat', email: 'by email', social: 'on social media', store: 'in a store' }[d.contact_channel] || '';
      return forCustomer ? `You contacted us${how ? ` ${how}` : ''}` : `Customer contacted us${how ? ` ${how}` : ''}${d.summary ? `: ${d.summary}` : ''}`;
    }
    case 'customer_arrived': return forCustomer
      ? `You told us you are here${d.bay ? `, bay ${d.bay}` : ''}`
      : `Customer arrived for curbside pickup${d.bay ? `, bay ${d.bay}` : ''}${d.vehicle ? `, ${d.vehicle}` : ''}`;
    default: return e.type.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
  }
}

// productName is how people recognise an order line: its product's name and
// variant when the checkout gave them, else its SKU.
export function productName(line) {
  if (!line || !line.name) return line ? line.sku : '';
  return line.variant ? `${line.name} (${line.variant})` : line.name;
}

// productCell is a line's product for a table's row heading: the name, with
// the SKU beside it for staff when there is a name.
export function productCell(line, ...extra) {
  return h('th', { scope: 'row' }, productName(line), line.name ? h('span', { class: 'hint' }, line.sku) : null, ...extra);
}

// ---- What every console page does alike ----

// loadSession reads a console's signed-in session from sessionStorage.
export function loadSession(storageKey) {
  try {
    return JSON.parse(sessionStorage.getItem(storageKey)) || null;
  } catch {
    return null;
  }
}

// announceTo says text through a live region: emptied first, so that the
// same words said twice are announced twice.
export function announceTo(region, text) {
  region.textContent = '';
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

// focusHeading moves the focus to the page's heading after a route change.
export function focusHeading(view) {
  const heading = view.querySelector('h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

// plainError is an error of the page itself, shown like an API error.
export function plainError(message) {
  const e = new Error(message);
  e.plain = true;
  return e;
}

// busy runs an action from a button: disabled while it runs; its error is
// shown in err, next to the button.
export async function busy(button, err, fn) {
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
