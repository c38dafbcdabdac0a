#!/usr/bin/env node
// Keeps better-sqlite3's compiled binary for the next clean clone (.ci/run calls this after `npm ci`).
//
// better-sqlite3's install script is `prebuild-install || node-gyp rebuild`. Offline, the download fails and node-gyp
// compiles SQLite from source: about 80 s of a two-core machine's CPU on every clean clone. Before downloading,
// prebuild-install looks in npm's cache (<npm cache>/_prebuilds/) for the very tarball it would fetch, and unpacks it
// if present (then loads it, and falls back to compiling if that fails). This script packs the binary that was just
// compiled into that tarball, in the layout prebuild publishes (build/Release/better_sqlite3.node), under the name
// prebuild-install computes for this Node ABI, platform and architecture. It changes nothing when the tarball is
// already there, and never fails the build: a missing cache only costs the compile.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.cwd(), 'package.json'));

try {
  const util = require('prebuild-install/util');
  const prebuildConfig = require('prebuild-install/rc');
  const pkgDir = path.dirname(require.resolve('better-sqlite3/package.json'));
  const pkg = require('better-sqlite3/package.json');
  const binary = path.join(pkgDir, 'build', 'Release', 'better_sqlite3.node');
  // The name prebuild-install looks for: its own configuration (ABI, platform, libc, tag prefix) for this package.
  const cached = util.cachedPrebuild(util.getDownloadUrl({ ...prebuildConfig(pkg), pkg }));
  if (existsSync(cached)) {
    console.log(`== better-sqlite3 ${pkg.version}: cached build in ${cached}`);
  } else if (!existsSync(binary)) {
    console.log(`== better-sqlite3 ${pkg.version}: no compiled binary at ${binary}, nothing to cache`);
  } else {
    mkdirSync(path.dirname(cached), { recursive: true });
    const partial = `${cached}.${process.pid}.tmp`;
    execFileSync('tar', ['-czf', partial, '-C', pkgDir, 'build/Release/better_sqlite3.node']);
    renameSync(partial, cached);
    console.log(`== better-sqlite3 ${pkg.version}: compiled binary kept in ${cached} for the next clean clone`);
  }
} catch (err) {
  console.log(`== better-sqlite3: build not cached (${err instanceof Error ? err.message : err})`);
}
