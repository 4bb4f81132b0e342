import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SecretCipher, createRepositories } from '../../../src/store';
import type { TestServer } from '../../helpers/server';
import { TEST_TRUNK_SECRET, call, errorOf, mint, startApiServer } from './api-client';

const run = promisify(execFile);

interface TrunkJson {
  id: string;
  name: string;
  has_password: boolean;
  [k: string]: unknown;
}

describe('trunks API', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startApiServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  const create = async (body: Record<string, unknown>): Promise<TrunkJson> => {
    const res = await call(t, 'POST', '/api/trunks', { body });
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
    return res.body as TrunkJson;
  };

  it('runs the README curl example as written; the password is stored encrypted and never returned', async () => {
    const token = mint({ scope: 'trunks:write' });
    // From seed-readme.md "VOIP Provider Configuration", only host:port and the token replaced.
    const { stdout } = await run('curl', [
      '-sS',
      '-X', 'POST', `http://127.0.0.1:${t.server.apiPort}/api/trunks`,
      '-H', 'Content-Type: application/json',
      '-H', `Authorization: Bearer ${token}`,
      '-d', `{
    "name": "Twilio Trunk",
    "provider": "twilio",
    "proxy_address": "your-account.pstn.twilio.com",
    "proxy_port": 5060,
    "username": "your-username",
    "password": "your-password",
    "supports_outbound": true,
    "supports_inbound": true
  }`,
      '-w', '\n%{http_code}',
    ]);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[lines.length - 1]).toBe('201');
    const body = JSON.parse(lines.slice(0, -1).join('\n')) as TrunkJson;
    expect(body).toMatchObject({
      name: 'Twilio Trunk',
      provider: 'twilio',
      proxy_address: 'your-account.pstn.twilio.com',
      proxy_port: 5060,
      username: 'your-username',
      has_password: true,
      supports_outbound: true,
      supports_inbound: true,
      transport: 'udp',
      codecs: ['PCMU', 'PCMA'],
    });
    expect(JSON.stringify(body)).not.toContain('your-password');

    const row = await t.server.db.query<{ password: string }>('SELECT password FROM trunks WHERE id = $1', [body.id]);
    expect(row.rows[0].password).not.toContain('your-password');
    expect(row.rows[0].password.startsWith('v1.')).toBe(true);
    // The stored value opens with the configured key, in its own row only.
    const repos = createRepositories(t.server.db, { secretCipher: SecretCipher.fromSecret(TEST_TRUNK_SECRET) });
    expect(await repos.trunks.password(body.id)).toBe('your-password');
    const wrongKey = createRepositories(t.server.db, { secretCipher: SecretCipher.fromSecret('another-key-another-key-another-key') });
    await expect(wrongKey.trunks.password(body.id)).rejects.toMatchObject({ code: 'SECRET_DECRYPT_FAILED' });
  });

  it('lists and gets trunks without passwords', async () => {
    const created = await create({ name: 'list-me', proxy_address: '192.0.2.10', password: 'hunter2', username: 'u' });
    const list = await call(t, 'GET', '/api/trunks', { token: mint({ scope: 'trunks:read' }) });
    expect(list.status).toBe(200);
    expect((list.body as { items: TrunkJson[] }).items.map((x) => x.name)).toContain('list-me');
    expect(list.text).not.toContain('hunter2');
    const one = await call(t, 'GET', `/api/trunks/${created.id}`, { token: mint({ scope: 'trunks:read' }) });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: created.id, name: 'list-me', has_password: true, status: 'unknown' });
    expect(one.text).not.toContain('hunter2');
  });

  it('takes every documented field', async () => {
    const body = {
      name: 'full',
      provider: 'vonage',
      proxy_address: 'sip.example.net',
      proxy_port: 5061,
      transport: 'tls',
      username: 'acct',
      password: 's3cret',
      realm: 'example.net',
      register: true,
      expiry: 600,
      from_domain: 'example.net',
      caller_id: '+14155550000',
      supports_outbound: true,
      supports_inbound: false,
      priority: 10,
      weight: 3,
      max_channels: 30,
      allowed_cidrs: ['198.51.100.0/24', '2001:db8::/32'],
      prefixes: ['+1', '+44'],
      codecs: ['PCMA'],
      dial_prefix: '00',
      strip_digits: 1,
      enabled: false,
    };
    const created = await create(body);
    const { password: _password, ...visible } = body;
    expect(created).toMatchObject({ ...visible, has_password: true });
  });

  it('updates only the given fields, can change and remove the password', async () => {
    const created = await create({ name: 'upd', proxy_address: 'a.example.com', username: 'u', password: 'one' });
    const res = await call(t, 'PUT', `/api/trunks/${created.id}`, { body: { proxy_port: 5080, password: 'two' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'upd', proxy_address: 'a.example.com', proxy_port: 5080, has_password: true });
    const repos = createRepositories(t.server.db, { secretCipher: SecretCipher.fromSecret(TEST_TRUNK_SECRET) });
    expect(await repos.trunks.password(created.id)).toBe('two');
    const cleared = await call(t, 'PUT', `/api/trunks/${created.id}`, { body: { password: null } });
    expect(cleared.body).toMatchObject({ has_password: false });
    expect(await repos.trunks.password(created.id)).toBeUndefined();
  });

  it('refuses register without credentials, naming the field, on create and on update', async () => {
    const res = await call(t, 'POST', '/api/trunks', { body: { name: 'reg', proxy_address: 'r.example.com', register: true } });
    expect(res.status).toBe(400);
    expect(errorOf(res).field).toBe('username');
    const created = await create({ name: 'reg2', proxy_address: 'r.example.com', username: 'u' });
    const upd = await call(t, 'PUT', `/api/trunks/${created.id}`, { body: { register: true } });
    expect(upd.status).toBe(400);
    expect(errorOf(upd).field).toBe('password');
  });

  it('answers 409 for a duplicate name', async () => {
    await create({ name: 'dup', proxy_address: 'd.example.com' });
    const res = await call(t, 'POST', '/api/trunks', { body: { name: 'dup', proxy_address: 'e.example.com' } });
    expect(res.status).toBe(409);
    expect(errorOf(res)).toMatchObject({ code: 'conflict', field: 'name' });
  });

  it('deletes, then answers 404', async () => {
    const created = await create({ name: 'del', proxy_address: 'x.example.com' });
    expect((await call(t, 'DELETE', `/api/trunks/${created.id}`)).status).toBe(204);
    expect((await call(t, 'GET', `/api/trunks/${created.id}`)).status).toBe(404);
    expect((await call(t, 'DELETE', `/api/trunks/${created.id}`)).status).toBe(404);
    expect((await call(t, 'PUT', `/api/trunks/${created.id}`, { body: { weight: 2 } })).status).toBe(404);
  });

  it('answers 404, not a database error, for an id that is not a UUID', async () => {
    const res = await call(t, 'GET', "/api/trunks/1'%20OR%20'1'='1");
    expect(res.status).toBe(404);
    expect(res.text).not.toMatch(/syntax|uuid|sql/i);
  });

  it.each([
    ['a missing name', { proxy_address: 'a.example.com' }, 'name'],
    ['a missing proxy address', { name: 'x' }, 'proxy_address'],
    ['a proxy address that is not a host', { name: 'x', proxy_address: 'not a host!' }, 'proxy_address'],
    ['port 0', { name: 'x', proxy_address: 'a.example.com', proxy_port: 0 }, 'proxy_port'],
    ['port 70000', { name: 'x', proxy_address: 'a.example.com', proxy_port: 70000 }, 'proxy_port'],
    ['an unknown transport', { name: 'x', proxy_address: 'a.example.com', transport: 'sctp' }, 'transport'],
    ['a bad CIDR', { name: 'x', proxy_address: 'a.example.com', allowed_cidrs: ['10.0.0.0/33'] }, 'allowed_cidrs.0'],
    ['an unsupported codec', { name: 'x', proxy_address: 'a.example.com', codecs: ['OPUS'] }, 'codecs.0'],
    ['an empty codec list', { name: 'x', proxy_address: 'a.example.com', codecs: [] }, 'codecs'],
    ['a short expiry', { name: 'x', proxy_address: 'a.example.com', expiry: 5 }, 'expiry'],
    ['a bad prefix', { name: 'x', proxy_address: 'a.example.com', prefixes: ['abc'] }, 'prefixes.0'],
    ['an unknown field', { name: 'x', proxy_address: 'a.example.com', secret: 'y' }, 'secret'],
  ])('refuses %s, naming the field', async (_name, body, field) => {
    const res = await call(t, 'POST', '/api/trunks', { body });
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'validation_failed', field });
  });
});
