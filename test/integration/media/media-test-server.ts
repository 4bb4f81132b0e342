import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config';
import type { MediaSession } from '../../../src/media';
import { nullLogger } from '../../../src/observability';
import { startServer, type RunningServer } from '../../../src/server';
import { createTestDatabase, type TestBackend, type TestDatabase } from '../../helpers/db';
import { nextRtpRange } from '../../helpers/ports';

/** A media session the server opened for a call, as reported through StartOptions.onMediaSession. */
export interface ObservedSession {
  callId: string;
  media: MediaSession;
}

export interface MediaTestServer {
  readonly server: RunningServer;
  readonly udpTarget: string;
  /** Resolves with the next call's media session (sessions already reported are returned in order). */
  nextSession(): Promise<ObservedSession>;
  stop(): Promise<void>;
}

/**
 * The real server graph (like test/helpers/server.ts) with StartOptions.onMediaSession wired, so a test observes each
 * answered call's MediaSession: received frames, DTMF, what was sent.
 */
export async function startMediaTestServer(env: Record<string, string>, backend: TestBackend = 'pglite'): Promise<MediaTestServer> {
  const database: TestDatabase = await createTestDatabase(backend, { migrate: false });
  const dataDir = mkdtempSync(join(tmpdir(), 'sip-media-'));
  const rtp = nextRtpRange(200);
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
    // Calls come from 127.0.0.1, which is no trunk.
    OPEN_INBOUND: 'true',
    ...env,
  });
  const seen: ObservedSession[] = [];
  const waiters: ((s: ObservedSession) => void)[] = [];
  const server = await startServer(config, {
    logger: nullLogger,
    db: database.db,
    onMediaSession: (callId, media) => {
      const s = { callId, media };
      const w = waiters.shift();
      if (w) w(s);
      else seen.push(s);
    },
  });
  return {
    server,
    udpTarget: `127.0.0.1:${server.sipPorts.udp}`,
    nextSession: () => {
      const s = seen.shift();
      return s ? Promise.resolve(s) : new Promise((resolve) => waiters.push(resolve));
    },
    stop: async () => {
      await server.stop();
      await database.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
