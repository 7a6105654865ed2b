#!/usr/bin/env node
// The `sculpt` executable.
import { main } from './cli.js';

main(process.argv.slice(2)).then(
  (status) => {
    process.exit(status);
  },
  (error: unknown) => {
    process.stderr.write(`sculpt: internal error: ${String(error)}\n`);
    process.exit(1);
  },
);
