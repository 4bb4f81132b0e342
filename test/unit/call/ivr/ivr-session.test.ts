import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpIvrWebhookClient, IvrMenuSet, IvrSession, type IvrMenuInput, type IvrOutcome, type IvrWebhookRequest } from '../../../../src/call/ivr';
import { VirtualClock } from '../../../../src/util';
import { FakeIvrPort, flush, namePrompts, tick } from './fake-ivr-port';

const SALES_TEXT = 'Sales. Press 1 for new orders, 2 for your order status, star to go back.';

function menus(webhook = 'http://127.0.0.1:9/unused'): IvrMenuInput[] {
  return [
    {
      name: 'main',
      prompt: 'main.wav',
      invalidPrompt: 'invalid.wav',
      timeoutPrompt: 'timeout.wav',
      timeoutS: 5,
      maxRetries: 2,
      options: {
        '1': { type: 'menu', menu: 'sales' },
        '2': { type: 'menu', menu: 'support' },
        '0': { type: 'extension', extension: '100' },
        '9': { type: 'repeat' },
      },
      defaultAction: { type: 'ai' },
    },
    {
      name: 'sales',
      prompt: { text: SALES_TEXT },
      options: {
        '1': { type: 'queue', queue: 'sales', priority: 5 },
        '2': { type: 'collect', digits: 4, minDigits: 3, prompt: 'enter-order.wav', webhook, onError: { type: 'queue', queue: 'sales' } },
        '*': { type: 'back' },
      },
      defaultAction: { type: 'hangup', prompt: 'goodbye.wav' },
    },
    {
      name: 'support',
      prompt: 'support.wav',
      interDigitTimeoutS: 2,
      options: {
        '1': { type: 'ai', settings: { agent: 'support' } },
        '12': { type: 'number', number: '+15550100' },
        '123': { type: 'number', number: '+15550123' },
        '#': { type: 'back' },
      },
    },
  ];
}

describe('IvrSession', () => {
  let clock: VirtualClock;
  let port: FakeIvrPort;

  beforeEach(() => {
    clock = new VirtualClock();
    port = new FakeIvrPort(clock);
  });

  function start(set = IvrMenuSet.from(menus()), extra: Partial<ConstructorParameters<typeof IvrSession>[0]> = {}): { session: IvrSession; done: Promise<IvrOutcome> } {
    const session = new IvrSession({ port, menus: set, prompts: namePrompts, clock, from: '+15551234', to: '+15559876', ...extra });
    return { session, done: session.run() };
  }

  afterEach(() => {
    // Whatever the path, a finished session leaves no timer and no digit subscription behind.
    expect(clock.pending()).toBe(0);
    expect(port.subscribed).toBe(false);
  });

  it('walks a two-level menu; the first key stops the prompt (barge-in)', async () => {
    const { done } = start();
    await tick(clock, 500);
    expect(port.played).toEqual(['main.wav']);
    expect(port.isPlaying).toBe(true);
    port.press('1');
    await tick(clock, 100);
    expect(port.stops).toBe(1);
    expect(port.played).toEqual(['main.wav', `tts:${SALES_TEXT}`]);
    await tick(clock, 2500); // sales prompt finished, waiting for a key
    port.press('1');
    const outcome = await done;
    expect(outcome).toEqual({ kind: 'route', action: { type: 'queue', queue: 'sales', priority: 5 }, menu: 'sales' });
    expect(port.routed).toEqual([{ type: 'queue', queue: 'sales', priority: 5 }]);
    expect(port.types()).toEqual([
      'ivr.start',
      'ivr.menu',
      'ivr.prompt',
      'ivr.digit',
      'ivr.bargein',
      'ivr.prompt_end',
      'ivr.input',
      'ivr.option',
      'ivr.goto',
      'ivr.menu',
      'ivr.prompt',
      'ivr.digit',
      'ivr.input',
      'ivr.option',
      'ivr.route',
      'ivr.end',
    ]);
    expect(port.events.find((e) => e.type === 'ivr.route')?.data).toEqual({ menu: 'sales', to: 'queue', queue: 'sales', priority: 5 });
  });

  it('replays the timeout prompt then the menu prompt, the invalid prompt after a wrong key, and takes the default action after the retries', async () => {
    const { done } = start();
    await tick(clock, 2000 + 5000); // prompt, then 5 s of silence
    expect(port.played).toEqual(['main.wav', 'timeout.wav']);
    await tick(clock, 2000 + 2000); // timeout prompt, main prompt again
    expect(port.played).toEqual(['main.wav', 'timeout.wav', 'main.wav']);
    port.press('7');
    await tick(clock, 100);
    expect(port.played).toEqual(['main.wav', 'timeout.wav', 'main.wav', 'invalid.wav']);
    await tick(clock, 2000);
    expect(port.played).toEqual(['main.wav', 'timeout.wav', 'main.wav', 'invalid.wav', 'main.wav']);
    // Third failure: maxRetries (2) used up -> defaultAction (the AI), no more prompts.
    await tick(clock, 2000 + 5000);
    const outcome = await done;
    expect(outcome).toEqual({ kind: 'route', action: { type: 'ai' }, menu: 'main' });
    expect(port.played).toHaveLength(5);
    const trail = port.events.filter((e) => ['ivr.timeout', 'ivr.invalid', 'ivr.retries'].includes(e.type));
    expect(trail).toEqual([
      { type: 'ivr.timeout', data: { menu: 'main', retry: 0 } },
      { type: 'ivr.invalid', data: { menu: 'main', input: '7', retry: 1 } },
      { type: 'ivr.timeout', data: { menu: 'main', retry: 2 } },
      { type: 'ivr.retries', data: { menu: 'main', after: 'timeout', action: 'ai' } },
    ]);
  });

  it('prefers the timeout action when the retries ran out on silence', async () => {
    const set = IvrMenuSet.from([{ name: 'm', prompt: 'p.wav', maxRetries: 0, options: { '1': { type: 'ai' } }, timeoutAction: { type: 'number', number: '+15550000' } }]);
    const { done } = start(set);
    await tick(clock, 2000 + 5000);
    expect(await done).toEqual({ kind: 'route', action: { type: 'number', number: '+15550000' }, menu: 'm' });
  });

  it('goes back to the previous menu, repeats, and plays a goodbye before hanging up', async () => {
    const { done } = start();
    port.press('1'); // type-ahead before the prompt started: the main prompt is skipped
    await tick(clock, 100);
    expect(port.played).toEqual([`tts:${SALES_TEXT}`]);
    await tick(clock, 2000);
    port.press('*'); // back to main
    await tick(clock, 100);
    port.press('9'); // repeat main
    await tick(clock, 100);
    port.press('1'); // sales again
    await tick(clock, 2000);
    // Silence in sales with maxRetries 3: 4 timeouts then goodbye + hangup.
    await tick(clock, 4 * (2000 + 5000));
    await tick(clock, 2000);
    expect(await done).toEqual({ kind: 'hangup', menu: 'sales', reason: 'action' });
    expect(port.hangups).toBe(1);
    // Skipped once (type-ahead), played after "back" and after "repeat".
    expect(port.played.filter((f) => f === 'main.wav')).toHaveLength(2);
    expect(port.events.filter((e) => e.type === 'ivr.prompt' && e.data['skipped'] === true)).toHaveLength(1);
    expect(port.played[port.played.length - 1]).toBe('goodbye.wav');
    const menusEntered = port.events.filter((e) => e.type === 'ivr.menu').map((e) => e.data['menu']);
    expect(menusEntered).toEqual(['main', 'sales', 'main', 'sales']);
    expect(port.types()).toContain('ivr.back');
    expect(port.types()).toContain('ivr.repeat');
  });

  it('reads multi-key options: waits the inter-digit time for a longer key, stops at a unique match or #', async () => {
    const set = IvrMenuSet.from(menus(), 'support');
    const a = start(set);
    await tick(clock, 2000);
    port.press('1');
    await tick(clock, 1900);
    expect(port.routed).toHaveLength(0); // '1' could still become '12' or '123'
    await tick(clock, 200);
    expect(await a.done).toEqual({ kind: 'route', action: { type: 'ai', settings: { agent: 'support' } }, menu: 'support' });

    port = new FakeIvrPort(clock);
    const b = start(set);
    port.press('123');
    expect(await b.done).toMatchObject({ action: { number: '+15550123' } });

    port = new FakeIvrPort(clock);
    const c = start(set);
    await tick(clock, 2000);
    port.press('12#');
    expect(await c.done).toMatchObject({ action: { number: '+15550100' } });
  });

  it('ends at once when the caller hangs up, mid-prompt or while waiting', async () => {
    const a = start();
    await tick(clock, 500);
    a.session.cancel();
    expect(await a.done).toEqual({ kind: 'cancelled', menu: 'main' });
    expect(port.stops).toBe(1);

    port = new FakeIvrPort(clock);
    const b = start();
    await tick(clock, 3000);
    b.session.cancel();
    expect(await b.done).toEqual({ kind: 'cancelled', menu: 'main' });
    expect(port.routed).toHaveLength(0);
    expect(port.hangups).toBe(0);
  });

  it('cuts a menu loop short with a hangup', async () => {
    const set = IvrMenuSet.from([
      { name: 'a', prompt: 'a.wav', maxRetries: 0, defaultAction: { type: 'menu', menu: 'b' } },
      { name: 'b', prompt: 'b.wav', maxRetries: 0, defaultAction: { type: 'menu', menu: 'a' } },
    ]);
    const { done } = start(set, { maxSteps: 4 });
    await tick(clock, 5 * 7000);
    expect(await done).toEqual({ kind: 'hangup', menu: 'a', reason: 'loop' });
    expect(port.hangups).toBe(1);
    expect(port.played).toEqual(['a.wav', 'b.wav', 'a.wav', 'b.wav', 'a.wav']);
  });

  it('goes on without a prompt that cannot be resolved or played', async () => {
    const set = IvrMenuSet.from([{ name: 'm', prompt: { text: 'hello' }, options: { '5': { type: 'ai' } } }]);
    const session = new IvrSession({
      port,
      menus: set,
      clock,
      prompts: { resolve: () => Promise.reject(new Error('no TTS')) },
    });
    const done = session.run();
    await tick(clock, 100);
    port.press('5');
    expect(await done).toMatchObject({ kind: 'route' });
    expect(port.events.find((e) => e.type === 'ivr.prompt_error')?.data).toMatchObject({ menu: 'm', error: 'no TTS' });
  });

  it('refuses to run twice and rejects an unknown start menu', async () => {
    const session = new IvrSession({ port, menus: IvrMenuSet.from(menus()), prompts: namePrompts, clock });
    await expect(session.run('nope')).rejects.toThrow(TypeError);
    await expect(session.run()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
  });

  describe('collect + webhook', () => {
    let server: Server;
    let url: string;
    const received: { body: IvrWebhookRequest; contentType: string | undefined; signature: string | undefined }[] = [];
    let reply: (body: IvrWebhookRequest, res: ServerResponse) => void;

    beforeAll(async () => {
      server = createServer((req: IncomingMessage, res: ServerResponse) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as IvrWebhookRequest;
          received.push({ body, contentType: req.headers['content-type'], signature: req.headers['x-signature'] as string | undefined });
          reply(body, res);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ivr/order`;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    beforeEach(() => {
      received.length = 0;
    });

    const json = (res: ServerResponse, status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };

    async function toCollect(): Promise<void> {
      await tick(clock, 2000);
      port.press('1'); // main -> sales
      await tick(clock, 2000);
      port.press('2'); // sales -> collect
      await tick(clock, 100);
      expect(port.played[port.played.length - 1]).toBe('enter-order.wav');
    }

    it('POSTs the digits and follows the action of the JSON answer', async () => {
      reply = (body, res) => json(res, 200, { action: body.digits === '4711' ? { type: 'number', number: '+15554711' } : { type: 'hangup' } });
      const webhook = new HttpIvrWebhookClient({ sign: (b) => `len=${b.length}` });
      const { done } = start(IvrMenuSet.from(menus(url)), { webhook });
      await toCollect();
      port.press('4711'); // four digits: entry complete without waiting
      expect(await done).toEqual({ kind: 'route', action: { type: 'number', number: '+15554711' }, menu: 'sales' });
      expect(received).toHaveLength(1);
      expect(received[0].body).toEqual({ callId: port.callId, menu: 'sales', digits: '4711', from: '+15551234', to: '+15559876', path: ['main', 'sales'] });
      expect(received[0].contentType).toBe('application/json');
      expect(received[0].signature).toMatch(/^len=\d+$/);
      expect(port.events.find((e) => e.type === 'ivr.collect')?.data).toEqual({ menu: 'sales', digits: '4711' });
      expect(port.events.find((e) => e.type === 'ivr.webhook')?.data).toEqual({ menu: 'sales', url, action: 'number' });
    });

    it('accepts fewer digits ended by # and a bare action as the answer; the answer may lead to a menu', async () => {
      reply = (_body, res) => json(res, 200, { type: 'menu', menu: 'support' });
      const { done } = start(IvrMenuSet.from(menus(url)), { webhook: new HttpIvrWebhookClient() });
      await toCollect();
      port.press('123#');
      await new Promise<void>((resolve) => {
        const poll = (): void => (port.played.includes('support.wav') ? resolve() : void setTimeout(poll, 5));
        poll();
      });
      expect(received[0].body.digits).toBe('123');
      port.press('1');
      await tick(clock, 2100); // '1' could still become '12': the inter-digit timeout decides
      expect(await done).toMatchObject({ kind: 'route', action: { type: 'ai' }, menu: 'support' });
    });

    it('takes the error action when the webhook fails or answers nonsense', async () => {
      for (const bad of [
        (_b: IvrWebhookRequest, res: ServerResponse) => json(res, 500, { error: 'down' }),
        (_b: IvrWebhookRequest, res: ServerResponse) => json(res, 200, { action: { type: 'launch-rockets' } }),
        (_b: IvrWebhookRequest, res: ServerResponse) => json(res, 200, { action: { type: 'menu', menu: 'no-such-menu' } }),
        (_b: IvrWebhookRequest, res: ServerResponse) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('OK');
        },
      ]) {
        reply = bad;
        port = new FakeIvrPort(clock);
        const { done } = start(IvrMenuSet.from(menus(url)), { webhook: new HttpIvrWebhookClient() });
        await toCollect();
        port.press('9999');
        expect(await done).toEqual({ kind: 'route', action: { type: 'queue', queue: 'sales' }, menu: 'sales' });
        expect(port.types()).toContain('ivr.webhook_error');
      }
    });

    it('re-asks for too few digits, then takes the error action without calling the webhook', async () => {
      reply = (_b, res) => json(res, 200, { type: 'ai' });
      const { done } = start(IvrMenuSet.from(menus(url)), { webhook: new HttpIvrWebhookClient() });
      await toCollect();
      // sales has maxRetries 3: four attempts of "12#" (2 digits < minDigits 3).
      for (let i = 0; i < 4; i++) {
        await tick(clock, 2000);
        port.press('12#');
        await tick(clock, 100);
      }
      await flush();
      expect(await done).toEqual({ kind: 'route', action: { type: 'queue', queue: 'sales' }, menu: 'sales' });
      expect(received).toHaveLength(0);
      expect(port.played.filter((f) => f === 'enter-order.wav')).toHaveLength(4);
    });
  });
});
