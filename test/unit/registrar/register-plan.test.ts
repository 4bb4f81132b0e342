import { parseMessage, type SipRequest } from '../../../src/sip/message';
import { planRegister, type ExpiryBounds } from '../../../src/registrar';

const BOUNDS: ExpiryBounds = { minS: 60, maxS: 3600, defaultS: 600 };

function register(headers: string[]): SipRequest {
  const text = [
    'REGISTER sip:sip.test SIP/2.0',
    'Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK-1',
    'Max-Forwards: 70',
    'From: <sip:alice@sip.test>;tag=a1',
    'To: <sip:alice@sip.test>',
    'Call-ID: reg-1',
    'CSeq: 1 REGISTER',
    ...headers,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const parsed = parseMessage(Buffer.from(text));
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.msg as SipRequest;
}

describe('planRegister (RFC 3261 §10.3 steps 6-7)', () => {
  it('is a query without Contact', () => {
    expect(planRegister(register([]), BOUNDS)).toEqual({ kind: 'query' });
  });

  it('takes each contact\'s expires parameter, else the Expires header, else the default', () => {
    const plan = planRegister(register(['Contact: <sip:alice@10.0.0.5:5062>;expires=120;q=0.7, "Desk" <sip:alice@10.0.0.6>', 'Expires: 300']), BOUNDS);
    expect(plan).toEqual({
      kind: 'update',
      contacts: [
        { uri: 'sip:alice@10.0.0.5:5062', header: '<sip:alice@10.0.0.5:5062>;q=0.7', expiresS: 120, q: 0.7, sipInstance: null, regId: null },
        { uri: 'sip:alice@10.0.0.6', header: '"Desk" <sip:alice@10.0.0.6>', expiresS: 300, q: null, sipInstance: null, regId: null },
      ],
    });
    const def = planRegister(register(['Contact: <sip:alice@10.0.0.5>']), BOUNDS);
    expect(def).toMatchObject({ kind: 'update', contacts: [{ expiresS: 600 }] });
  });

  it('refuses a non-zero interval below the minimum with 423 and Min-Expires, but lets 0 remove', () => {
    expect(planRegister(register(['Contact: <sip:alice@10.0.0.5>', 'Expires: 30']), BOUNDS)).toEqual({ kind: 'refuse', status: 423, reason: 'Interval Too Brief', minExpires: 60 });
    expect(planRegister(register(['Contact: <sip:alice@10.0.0.5>;expires=0', 'Expires: 30']), BOUNDS)).toMatchObject({ kind: 'update', contacts: [{ expiresS: 0 }] });
  });

  it('shortens intervals above the maximum', () => {
    expect(planRegister(register(['Contact: <sip:alice@10.0.0.5>;expires=99999']), BOUNDS)).toMatchObject({ kind: 'update', contacts: [{ expiresS: 3600 }] });
  });

  it('accepts Contact: * only alone and only with Expires: 0', () => {
    expect(planRegister(register(['Contact: *', 'Expires: 0']), BOUNDS)).toEqual({ kind: 'remove-all' });
    expect(planRegister(register(['Contact: *', 'Expires: 60']), BOUNDS)).toMatchObject({ kind: 'refuse', status: 400 });
    expect(planRegister(register(['Contact: *']), BOUNDS)).toMatchObject({ kind: 'refuse', status: 400 });
    expect(planRegister(register(['Contact: *', 'Contact: <sip:alice@10.0.0.5>', 'Expires: 0']), BOUNDS)).toMatchObject({ kind: 'refuse', status: 400 });
  });

  it('answers 400 to a malformed Contact or Expires instead of throwing', () => {
    expect(planRegister(register(['Contact: <sip:alice@10.0.0.5']), BOUNDS)).toEqual({ kind: 'refuse', status: 400, reason: 'Malformed Contact' });
    expect(planRegister(register(['Contact: <sip:alice@10.0.0.5>', 'Expires: soon']), BOUNDS)).toEqual({ kind: 'refuse', status: 400, reason: 'Malformed Expires' });
  });

  it('keeps RFC 5626 instance and reg-id, and lets the last duplicate contact win', () => {
    const plan = planRegister(
      register(['Contact: <sip:alice@10.0.0.5>;expires=100, <sip:alice@10.0.0.5>;expires=200;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1']),
      BOUNDS,
    );
    expect(plan).toMatchObject({ kind: 'update', contacts: [{ uri: 'sip:alice@10.0.0.5', expiresS: 200, sipInstance: '<urn:uuid:00000000-0000-1000-8000-000A95A0E128>', regId: 1 }] });
  });
});
