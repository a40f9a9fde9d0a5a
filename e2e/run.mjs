// Browser tests of the store console and the customer's order page, in
// Debian's Chromium through playwright-core. internal/integration's
// TestBrowser starts Omni, places the orders and runs:
//
//   node e2e/run.mjs <config.json>
//
// The config names Omni's base URL, the keys, the store, the order to work
// (awaiting pick, with a customer token), the SKUs and where screenshots go.
// Without a token the script looks the order up by number and email. What
// the browser placed itself (the endless-aisle order) is written to
// cfg.results, for the Go test to check through the API.
// Exit status 0: every check passed.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const base = cfg.baseURL.replace(/\/$/, '');
const executablePath = cfg.chromium || process.env.OMNI_CHROMIUM || '/usr/bin/chromium';
const WIDTH = 768;
const started = Date.now();
let passed = 0;
let failed = 0;

function log(...args) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`, ...args);
}

async function step(name, fn) {
  const t = Date.now();
  try {
    await fn();
    passed++;
    log(`ok   ${name} (${Date.now() - t} ms)`);
  } catch (err) {
    failed++;
    log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
    throw err;
  }
}

async function call(method, path, key, body, headers = {}) {
  return callAt(base, method, path, key, body, headers);
}

// callAt calls the API of the Omni at root (the one with clocks in seconds).
async function callAt(root, method, path, key, body, headers = {}) {
  const res = await fetch(root + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return data;
}

async function shot(page, name, opts = {}) {
  if (!cfg.screenshots) return;
  mkdirSync(cfg.screenshots, { recursive: true });
  const path = join(cfg.screenshots, `${name}.png`);
  if (opts.locator) await opts.locator.screenshot({ path, animations: 'disabled' });
  else await page.screenshot({ path, fullPage: opts.fullPage !== false, animations: 'disabled' });
  log(`     screenshot ${path}`);
}

// Console errors a step provokes on purpose (an answer it makes get lost),
// each expected once.
const expectedConsoleErrors = [];

// watch fails the run on script errors, CSP violations and any request that
// leaves Omni (no CDN: every asset is Omni's own).
function watch(page, label, problems, origin = base) {
  page.on('pageerror', (err) => problems.push(`${label}: page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return; // expected API refusals
    const expected = expectedConsoleErrors.findIndex((re) => re.test(text));
    if (expected >= 0) {
      expectedConsoleErrors.splice(expected, 1);
      return;
    }
    problems.push(`${label}: console error: ${text}`);
  });
  page.on('request', (req) => {
    const u = req.url();
    if (!u.startsWith(`${origin}/`) && !u.startsWith('data:')) problems.push(`${label}: request outside Omni: ${u}`);
  });
}

// touchSized checks that every visible control is at least 44 px high (and
// the buttons at least 44 px wide), and that the page does not scroll sideways.
async function touchSized(page, label) {
  const small = await page.$$eval('button, input:not([type=radio]):not([type=checkbox]), select, a.button', (els) => els
    .filter((el) => el.offsetParent !== null)
    .map((el) => ({ el: `${el.tagName.toLowerCase()}#${el.id || ''} ${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30)}`, r: el.getBoundingClientRect() }))
    .filter(({ el, r }) => r.height < 44 || (el.startsWith('button') && r.width < 44))
    .map(({ el, r }) => `${el} ${Math.round(r.width)}x${Math.round(r.height)}`));
  assert.deepEqual(small, [], `${label}: controls smaller than 44 px`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${label}: the page scrolls sideways by ${overflow}px at ${WIDTH}px`);
}

// unlabelled lists form controls without an accessible name.
async function unlabelled(page) {
  return page.$$eval('input, select, textarea', (els) => els
    .filter((el) => el.offsetParent !== null && el.type !== 'hidden')
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
    .map((el) => el.id || el.name || el.outerHTML.slice(0, 60)));
}

// openOrder shows an order in the console, as its link in a list would.
async function openOrder(page, o) {
  await page.evaluate((id) => { location.hash = `#/order/${encodeURIComponent(id)}`; }, o.id);
  await page.getByRole('heading', { name: `Order ${o.number}` }).waitFor();
}

async function decodeQR(locator) {
  const png = PNG.sync.read(await locator.screenshot());
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  return code && code.data;
}

async function main() {
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: apt-get install -y chromium`);
  const { store } = cfg;
  const A = cfg.order;
  if (!A.token) {
    const r = await fetch(`${base}/v1/orders/lookup`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ number: A.number, email: A.email }),
    });
    assert.equal(r.status, 200, `lookup: ${await r.clone().text()}`);
    A.token = (await r.json()).token;
  }
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  log(`Chromium ${browser.version()} against ${base}`);
  const problems = [];
  try {
    const customerCtx = await browser.newContext({ viewport: { width: WIDTH, height: 1024 }, locale: 'en-GB', timezoneId: 'Europe/London' });
    const staffCtx = await browser.newContext({ viewport: { width: WIDTH, height: 1024 }, locale: 'en-GB', timezoneId: 'Europe/London', hasTouch: true });
    const customer = await customerCtx.newPage();
    const console_ = await staffCtx.newPage();
    watch(customer, 'customer page', problems);
    watch(console_, 'console', problems);
    // Every action the console posts, with its Idempotency-Key.
    const posts = [];
    console_.on('request', (req) => {
      if (req.method() === 'POST') posts.push({ path: new URL(req.url()).pathname, key: req.headers()['idempotency-key'] });
    });
    customer.setDefaultTimeout(15000);
    console_.setDefaultTimeout(15000);

    await step('the customer page shows the order being prepared', async () => {
      await customer.goto(`${base}/o/${A.token}`);
      await customer.locator('#status-word[data-status="awaiting_pick"]').waitFor();
      assert.equal(await customer.locator('#status-word').textContent(), 'Being prepared');
      await customer.getByText(cfg.storeName).first().waitFor();
      await customer.getByRole('button', { name: 'Cancel my order' }).waitFor();
      // A marker that a reload would lose: the page must update in place.
      await customer.evaluate(() => { window.omniNoReload = true; });
      const headers = (await customer.request.get(`${base}/o/${A.token}`)).headers();
      assert.match(headers['content-security-policy'] || '', /default-src 'none'/, 'the page has a strict CSP');
      assert.equal(headers['referrer-policy'], 'no-referrer');
    });

    await step('a store associate signs in with the keyboard only', async () => {
      await console_.goto(`${base}/console/`);
      await console_.getByLabel('Store staff key').waitFor();
      await shot(console_, 'console-sign-in');
      // The key field has the focus; type, Tab to the name, type, Enter submits.
      await console_.keyboard.type(cfg.keys.store);
      await console_.keyboard.press('Tab');
      await console_.keyboard.type('Sam (e2e)');
      await console_.keyboard.press('Enter');
      await console_.locator('#store-name', { hasText: cfg.storeName }).waitFor();
      await console_.locator(`[data-order-id="${A.id}"]`).waitFor();
      await console_.locator('#live', { hasText: 'Live' }).waitFor();
      await console_.evaluate(() => { window.omniNoReload = true; });
    });

    await step('a new web order appears in the queue without a reload', async () => {
      const id = `${A.id}-live`;
      await call('POST', '/v1/orders', cfg.keys.checkout, {
        id, channel: 'web',
        customer: { id: 'c-e2e-2', email: 'grace@example.com', name: 'Grace Hopper' },
        currency: 'GBP', fulfilment: { type: 'collect', store_id: store },
        lines: [{ sku: cfg.skus.tee, quantity: 1, unit_price: 1999 }],
        payment: { method: 'card', reference: `psp-${id}`, amount: 1999 },
      }, { 'Idempotency-Key': `e2e-${id}` });
      const row = console_.locator(`[data-order-id="${id}"]`);
      await row.waitFor({ timeout: 20000 });
      await row.locator('.badge.new').waitFor();
      assert.equal(await console_.evaluate(() => window.omniNoReload), true, 'the console did not reload');
      await touchSized(console_, 'queue');
      await shot(console_, 'console-queue');
      const ready = console_.getByRole('tab', { name: /Ready/ });
      await ready.click();
      await console_.locator('#queue-list .empty, #queue-list .orders').first().waitFor();
      await console_.getByRole('tab', { name: /Awaiting pick/ }).click();
    });

    await step('the order view shows lines, history and the pick form', async () => {
      await console_.locator(`[data-order-id="${A.id}"]`).click();
      await console_.getByRole('heading', { name: `Order ${A.number}` }).waitFor();
      assert.equal(await console_.locator('#order-status').getAttribute('data-status'), 'awaiting_pick');
      await console_.locator('#timeline li[data-type="pick_requested"]').waitFor();
      await console_.getByRole('button', { name: 'Confirm pick' }).waitFor();
      assert.deepEqual(await unlabelled(console_), [], 'every control of the order view has a label');
      await touchSized(console_, 'order view');
      await shot(console_, 'console-order');
    });

    await step('the associate picks everything (keyboard: focus the button, Enter)', async () => {
      for (const sku of [cfg.skus.tee, cfg.skus.mug]) {
        const input = console_.locator(`#order-actions input[id^="pick-"][data-sku="${sku}"]`);
        assert.equal(await input.inputValue(), String(A.lines[sku]), `found quantity of ${sku} defaults to what was ordered`);
      }
      // A short pick is explained before it is confirmed.
      await console_.getByRole('button', { name: `One fewer: ${cfg.skus.mug}` }).click();
      await console_.locator('#pick-summary', { hasText: 'Short pick' }).waitFor();
      await console_.getByRole('button', { name: `One more: ${cfg.skus.mug}` }).click();
      await console_.locator('#pick-summary', { hasText: 'All 3 items found' }).waitFor();
      await console_.getByRole('button', { name: 'Confirm pick' }).focus();
      await console_.keyboard.press('Enter');
      await console_.locator('#order-status[data-status="ready_for_collection"]').waitFor();
      await console_.locator('#flash', { hasText: 'ready for collection' }).waitFor();
      const picks = posts.filter((p) => p.path.endsWith('/pick'));
      assert.equal(picks.length, 1);
      assert.match(picks[0].key || '', /^[0-9a-f-]{36}$/, 'the pick carries an Idempotency-Key');
    });

    let code = '';
    await step('the customer page turns ready, live, with the code as text and QR code', async () => {
      await customer.locator('#status-word[data-status="ready_for_collection"]').waitFor();
      assert.equal(await customer.evaluate(() => window.omniNoReload), true, 'the customer page did not reload');
      code = (await customer.locator('#pickup-code').textContent()).trim();
      assert.match(code, /^[A-Z0-9]{8}$/, 'an 8-character pickup code');
      const qr = customer.locator('#pickup-qr');
      assert.equal(await decodeQR(qr), code, 'the QR code reads as the pickup code');
      assert.match(await qr.getAttribute('aria-label'), /QR code of your pickup code/);
      await customer.locator('#timeline li[data-type="ready_for_collection"]').waitFor();
      assert.equal(await customer.getByRole('button', { name: 'Cancel my order' }).count(), 0, 'no cancelling once picked');
      await touchSized(customer, 'customer page');
      await shot(customer, 'customer-ready');
    });

    await step('a wrong pickup code is refused, in plain words, next to the handover', async () => {
      const wrong = code.startsWith('Z') ? 'YYYY2222' : 'ZZZZ2222';
      await console_.getByLabel('Pickup code').fill(wrong.toLowerCase());
      assert.equal(await console_.getByLabel('Pickup code').inputValue(), wrong, 'the code is upper-cased as typed');
      await console_.getByRole('button', { name: 'Hand over', exact: true }).click();
      const err = console_.locator('#collect-error');
      await err.waitFor({ state: 'visible' });
      assert.match(await err.textContent(), /pickup code does not match this order/);
      assert.equal(await err.getAttribute('role'), 'alert');
      // The error sits in the handover form, under its button.
      const inForm = await err.evaluate((el) => el.closest('form') === document.getElementById('collect-submit').closest('form'));
      assert.ok(inForm, 'the error is shown in the handover form');
      assert.equal(await console_.locator('#order-status').getAttribute('data-status'), 'ready_for_collection');
      await shot(console_, 'console-collect-error', { locator: console_.locator('form', { has: console_.locator('#collect-submit') }) });
    });

    await step('the associate hands over against the right code; the customer page shows collected, live', async () => {
      await console_.getByLabel('Pickup code').fill(code);
      assert.equal(await console_.getByLabel('Name of the person collecting').inputValue(), A.customerName);
      await console_.getByRole('button', { name: 'Hand over', exact: true }).click();
      await console_.locator('#order-status[data-status="collected"]').waitFor();
      await console_.locator('#flash', { hasText: `Handed over to ${A.customerName}` }).waitFor();
      assert.equal(await console_.locator('#collect-error').count(), 0, 'the handover form is gone');
      await customer.locator('#status-word[data-status="collected"]').waitFor();
      assert.equal(await customer.locator('#status-word').textContent(), 'Collected');
      assert.equal(await customer.evaluate(() => window.omniNoReload), true, 'the customer page did not reload');
      await customer.locator('#timeline li[data-type="collected"]').waitFor();
      await shot(customer, 'customer-collected');
      const o = await call('GET', `/v1/orders/${A.id}`, cfg.keys.store);
      assert.equal(o.status, 'collected');
      const collects = posts.filter((p) => p.path.endsWith('/collect'));
      assert.equal(collects.length, 2, 'the wrong code, then the right one');
      assert.ok(collects.every((p) => p.key), 'each handover carries an Idempotency-Key');
      assert.notEqual(collects[0].key, collects[1].key, 'a new press with a new code is a new action, with a new key');
    });

    await step('a return through the console', async () => {
      await console_.getByRole('heading', { name: 'Return', exact: true }).waitFor();
      await console_.getByRole('button', { name: `One more: ${cfg.skus.tee} brought back` }).first().click();
      const form = console_.locator('form', { has: console_.getByRole('heading', { name: 'Return', exact: true }) });
      await form.locator(`input[id^="return-reason"][data-sku="${cfg.skus.tee}"]`).fill('Too small');
      await form.locator(`select[id^="return-condition"][data-sku="${cfg.skus.tee}"]`).selectOption('resellable');
      await console_.locator('#return-summary', { hasText: 'refund £19.99' }).waitFor();
      await shot(console_, 'console-return', { locator: form });
      // Omni takes the first try, but its answer is lost on the way (the
      // till sees a 503): the console tries again with the same key and gets
      // the first return, not a second one.
      const keys = [];
      let lost = false;
      await console_.route('**/returns', async (route) => {
        keys.push(route.request().headers()['idempotency-key']);
        if (lost) return route.continue();
        lost = true;
        expectedConsoleErrors.push(/status of 503/);
        const first = await route.fetch();
        assert.equal(first.status(), 201, `Omni took the first try: ${await first.text()}`);
        return route.fulfill({
          status: 503, contentType: 'application/problem+json', headers: { 'Retry-After': '1' },
          body: JSON.stringify({ type: 'urn:omni:problem:timeout', title: 'Service Unavailable', status: 503, detail: 'the order did not answer in time; retry the request' }),
        });
      });
      const replayed = console_.waitForResponse((r) => r.url().endsWith('/returns') && r.status() === 201);
      await console_.getByRole('button', { name: 'Take return' }).click();
      await console_.locator('#flash', { hasText: 'Return recorded: £19.99 refunded' }).waitFor();
      assert.equal((await (await replayed).allHeaders())['idempotent-replayed'], 'true', 'the retry is answered with the first return');
      await console_.unroute('**/returns');
      assert.equal(keys.length, 2, 'the console tried twice');
      assert.ok(keys[0] && keys[0] === keys[1], 'with one Idempotency-Key');
      await console_.locator('#order-status[data-status="partially_returned"]').waitFor();
      const o = await call('GET', `/v1/orders/${A.id}`, cfg.keys.store);
      assert.equal(o.status, 'partially_returned');
      const tee = o.lines.find((l) => l.sku === cfg.skus.tee);
      assert.equal(tee.returned, 1);
      assert.equal(o.returns.length, 1);
      assert.deepEqual(o.returns[0].lines, [{ sku: cfg.skus.tee, quantity: 1, reason: 'Too small', condition: 'resellable' }]);
      assert.equal(o.returns[0].refund, 1999);
      await console_.locator('#timeline li[data-type="returned"]').waitFor();
    });

    await step('an exchange through the console, with the difference shown before confirming', async () => {
      const form = console_.locator('form', { has: console_.getByRole('heading', { name: 'Exchange', exact: true }) });
      await form.getByRole('button', { name: `One more: ${cfg.skus.mug} brought back` }).click();
      await form.locator(`input[id^="exchange-back-reason"][data-sku="${cfg.skus.mug}"]`).fill('Wrong colour');
      await form.locator(`select[id^="exchange-back-condition"][data-sku="${cfg.skus.mug}"]`).selectOption('damaged');
      await form.getByLabel('New item (SKU)').fill(cfg.skus.newMug);
      await form.getByLabel('New item (SKU)').press('Tab');
      await form.locator('#exchange-stock-0', { hasText: 'available in this store' }).waitFor();
      await form.getByLabel('Quantity').fill('1');
      await form.getByLabel(/Price each/).fill('10.99');
      const diff = console_.locator('#exchange-difference');
      await console_.locator('#exchange-difference[data-difference="200"]').waitFor();
      assert.equal(await diff.textContent(), 'Customer pays £2.00');
      await form.getByRole('button', { name: 'Confirm exchange · customer pays £2.00' }).waitFor();
      // The order's payment was captured in full at the handover: the till takes the difference.
      await form.getByLabel(/Payment reference/).waitFor({ state: 'visible' });
      // Confirming without the till's reference is stopped in the form.
      await form.getByRole('button', { name: /Confirm exchange/ }).click();
      await console_.locator('#exchange-error', { hasText: 'payment reference' }).waitFor();
      await form.getByLabel(/Payment reference/).fill('till-e2e-42');
      assert.deepEqual(await unlabelled(console_), [], 'every control of the exchange has a label');
      await touchSized(console_, 'exchange form');
      await shot(console_, 'console-exchange', { locator: form });
      await form.getByRole('button', { name: /Confirm exchange/ }).click();
      await console_.locator('#flash', { hasText: 'Exchange done: the customer paid £2.00' }).waitFor();
      const o = await call('GET', `/v1/orders/${A.id}`, cfg.keys.store);
      assert.equal(o.exchanges.length, 1);
      const x = o.exchanges[0];
      assert.equal(x.difference, 200);
      assert.equal(x.charged, 200);
      assert.deepEqual(x.new_lines, [{ sku: cfg.skus.newMug, quantity: 1, unit_price: 1099 }]);
      assert.deepEqual(x.return_lines, [{ sku: cfg.skus.mug, quantity: 1, reason: 'Wrong colour', condition: 'damaged' }]);
      assert.equal(x.tender, 'till-e2e-42');
      assert.equal(o.lines.find((l) => l.sku === cfg.skus.mug).returned, 1);
      assert.equal(o.lines.find((l) => l.sku === cfg.skus.newMug).collected, 1);
      await console_.locator('#timeline li[data-type="exchanged"]').waitFor();
      await customer.locator('#timeline li[data-type="exchanged"]').waitFor();
      await customer.locator('#status-word[data-status="partially_returned"]').waitFor();
    });

    await step('the API refusals show in plain words (order not found)', async () => {
      await console_.goto(`${base}/console/#/queue/awaiting`);
      await console_.getByLabel(/Find an order by number/).fill('99999999');
      await console_.getByRole('button', { name: 'Find', exact: true }).click();
      await console_.locator('[role="search"] .error', { hasText: 'There is no such order' }).waitFor();
      await console_.getByLabel(/Find an order by number/).fill(A.number);
      await console_.getByRole('button', { name: 'Find', exact: true }).click();
      await console_.getByRole('heading', { name: `Order ${A.number}` }).waitFor();
    });

    await step('the associate rejects an order with a reason; it moves to the next store with stock', async () => {
      const R = cfg.reject;
      await openOrder(console_, R);
      await console_.locator('#order-status[data-status="awaiting_pick"]').waitFor();
      // Rejecting without a reason is stopped in the form.
      await console_.getByRole('button', { name: 'Reject order' }).click();
      await console_.locator('#reject-error', { hasText: 'Give a reason for rejecting the order.' }).waitFor();
      assert.equal(await console_.getByLabel('Reason', { exact: true }).getAttribute('aria-invalid'), 'true');
      await console_.getByLabel('Reason', { exact: true }).fill('Items damaged');
      // The console reads the order again on its new events, and this store may no longer see it (404).
      const reread = console_.waitForResponse((r) => new URL(r.url()).pathname === `/v1/orders/${R.id}` && r.status() === 404);
      await console_.getByRole('button', { name: 'Reject order' }).click();
      await console_.locator('#flash', { hasText: `Rejected: the order has moved to Manchester Arndale (${R.to}).` }).waitFor();
      await reread;
      // The notice that names the new store stays.
      await console_.locator('.notice', { hasText: `for collection at ${R.to}: it can only be picked and handed over there` }).waitFor();
      assert.equal(await console_.getByRole('button', { name: 'Confirm pick' }).count(), 0, 'no pick form for another store');
      await console_.locator('#timeline li[data-type="rejected"], #timeline li[data-type="reassigned"]').first().waitFor();
      // Store staff no longer see it; the checkout that placed it does.
      const o = await call('GET', `/v1/orders/${R.id}`, cfg.keys.checkout);
      assert.equal(o.fulfilment.store_id, R.to, 'the order moved to Manchester');
      assert.equal(o.status, 'awaiting_pick');
      // It leaves this store's queue, live.
      await console_.getByRole('link', { name: /Back to the queue/ }).click();
      await console_.getByRole('tab', { name: /Awaiting pick/ }).waitFor();
      await console_.locator(`[data-order-id="${R.id}"]`).waitFor({ state: 'detached' });
    });

    const { socks, cap } = cfg.counterSkus;
    await step('a partial handover, then the rest', async () => {
      const P = cfg.partial;
      await openOrder(console_, P);
      await console_.locator('#order-status[data-status="ready_for_collection"]').waitFor();
      await console_.getByLabel('Pickup code').fill(P.code);
      await console_.getByRole('button', { name: `One fewer: hand over ${cap}` }).click();
      await console_.locator('#collect-summary', { hasText: 'Hand over 1 of 2 items. 1 stays here for the customer to collect later.' }).waitFor();
      await console_.getByRole('button', { name: 'Hand over', exact: true }).click();
      await console_.locator('#flash', { hasText: 'Handed over 1 item to Ada Lovelace; the rest stays here.' }).waitFor();
      await console_.locator('#order-status[data-status="partially_collected"]').waitFor();
      let o = await call('GET', `/v1/orders/${P.id}`, cfg.keys.store);
      assert.equal(o.status, 'partially_collected');
      assert.equal(o.lines.find((l) => l.sku === socks).collected, 1);
      assert.equal(o.lines.find((l) => l.sku === cap).collected, 0);
      // The rest: the handover form now holds the cap alone.
      assert.equal(await console_.locator(`#order-actions input[id^="collect-take-"][data-sku="${socks}"]`).count(), 0);
      await console_.locator('#collect-summary', { hasText: 'Hand over everything: 1 item.' }).waitFor();
      await console_.getByLabel('Pickup code').fill(P.code);
      await console_.getByRole('button', { name: 'Hand over', exact: true }).click();
      await console_.locator('#flash', { hasText: 'Handed over to Ada Lovelace. Payment has been taken.' }).waitFor();
      await console_.locator('#order-status[data-status="collected"]').waitFor();
      o = await call('GET', `/v1/orders/${P.id}`, cfg.keys.store);
      assert.equal(o.status, 'collected');
      assert.deepEqual(o.lines.map((l) => [l.sku, l.collected]).sort(), [[cap, 1], [socks, 1]]);
    });

    await step('a line refused at the counter: not charged, the order collected', async () => {
      const F = cfg.refused;
      await openOrder(console_, F);
      await console_.locator('#order-status[data-status="ready_for_collection"]').waitFor();
      await console_.getByLabel('Pickup code').fill(F.code);
      const why = console_.getByLabel('Why the customer refused');
      assert.equal(await why.isVisible(), false, 'no reason asked before anything is refused');
      await console_.getByRole('button', { name: `One fewer: hand over ${cap}` }).click();
      await console_.getByRole('button', { name: `One more: refused ${cap}` }).click();
      await why.fill('Box crushed');
      await console_.locator('#collect-summary', { hasText: 'Hand over 1 of 2 items. 1 refused: back on sale, not charged.' }).waitFor();
      await console_.getByRole('button', { name: 'Hand over', exact: true }).click();
      await console_.locator('#flash', { hasText: 'Handed over to Ada Lovelace. Payment has been taken.' }).waitFor();
      await console_.locator('#order-status[data-status="collected"]').waitFor();
      await console_.getByRole('row', { name: new RegExp(`^${cap}`) }).getByText('0 (1 refused)').waitFor();
      const o = await call('GET', `/v1/orders/${F.id}`, cfg.keys.store);
      assert.equal(o.status, 'collected');
      const c = o.lines.find((l) => l.sku === cap);
      assert.equal(c.refused, 1);
      assert.equal(c.collected, 0);
      assert.equal(o.lines.find((l) => l.sku === socks).collected, 1);
    });

    await step('a nominee collects: the console fills in their name, the history says nominee', async () => {
      const N = cfg.nominee;
      await openOrder(console_, N);
      await console_.locator('#order-status[data-status="ready_for_collection"]').waitFor();
      await console_.locator('.facts div', { hasText: 'Nominee (may collect)' }).getByText('Charles Babbage').waitFor();
      await console_.getByLabel('Pickup code').fill(N.code);
      const name = console_.getByLabel('Name of the person collecting');
      assert.equal(await name.inputValue(), 'Ada Lovelace');
      await console_.getByRole('radio', { name: 'Their nominee, Charles Babbage' }).check();
      assert.equal(await name.inputValue(), 'Charles Babbage');
      await console_.getByRole('button', { name: 'Hand over', exact: true }).click();
      await console_.locator('#flash', { hasText: 'Handed over to Charles Babbage. Payment has been taken.' }).waitFor();
      await console_.locator('#order-status[data-status="collected"]').waitFor();
      await console_.locator('#timeline li[data-type="collected"]').waitFor();
      const o = await call('GET', `/v1/orders/${N.id}`, cfg.keys.store);
      assert.equal(o.status, 'collected');
      const { events } = await call('GET', `/v1/orders/${N.id}/events`, cfg.keys.store);
      const collected = events.filter((e) => e.type === 'collected');
      assert.equal(collected.length, 1);
      assert.deepEqual(collected[0].data.collected_by, { name: 'Charles Babbage', relation: 'nominee' });
    });

    await step('another store finds a handed-over order by number: only what a return needs, and takes it back', async () => {
      const E = cfg.elsewhere;
      const page = await staffCtx.newPage();
      watch(page, 'console (another store)', problems);
      page.setDefaultTimeout(15000);
      try {
        await page.goto(`${base}/console/`);
        await page.getByLabel('Store staff key').fill(E.key);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.locator('#store-name', { hasText: E.storeName }).waitFor();
        const found = page.waitForResponse((r) => r.url().includes('/orders/by-number/') && r.status() === 200);
        await page.getByLabel(/Find an order by number/).fill(E.number);
        await page.getByRole('button', { name: 'Find', exact: true }).click();
        const raw = await (await found).text();
        for (const secret of E.secrets) assert.ok(!raw.includes(secret), `the answer has no ${secret}: ${raw}`);
        await page.getByRole('heading', { name: `Order ${E.number}` }).waitFor();
        await page.locator('#for-return-note').waitFor();
        await page.locator('#order-status[data-status="collected"]').waitFor();
        const form = page.locator('form', { has: page.getByRole('heading', { name: 'Return', exact: true }) });
        await form.getByRole('button', { name: `One more: ${E.sku} brought back` }).click();
        await form.locator(`input[id^="return-reason"][data-sku="${E.sku}"]`).fill('Too small');
        await page.locator('#return-summary', { hasText: 'refund £7.99' }).waitFor();
        await shot(page, 'console-return-another-store', { fullPage: true });
        await page.getByRole('button', { name: 'Take return' }).click();
        await page.locator('#flash', { hasText: 'Return recorded: £7.99 refunded' }).waitFor();
        await page.locator('#order-status[data-status="partially_returned"]').waitFor();
        // An exchange for a dearer item: this store cannot see what the
        // order's payment still covers, so Omni says when it must be paid here.
        const ex = page.locator('form', { has: page.getByRole('heading', { name: 'Exchange', exact: true }) });
        await ex.getByRole('button', { name: `One more: ${E.sku} brought back` }).click();
        await ex.locator(`input[id^="exchange-back-reason"][data-sku="${E.sku}"]`).fill('Wrong colour');
        await ex.getByLabel('New item (SKU)').fill(E.newSku);
        await ex.getByLabel(/Price each/).fill('14.99');
        await page.locator('#exchange-difference[data-difference="700"]').waitFor();
        assert.equal(await ex.getByLabel(/Payment reference/).isDisabled(), true, 'no payment asked before Omni asks for one');
        await ex.getByRole('button', { name: /Confirm exchange/ }).click();
        await page.locator('#exchange-error', { hasText: 'take the payment at the till' }).waitFor();
        await ex.getByLabel(/Payment reference/).fill('till-mcr-7');
        await ex.getByRole('button', { name: /Confirm exchange/ }).click();
        await page.locator('#flash', { hasText: 'Exchange done: the customer paid £7.00' }).waitFor();
        const shown = await page.locator('#view').innerText();
        for (const secret of E.secrets) assert.ok(!shown.includes(secret), `the page shows no ${secret}`);
        // The order's own store reads the look-up on the order's history.
        const { events } = await call('GET', `/v1/orders/${E.id}/events`, cfg.keys.store);
        const look = events.find((e) => e.type === 'looked_up_for_return');
        assert.ok(look, 'the look-up is on the history');
        assert.equal(look.data.store_id, E.store);
        assert.equal(look.channel, 'store_console');
        const back = events.find((e) => e.type === 'returned');
        assert.equal(back.data.store_id, E.store, 'taken back at the other store');
      } finally {
        await page.close();
      }
    });

    await step('a home delivery: the console picks this store’s lines, packs two parcels and ships; the tracking shows, also live on the customer’s page', async () => {
      const S = cfg.ship;
      const skus = Object.keys(S.lines);
      const tracking = await customerCtx.newPage();
      watch(tracking, 'customer page (delivery)', problems);
      tracking.setDefaultTimeout(15000);
      try {
        await tracking.goto(`${base}/o/${S.token}`);
        await tracking.locator('#status-word[data-status="awaiting_pick"]').waitFor();
        await tracking.getByRole('heading', { name: 'Delivery', exact: true }).waitFor();
        await tracking.locator('.facts div', { hasText: 'Deliver to' }).getByText('1 Road').waitFor();
        await tracking.evaluate(() => { window.omniNoReload = true; });

        // In the queue under Awaiting pick, as a home delivery.
        await console_.evaluate(() => { location.hash = '#/queue/awaiting'; });
        const row = console_.locator(`#queue-list [data-order-id="${S.id}"]`);
        await row.waitFor();
        assert.match(await row.innerText(), /home delivery/);
        await row.click();
        await console_.getByRole('heading', { name: `Order ${S.number}` }).waitFor();
        await console_.locator('.facts div', { hasText: 'Deliver to' }).getByText('1 Road', { exact: false }).waitFor();
        // Its fulfilment at this store, with its lines and status.
        const part = console_.locator('.fulfilment[data-type="ship"]');
        await part.locator('.badge', { hasText: 'Awaiting pick' }).waitFor();
        assert.match(await part.innerText(), /Home delivery from London Oxford Street \(this store\)/);
        // The pick lists this store's fulfilment lines, each found in full by default.
        await console_.getByRole('heading', { name: 'Pick for home delivery' }).waitFor();
        const inputs = console_.locator('#order-actions input[id^="pick-"]');
        assert.deepEqual((await inputs.evaluateAll((els) => els.map((e) => [e.dataset.sku, e.value]))).sort(),
          skus.map((k) => [k, String(S.lines[k])]).sort());
        assert.equal(await console_.getByRole('button', { name: 'Reject order' }).count(), 0, 'a shipment is not rejected: a short pick sources it again');
        await console_.getByRole('button', { name: 'Confirm pick' }).click();
        await console_.locator('#flash', { hasText: 'Picked 3 items: pack them and ship.' }).waitFor();
        await console_.locator('#order-status[data-status="picked"]').waitFor();
        await part.locator('.badge', { hasText: 'Picked: to pack' }).waitFor();

        // Pack & ship: one parcel by default; the associate makes it two.
        const form = console_.locator('form', { has: console_.getByRole('heading', { name: 'Pack & ship', exact: true }) });
        await console_.locator('#ship-summary', { hasText: 'Everything in one parcel: 3 items.' }).waitFor();
        await form.getByRole('button', { name: 'One more: parcels' }).click();
        await console_.locator('#ship-summary', { hasText: '2 parcels: 2 + 1 items.' }).waitFor();
        // An item in no parcel is stopped in the form, before anything is sent.
        const [lamp] = skus;
        await form.getByRole('button', { name: `One fewer: ${lamp} in parcel 2` }).click();
        await console_.locator('#ship-summary', { hasText: `${lamp}: 2 picked, 1 in parcels` }).waitFor();
        await form.getByRole('button', { name: 'Pack & ship', exact: true }).click();
        await console_.locator('#ship-error', { hasText: 'Put each picked item in exactly one parcel' }).waitFor();
        assert.equal(posts.filter((p) => p.path.endsWith('/ship')).length, 0, 'nothing sent');
        await form.getByRole('button', { name: `One more: ${lamp} in parcel 2` }).click();
        await console_.locator('#ship-summary', { hasText: '2 parcels: 2 + 1 items.' }).waitFor();
        await console_.locator('#ship-error').waitFor({ state: 'hidden' });
        assert.deepEqual(await unlabelled(console_), [], 'every control of the ship form has a label');
        await touchSized(console_, 'pack & ship');
        await shot(console_, 'console-pack-ship', { locator: form });
        const request = console_.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/ship'));
        await form.getByRole('button', { name: 'Pack & ship', exact: true }).click();
        const body = (await request).postDataJSON();
        assert.equal(body.parcels.length, 2, 'two parcels sent');
        const flash = console_.locator('#flash', { hasText: 'Shipped: tracking number' });
        await flash.waitFor();
        const number = (await flash.textContent()).match(/tracking number (\S+?)\./)[1];
        await console_.locator('#order-status[data-status="shipped"]').waitFor();
        const ships = posts.filter((p) => p.path.endsWith('/ship'));
        assert.equal(ships.length, 1);
        assert.match(ships[0].key || '', /^[0-9a-f-]{36}$/, 'the ship carries an Idempotency-Key');
        // The tracking, as the API has it, on the fulfilment.
        const o = await call('GET', `/v1/orders/${S.id}`, cfg.keys.store);
        const f = o.fulfilments.find((x) => x.type === 'ship');
        assert.equal(f.shipment.tracking_number, number);
        assert.equal(f.shipment.parcels, 2);
        const link = part.locator('a.tracking-number');
        assert.equal((await link.textContent()).trim(), number);
        if (f.shipment.tracking_url) assert.equal(await link.getAttribute('href'), f.shipment.tracking_url);
        await part.locator('.badge', { hasText: 'Shipped' }).waitFor();
        await console_.locator('#timeline li[data-type="shipped"]').waitFor();
        await shot(console_, 'console-shipped');

        // The customer's page turns "on its way", live, with the tracking.
        await tracking.locator('#status-word[data-status="shipped"]').waitFor();
        assert.equal(await tracking.evaluate(() => window.omniNoReload), true, 'the customer page did not reload');
        const parcel = tracking.locator('#shipments .shipment');
        await parcel.locator('.tracking-number', { hasText: number }).waitFor();
        await parcel.locator('.parcel-status[data-status="shipped"]', { hasText: 'With the carrier' }).waitFor();
        if (f.shipment.tracking_url) assert.equal(await parcel.locator('a.tracking-number').getAttribute('href'), f.shipment.tracking_url);
        await tracking.locator('#timeline li[data-type="shipped"]').waitFor();
        await touchSized(tracking, 'customer page (delivery)');
        await shot(tracking, 'customer-tracking');
      } finally {
        await tracking.close();
      }
    });

    await step('curbside: the customer says “I’m here” on their page; the console alerts live, with the bay and the car', async () => {
      const C = cfg.curbside;
      const page = await customerCtx.newPage();
      watch(page, 'customer page (curbside)', problems);
      page.setDefaultTimeout(15000);
      try {
        await console_.evaluate(() => { location.hash = '#/queue/ready'; });
        const row = console_.locator(`#queue-list [data-order-id="${C.id}"]`);
        await row.locator('.badge.curbside').waitFor();
        assert.equal(await console_.locator('#arrivals').isVisible(), false, 'no one has arrived yet');
        await console_.evaluate(() => { window.omniNoReload = true; });

        await page.goto(`${base}/o/${C.token}`);
        await page.locator('#status-word[data-status="ready_for_collection"]').waitFor();
        await page.getByLabel(/Bay number/).fill('7');
        await page.getByLabel(/Your car/).fill('Blue Volvo');
        assert.deepEqual(await unlabelled(page), [], 'every control of the customer page has a label');
        await touchSized(page, 'customer page (curbside)');
        await shot(page, 'customer-curbside');
        await page.getByRole('button', { name: 'I’m here' }).click();
        await page.locator('#arrived-done', { hasText: 'in bay 7 (Blue Volvo)' }).waitFor();
        await page.locator('#timeline li[data-type="customer_arrived"]').waitFor();

        // The console, without a reload: the alert with bay and car, read out.
        const alert = console_.locator(`#arrivals [data-order-id="${C.id}"]`);
        await alert.waitFor();
        assert.match(await alert.innerText(), /Bay 7/);
        assert.match(await alert.innerText(), /Blue Volvo/);
        const said = console_.locator('#arrival-announce');
        await said.filter({ hasText: `the customer for order ${C.number} has arrived, bay 7, Blue Volvo` }).waitFor();
        assert.equal(await said.getAttribute('aria-live'), 'assertive');
        await row.locator('.badge.arrived', { hasText: 'bay 7' }).waitFor();
        assert.equal(await console_.evaluate(() => window.omniNoReload), true, 'the console did not reload');
        await touchSized(console_, 'curbside alert');
        await shot(console_, 'console-curbside-arrival');
        const { events } = await call('GET', `/v1/orders/${C.id}/events`, cfg.keys.store);
        const arrived = events.filter((e) => e.type === 'customer_arrived');
        assert.equal(arrived.length, 1);
        assert.equal(arrived[0].data.bay, '7');
        assert.equal(arrived[0].data.vehicle, 'Blue Volvo');

        // The handover at the car, from the alert, with the same pickup-code rules.
        await console_.getByRole('link', { name: `Hand over order ${C.number} at the car` }).click();
        await console_.getByRole('heading', { name: `Order ${C.number}` }).waitFor();
        await console_.locator('#arrival-note', { hasText: 'bay 7, Blue Volvo' }).waitFor();
        await console_.getByRole('heading', { name: 'Hand over at the car' }).waitFor();
        await console_.getByLabel('Pickup code').fill(C.code);
        await console_.getByRole('button', { name: 'Hand over', exact: true }).click();
        await console_.locator('#flash', { hasText: 'Handed over to Ada Lovelace. Payment has been taken.' }).waitFor();
        await console_.locator('#order-status[data-status="collected"]').waitFor();
        await console_.locator('#timeline li[data-type="collected"]', { hasText: 'at the car after' }).waitFor();
        await console_.locator('#arrivals').waitFor({ state: 'hidden' });
        await page.locator('#status-word[data-status="collected"]').waitFor();
        assert.equal(await page.getByRole('button', { name: /I’m here|Update where I am/ }).count(), 0, 'no "I’m here" once collected');
      } finally {
        await page.close();
      }
    });

    await step('endless aisle: the associate orders for a customer in the store an item only another store has, for home delivery', async () => {
      const E = cfg.endless;
      const path = `/v1/stores/${store}/orders`;
      // New order, from the bar: its own route, which a reload opens again.
      await console_.getByRole('link', { name: 'New order', exact: true }).click();
      const heading = console_.getByRole('heading', { name: 'New order', exact: true, level: 1 });
      await heading.waitFor();
      assert.equal(await console_.evaluate(() => document.activeElement.id), 'new-title', 'the focus moves to the form’s heading');
      await console_.reload();
      await heading.waitFor();
      assert.equal(await console_.getByRole('link', { name: 'New order', exact: true }).getAttribute('aria-current'), 'page');
      await console_.getByText(`Placed by ${E.actor}`).waitFor();

      // The customer, the item (its list price filled in, none in this store), the total.
      await console_.getByLabel(/^Email/).fill('kate@example.com');
      await console_.getByLabel(/^Name/).fill('Kate Bush');
      await console_.getByLabel(/^Mobile phone/).fill('+44 7700 900123');
      await console_.getByLabel('SKU of item 1').fill(E.sku);
      await console_.getByLabel('SKU of item 1').press('Tab');
      await console_.locator('#new-stock-0', { hasText: 'None in this store' }).waitFor();
      assert.equal(await console_.getByLabel('Price each (£) of item 1').inputValue(), '45.00', 'the list price is filled in');
      await console_.getByLabel('Quantity of item 1').fill('2');
      const total = console_.locator('#new-total');
      await console_.locator('#new-total[data-total="9000"]').waitFor();
      assert.match(await total.textContent(), /Total to take at the till: £90\.00/);
      // Rows come and go; the focus follows.
      await console_.getByRole('button', { name: '+ Add another item' }).click();
      assert.equal(await console_.evaluate(() => document.activeElement.id), 'new-sku-1', 'the new row’s SKU has the focus');
      await console_.getByRole('button', { name: 'Remove item 2' }).click();
      assert.equal(await console_.locator('#new-lines .new-item').count(), 1);
      assert.equal(await console_.evaluate(() => document.activeElement.id), 'new-sku-0');
      assert.equal(await console_.getByRole('button', { name: /^Remove item/ }).isVisible(), false, 'the only item cannot be removed');
      await console_.locator('#new-total[data-total="9000"]').waitFor();

      // Collection at another store lists the other stores; home delivery it is.
      const delivery = console_.getByRole('radio', { name: 'Home delivery' });
      assert.equal(await delivery.isChecked(), true, 'home delivery by default');
      await console_.getByRole('radio', { name: 'Collect at another store' }).check();
      const where = console_.getByLabel(/^Collection store/);
      await where.waitFor();
      const stores = await where.locator('option').evaluateAll((os) => os.map((o) => o.value));
      assert.ok(stores.includes(E.from) && !stores.includes(store), `the other stores to collect at: ${stores}`);
      await delivery.check();
      await where.waitFor({ state: 'hidden' });
      assert.equal(await console_.getByLabel('Deliver to (name)').inputValue(), 'Kate Bush', 'the name to deliver to follows the customer’s');
      await console_.getByLabel('Address line 1').fill('1 Market Street');
      await console_.getByLabel('Town or city').fill('Manchester');
      await console_.getByLabel('Delivery', { exact: true }).selectOption('express');
      await console_.getByLabel(/^Card payment reference/).fill('till-ldn-88');
      assert.deepEqual(await unlabelled(console_), [], 'every control of the new order form has a label');
      await touchSized(console_, 'new order');
      await shot(console_, 'console-new-order');

      // The postcode is missing: Omni refuses it, and the console says so next to the postcode.
      const refused = console_.waitForResponse((r) => new URL(r.url()).pathname === path && r.request().method() === 'POST');
      await console_.getByRole('button', { name: 'Place order · £90.00' }).click();
      assert.equal((await refused).status(), 422, 'Omni checks the order');
      const postcode = console_.getByLabel('Postcode');
      const said = console_.locator('#new-address-postcode-error');
      await said.filter({ hasText: 'Enter the postcode.' }).waitFor();
      assert.equal(await postcode.getAttribute('aria-invalid'), 'true');
      assert.equal(await postcode.getAttribute('aria-describedby'), 'new-address-postcode-error', 'the error is tied to its field');
      assert.equal(await console_.evaluate(() => document.activeElement.id), 'new-address-postcode', 'the focus moves to the field at fault');
      await console_.locator('#new-error', { hasText: 'Check the field marked below' }).waitFor();
      await shot(console_, 'console-new-order-error', { locator: console_.locator('#new-ship') });
      await postcode.fill('M1 1AE');
      await said.waitFor({ state: 'hidden' });
      assert.equal(await postcode.getAttribute('aria-invalid'), null, 'fixed: no longer marked');

      // Omni places it, but its answer is lost on the way: the console tries
      // again with the same key and gets the same order, not a second one.
      const keys = [];
      let lost = false;
      await console_.route(`**${path}`, async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        keys.push(route.request().headers()['idempotency-key']);
        if (lost) return route.continue();
        lost = true;
        expectedConsoleErrors.push(/status of 503/);
        const first = await route.fetch();
        assert.equal(first.status(), 201, `Omni placed it: ${await first.text()}`);
        return route.fulfill({
          status: 503, contentType: 'application/problem+json', headers: { 'Retry-After': '1' },
          body: JSON.stringify({ type: 'urn:omni:problem:timeout', title: 'Service Unavailable', status: 503, detail: 'retry the request' }),
        });
      });
      const replayed = console_.waitForResponse((r) => new URL(r.url()).pathname === path && r.status() === 201);
      await console_.getByRole('button', { name: 'Place order · £90.00' }).click();
      const answer = await replayed;
      const o = await answer.json();
      assert.equal((await answer.allHeaders())['idempotent-replayed'], 'true', 'the retry is answered with the order placed first');
      await console_.unroute(`**${path}`);
      const placedHeading = console_.getByRole('heading', { name: `Order ${o.number} placed` });
      await placedHeading.waitFor();
      assert.equal(await console_.evaluate(() => document.activeElement.id), 'new-placed-title', 'the focus moves to the result');
      assert.equal(keys.length, 2, 'the console tried twice');
      assert.ok(keys[0] && keys[0] === keys[1], 'with one Idempotency-Key');
      const sent = posts.filter((p) => p.path === path);
      assert.equal(sent.length, 3, 'the refused order, then the placed one and its retry');
      assert.ok(sent.every((p) => /^[0-9a-f-]{36}$/.test(p.key || '')), 'each carries an Idempotency-Key');
      assert.notEqual(sent[0].key, sent[1].key, 'the fixed order is a new attempt, with a new key');
      assert.equal(o.channel, 'store');
      assert.equal(o.placed_at_store_id, store);
      await touchSized(console_, 'new order placed');
      await shot(console_, 'console-new-order-placed');
      writeFileSync(cfg.results, JSON.stringify({ endless: { id: o.id, number: o.number } }));

      // The link opens the order: sent from the store that has it, placed here, by the associate.
      await console_.getByRole('link', { name: `Open order ${o.number}` }).click();
      await console_.getByRole('heading', { name: `Order ${o.number}` }).waitFor();
      await console_.locator('.facts div', { hasText: 'Placed in store' }).getByText(`${cfg.storeName} (this store)`).waitFor();
      await console_.locator('.facts div', { hasText: 'Deliver to' }).getByText('M1 1AE', { exact: false }).waitFor();
      await console_.locator('.fulfilment[data-type="ship"]', { hasText: `(${E.from})` }).waitFor();
      const placed = console_.locator('#timeline li[data-type="placed"]');
      await placed.waitFor();
      assert.match(await placed.innerText(), new RegExp(`Order placed in store at ${store}[\\s\\S]*in store · ${E.actor.replace(/[()]/g, '\\$&')}`));
    });

    await step('a pick past its deadline shows under Overdue (Omni with clocks in seconds)', async () => {
      const K = cfg.clocks;
      const root = K.baseURL.replace(/\/$/, '');
      const page = await staffCtx.newPage();
      watch(page, 'console (clocks)', problems, root);
      page.setDefaultTimeout(15000);
      try {
        await page.goto(`${root}/console/`);
        await page.getByLabel('Store staff key').fill(K.key);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.locator('#store-name', { hasText: K.storeName }).waitFor();
        await page.getByRole('tab', { name: /Overdue/ }).click();
        await page.getByRole('tab', { name: /Overdue/, selected: true }).waitFor();
        const id = `${A.id}-late`;
        await callAt(root, 'POST', '/v1/orders', cfg.keys.checkout, {
          id, channel: 'web',
          customer: { id: 'c-e2e-4', email: 'edsger@example.com', name: 'Edsger Dijkstra' },
          currency: 'GBP', fulfilment: { type: 'collect', store_id: K.store },
          lines: [{ sku: K.sku, quantity: 1, unit_price: 1500 }],
          payment: { method: 'card', reference: `psp-${id}`, amount: 1500 },
        }, { 'Idempotency-Key': `e2e-${id}` });
        const placed = Date.now();
        // Pick deadline 2 s (escalation at 6 s moves it on).
        const row = page.locator(`#queue-list [data-order-id="${id}"]`);
        await row.waitFor({ timeout: 6000 });
        const late = Date.now() - placed;
        await row.locator('.badge.overdue', { hasText: 'Overdue' }).waitFor();
        assert.ok(late >= 1500, `shown as overdue ${late} ms after it was placed, before the 2 s pick deadline`);
        assert.match(await page.getByRole('tab', { name: /Overdue/ }).getAttribute('class'), /\balert\b/);
        log(`     overdue after ${late} ms`);
      } finally {
        await page.close();
      }
    });

    await step('support: an agent finds a customer by a phone typed any way, sees every order, logs a call about one and acts on another', async () => {
      const S = cfg.support;
      const page = await staffCtx.newPage();
      watch(page, 'support console', problems);
      page.setDefaultTimeout(15000);
      const keys = []; // the Idempotency-Key of each interaction sent
      page.on('request', (req) => {
        if (req.method() === 'POST' && /\/interactions$/.test(new URL(req.url()).pathname)) keys.push(req.headers()['idempotency-key']);
      });
      try {
        await page.goto(`${base}/support/`);
        const headers = (await page.request.get(`${base}/support/`)).headers();
        assert.match(headers['content-security-policy'] || '', /default-src 'none'/, 'the support console has the strict CSP');
        // Signed in with the keyboard only: the key field has the focus.
        await page.getByLabel('Support key').waitFor();
        await page.keyboard.type(S.key);
        await page.keyboard.press('Tab');
        await page.keyboard.type(S.agent);
        await page.keyboard.press('Enter');
        const search = page.getByLabel(/^Email, phone, name or order number/);
        await search.waitFor();
        assert.equal(await page.evaluate(() => document.activeElement.id), 'search-q', 'the focus is in the search box');
        await page.keyboard.type(S.phoneTyped);
        await page.keyboard.press('Enter');
        const hit = page.locator(`#results a[data-customer-id="${S.customer}"]`);
        await hit.waitFor();
        assert.match(await hit.innerText(), new RegExp(S.name));
        assert.deepEqual(await unlabelled(page), [], 'every control of the search has a label');
        await touchSized(page, 'support search');
        await shot(page, 'support-search');
        await hit.click();

        // The customer: details and every order, web, app and the guest one with the same email.
        await page.getByRole('heading', { name: S.name, level: 1 }).waitFor();
        assert.equal(await page.evaluate(() => document.activeElement.id), 'customer-title', 'the focus moves to the customer');
        await page.locator('#customer-facts', { hasText: S.email }).waitFor();
        for (const o of S.orders) {
          const item = page.locator(`#orders li[data-order-id="${o.id}"]`, { hasText: cfg.storeName }); // named once Omni says
          await item.waitFor();
          assert.match(await item.innerText(), new RegExp(`Order ${o.number}\\b`));
          assert.match(await item.innerText(), new RegExp(`Channel\\s+${o.channelWords}`));
        }
        assert.equal(await page.locator('#orders li[data-order-id]').count(), S.orders.length, 'every order, and only the customer’s');
        await page.locator('#live', { hasText: 'Live' }).waitFor();
        await page.locator('#timeline li[data-type="placed"]').first().waitFor();
        await page.evaluate(() => { window.omniNoReload = true; });

        // Log the call about the app order: a summary is required, and the
        // error is shown next to it; then it is logged with a new key.
        const about = S.orders.find((o) => o.id === S.callAbout);
        await page.getByLabel('How the customer got in touch').selectOption('phone');
        await page.getByLabel(/^About order/).selectOption(about.id);
        await page.getByRole('button', { name: 'Log contact' }).click();
        const summary = page.getByLabel(/^Summary/);
        await page.locator('#log-summary-error:not([hidden])').waitFor();
        assert.equal(await summary.getAttribute('aria-invalid'), 'true');
        assert.equal(await summary.getAttribute('aria-describedby'), 'log-summary-error', 'the error is tied to its field');
        assert.equal(await page.evaluate(() => document.activeElement.id), 'log-summary', 'the focus moves to the field at fault');
        await summary.fill(S.summary);
        await page.getByLabel(/^Outcome/).fill('resolved');
        assert.deepEqual(await unlabelled(page), [], 'every control of the customer view has a label');
        await touchSized(page, 'support customer');
        await page.getByRole('button', { name: 'Log contact' }).click();
        await page.locator('#log-done', { hasText: `Phone call logged about order ${about.number}` }).waitFor();
        await page.locator('#interaction-list li[data-channel="phone"]', { hasText: S.summary }).waitFor();
        // Live, through the customer's timeline stream, without a reload.
        await page.locator('#timeline li[data-kind="interaction"]', { hasText: S.summary }).waitFor();
        assert.equal(keys.length, 2, 'the refused attempt and the logged one');
        assert.ok(keys.every((k) => /^[0-9a-f-]{36}$/.test(k || '')), 'each carries an Idempotency-Key');
        assert.notEqual(keys[0], keys[1], 'a new attempt has a new key');
        await shot(page, 'support-customer');

        // Actions on an order without leaving the page: extend the pickup of
        // the ready order and resend its last message, cancel the guest order.
        const web = S.orders.find((o) => o.id === S.resend);
        const outcome = async (o, text) => {
          const item = page.locator(`#orders li[data-order-id="${o.id}"]`);
          const said = item.locator('.success', { hasText: text }).or(item.locator('.error:not([hidden])'));
          await said.first().waitFor();
          assert.match(await said.first().innerText(), text);
        };
        await page.getByRole('button', { name: `Extend the pickup of order ${web.number}`, exact: true }).click();
        await outcome(web, /pickup of order .* is extended/);
        await page.getByRole('button', { name: `Resend the last message of order ${web.number}`, exact: true }).click();
        await outcome(web, /sent again/);
        const guest = S.orders.find((o) => o.id === S.cancel);
        await page.getByRole('button', { name: `Cancel order ${guest.number}`, exact: true }).click();
        const reason = page.getByLabel(/^Reason for cancelling/);
        assert.equal(await page.evaluate(() => document.activeElement.id), `cancel-reason-${guest.id}`, 'the focus moves to the reason');
        await reason.fill('Customer called: ordered twice');
        await page.locator(`#orders li[data-order-id="${guest.id}"] form`).getByRole('button', { name: `Cancel order ${guest.number}`, exact: true }).click();
        await page.locator(`#orders li[data-order-id="${guest.id}"] .badge[data-status="cancelled"]`).waitFor();
        await page.locator(`#timeline li[data-kind="order_event"][data-type="cancelled"][data-order-id="${guest.id}"]`).waitFor();
        assert.equal(await page.evaluate(() => window.omniNoReload), true, 'the support console did not reload');
        await touchSized(page, 'support customer after actions');
      } finally {
        await page.close();
      }
    });

    await step('analytics: the support console shows every store’s figures for the last 7 days, drawn as charts from the data, and downloads them as CSV', async () => {
      const S = cfg.support;
      const A = cfg.analytics;
      const page = await staffCtx.newPage();
      watch(page, 'support analytics', problems);
      page.setDefaultTimeout(15000);
      try {
        await page.goto(`${base}/support/`);
        await page.getByLabel('Support key').fill(S.key);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('link', { name: 'Analytics', exact: true }).click();
        await page.getByRole('heading', { name: 'Store analytics', level: 1 }).waitFor();
        assert.equal(new URL(page.url()).hash, '#/analytics');
        // The period defaults to the last 7 days, today included (UTC).
        const today = new Date().toISOString().slice(0, 10);
        const weekAgo = new Date(Date.now() - 6 * 86400000).toISOString().slice(0, 10);
        assert.equal(await page.getByLabel('From', { exact: true }).inputValue(), weekAgo);
        assert.equal(await page.getByRole('textbox', { name: /^To/ }).inputValue(), today);
        const row = page.locator(`#analytics-table tbody tr[data-store-id="${A.store}"][data-channel="${A.channel}"][data-currency="${A.currency}"]`);
        await row.waitFor();
        const orders = Number(await row.locator('td[data-figure="orders"]').innerText());
        assert.ok(orders >= A.atLeast, `the store’s ${A.channel} orders: ${orders}, at least the ${A.atLeast} this test placed`);
        assert.match(await row.locator('th[scope="row"]').innerText(), new RegExp(A.store));
        await page.locator('#analytics-table caption', { hasText: 'Store figures' }).waitFor();
        assert.equal(await page.locator('#analytics-table thead th[scope="col"]').count(), 18, 'store, channel, currency and every figure');
        const rows = await page.locator('#analytics-table tbody tr').count();
        // The charts: inline SVG, one bar per store row, named for screen readers.
        const chart = page.getByRole('img', { name: /^Orders per store and channel/ });
        await chart.waitFor();
        assert.equal(await page.locator('#chart-orders rect.chart-bar').count(), rows, 'one bar per store row');
        const bar = page.locator(`#chart-orders g.chart-row[data-store-id="${A.store}"][data-channel="${A.channel}"][data-currency="${A.currency}"] rect.chart-bar`);
        assert.equal(Number(await bar.getAttribute('data-value')), orders, 'the bar is the table’s figure');
        await page.getByRole('img', { name: /^Time from order to ready/ }).waitFor();
        assert.ok(await page.locator('#chart-ready rect.chart-bar.p50').count() >= 1, 'a store had an order ready');
        assert.deepEqual(await unlabelled(page), [], 'every control of the analytics has a label');
        await touchSized(page, 'support analytics');
        await shot(page, 'support-analytics');
        // The CSV, fetched with the support key and saved.
        const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
        assert.match(download.suggestedFilename(), /^store-analytics-.*\.csv$/);
        const text = readFileSync(await download.path(), 'utf8');
        const lines = text.trim().split(/\r?\n/);
        assert.match(lines[0], /^store_id,channel,currency,orders,/);
        assert.equal(lines.length, rows + 1, 'a header and one line per store row');
        assert.ok(lines.some((l) => l.startsWith(`${A.store},${A.channel},${A.currency},${orders},`)), 'the CSV has the table’s figures');
        const results = existsSync(cfg.results) ? JSON.parse(readFileSync(cfg.results, 'utf8')) : {};
        results.analytics = { orders, rows };
        writeFileSync(cfg.results, JSON.stringify(results));
      } finally {
        await page.close();
      }
    });

    await step('no script errors, CSP violations or requests outside Omni', async () => {
      assert.deepEqual(problems, []);
    });
  } finally {
    await browser.close();
  }
}

main().then(() => {
  console.log(`${passed} passed, ${failed} failed`);
}, (err) => {
  if (!failed) console.error(err);
  console.log(`${passed} passed, ${Math.max(failed, 1)} failed`);
  process.exit(1);
});
