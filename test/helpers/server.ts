import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { nullLogger } from '../../src/observability';
import { startServer, type RunningServer } from '../../src/server';
import { createTestDatabase, type TestBackend, type TestDatabase } from './db';
import { nextRtpRange } from './ports';

export interface TestServer {
  readonly server: RunningServer;
  readonly database: TestDatabase;
  /** host:port of the UDP listener, for SIPp. */
  readonly udpTarget: string;
  readonly tcpTarget: string;
  stop(): Promise<void>;
}

/**
 * The real server graph in this process: SIP on 127.0.0.1 with ephemeral ports, the API on an ephemeral port,
 * a fresh database (a schema of the test PostgreSQL by default), and an RTP port range of its own (see ./ports).
 */
export async function startTestServer(env: Record<string, string> = {}, backend: TestBackend = 'pg'): Promise<TestServer> {
  const database = await createTestDatabase(backend, { migrate: false });
  const dataDir = mkdtempSync(join(tmpdir(), 'sip-srv-'));
  const rtp = nextRtpRange(400);
  const config = loadConfig({
    NODE_ENV: 'test',
    SIP_BIND_ADDRESS: '127.0.0.1',
    SIP_PUBLIC_ADDRESS: '127.0.0.1',
    SIP_PORT: '0',
    SIP_TLS_PORT: '0',
    API_PORT: '0',
    API_BIND_ADDRESS: '127.0.0.1',
    DATA_DIR: dataDir,
    RTP_PORT_MIN: String(rtp.min),
    RTP_PORT_MAX: String(rtp.max),
    LOG_LEVEL: 'silent',
    // The suites call from 127.0.0.1, which is no trunk: accept unknown sources unless a test checks refusal.
    OPEN_INBOUND: 'true',
    ...env,
  });
  const server = await startServer(config, { logger: nullLogger, db: database.db });
  return {
    server,
    database,
    udpTarget: `127.0.0.1:${server.sipPorts.udp}`,
    tcpTarget: `127.0.0.1:${server.sipPorts.tcp}`,
    stop: async () => {
      await server.stop();
      await database.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
