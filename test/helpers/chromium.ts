import { existsSync } from 'node:fs';

/** Debian's `chromium`, unless CHROMIUM_PATH says otherwise. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** CI must run the browser test (it installs Chromium), so only a local run without Chromium skips it. */
export const skipBrowserTest = !existsSync(CHROMIUM_PATH) && !process.env.CI;

export const CHROMIUM_SKIP_NOTICE = `[e2e] browser test skipped: no Chromium at ${CHROMIUM_PATH}; install it with \`apt-get install -y chromium fonts-noto-cjk\` (or set CHROMIUM_PATH)`;
