#!/usr/bin/env node
// Admin command line: API keys (create, list, revoke) and invites, straight
// against the table. Runs the TypeScript source through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../scripts/admin-cli.ts');
process.exitCode = await main(process.argv.slice(2));
