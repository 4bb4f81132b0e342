import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { startTestServer, type TestServer } from '../../helpers/server';

// `npm run load` (scripts/load.ts) against the real server: SIPp places calls that stream RTP with rtp_stream (each
// call from its own UDP port) to the echo route, and the tool's JSON summary must count the calls and the RTP the
// server received.

const ROOT = resolve(__dirname, '../../..');
let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer({ DEFAULT_ROUTE: 'echo', SIP_FLOOD_MAX_REQUESTS: '0' });
}, 30_000);

afterAll(async () => {
  await srv?.stop();
});

function runLoad(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ['--require', './bench/register.js', 'scripts/load.ts', ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => res({ code, stdout, stderr }));
  });
}

describe('load tool (scripts/load.ts)', () => {
  it('places calls with RTP and reports calls, setup times and the RTP the server counted', async () => {
    const { code, stdout, stderr } = await runLoad([
      '--target', srv.udpTarget, '--number', '1000', '--calls', '6', '--rate', '3', '--duration', '2', '--json',
      '--metrics', `http://127.0.0.1:${srv.server.apiPort}/metrics`,
    ]);
    expect(stderr).not.toMatch(/cannot run sipp/);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    expect(summary).toMatchObject({ callsOffered: 6, ok: 6, failed: 0, failures: {}, sippExit: 0 });
    expect(typeof summary.setupP99Ms).toBe('number');
    // 6 calls x 2 s x 50 packets/s of 20 ms PCMA, less what the start and end of each stream may cut.
    expect(summary.rtpPacketsReceived as number).toBeGreaterThan(6 * 2 * 50 * 0.8);
    expect(summary.rtpPacketsReceived as number).toBeLessThanOrEqual(6 * 2 * 50 * 1.25);
    expect(summary.rtpLossPct as number).toBeLessThan(1);
  }, 60_000);
});
