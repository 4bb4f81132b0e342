import type { TestServer } from '../../helpers/server';
import { call, mint, startApiServer } from './api-client';

// The IVR, queue and recording management API over HTTP with the real PostgreSQL: CRUD with validation (menu
// references, queue definitions), scopes, and the errors of the recording and transcript routes.

let srv: TestServer;

beforeAll(async () => {
  srv = await startApiServer();
}, 60_000);

afterAll(async () => {
  await srv?.stop();
});

interface MenuJson {
  id: string;
  name: string;
  menu: Record<string, unknown>;
}

describe('IVR menus API', () => {
  it('creates, reads, replaces and deletes menus, keeping sub-menu references consistent', async () => {
    const orphan = await call(srv, 'POST', '/api/ivr/menus', { body: { name: 'top', prompt: 'top.wav', options: { '1': { type: 'menu', menu: 'billing' } } } });
    expect(orphan.status).toBe(400);
    expect((orphan.body as { error: { field: string } }).error.field).toBe('options.1.menu');

    const billing = await call(srv, 'POST', '/api/ivr/menus', { body: { name: 'billing', prompt: { text: 'Billing. Press 0 to go back.' }, options: { '0': { type: 'back' } } } });
    expect(billing.status).toBe(201);
    const top = await call(srv, 'POST', '/api/ivr/menus', {
      body: { name: 'top', prompt: 'top.wav', timeoutS: 4, options: { '1': { type: 'menu', menu: 'billing' }, '2': { type: 'queue', queue: 'support', priority: 5 } } },
    });
    expect(top.status).toBe(201);
    const topJson = top.body as MenuJson;
    expect(topJson.menu).toMatchObject({ name: 'top', timeoutS: 4, maxRetries: 3, defaultAction: { type: 'hangup' } });

    expect((await call(srv, 'POST', '/api/ivr/menus', { body: { name: 'top', prompt: 'x.wav' } })).status).toBe(409);
    expect((await call(srv, 'POST', '/api/ivr/menus', { body: { name: 'bad', prompt: 'x.wav', timeoutSeconds: 3 } })).status).toBe(400);
    expect((await call(srv, 'POST', '/api/ivr/menus', { body: { name: 'bad', prompt: 'x.wav', options: { '12345678901': { type: 'hangup' } } } })).status).toBe(400);

    const list = await call(srv, 'GET', '/api/ivr/menus', { token: mint({ scope: 'calls:read' }) });
    expect((list.body as { items: MenuJson[] }).items.map((m) => m.name)).toEqual(['billing', 'top']);
    const byName = await call(srv, 'GET', '/api/ivr/menus/top');
    expect((byName.body as MenuJson).id).toBe(topJson.id);
    expect((await call(srv, 'GET', '/api/ivr/menus/nope')).status).toBe(404);

    const put = await call(srv, 'PUT', `/api/ivr/menus/${topJson.id}`, { body: { prompt: 'top2.wav', options: { '1': { type: 'menu', menu: 'billing' } } } });
    expect(put.status).toBe(200);
    expect((put.body as MenuJson).menu).toMatchObject({ prompt: 'top2.wav', timeoutS: 5 });
    expect((await call(srv, 'PUT', `/api/ivr/menus/${topJson.id}`, { body: { name: 'renamed', prompt: 'x.wav' } })).status).toBe(400);

    // billing is referenced by top: refused; top first, then billing.
    expect((await call(srv, 'DELETE', '/api/ivr/menus/billing')).status).toBe(409);
    expect((await call(srv, 'DELETE', `/api/ivr/menus/${topJson.id}`)).status).toBe(204);
    expect((await call(srv, 'DELETE', '/api/ivr/menus/billing')).status).toBe(204);
    expect((await call(srv, 'GET', '/api/ivr/menus')).body).toEqual({ items: [] });
  });

  it('needs calls:write to change menus', async () => {
    const r = await call(srv, 'POST', '/api/ivr/menus', { token: mint({ scope: 'calls:read' }), body: { name: 'm', prompt: 'm.wav' } });
    expect(r.status).toBe(403);
    expect((await call(srv, 'GET', '/api/ivr/menus', { token: mint({ scope: 'sms:read' }) })).status).toBe(403);
  });
});

describe('queues API', () => {
  it('creates, lists with waiting callers, replaces and deletes queues', async () => {
    const bad = await call(srv, 'POST', '/api/queues', { body: { name: 'q1', capacity: -1 } });
    expect(bad.status).toBe(400);
    expect((bad.body as { error: { field: string } }).error.field).toBe('capacity');
    const created = await call(srv, 'POST', '/api/queues', {
      body: { name: 'q1', capacity: 10, maxWaitS: 120, strategy: 'least-recent', targets: [{ kind: 'sip', id: 'desk', uri: 'sip:desk@example.com' }], onTimeout: { type: 'forward', number: '+14155550100' } },
    });
    expect(created.status).toBe(201);
    const q = created.body as { id: string; definition: Record<string, unknown>; waiting: unknown[] };
    expect(q.definition).toMatchObject({ name: 'q1', strategy: 'longest_idle', capacity: 10, maxWaitS: 120, onTimeout: { type: 'forward', number: '+14155550100' }, onFull: { type: 'hangup' } });
    expect(q.waiting).toEqual([]);
    expect((await call(srv, 'POST', '/api/queues', { body: { name: 'q1' } })).status).toBe(409);
    const list = await call(srv, 'GET', '/api/queues', { token: mint({ scope: 'calls:read' }) });
    expect((list.body as { items: { name: string }[] }).items.map((i) => i.name)).toContain('q1');
    expect((await call(srv, 'GET', '/api/queues/q1')).status).toBe(200);
    const put = await call(srv, 'PUT', `/api/queues/${q.id}`, { body: { capacity: 20, targets: [] } });
    expect(put.status).toBe(200);
    expect((put.body as { definition: Record<string, unknown> }).definition).toMatchObject({ capacity: 20, targets: [] });
    expect((await call(srv, 'PUT', '/api/queues/q1/callers/nobody/priority', { body: { priority: 3 } })).status).toBe(404);
    expect((await call(srv, 'PUT', '/api/queues/q1/callers/nobody/priority', { body: { priority: 3000 } })).status).toBe(400);
    expect((await call(srv, 'POST', '/api/queues/q1/callers/nobody/pull', { body: { target: 'ai' } })).status).toBe(404);
    expect((await call(srv, 'DELETE', `/api/queues/${q.id}`)).status).toBe(204);
    expect((await call(srv, 'GET', `/api/queues/${q.id}`)).status).toBe(404);
  });
});

describe('recordings API', () => {
  it('lists nothing yet, answers 404 for unknown recordings and calls, validates ids and cursors', async () => {
    expect((await call(srv, 'GET', '/api/recordings')).body).toEqual({ items: [], next_cursor: null });
    expect((await call(srv, 'GET', '/api/recordings/8a0f3c52-4a37-4d1b-9d0a-0d8b7f0f7a11')).status).toBe(404);
    expect((await call(srv, 'GET', '/api/recordings/not-a-uuid')).status).toBe(400);
    expect((await call(srv, 'GET', '/api/recordings?cursor=garbage')).status).toBe(400);
    expect((await call(srv, 'GET', '/api/calls/unknown-call/transcript')).status).toBe(404);
    expect((await call(srv, 'POST', '/api/calls/unknown-call/recording/stop')).status).toBe(409);
    expect((await call(srv, 'DELETE', '/api/recordings/8a0f3c52-4a37-4d1b-9d0a-0d8b7f0f7a11')).status).toBe(404);
  });

  it('documents the routes in the OpenAPI document', async () => {
    const doc = (await call(srv, 'GET', '/api/openapi.json')).body as { paths?: Record<string, unknown> };
    const paths = Object.keys(doc.paths ?? {});
    for (const p of ['/api/ivr/menus', '/api/ivr/menus/{menu_id}', '/api/queues', '/api/queues/{queue_id}/callers/{call_id}/pull', '/api/recordings/{recording_id}/audio', '/api/calls/{call_id}/recording/start', '/api/calls/{call_id}/transcript']) {
      expect(paths).toContain(p);
    }
  });
});
