#!/usr/bin/env node
// Entry point of `npx thorbench`: the compiled CLI (npm install builds it through the "prepare" script).
import { main } from '../dist/cli/main.js';

// `thorbench status --json | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

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
