import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SipTransportLayer } from '../../../src/sip/transport';
import { SipUserAgent } from '../../../src/sip/ua';
import { Registrar } from '../../../src/registrar';
import { systemClock } from '../../../src/util';
import { createTestDatabase, type TestDatabase } from '../../helpers/db';
import { freePort } from '../../helpers/sipp';

// A real softphone (baresip, headless: no UI or audio modules, config in a temporary directory) registering to the
// registrar with digest authentication. Skipped where baresip is not installed.

const hasBaresip = spawnSync('baresip', ['-h'], { stdio: 'ignore' }).error === undefined;
const describeIfBaresip = hasBaresip ? describe : describe.skip;

describeIfBaresip('registrar with baresip', () => {
  let tdb: TestDatabase;
  let transport: SipTransportLayer;
  let ua: SipUserAgent;
  let registrar: Registrar;
  let dir: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    tdb = await createTestDatabase('pg');
    const holder: { ua?: SipUserAgent } = {};
    transport = new SipTransportLayer({ host: '127.0.0.1', udp: { port: 0 }, tcp: false, onMessage: (d, s) => holder.ua?.receive(d, s) });
    await transport.start();
    ua = new SipUserAgent({ clock: systemClock, send: (t, d) => transport.send(t, d), publicHost: '127.0.0.1', ports: { UDP: transport.ports.udp! } });
    holder.ua = ua;
    // baresip 1.x (libre) gives up on a 401 that carries any challenge it cannot compute (SHA-256 gets ENOSYS), so
    // this registrar offers MD5 alone, as REGISTER_DIGEST_ALGORITHMS=MD5 configures for such phones.
    registrar = new Registrar({
      db: tdb.db,
      domain: 'sip.test',
      aliases: ['127.0.0.1'],
      instanceId: 'node-a',
      algorithms: ['MD5'],
      expires: { minS: 60, maxS: 3600, defaultS: 600 },
      purgeIntervalMs: 0,
    });
    ua.handle('REGISTER', (req) => registrar.handleRegister(req));
    await registrar.users.create({ username: 'erin', password: 'erin-secret' });
    dir = mkdtempSync(join(tmpdir(), 'baresip-'));
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    await registrar?.close();
    await ua?.close();
    await transport?.close();
    await tdb?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('registers with digest credentials and is found at its source address', async () => {
    const port = await freePort();
    writeFileSync(
      join(dir, 'config'),
      ['sip_listen\t\t127.0.0.1:' + port, 'module_path\t\t/usr/lib/baresip/modules', 'module\t\t\tg711.so', 'module_app\t\taccount.so', 'sip_trans_def\t\tudp', ''].join('\n'),
    );
    writeFileSync(join(dir, 'accounts'), `<sip:erin@127.0.0.1:${transport.ports.udp}>;auth_pass=erin-secret;regint=300\n`);
    child = spawn('baresip', ['-f', dir, '-n', '127.0.0.1', '-t', '25'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    let contacts = await registrar.lookup('erin');
    while (contacts.length === 0 && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 100));
      contacts = await registrar.lookup('erin');
    }
    expect({ contacts: contacts.length, output: contacts.length === 0 ? output : '' }).toEqual({ contacts: 1, output: '' });
    expect(contacts[0].target).toEqual({ transport: 'UDP', address: '127.0.0.1', port });
    expect(contacts[0].expiresInS).toBeGreaterThan(200);
    expect(contacts[0].userAgent).toMatch(/baresip/i);
  });
});
