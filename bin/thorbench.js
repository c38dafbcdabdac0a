#!/usr/bin/env node
// Entry point of `npx thorbench`: the compiled CLI (npm install builds it through the "prepare" script).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Temporal connections and workers may keep handles open briefly after shutdown; the command is done.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
