import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JETSON_COMMANDS, jetsonProfile } from '../activities/device-profile.js';
import {
  PRIVILEGED_ALLOW_LIST,
  PrivilegeError,
  type PrivilegedCommand,
  isAllowed,
  privilegedArgv,
} from '../activities/exec.js';
import { repoText } from './helpers/files.js';

const STORE = '/var/lib/thorbench/l4t_dfs.conf';
const profile = jetsonProfile({ id: 'thor1', resultsDir: '/tmp/r', stateDir: '/var/lib/thorbench', sudo: true });

/** The (path, args) pairs the shipped sudoers file grants. */
function sudoersGrants(): string[] {
  const text = repoText('deploy', 'sudoers.d', 'thorbench');
  const grants: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^thorbench ALL=\(root\) NOPASSWD: (.*)$/.exec(line.trim());
    if (!m) continue;
    for (const entry of m[1]!.split(',').map((e) => e.trim())) grants.push(entry.replace(/ ""$/, ''));
  }
  return grants;
}

/** Every concrete command the allow-list admits for mode ids 0-3 and the worker's store file. */
function allowListCommands(): string[] {
  const out: string[] = [];
  for (const [cmd, patterns] of Object.entries(PRIVILEGED_ALLOW_LIST)) {
    for (const pattern of patterns) {
      const ids = pattern.includes('<id>') ? ['0', '1', '2', '3'] : [''];
      for (const id of ids) {
        const args = pattern.map((p) => (p === '<id>' ? id : p === '<store>' ? STORE : p));
        out.push([JETSON_COMMANDS[cmd as PrivilegedCommand], ...args].join(' '));
      }
    }
  }
  return out;
}

describe('privileged commands', () => {
  it('the shipped sudoers file grants exactly what the code may run', () => {
    assert.deepEqual([...sudoersGrants()].sort(), allowListCommands().sort());
  });

  it('runs allowed commands through sudo -n with a fixed path', () => {
    assert.deepEqual(privilegedArgv(profile, 'nvpmodel', ['-m', '0']), ['sudo', '-n', '/usr/sbin/nvpmodel', '-m', '0']);
    assert.deepEqual(privilegedArgv(profile, 'sysctl', ['-w', 'vm.drop_caches=3']), [
      'sudo',
      '-n',
      '/usr/sbin/sysctl',
      '-w',
      'vm.drop_caches=3',
    ]);
    assert.deepEqual(privilegedArgv(profile, 'jetsonClocks', ['--store', STORE]), [
      'sudo',
      '-n',
      '/usr/bin/jetson_clocks',
      '--store',
      STORE,
    ]);
  });

  it('refuses anything else before it reaches sudo', () => {
    const refused: [PrivilegedCommand, string[]][] = [
      ['nvpmodel', ['-m', '0; reboot']],
      ['nvpmodel', ['-m', '$(reboot)']],
      ['nvpmodel', ['-m', '16']],
      ['nvpmodel', ['-m']],
      ['nvpmodel', ['-f', '/tmp/evil.conf']],
      ['sysctl', ['-w', 'kernel.core_pattern=|/bin/sh']],
      ['jetsonClocks', ['--store', '/etc/shadow']],
      ['jetsonClocks', ['--restore', '/tmp/x']],
    ];
    for (const [cmd, args] of refused) {
      assert.throws(() => privilegedArgv(profile, cmd, args), PrivilegeError, `${cmd} ${args.join(' ')}`);
      assert.equal(isAllowed(cmd, args, STORE), false);
    }
  });
});
