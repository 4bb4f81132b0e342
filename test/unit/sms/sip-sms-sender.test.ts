import { SipResponse } from '../../../src/sip/message';
import { SipRequestError } from '../../../src/sip/ua';
import { SipSmsSender, gatewayRoute, trunkDialString, trunkRoute, type SipRequester, type SmsSipRequestOptions, type SmsSendRequest } from '../../../src/sms';
import type { TrunkRecord } from '../../../src/store';
import { VirtualClock } from '../../../src/util';
import { trunkRecord } from '../../helpers/trunk-record';

const ID = '3b1f0c9e-2d4a-4e6b-9c8d-7a6b5c4d3e2f';

interface Call {
  method: string;
  uri: string;
  options: SmsSipRequestOptions;
}

function requester(answer: () => Promise<SipResponse>): SipRequester & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    request: (method, uri, options) => {
      calls.push({ method, uri, options });
      return answer();
    },
  };
}

const req = (over: Partial<SmsSendRequest> = {}): SmsSendRequest => ({
  messageId: ID,
  attempt: 1,
  from: '+15550001',
  to: '+15550002',
  body: Buffer.from('hi ✓', 'utf8'),
  contentType: 'text/plain;charset=UTF-8',
  ...over,
});

describe('SipSmsSender', () => {
  it('sends MESSAGE to the route with the message id, a stable Call-ID and the body as given', async () => {
    const r = requester(async () => new SipResponse(202, 'Accepted'));
    const sender = new SipSmsSender({ requester: r, route: gatewayRoute('sip:gw.example.com:5070;transport=tcp', 'us.example.com') });
    const result = await sender.send(req({ attempt: 3 }));
    expect(result).toEqual({ status: 202, reason: 'Accepted', callId: `sms-${ID}-1@us.example.com` });
    const call = r.calls[0];
    expect(call.method).toBe('MESSAGE');
    expect(call.uri).toBe('sip:+15550002@gw.example.com:5070;transport=tcp');
    expect(call.options.from).toBe('<sip:+15550001@us.example.com>');
    expect(call.options.callId).toBe(`sms-${ID}-1@us.example.com`);
    expect(call.options.cseq).toBe(17);
    expect(call.options.body?.equals(Buffer.from('hi ✓', 'utf8'))).toBe(true);
    expect(call.options.contentType).toBe('text/plain;charset=UTF-8');
    expect(call.options.headers).toEqual([['X-SMS-Message-ID', ID]]);
  });

  it('adds X-SMS-Concat and a per-part Call-ID for a segment', async () => {
    const r = requester(async () => new SipResponse(200, 'OK'));
    const sender = new SipSmsSender({ requester: r, route: gatewayRoute('sip:gw.example.com', 'us') });
    await sender.send(req({ segment: { ref: 9, seq: 2, total: 3 } }));
    expect(r.calls[0].options.headers).toContainEqual(['X-SMS-Concat', 'ref=9;seq=2;total=3']);
    expect(r.calls[0].options.callId).toBe(`sms-${ID}-2@us`);
  });

  it('maps a timeout to 408 and a transport failure to 503 (RFC 3261 §8.1.3.1)', async () => {
    const timeout = new SipSmsSender({ requester: requester(() => Promise.reject(new SipRequestError('SIP_REQUEST_TIMEOUT', 'no answer', 408))), route: gatewayRoute('sip:gw', 'us') });
    expect((await timeout.send(req())).status).toBe(408);
    const broken = new SipSmsSender({ requester: requester(() => Promise.reject(new Error('socket closed'))), route: gatewayRoute('sip:gw', 'us') });
    expect(await broken.send(req())).toMatchObject({ status: 503, reason: 'socket closed' });
  });

  it('reports Retry-After of a 503', async () => {
    const sender = new SipSmsSender({ requester: requester(async () => new SipResponse(503, 'Busy', [['Retry-After', '30']])), route: gatewayRoute('sip:gw', 'us') });
    expect(await sender.send(req())).toMatchObject({ status: 503, retryAfterMs: 30_000 });
  });

  it('gives up a request that never settles after its guard time, as a 408', async () => {
    const clock = new VirtualClock();
    const sender = new SipSmsSender({ requester: requester(() => new Promise<SipResponse>(() => undefined)), route: gatewayRoute('sip:gw', 'us'), clock, timeoutMs: 1000 });
    const pending = sender.send(req());
    await Promise.resolve();
    await Promise.resolve();
    clock.advance(1000);
    expect(await pending).toMatchObject({ status: 408 });
  });

  it('returns status 0 when there is no route, and 503 when the route lookup fails', async () => {
    const r = requester(async () => new SipResponse(200, 'OK'));
    expect((await new SipSmsSender({ requester: r, route: async () => undefined }).send(req())).status).toBe(0);
    expect((await new SipSmsSender({ requester: r, route: () => Promise.reject(new Error('db down')) }).send(req())).status).toBe(503);
    expect(r.calls).toHaveLength(0);
  });

  it('addresses a gateway URI with a user part as is and puts the number in To', async () => {
    const route = await gatewayRoute('sip:sms@gw.example.com;transport=udp', 'us')('+4930123', null);
    expect(route).toMatchObject({ requestUri: 'sip:sms@gw.example.com;transport=udp', toUri: 'sip:+4930123@gw.example.com' });
  });
});

describe('trunkRoute', () => {
  const trunk = (over: Partial<TrunkRecord>): TrunkRecord =>
    trunkRecord({ id: 'a0000000-0000-4000-8000-000000000001', name: 't', proxyAddress: 'sip.carrier.example', codecs: ['PCMU'], status: 'up', ...over });

  it('picks the longest matching prefix, applies strip/prefix and carries digest credentials', async () => {
    const trunks = [
      trunk({ id: 'a0000000-0000-4000-8000-000000000001', prefixes: ['+1'], proxyAddress: 'us.example' }),
      trunk({ id: 'a0000000-0000-4000-8000-000000000002', prefixes: ['+4930'], proxyAddress: 'berlin.example', proxyPort: 5080, transport: 'tcp', stripDigits: 1, dialPrefix: '00', username: 'acct', hasPassword: true, realm: 'carrier', fromDomain: 'we.example' }),
      trunk({ id: 'a0000000-0000-4000-8000-000000000003', prefixes: ['+49'], proxyAddress: 'de.example' }),
      trunk({ id: 'a0000000-0000-4000-8000-000000000004', prefixes: [], proxyAddress: 'disabled.example', enabled: false }),
    ];
    const route = trunkRoute({ list: async () => trunks, password: async () => 's3cret' }, 'us.local');
    expect(await route('+4930555', null)).toEqual({
      requestUri: 'sip:004930555@berlin.example:5080;transport=tcp',
      fromHost: 'we.example',
      credentials: { username: 'acct', password: 's3cret', realm: 'carrier' },
    });
    expect((await route('+4989111', null))?.requestUri).toBe('sip:+4989111@de.example:5060');
    expect(await route('+33111', null)).toBeUndefined();
    // A trunk named by the message wins over the prefix choice.
    expect((await route('+4930555', 'a0000000-0000-4000-8000-000000000001'))?.requestUri).toBe('sip:+4930555@us.example:5060');
  });

  it('strips and prefixes dial strings', () => {
    expect(trunkDialString({ stripDigits: 2, dialPrefix: '9' }, '+15551234')).toBe('95551234');
  });
});
