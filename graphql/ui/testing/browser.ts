/**
 * Test support for the pages in headless Chromium (Debian's `chromium` driven by `playwright-core`):
 * a browser that cannot reach anything but the API under test, a record of every request it
 * tried to make elsewhere, console errors, and screenshots kept as artefacts under
 * `var/artifacts/browser/`.
 */
import { mkdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildUi, UI_DIR } from '../build.js';

/** Where the browser tests keep their screenshots (gitignored, under `var/`). */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../../var/artifacts/browser/', import.meta.url));

/** Debian's Chromium (`infra/browser/chromium.sh` installs it); `CHROMIUM_PATH` overrides. */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

const SOURCE_DIR = fileURLToPath(new URL('../', import.meta.url));
const UI_INPUTS = ['build.ts', 'page-support.ts', 'web/explorer.js', 'web/wallboard.js'];
const UI_OUTPUTS = ['explorer/index.html', 'explorer/explorer.js', 'wallboard/index.html', 'wallboard/wallboard.js'];

async function mtimeMs(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * Builds the pages into `var/ui/` when an output is missing or older than the sources, so a
 * fresh clone's `make test` passes and an edit to a page is never tested against an old bundle.
 * Returns whether it built.
 */
export async function ensureUiBuilt(): Promise<boolean> {
  const inputs = await Promise.all(UI_INPUTS.map((p) => mtimeMs(`${SOURCE_DIR}${p}`)));
  const outputs = await Promise.all(UI_OUTPUTS.map((p) => mtimeMs(`${UI_DIR}${p}`)));
  const newestInput = Math.max(...inputs.map((t) => t ?? 0));
  if (outputs.every((t) => t !== undefined && t >= newestInput)) return false;
  await buildUi();
  return true;
}

/** A page that may talk only to one origin, and what it tried besides. */
export interface OfflinePage {
  readonly page: Page;
  /** URLs of requests (HTTP or WebSocket) to any other host, each aborted. */
  readonly foreignRequests: string[];
  /** Console errors and uncaught exceptions, as text. */
  readonly consoleErrors: string[];
  /** Saves a full-page screenshot as `var/artifacts/browser/<name>.png`; returns the path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Headless Chromium with a network limited to one host. */
export interface OfflineBrowser {
  /** Opens a page in a fresh context (no cookies or storage) allowed to reach `host` only. */
  open(host: string): Promise<OfflinePage>;
  close(): Promise<void>;
}

/**
 * Launches Chromium without the services that phone home, and with host resolution switched off
 * for everything but 127.0.0.1: the pages must work in a network without internet access, and a
 * request elsewhere is both recorded (by the routes of {@link OfflineBrowser.open}) and unable
 * to leave the machine.
 */
export async function launchOfflineBrowser(): Promise<OfflineBrowser> {
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
  });
  return {
    async open(host) {
      const context: BrowserContext = await browser.newContext({ viewport: { width: 1440, height: 900 }, serviceWorkers: 'block' });
      const foreignRequests: string[] = [];
      const consoleErrors: string[] = [];
      await context.route(
        () => true,
        async (route) => {
          const url = new URL(route.request().url());
          if (url.host === host) {
            await route.continue();
          } else {
            foreignRequests.push(url.href);
            await route.abort('blockedbyclient');
          }
        },
      );
      await context.routeWebSocket(
        () => true,
        (ws) => {
          if (new URL(ws.url()).host === host) {
            ws.connectToServer();
          } else {
            foreignRequests.push(ws.url());
            void ws.close({ code: 1008, reason: 'offline test' });
          }
        },
      );
      const page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
      return {
        page,
        foreignRequests,
        consoleErrors,
        async screenshot(name) {
          await mkdir(ARTIFACTS_DIR, { recursive: true });
          const path = `${ARTIFACTS_DIR}${name}.png`;
          await page.screenshot({ path, fullPage: true });
          return path;
        },
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}
