#!/usr/bin/env node
// Runs the TypeScript CLI through tsx (a runtime dependency), so `npx linepay-subscriptions` works
// straight after `npm ci` without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../client/cli.ts');
process.exitCode = await main(process.argv.slice(2));
