import { WebhookNotifier } from '../../../src/call';
import { verifyWebhookSignature } from '../../../src/util/hmac';
import { VirtualClock } from '../../../src/util';

interface Sent {
  url: string;
  body: string;
  headers: Record<string, string>;
}

function fakeFetch(statuses: (number | Error)[], sent: Sent[]): typeof fetch {
  return (async (url: string | URL | Request, init?: RequestInit) => {
    sent.push({ url: String(url), body: String(init?.body), headers: init?.headers as Record<string, string> });
    const next = statuses.shift() ?? 200;
    if (next instanceof Error) throw next;
    return new Response(null, { status: next });
  }) as typeof fetch;
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('WebhookNotifier', () => {
  it('signs the exact body with HMAC-SHA256 when a key is set', async () => {
    const sent: Sent[] = [];
    const n = new WebhookNotifier({ clock: new VirtualClock(), signingKey: 'k3y', fetch: fakeFetch([204], sent) });
    n.notify('http://h/x', 'call-1', { event: 'answered', call_id: 'call-1' });
    await settle();
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0].body)).toEqual({ event: 'answered', call_id: 'call-1' });
    expect(verifyWebhookSignature(sent[0].body, 'k3y', sent[0].headers['X-Signature'])).toBe(true);
    expect(n.stats.delivered).toBe(1);
    n.close();
  });

  it('retries 5xx and network errors with backoff, then delivers', async () => {
    const clock = new VirtualClock();
    const sent: Sent[] = [];
    const n = new WebhookNotifier({ clock, baseDelayMs: 1000, fetch: fakeFetch([503, new Error('ECONNREFUSED'), 200], sent) });
    n.notify('http://h/x', 'c', { event: 'completed' });
    await settle();
    expect(sent).toHaveLength(1);
    clock.advance(1000);
    await settle();
    expect(sent).toHaveLength(2);
    clock.advance(2000);
    await settle();
    expect(sent).toHaveLength(3);
    expect(n.stats).toMatchObject({ delivered: 1, retries: 2, failed: 0 });
    expect(n.pendingCount).toBe(0);
    n.close();
  });

  it('gives up on a 4xx at once and after maxAttempts otherwise', async () => {
    const clock = new VirtualClock();
    const sent: Sent[] = [];
    const n = new WebhookNotifier({ clock, maxAttempts: 2, baseDelayMs: 10, fetch: fakeFetch([404, 500, 500], sent) });
    n.notify('http://h/a', 'a', { event: 'x' });
    await settle();
    expect(n.stats.failed).toBe(1);
    n.notify('http://h/b', 'b', { event: 'y' });
    await settle();
    clock.advance(10);
    await settle();
    expect(sent).toHaveLength(3);
    expect(n.stats.failed).toBe(2);
    n.close();
  });

  it('delivers the notifications of one call in order, the second waiting for the first’s retries', async () => {
    const clock = new VirtualClock();
    const sent: Sent[] = [];
    const n = new WebhookNotifier({ clock, baseDelayMs: 100, fetch: fakeFetch([500, 200, 200], sent) });
    n.notify('http://h/x', 'c', { event: 'answered' });
    n.notify('http://h/x', 'c', { event: 'completed' });
    await settle();
    expect(sent.map((s) => JSON.parse(s.body).event)).toEqual(['answered']);
    clock.advance(100);
    await settle();
    expect(sent.map((s) => JSON.parse(s.body).event)).toEqual(['answered', 'answered', 'completed']);
    n.close();
  });

  it('drops beyond maxPending instead of growing without bound', () => {
    const n = new WebhookNotifier({ clock: new VirtualClock(), maxPending: 2, fetch: fakeFetch([], []) });
    expect(n.notify('http://h', 'a', {})).toBe(true);
    expect(n.notify('http://h', 'b', {})).toBe(true);
    expect(n.notify('http://h', 'c', {})).toBe(false);
    expect(n.stats.dropped).toBe(1);
    n.close();
  });
});
