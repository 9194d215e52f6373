import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

/** Debian's Chromium, which the dashboard tests drive (scripts/ci/install-packages.sh installs it). */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * The browser tests run in a real Chromium, always: a dashboard test that skipped itself would hide
 * a regression. Without /usr/bin/chromium this fails the test file, saying how to install it.
 */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} is missing: the dashboard tests drive Debian's Chromium. Install it as root with ` +
        "`apt-get install -y chromium` (or `bash scripts/ci/install-packages.sh`); Playwright never downloads a browser here.",
    );
  }
}

/** Launch headless Chromium with a fresh profile (`--user-data-dir`, which Playwright passes for a persistent context) and nothing that phones home. */
export function launchChromium(): Promise<BrowserContext> {
  requireChromium();
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "foreman-chromium-")), {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-quic",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
  });
}

requireChromium();
