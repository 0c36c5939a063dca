// The console in a real browser: Debian's Chromium driven by playwright-core, against the
// real `allot serve` (ALLOT_BIN) on a fresh data directory, seeded through the native API.
// Run by scripts/browser-test, which installs what it needs. ALLOT_SCREENSHOTS=1 also
// takes the README's screenshots, into docs/console/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ADMIN_PASSWORD = "browser test admin password";
const BOSS = ["acme", "boss", "boss password one"];
const READER = ["acme", "reader", "reader password one"];
const SHOTS = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "console");

let server, base, dir, browser, admin;

function startServer() {
  dir = mkdtempSync(join(tmpdir(), "allot-console-"));
  const bin = process.env.ALLOT_BIN;
  assert.ok(bin, "ALLOT_BIN names the allot binary");
  server = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dir], {
    env: { ...process.env, ALLOT_ADMIN_PASSWORD: ADMIN_PASSWORD, RUST_LOG: "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let seen = "";
    server.stdout.on("data", (chunk) => {
      seen += chunk;
      const found = seen.match(/listening on (http:\/\/[0-9.:]+)/);
      if (found && !base) {
        base = found[1];
        resolve();
      }
    });
    server.on("exit", (code) => reject(new Error(`allot serve exited with ${code}`)));
  });
}

async function api(method, path, body, token = admin) {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function login(organization, username, password) {
  const form = new URLSearchParams({ grant_type: "password", username, password });
  if (organization) form.set("organization", organization);
  const response = await fetch(`${base}/oauth/token`, { method: "POST", body: form });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()).access_token;
}

async function pools(org) {
  const list = await api("GET", `/orgs/${org}/pools`);
  return Object.fromEntries(list.pools.map((p) => [p.license, p]));
}

async function seed() {
  admin = await login(null, "admin", ADMIN_PASSWORD);
  const grant = (pairs) => ({ pools: pairs.map(([license, quantity]) => ({ license, quantity })) });
  await api("PUT", "/host/pools", grant([["ATTUNU", 1000], ["RPADEVNU", 1000], ["TSTNU", 1000]]));
  for (const [org, name] of [["acme", "Acme & <Sons>"], ["beta", "Beta"]]) {
    await api("POST", "/orgs", { id: org, name });
  }
  await api("PUT", "/orgs/acme/pools", grant([["ATTUNU", 10], ["RPADEVNU", 4], ["TSTNU", 2]]));
  await api("PUT", "/orgs/beta/pools", grant([["ATTUNU", 2]]));
  await api("POST", "/orgs/acme/users", { id: BOSS[1], role: "admin", password: BOSS[2] });
  await api("POST", "/orgs/acme/users", { id: READER[1], role: "reader", password: READER[2] });
  for (let i = 1; i <= 8; i++) {
    await api("POST", "/orgs/acme/users", { id: `u${i}`, name: `User ${i}`, email: `u${i}@example.com` });
  }
  for (const user of ["u1", "u2", "u3"]) {
    await api("PUT", `/orgs/acme/users/${user}/licenses`, { licenses: [{ license: "ATTUNU" }] });
  }
  await api("PUT", "/orgs/acme/users/u1/licenses", { licenses: [{ license: "ATTUNU" }, { license: "TSTNU" }] });
  await api("POST", "/orgs/beta/users", { id: "b1" });
}

before(async () => {
  await startServer();
  await seed();
  browser = await chromium.launch({
    executablePath: process.env.ALLOT_CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  if (process.env.ALLOT_SCREENSHOTS === "1") mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signedIn([organization, username, password], viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${base}/console`);
  assert.match(page.url(), /\/console\/sign-in$/);
  await page.getByLabel("Organization").fill(organization);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/(orgs|host)/);
  return { context, page };
}

async function shot(page, name) {
  if (process.env.ALLOT_SCREENSHOTS === "1") await page.screenshot({ path: join(SHOTS, name), fullPage: true });
}

/** The numbers of the overview's row of `license`. */
async function row(page, license) {
  const cells = page.locator(`tr[data-license="${license}"]`);
  const number = async (cls) => Number(await cells.locator(`td.${cls}`).innerText());
  return { quantity: await number("purchased"), allocated: await number("allocated"), available: await number("available") };
}

/** Selects `users` on the users page and previews giving them `license`. */
async function preview(page, users, license) {
  await page.goto(`${base}/console/orgs/acme/users`);
  for (const user of users) await page.getByLabel(`Select ${user}`).check();
  await page.getByLabel("License").selectOption(license);
  await page.getByRole("button", { name: "Preview giving it" }).click();
  await page.waitForSelector("h1");
}

test("signing in shows the overview, with the numbers the API answers", async () => {
  const { context, page } = await signedIn(BOSS);
  assert.match(page.url(), /\/console\/orgs\/acme$/);
  assert.equal(await page.locator("h1").innerText(), "Acme & <Sons>", "the name as given, escaped, not markup");
  for (const [license, pool] of Object.entries(await pools("acme"))) {
    assert.deepEqual(await row(page, license), {
      quantity: pool.quantity, allocated: pool.allocated, available: pool.quantity - pool.allocated,
    }, license);
  }
  await context.close();
});

test("the overview draws each license's trend, and the policy refuses nothing it loads", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (message) => { if (message.type() === "error") errors.push(message.text()); });
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(`${base}/console`);
  await page.getByLabel("Organization").fill(BOSS[0]);
  await page.getByLabel("Username").fill(BOSS[1]);
  await page.getByLabel("Password").fill(BOSS[2]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/orgs\/acme$/);
  await page.getByRole("link", { name: "90 days" }).click();
  await page.waitForURL(/days=90/);
  await page.waitForSelector('.trend[data-license="ATTUNU"] .chart[data-drawn="true"] canvas');
  assert.equal(await page.locator(".trend .chart canvas").count(), Object.keys(await pools("acme")).length);
  assert.match(await page.locator('.trend[data-license="ATTUNU"] figcaption').innerText(), /3 of 10 now/);
  assert.deepEqual(errors, [], "no script error, nothing refused by the Content-Security-Policy");
  await shot(page, "overview.png");
  await context.close();
});

test("filtering the users swaps the list in place and keeps the filters in the address", async () => {
  const { context, page } = await signedIn(BOSS);
  await page.goto(`${base}/console/orgs/acme/users`);
  await page.evaluate(() => { window.sameDocument = true; });
  await page.getByLabel("Holding").selectOption("TSTNU");
  await page.getByRole("button", { name: "Show" }).click();
  await page.waitForURL(/license=TSTNU/);
  await page.waitForFunction(() => document.querySelectorAll('#users-results a[href*="/users/"]').length === 1);
  assert.equal(await page.locator('#users-results a[href*="/users/"]').innerText(), "u1");
  assert.equal(await page.evaluate(() => window.sameDocument), true, "htmx swapped the list; the page stayed");
  await context.close();
});

test("a license given to three users through the preview is applied exactly", async () => {
  const { context, page } = await signedIn(BOSS);
  await preview(page, ["u4", "u5", "u6"], "ATTUNU");
  assert.equal(await page.locator("h1").innerText(), "Plan");
  const moved = page.locator('table.plan-pools tr[data-license="ATTUNU"]');
  assert.equal(await moved.locator("td.before").innerText(), "3");
  assert.equal(await moved.locator("td.after").innerText(), "6");
  assert.equal((await pools("acme")).ATTUNU.allocated, 3, "a preview changes nothing");
  await shot(page, "users-plan-preview.png");
  await page.getByRole("button", { name: "Apply this plan" }).click();
  await page.waitForSelector("text=applied exactly as previewed");
  assert.equal((await pools("acme")).ATTUNU.allocated, 6);
  for (const user of ["u4", "u5", "u6"]) {
    assert.equal((await api("GET", `/orgs/acme/users/${user}/licenses/ATTUNU`)).allowed, true, user);
  }
  await context.close();
});

test("an over-allocation shows the violation and changes nothing", async () => {
  const { context, page } = await signedIn(BOSS);
  await preview(page, ["u2", "u3", "u4"], "TSTNU");
  assert.match(await page.locator("ul.violations").innerText(), /TSTNU/);
  assert.equal(await page.getByRole("button", { name: "Apply this plan" }).count(), 0);
  assert.equal((await pools("acme")).TSTNU.allocated, 1, "the API confirms nothing changed");
  await context.close();
});

test("a stale preview shows what moved and applies nothing", async () => {
  const { context, page } = await signedIn(BOSS);
  await preview(page, ["u7"], "RPADEVNU");
  await api("PUT", "/orgs/acme/users/u7/licenses", { licenses: [{ license: "TSTNU" }] });
  await page.getByRole("button", { name: "Apply this plan" }).click();
  await page.waitForSelector("text=Nothing was applied");
  assert.match(await page.locator("p.message").innerText(), /TSTNU/);
  assert.equal((await api("GET", "/orgs/acme/users/u7/licenses/RPADEVNU")).allowed, false);
  await page.getByRole("button", { name: "Apply this plan" }).click();
  await page.waitForSelector("text=applied exactly as previewed");
  assert.equal((await api("GET", "/orgs/acme/users/u7/licenses/RPADEVNU")).allowed, true);
  await context.close();
});

test("a reader sees no write controls, and a forged POST is refused", async () => {
  const { context, page } = await signedIn(READER);
  await page.goto(`${base}/console/orgs/acme/users`);
  assert.equal(await page.locator('input[name="user"]').count(), 0, "no user to select");
  assert.equal(await page.getByRole("button", { name: /Preview/ }).count(), 0);
  const csrf = await page.locator('input[name="csrf"]').first().inputValue();
  const before = (await pools("acme")).ATTUNU.allocated;
  // Sent with the reader's own session cookie and CSRF token (the page's CSP forbids a
  // script's fetch, so it goes through the browser context's request API).
  const forged = await context.request.post(`${base}/console/orgs/acme/plans/pl_0/apply`, {
    form: { csrf, user: "u8", license: "ATTUNU", action: "give" },
  });
  assert.equal(forged.status(), 403);
  assert.equal((await pools("acme")).ATTUNU.allocated, before);
  await context.close();
});

test("a POST without the CSRF token is refused", async () => {
  const { context, page } = await signedIn(BOSS);
  await page.goto(`${base}/console/orgs/acme/users`);
  const before = (await pools("acme")).ATTUNU.allocated;
  const sent = await context.request.post(`${base}/console/orgs/acme/preview`, {
    form: { user: "u8", license: "ATTUNU", action: "give" },
  });
  assert.equal(sent.status(), 403);
  // Nor from a script of the page itself (the policy lets scripts reach this server only,
  // for htmx), with the session's cookie but without the form's token: a write that would
  // make a tenant.
  const status = await page.evaluate(() => fetch("/console/orgs/acme/tenants", {
    method: "POST", body: "id=forged", headers: { "content-type": "application/x-www-form-urlencoded" },
  }).then((r) => r.status));
  assert.equal(status, 403);
  assert.deepEqual((await api("GET", "/orgs/acme/tenants")).tenants, [], "no tenant made");
  assert.equal((await pools("acme")).ATTUNU.allocated, before, "nothing changed");
  await context.close();
});

test("another organization's pages answer 404", async () => {
  const { context, page } = await signedIn(BOSS);
  for (const path of ["/console/orgs/beta", "/console/orgs/beta/users", "/console/host"]) {
    const response = await page.goto(`${base}${path}`);
    assert.equal(response.status(), 404, path);
    assert.equal(await page.getByRole("alert").count(), 1, "the error in words");
  }
  await context.close();
});

test("the users page works at a phone's width", async () => {
  const { context, page } = await signedIn(BOSS, { width: 390, height: 844 });
  await page.goto(`${base}/console/orgs/acme/users`);
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 420, `no wide horizontal scroll at 390 px (${width})`);
  await context.close();
});

test("the audit page filters the ledger and exports it", async () => {
  const { context, page } = await signedIn(BOSS);
  await page.getByRole("link", { name: "Audit" }).click();
  await page.getByLabel("User").fill("u1");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForURL(/audit\?user=u1/);
  const rows = page.locator("table.ledger tbody tr");
  const listed = await api("GET", "/orgs/acme/ledger?user=u1&limit=1000");
  assert.equal(await rows.count(), listed.entries.length, "the page lists what the API answers");
  await shot(page, "audit.png");
  const exported = await context.request.get(await page.getByRole("link", { name: "Export as CSV" }).getAttribute("href")
    .then((href) => `${base}${href}`));
  assert.equal(exported.status(), 200);
  assert.equal((await exported.text()).trim().split("\n").length, listed.entries.length + 1, "a header and a row each");
  await context.close();
});

test("signing out ends the session", async () => {
  const { context, page } = await signedIn(BOSS);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/console\/sign-in$/);
  await page.goto(`${base}/console/orgs/acme`);
  assert.match(page.url(), /\/console\/sign-in$/, "the pages ask to sign in again");
  assert.equal((await context.cookies()).filter((c) => c.name === "allot_session").length, 0);
  await context.close();
});
