/**
 * A real Temporal dev server for tests: the same `temporal server start-dev` the CLI embeds, headless, on a free
 * port, persisted to SQLite in a temporary directory (so tests can also kill and restart it).
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { type DevServer, ensureDevServer, stopDevServer } from '../../server/dev-server.js';
import { installRuntime } from '../../workers/runtime.js';
import { tempDir } from './files.js';
import { freePort } from './net.js';

export interface TestServer {
  home: string;
  port: number;
  server: DevServer;
  client: Client;
  connection: Connection;
  native: NativeConnection;
  stop(): Promise<void>;
}

export async function startTestServer(home = tempDir('server'), extraArgs: string[] = []): Promise<TestServer> {
  const port = await freePort();
  const server = await ensureDevServer({ home, port, headless: true, extraArgs });
  const connection = await Connection.connect({ address: server.address });
  installRuntime();
  const native = await NativeConnection.connect({ address: server.address });
  return {
    home,
    port,
    server,
    client: new Client({ connection }),
    connection,
    native,
    async stop() {
      await native.close();
      await connection.close();
      stopDevServer(home);
    },
  };
}
