import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ivrMenuSchema, ivrMenuToRecord, type IvrMenuInput } from '../../../src/call';
import type { Database } from '../../../src/store';
import { createRepositories } from '../../../src/store';
import { startTestServer, type TestServer } from '../../helpers/server';
import { runSipp } from '../../helpers/sipp';
import { endedCdr, removeScratch, scenario, scratchDir, until } from './call-kit';
import { SipPeer, toneSamples, wavOf } from './ivr-queue-kit';

// IVR over real sockets and the real PostgreSQL: a two-level menu stored in ivr_menus, a number routed to it, and
// callers pressing keys with RFC 2833 events (SIPp playing dtmf_2833_*.pcap) and with in-band tones (a Node RTP
// peer). The caller's path is read back from call_events; the call ends where the menu says.

let srv: TestServer;
let promptDir: string;

const tone = (hz: number, ms: number): Int16Array => toneSamples({ segments: [{ frequencies: [hz], levelsDbm0: [-16], durationMs: ms }], repeat: false }, ms);

const MENUS: IvrMenuInput[] = [
  {
    name: 'main',
    prompt: 'main.wav',
    invalidPrompt: 'invalid.wav',
    timeoutPrompt: 'timeout.wav',
    timeoutS: 2,
    maxRetries: 2,
    options: { '1': { type: 'menu', menu: 'sales' }, '9': { type: 'hangup' } },
    defaultAction: { type: 'hangup' },
  },
  {
    name: 'sales',
    prompt: 'sales.wav',
    timeoutS: 3,
    maxRetries: 1,
    options: { '2': { type: 'hangup', prompt: 'goodbye.wav' }, '0': { type: 'back' } },
    defaultAction: { type: 'hangup' },
  },
];

interface EventRow {
  type: string;
  data: Record<string, unknown>;
}

async function ivrEvents(db: Database, callId: string): Promise<EventRow[]> {
  const res = await db.query<EventRow>(`SELECT type, data FROM call_events WHERE call_id = $1 AND type LIKE 'ivr.%' ORDER BY id`, [callId]);
  return res.rows;
}

/** The events once the session ended (ivr.end written). */
function finishedEvents(db: Database, callId: string): Promise<EventRow[]> {
  return until(async () => {
    const rows = await ivrEvents(db, callId);
    return rows.some((r) => r.type === 'ivr.end') ? rows : undefined;
  }, 'the end of the IVR session');
}

beforeAll(async () => {
  promptDir = scratchDir();
  writeFileSync(join(promptDir, 'main.wav'), wavOf(tone(600, 1500)));
  writeFileSync(join(promptDir, 'sales.wav'), wavOf(tone(800, 1500)));
  writeFileSync(join(promptDir, 'invalid.wav'), wavOf(tone(300, 400)));
  writeFileSync(join(promptDir, 'timeout.wav'), wavOf(tone(350, 400)));
  writeFileSync(join(promptDir, 'goodbye.wav'), wavOf(tone(500, 300)));
  srv = await startTestServer({ SIP_TRANSPORTS: 'udp', MOH_DIR: promptDir, DEFAULT_ROUTE: 'reject' });
  const repos = createRepositories(srv.server.db);
  let mainId = '';
  for (const m of MENUS) {
    const row = await repos.ivrMenus.save(ivrMenuToRecord(ivrMenuSchema.parse(m)));
    if (m.name === 'main') mainId = row.id;
  }
  await repos.numbers.upsert('5000', { route: 'ivr', ivrMenuId: mainId });
}, 60_000);

afterAll(async () => {
  await srv?.stop();
  removeScratch();
});

describe('IVR route', () => {
  it('takes a SIPp caller through two menus with RFC 2833 digits and hangs up where the menu says', async () => {
    const r = await runSipp({ scenario: scenario('ivr-dtmf-2833'), target: srv.udpTarget, calls: 1, service: '5000', timeoutS: 40 });
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
    const row = await endedCdr(srv.server.db, 'to_number = $1 AND from_number = $2', ['5000', 'ivrcaller']);
    const callId = String(row['call_id']);
    expect(row['hangup_cause']).toBe('ivr-hangup');
    const rows = await finishedEvents(srv.server.db, callId);
    const path = rows.map((e) => (e.type === 'ivr.menu' ? `menu:${String(e.data['menu'])}` : e.type === 'ivr.option' ? `option:${String(e.data['input'])}` : e.type));
    expect(path.filter((p) => p.startsWith('menu:') || p.startsWith('option:') || p === 'ivr.hangup')).toEqual(['menu:main', 'option:1', 'menu:sales', 'option:2', 'ivr.hangup']);
    expect(rows.find((e) => e.type === 'ivr.hangup')?.data['menu']).toBe('sales');
    expect(rows.find((e) => e.type === 'ivr.end')?.data['outcome']).toBe('hangup');
    // The goodbye prompt of the hangup action was played, not skipped.
    expect(rows.some((e) => e.type === 'ivr.prompt' && e.data['kind'] === 'goodbye' && e.data['skipped'] !== true)).toBe(true);
  }, 60_000);

  it('replays the right prompts after an invalid key and a timeout, with in-band DTMF tones', async () => {
    const peer = await SipPeer.open({ user: 'inband', telephoneEvent: false });
    try {
      await peer.call(srv.server.sipPorts.udp as number, '5000');
      // Keep RTP flowing until the session reports what the step waits for (events, never elapsed time).
      const silenceUntil = async (what: string, done: (rows: EventRow[]) => boolean): Promise<void> => {
        for (let i = 0; i < 100; i++) {
          if (done(await ivrEvents(srv.server.db, peer.callId))) return;
          await peer.sendSilence(200);
        }
        throw new Error(`no ${what}`);
      };
      const promptsOf = (rows: EventRow[], menu: string): number => rows.filter((e) => e.type === 'ivr.prompt' && e.data['menu'] === menu && e.data['kind'] === 'prompt').length;
      // 7 is no option of main: invalid prompt, then main again.
      await silenceUntil('the main prompt', (rows) => promptsOf(rows, 'main') === 1);
      await peer.sendInbandDtmf('7');
      // Silence past timeoutS after the replayed prompt: timeout prompt, then main a third time; 1 during it.
      await silenceUntil('the third main prompt', (rows) => promptsOf(rows, 'main') === 3);
      await peer.sendInbandDtmf('1');
      await silenceUntil('the sales prompt', (rows) => promptsOf(rows, 'sales') === 1);
      await peer.sendInbandDtmf('2');
      const silence = peer.sendSilence(4000);
      await peer.waitBye(15_000);
      await silence;
      const rows = await finishedEvents(srv.server.db, peer.callId);
      const digits = rows.filter((e) => e.type === 'ivr.digit').map((e) => e.data['digit']);
      expect(digits).toEqual(['7', '1', '2']);
      const steps = rows
        .filter((e) => ['ivr.invalid', 'ivr.timeout', 'ivr.option', 'ivr.menu', 'ivr.hangup'].includes(e.type))
        .map((e) => `${e.type}:${String(e.data['menu'])}`);
      expect(steps).toEqual(['ivr.menu:main', 'ivr.invalid:main', 'ivr.timeout:main', 'ivr.option:main', 'ivr.menu:sales', 'ivr.option:sales', 'ivr.hangup:sales']);
      const prompts = rows.filter((e) => e.type === 'ivr.prompt' && e.data['skipped'] !== true).map((e) => `${String(e.data['menu'])}/${String(e.data['kind'])}`);
      // main, invalid + main again, timeout + main again, sales, goodbye.
      expect(prompts).toEqual(['main/prompt', 'main/invalid', 'main/prompt', 'main/timeout', 'main/prompt', 'sales/prompt', 'sales/goodbye']);
      const cdr = await endedCdr(srv.server.db, 'call_id = $1', [peer.callId]);
      expect(cdr['hangup_cause']).toBe('ivr-hangup');
      expect(String(cdr['dtmf_digits'])).toBe('712');
    } finally {
      await peer.close();
    }
  }, 60_000);

  it('stops the prompt at the first key (barge-in)', async () => {
    const peer = await SipPeer.open({ user: 'bargein', telephoneEvent: false });
    try {
      await peer.call(srv.server.sipPorts.udp as number, '5000');
      for (let i = 0; i < 100; i++) {
        if ((await ivrEvents(srv.server.db, peer.callId)).some((e) => e.type === 'ivr.prompt')) break;
        await peer.sendSilence(100);
      }
      // Press 9 while the 1.5 s main prompt plays: it is cut and the call hangs up (option 9).
      await peer.sendInbandDtmf('9');
      const silence = peer.sendSilence(3000);
      await peer.waitBye(15_000);
      await silence;
      const rows = await finishedEvents(srv.server.db, peer.callId);
      expect(rows.some((e) => e.type === 'ivr.bargein' && e.data['digit'] === '9')).toBe(true);
      expect(rows.some((e) => e.type === 'ivr.prompt_end' && e.data['interrupted'] === true)).toBe(true);
      expect(rows.find((e) => e.type === 'ivr.hangup')?.data['menu']).toBe('main');
    } finally {
      await peer.close();
    }
  }, 60_000);
});
