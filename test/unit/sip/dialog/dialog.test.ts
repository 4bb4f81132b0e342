import { Dialog, type DialogCreateResult } from '../../../../src/sip/dialog';
import { createResponse, formatNameAddr, formatUri, parseMessage, type SipRequest, type SipResponse } from '../../../../src/sip/message';
import { aliceInvite, CALL_ID, inviteThroughProxies, request, requestFromBob, responseToAlice } from './sip-text';

function unwrap(r: DialogCreateResult): Dialog {
  if (!r.ok) throw new Error(`dialog not created: ${r.code} ${r.message}`);
  return r.dialog;
}

/** Serializes and re-parses, so assertions see exactly what goes on the wire. */
function wire(req: SipRequest): SipRequest {
  const r = parseMessage(req.serialize());
  if (!r.ok || !r.msg.isRequest) throw new Error('built request does not parse back');
  return r.msg;
}

const BOB_CONTACT = '<sip:bob@192.0.2.4:5062;transport=tcp>';

/** Bob (UAS) answers the INVITE that came through two proxies. */
function bobDialog(status = 200, invite: SipRequest = inviteThroughProxies(), random = () => 0): Dialog {
  const res = createResponse(invite, status, undefined, { toTag: 'bobtag1', headers: [['Contact', BOB_CONTACT]] });
  return unwrap(Dialog.fromUasResponse(invite, res, { random }));
}

/** Alice (UAC) got `res` to her INVITE. */
function aliceDialog(res: SipResponse = responseToAlice(200), invite: SipRequest = aliceInvite()): Dialog {
  return unwrap(Dialog.fromUacResponse(invite, res));
}

/** A request from Alice to Bob inside Bob's dialog (Bob's tag bobtag1). */
function requestFromAlice(method: string, cseq: number, extra: string[] = []): SipRequest {
  return request([
    `${method} sip:bob@192.0.2.4:5062;transport=tcp SIP/2.0`,
    `Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK-a${cseq}${method}`,
    'Max-Forwards: 70',
    'From: "Alice" <sip:alice@atlanta.example.com>;tag=9fxced76sl',
    'To: Bob <sip:bob@biloxi.example.com>;tag=bobtag1',
    `Call-ID: ${CALL_ID}`,
    `CSeq: ${cseq} ${method}`,
    ...extra,
  ]);
}

describe('Dialog creation by the UAS (RFC 3261 §12.1.1)', () => {
  it.each([
    [180, 'Early'],
    [183, 'Early'],
    [200, 'Confirmed'],
    [202, 'Confirmed'],
  ] as const)('a %p creates an %s dialog with the request as its source', (status, state) => {
    const d = bobDialog(status);
    expect(d.id).toEqual({ callId: CALL_ID, localTag: 'bobtag1', remoteTag: '9fxced76sl' });
    expect(d.role).toBe('uas');
    expect(d.state).toBe(state);
    expect(d.remoteSeq).toBe(314159);
    expect(d.localSeq).toBeUndefined();
    expect(d.initialCseq).toBe(314159);
    expect(d.method).toBe('INVITE');
    expect(formatNameAddr(d.localUri)).toBe('"Bob" <sip:bob@biloxi.example.com>');
    expect(formatNameAddr(d.remoteUri)).toBe('"Alice" <sip:alice@atlanta.example.com>');
    expect(formatUri(d.remoteTarget)).toBe('sip:alice@pc33.atlanta.example.com;transport=udp');
    // §12.1.1: the route set is the Record-Route list of the request, in order.
    expect(d.routeSet.map(formatNameAddr)).toEqual(['<sip:proxy2.biloxi.example.com;lr>', '<sip:proxy1.atlanta.example.com;lr>']);
    expect(d.secure).toBe(false);
    expect(d.localContact && formatNameAddr(d.localContact)).toBe(BOB_CONTACT);
    expect(d.isCallIdOwner).toBe(false);
  });

  it.each([
    ['sips URI over TLS', 'sips:bob@biloxi.example.com', 'Via: SIP/2.0/TLS proxy2.biloxi.example.com:5061;branch=z9hG4bK-p2', true],
    ['sips URI over UDP', 'sips:bob@biloxi.example.com', 'Via: SIP/2.0/UDP proxy2.biloxi.example.com;branch=z9hG4bK-p2', false],
    ['sip URI over TLS', 'sip:bob@biloxi.example.com', 'Via: SIP/2.0/TLS proxy2.biloxi.example.com:5061;branch=z9hG4bK-p2', false],
  ])('secure flag: %s', (_name, uri, topVia, secure) => {
    expect(bobDialog(200, inviteThroughProxies({ uri, topVia })).secure).toBe(secure);
  });

  it.each([
    ['100 Trying', 100, 'DIALOG_NOT_DIALOG_CREATING'],
    ['486 Busy Here', 486, 'DIALOG_NOT_DIALOG_CREATING'],
  ])('%s creates no dialog', (_name, status, code) => {
    const invite = inviteThroughProxies();
    const r = Dialog.fromUasResponse(invite, createResponse(invite, status, undefined, { toTag: 'x' }));
    expect(r).toMatchObject({ ok: false, code });
  });

  it('a response without To tag creates no dialog', () => {
    const invite = inviteThroughProxies();
    expect(Dialog.fromUasResponse(invite, createResponse(invite, 200))).toMatchObject({ ok: false, code: 'DIALOG_NO_TAG' });
  });

  it('an INVITE without Contact is refused with a typed error, not a throw', () => {
    const invite = request([
      'INVITE sip:bob@biloxi.example.com SIP/2.0',
      'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK-x',
      'Max-Forwards: 70',
      'From: <sip:alice@atlanta.example.com>;tag=1',
      'To: <sip:bob@biloxi.example.com>',
      'Call-ID: nocontact',
      'CSeq: 1 INVITE',
    ]);
    const r = Dialog.fromUasResponse(invite, createResponse(invite, 200, undefined, { toTag: 'b' }));
    expect(r).toMatchObject({ ok: false, code: 'DIALOG_NO_CONTACT' });
  });

  it('a malformed Contact in the INVITE is a typed error', () => {
    const invite = request([
      'INVITE sip:bob@biloxi.example.com SIP/2.0',
      'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK-x',
      'Max-Forwards: 70',
      'From: <sip:alice@atlanta.example.com>;tag=1',
      'To: <sip:bob@biloxi.example.com>',
      'Call-ID: badcontact',
      'CSeq: 1 INVITE',
      'Contact: <sip:alice@',
    ]);
    const r = Dialog.fromUasResponse(invite, createResponse(invite, 200, undefined, { toTag: 'b' }));
    expect(r.ok).toBe(false);
  });

  it('an INVITE without From tag (RFC 2543) gives the null remote tag, and requests carry no To tag', () => {
    const invite = request([
      'INVITE sip:bob@biloxi.example.com SIP/2.0',
      'Via: SIP/2.0/UDP old.example.com;branch=z9hG4bK-old',
      'Max-Forwards: 70',
      'From: <sip:old@example.com>',
      'To: <sip:bob@biloxi.example.com>',
      'Call-ID: rfc2543',
      'CSeq: 1 INVITE',
      'Contact: <sip:old@old.example.com>',
    ]);
    const d = unwrap(Dialog.fromUasResponse(invite, createResponse(invite, 200, undefined, { toTag: 'b', headers: [['Contact', BOB_CONTACT]] })));
    expect(d.id.remoteTag).toBe('');
    const bye = wire(d.createRequest('BYE'));
    expect(bye.toTag).toBeUndefined();
    expect(bye.fromTag).toBe('b');
  });
});

describe('Dialog creation by the UAC (RFC 3261 §12.1.2)', () => {
  it.each([
    [180, 'Early'],
    [200, 'Confirmed'],
  ] as const)('a %p creates an %s dialog with the response as its source', (status, state) => {
    const d = aliceDialog(responseToAlice(status));
    expect(d.id).toEqual({ callId: CALL_ID, localTag: '9fxced76sl', remoteTag: '8321234356' });
    expect(d.role).toBe('uac');
    expect(d.state).toBe(state);
    expect(d.localSeq).toBe(1);
    expect(d.remoteSeq).toBeUndefined();
    expect(formatUri(d.remoteTarget)).toBe('sip:bob@192.0.2.4');
    // §12.1.2: the UAC's route set is the Record-Route list of the response, reversed.
    expect(d.routeSet.map(formatNameAddr)).toEqual(['<sip:proxy1.atlanta.example.com;lr>', '<sip:proxy2.biloxi.example.com;lr>']);
    expect(formatNameAddr(d.localUri)).toBe('"Alice" <sip:alice@atlanta.example.com>');
    expect(formatNameAddr(d.remoteUri)).toBe('"Bob" <sip:bob@biloxi.example.com>');
    expect(d.isCallIdOwner).toBe(true);
    expect(d.secure).toBe(false);
  });

  it('a provisional response without To tag creates no dialog', () => {
    expect(Dialog.fromUacResponse(aliceInvite(), responseToAlice(180, { toTag: '' }))).toMatchObject({ ok: false, code: 'DIALOG_NO_TAG' });
  });

  it('a 2xx without To tag (RFC 2543) creates a dialog with the null remote tag', () => {
    const d = aliceDialog(responseToAlice(200, { toTag: '' }));
    expect(d.id.remoteTag).toBe('');
    expect(d.state).toBe('Confirmed');
  });

  it('a 2xx without Contact keeps the Request-URI as remote target', () => {
    const d = aliceDialog(responseToAlice(200, { contact: '' }));
    expect(formatUri(d.remoteTarget)).toBe('sip:bob@biloxi.example.com');
  });

  it('a 100 creates no dialog', () => {
    expect(Dialog.fromUacResponse(aliceInvite(), responseToAlice(100, { toTag: '' }))).toMatchObject({ ok: false, code: 'DIALOG_NOT_DIALOG_CREATING' });
  });

  it('early -> confirmed on 2xx, with route set and target recomputed from the 2xx (§13.2.2.4)', () => {
    const d = aliceDialog(responseToAlice(183, { contact: '<sip:early@192.0.2.9>', recordRoute: ['<sip:early-proxy.example.com;lr>'] }));
    const changes: string[] = [];
    d.on('statechange', (s, prev) => changes.push(`${prev}->${s}`));
    expect(d.outgoingInvitePending).toBe(true);
    expect(d.canSendReInvite).toBe(false);
    d.responseReceived(responseToAlice(200));
    expect(d.state).toBe('Confirmed');
    expect(changes).toEqual(['Early->Confirmed']);
    expect(formatUri(d.remoteTarget)).toBe('sip:bob@192.0.2.4');
    expect(d.routeSet.map(formatNameAddr)).toEqual(['<sip:proxy1.atlanta.example.com;lr>', '<sip:proxy2.biloxi.example.com;lr>']);
    expect(d.outgoingInvitePending).toBe(false);
    expect(d.canSendReInvite).toBe(true);
  });

  it('a later 1xx on an early dialog refreshes the remote target', () => {
    const d = aliceDialog(responseToAlice(180));
    d.responseReceived(responseToAlice(183, { contact: '<sip:bob@198.51.100.7>' }));
    expect(d.state).toBe('Early');
    expect(formatUri(d.remoteTarget)).toBe('sip:bob@198.51.100.7');
  });

  it('a non-2xx final response terminates the early dialog (§12.3)', () => {
    const d = aliceDialog(responseToAlice(180));
    const causes: string[] = [];
    d.on('terminated', (c) => causes.push(c));
    d.responseReceived(responseToAlice(486));
    expect(d.state).toBe('Terminated');
    expect(causes).toEqual(['rejected']);
  });
});

describe('requests inside a dialog (RFC 3261 §12.2.1.1)', () => {
  it('loose routing: Request-URI = remote target, Route = route set (UAS order)', () => {
    const bye = wire(bobDialog().createRequest('BYE'));
    expect(bye.method).toBe('BYE');
    expect(formatUri(bye.uri)).toBe('sip:alice@pc33.atlanta.example.com;transport=udp');
    expect(bye.getHeaders('Route')).toEqual(['<sip:proxy2.biloxi.example.com;lr>', '<sip:proxy1.atlanta.example.com;lr>']);
    expect(bye.fromTag).toBe('bobtag1');
    expect(bye.toTag).toBe('9fxced76sl');
    expect(bye.from.displayName).toBe('Bob');
    expect(formatUri(bye.to.uri)).toBe('sip:alice@atlanta.example.com');
    expect(bye.callId).toBe(CALL_ID);
    expect(bye.maxForwards).toBe(70);
    expect(bye.hasHeader('Contact')).toBe(false);
  });

  it('loose routing from the UAC uses the reversed route set', () => {
    const bye = wire(aliceDialog().createRequest('BYE'));
    expect(formatUri(bye.uri)).toBe('sip:bob@192.0.2.4');
    expect(bye.getHeaders('Route')).toEqual(['<sip:proxy1.atlanta.example.com;lr>', '<sip:proxy2.biloxi.example.com;lr>']);
  });

  it('no route set: no Route header', () => {
    const bye = wire(aliceDialog(responseToAlice(200, { recordRoute: [] })).createRequest('BYE'));
    expect(bye.hasHeader('Route')).toBe(false);
    expect(formatUri(bye.uri)).toBe('sip:bob@192.0.2.4');
  });

  it('strict routing: first route becomes the Request-URI (minus method param and headers), remote target goes last', () => {
    const d = aliceDialog(responseToAlice(200, { recordRoute: ['<sip:strict2.example.com>', '<sip:strict1.example.com;method=INVITE?X=1>'] }));
    const bye = wire(d.createRequest('BYE'));
    expect(formatUri(bye.uri)).toBe('sip:strict1.example.com');
    expect(bye.getHeaders('Route')).toEqual(['<sip:strict2.example.com>', '<sip:bob@192.0.2.4>']);
  });

  it('CSeq: the UAC counts up from the INVITE; the UAS picks an initial value below 2^31, then counts up', () => {
    const alice = aliceDialog();
    expect(wire(alice.createRequest('INFO')).cseq).toEqual({ seq: 2, method: 'INFO' });
    expect(wire(alice.createRequest('BYE')).cseq).toEqual({ seq: 3, method: 'BYE' });
    expect(alice.localSeq).toBe(3);
    const bob = bobDialog(200, inviteThroughProxies(), () => 0.5);
    const first = wire(bob.createRequest('INFO')).cseq.seq;
    expect(first).toBe(1 + Math.floor(0.5 * 0xffff));
    expect(wire(bob.createRequest('NOTIFY')).cseq.seq).toBe(first + 1);
  });

  it.each([
    ['INVITE', true],
    ['UPDATE', true],
    ['REFER', true],
    ['NOTIFY', true],
    ['SUBSCRIBE', true],
    ['BYE', false],
    ['INFO', false],
    ['PRACK', false],
    ['MESSAGE', false],
  ])('%s carries Contact: %p', (method, withContact) => {
    const req = wire(aliceDialog().createRequest(method));
    expect(req.hasHeader('Contact')).toBe(withContact);
    if (withContact) expect(formatNameAddr(req.contacts[0])).toBe('<sip:alice@pc33.atlanta.example.com:5060>');
  });

  it('Via: sent-by from the local Contact, transport from its parameter, a fresh branch each time', () => {
    const bob = bobDialog();
    const a = wire(bob.createRequest('INFO'));
    const b = wire(bob.createRequest('INFO'));
    expect(a.via.transport).toBe('TCP');
    expect(a.via.host).toBe('192.0.2.4');
    expect(a.via.port).toBe(5062);
    expect(a.branch?.startsWith('z9hG4bK')).toBe(true);
    expect(a.branch).not.toBe(b.branch);
    expect(a.via.rport).toBeNull();
  });

  it('options: via, contact, headers, body and content type', () => {
    const req = wire(
      aliceDialog().createRequest('INVITE', {
        via: 'SIP/2.0/UDP 203.0.113.5:5070;branch=z9hG4bKfixed',
        contact: '<sip:alice@203.0.113.5:5070>',
        headers: [['Supported', 'timer'], ['Session-Expires', '1800;refresher=uac']],
        body: Buffer.from('v=0\r\n'),
        contentType: 'application/sdp',
      }),
    );
    expect(req.branch).toBe('z9hG4bKfixed');
    expect(formatNameAddr(req.contacts[0])).toBe('<sip:alice@203.0.113.5:5070>');
    expect(req.getHeader('Session-Expires')).toBe('1800;refresher=uac');
    expect(req.contentType).toBe('application/sdp');
    expect(req.body.toString()).toBe('v=0\r\n');
  });

  it('ACK and CANCEL are refused by createRequest; any request on a terminated dialog is refused', () => {
    const d = aliceDialog();
    expect(() => d.createRequest('ACK')).toThrow(TypeError);
    expect(() => d.createRequest('CANCEL')).toThrow(TypeError);
    d.terminate();
    expect(() => d.createRequest('BYE')).toThrow('terminated');
    expect(() => d.createAck(1)).toThrow('terminated');
  });

  it('without a local Contact the caller must give the Via', () => {
    const invite = request([
      'INVITE sip:bob@biloxi.example.com SIP/2.0',
      'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK-x',
      'Max-Forwards: 70',
      'From: <sip:alice@atlanta.example.com>;tag=1',
      'To: <sip:bob@biloxi.example.com>',
      'Call-ID: bob-no-contact',
      'CSeq: 1 INVITE',
      'Contact: <sip:alice@192.0.2.1>',
    ]);
    const d = unwrap(Dialog.fromUasResponse(invite, createResponse(invite, 200, undefined, { toTag: 'b' })));
    expect(() => d.createRequest('BYE')).toThrow('opts.via');
    expect(wire(d.createRequest('BYE', { via: 'SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKv' })).branch).toBe('z9hG4bKv');
  });
});

describe('ACK for a 2xx (RFC 3261 §13.2.2.4)', () => {
  it('same CSeq number, method ACK, new branch, in-dialog routing, no Contact; local CSeq unchanged', () => {
    const d = aliceDialog();
    const reinvite = wire(d.createRequest('INVITE'));
    d.responseReceived(responseToAlice(200, { cseq: 2 }));
    const ack = wire(d.createAck(2, { headers: [['Authorization', 'Digest username="alice"']] }));
    expect(ack.method).toBe('ACK');
    expect(ack.cseq).toEqual({ seq: 2, method: 'ACK' });
    expect(ack.branch).not.toBe(reinvite.branch);
    expect(formatUri(ack.uri)).toBe('sip:bob@192.0.2.4');
    expect(ack.getHeaders('Route')).toEqual(['<sip:proxy1.atlanta.example.com;lr>', '<sip:proxy2.biloxi.example.com;lr>']);
    expect(ack.hasHeader('Contact')).toBe(false);
    expect(ack.getHeader('Authorization')).toBe('Digest username="alice"');
    expect(d.localSeq).toBe(2);
  });

  it('carries the answer of a late offer', () => {
    const ack = wire(aliceDialog().createAck(1, { body: Buffer.from('v=0\r\n'), contentType: 'application/sdp' }));
    expect(ack.body.toString()).toBe('v=0\r\n');
    expect(ack.contentType).toBe('application/sdp');
  });

  it.each([-1, 1.5, 2 ** 31])('rejects CSeq %p', (seq) => {
    expect(() => aliceDialog().createAck(seq)).toThrow(TypeError);
  });
});

describe('validateIncomingRequest (RFC 3261 §12.2.2)', () => {
  it.each([
    ['higher CSeq', 'INFO', 314160, { ok: true }, 314160],
    ['much higher CSeq (gaps are allowed)', 'BYE', 400000, { ok: true }, 400000],
    ['equal CSeq is not lower', 'INFO', 314159, { ok: true }, 314159],
    ['lower CSeq is out of order', 'INFO', 314158, { ok: false, status: 500 }, 314159],
    ['lower CSeq BYE is out of order', 'BYE', 1, { ok: false, status: 500 }, 314159],
    ['ACK keeps the INVITE CSeq and is exempt', 'ACK', 314159, { ok: true }, 314159],
    ['CANCEL is exempt', 'CANCEL', 1, { ok: true }, 314159],
  ])('%s', (_name, method, cseq, verdict, remoteSeqAfter) => {
    const d = bobDialog();
    const v = d.validateIncomingRequest(requestFromAlice(method, cseq));
    expect(v).toMatchObject(verdict);
    if (!v.ok && v.status === 500) {
      expect(v.headers).toHaveLength(1);
      expect(v.headers[0][0]).toBe('Retry-After');
      const secs = Number(v.headers[0][1]);
      expect(secs).toBeGreaterThanOrEqual(0);
      expect(secs).toBeLessThanOrEqual(10);
    }
    expect(d.remoteSeq).toBe(remoteSeqAfter);
  });

  it('the UAC learns the remote sequence number from the first request of the UAS', () => {
    const d = aliceDialog();
    expect(d.remoteSeq).toBeUndefined();
    expect(d.validateIncomingRequest(requestFromBob('INFO', 7))).toEqual({ ok: true });
    expect(d.remoteSeq).toBe(7);
    expect(d.validateIncomingRequest(requestFromBob('INFO', 6))).toMatchObject({ ok: false, status: 500 });
  });

  it('a terminated dialog answers 481', () => {
    const d = bobDialog();
    d.terminate();
    expect(d.validateIncomingRequest(requestFromAlice('BYE', 314160))).toMatchObject({ ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' });
  });
});

describe('re-INVITE glare (RFC 3261 §14)', () => {
  it('UAC side: an INVITE received while our re-INVITE is pending gets 491', () => {
    const alice = aliceDialog();
    alice.createRequest('INVITE');
    expect(alice.outgoingInvitePending).toBe(true);
    expect(alice.validateIncomingRequest(requestFromBob('INVITE', 10))).toEqual({ ok: false, status: 491, reason: 'Request Pending', headers: [] });
    // Non-INVITE requests pass.
    expect(alice.validateIncomingRequest(requestFromBob('INFO', 11)).ok).toBe(true);
    // Final response to our re-INVITE: the peer's retry is accepted.
    alice.responseReceived(responseToAlice(491, { cseq: 2 }));
    expect(alice.outgoingInvitePending).toBe(false);
    expect(alice.validateIncomingRequest(requestFromBob('INVITE', 12))).toEqual({ ok: true });
    expect(alice.incomingInvitePending).toBe(true);
  });

  it('UAS side: an INVITE received while our re-INVITE is pending gets 491', () => {
    const bob = bobDialog();
    bob.createRequest('INVITE');
    expect(bob.validateIncomingRequest(requestFromAlice('INVITE', 314160))).toMatchObject({ ok: false, status: 491 });
  });

  it('an INVITE while an earlier incoming INVITE is unanswered gets 500 with Retry-After 0..10 s (§14.2)', () => {
    const bob = bobDialog(200, inviteThroughProxies(), () => 0.35);
    const first = requestFromAlice('INVITE', 314160);
    expect(bob.validateIncomingRequest(first)).toEqual({ ok: true });
    expect(bob.validateIncomingRequest(requestFromAlice('INVITE', 314161))).toEqual({
      ok: false,
      status: 500,
      reason: 'Server Internal Error',
      headers: [['Retry-After', '3']],
    });
    // We cannot start our own re-INVITE either (§14.1).
    expect(bob.canSendReInvite).toBe(false);
    expect(() => bob.createRequest('INVITE')).toThrow('§14.1');
    bob.responseSent(first, createResponse(first, 200));
    expect(bob.incomingInvitePending).toBe(false);
    expect(bob.canSendReInvite).toBe(true);
  });

  it('a second re-INVITE of our own is refused while the first is pending', () => {
    const alice = aliceDialog();
    alice.createRequest('INVITE');
    expect(() => alice.createRequest('INVITE')).toThrow(/in progress/);
  });

  it('a re-INVITE cannot start on an early dialog (the initial INVITE is still in progress)', () => {
    expect(() => aliceDialog(responseToAlice(180)).createRequest('INVITE')).toThrow(/in progress/);
    const bob = bobDialog(180);
    expect(bob.incomingInvitePending).toBe(true);
    expect(bob.validateIncomingRequest(requestFromAlice('INVITE', 314160))).toMatchObject({ ok: false, status: 500 });
  });

  it.each([
    ['the Call-ID owner (UAC) waits 2.1-4 s', 'uac', 2100, 4000],
    ['the other side (UAS) waits 0-2 s', 'uas', 0, 2000],
  ])('%s', (_name, role, min, max) => {
    for (const r of [0, 0.25, 0.5, 0.75, 0.9999]) {
      const d = role === 'uac' ? unwrap(Dialog.fromUacResponse(aliceInvite(), responseToAlice(200), { random: () => r })) : bobDialog(200, inviteThroughProxies(), () => r);
      const delay = d.glareRetryDelay();
      expect(delay).toBeGreaterThanOrEqual(min);
      expect(delay).toBeLessThanOrEqual(max);
      expect(delay % 10).toBe(0);
    }
  });

  it('a request timeout on our re-INVITE ends the pending state and the dialog (§12.2.1.2)', () => {
    const alice = aliceDialog();
    const inv = alice.createRequest('INVITE');
    alice.requestTimedOut('INVITE', inv.cseq.seq);
    expect(alice.outgoingInvitePending).toBe(false);
    expect(alice.state).toBe('Terminated');
    expect(alice.terminatedBy).toBe('requestTimeout');
  });
});

describe('target refresh (RFC 3261 §12.2)', () => {
  it.each([
    ['re-INVITE 200 with a new Contact', 'INVITE', 200, 'sip:bob@198.51.100.20:5080'],
    ['UPDATE 200 with a new Contact', 'UPDATE', 200, 'sip:bob@198.51.100.20:5080'],
    ['re-INVITE 488 leaves the target', 'INVITE', 488, 'sip:bob@192.0.2.4'],
    ['INFO 200 is not a target refresh', 'INFO', 200, 'sip:bob@192.0.2.4'],
  ])('UAC: %s', (_name, method, status, target) => {
    const alice = aliceDialog();
    const req = alice.createRequest(method);
    alice.responseReceived(responseToAlice(status, { cseq: req.cseq.seq, method, contact: '<sip:bob@198.51.100.20:5080>' }));
    expect(formatUri(alice.remoteTarget)).toBe(target);
    expect(alice.state).toBe('Confirmed');
  });

  it.each([
    ['re-INVITE answered 200', 'INVITE', 200, 'sip:alice@198.51.100.30'],
    ['UPDATE answered 200', 'UPDATE', 200, 'sip:alice@198.51.100.30'],
    ['re-INVITE answered 488 (RFC 6141: no refresh)', 'INVITE', 488, 'sip:alice@pc33.atlanta.example.com;transport=udp'],
  ])('UAS: %s', (_name, method, status, target) => {
    const bob = bobDialog();
    const req = requestFromAlice(method, 314160, ['Contact: <sip:alice@198.51.100.30>']);
    expect(bob.validateIncomingRequest(req).ok).toBe(true);
    bob.responseSent(req, createResponse(req, status));
    expect(formatUri(bob.remoteTarget)).toBe(target);
  });

  it('the next request goes to the refreshed target', () => {
    const alice = aliceDialog();
    const reinvite = alice.createRequest('INVITE');
    alice.responseReceived(responseToAlice(200, { cseq: reinvite.cseq.seq, contact: '<sip:bob@198.51.100.20:5080>' }));
    expect(formatUri(wire(alice.createRequest('BYE')).uri)).toBe('sip:bob@198.51.100.20:5080');
  });
});

describe('dialog termination', () => {
  it.each([
    ['481 to an in-dialog request', 'INFO', 481, 'callDoesNotExist'],
    ['408 to an in-dialog request', 'INFO', 408, 'requestTimeout'],
    ['200 to BYE', 'BYE', 200, 'byeSent'],
    ['500 to BYE', 'BYE', 500, 'byeSent'],
  ])('UAC: %s terminates', (_name, method, status, cause) => {
    const alice = aliceDialog();
    const req = alice.createRequest(method);
    alice.responseReceived(responseToAlice(status, { cseq: req.cseq.seq, method }));
    expect(alice.state).toBe('Terminated');
    expect(alice.terminatedBy).toBe(cause);
  });

  it.each([
    ['401 to BYE (the UA retries with credentials)', 'BYE', 401],
    ['407 to BYE', 'BYE', 407],
    ['415 to INFO', 'INFO', 415],
  ])('UAC: %s does not terminate', (_name, method, status) => {
    const alice = aliceDialog();
    const req = alice.createRequest(method);
    alice.responseReceived(responseToAlice(status, { cseq: req.cseq.seq, method }));
    expect(alice.state).toBe('Confirmed');
  });

  it('UAS: answering BYE with 200 terminates; events fire once', () => {
    const bob = bobDialog();
    const events: string[] = [];
    bob.on('statechange', (s) => events.push(s));
    bob.on('terminated', (c) => events.push(`terminated:${c}`));
    const bye = requestFromAlice('BYE', 314160);
    expect(bob.validateIncomingRequest(bye).ok).toBe(true);
    bob.responseSent(bye, createResponse(bye, 200));
    bob.terminate();
    expect(events).toEqual(['Terminated', 'terminated:byeReceived']);
  });

  it('UAS early dialog: sending 2xx confirms, sending a rejection terminates', () => {
    const invite = inviteThroughProxies();
    const ok = bobDialog(180, invite);
    ok.responseSent(invite, createResponse(invite, 200, undefined, { toTag: 'bobtag1', headers: [['Contact', '<sip:bob@192.0.2.4:5064>']] }));
    expect(ok.state).toBe('Confirmed');
    expect(ok.incomingInvitePending).toBe(false);
    expect(ok.localContact && formatUri(ok.localContact.uri)).toBe('sip:bob@192.0.2.4:5064');
    const rejected = bobDialog(180, invite);
    rejected.responseSent(invite, createResponse(invite, 486, undefined, { toTag: 'bobtag1' }));
    expect(rejected.state).toBe('Terminated');
    expect(rejected.terminatedBy).toBe('rejected');
  });
});

describe('reliable provisional responses on the UAC (RFC 3262 §4)', () => {
  function reliable(rseq: number | string): SipResponse {
    return responseToAlice(183, { extra: ['Require: 100rel', `RSeq: ${rseq}`] });
  }

  it('PRACKs in-order RSeqs only', () => {
    const d = aliceDialog(reliable(5));
    expect(d.checkReliableProvisional(reliable(5))).toEqual({ action: 'prack', rseq: 5 });
    expect(d.checkReliableProvisional(reliable(5))).toEqual({ action: 'ignore', reason: 'duplicate' });
    expect(d.checkReliableProvisional(reliable(7))).toEqual({ action: 'ignore', reason: 'outOfOrder' });
    expect(d.checkReliableProvisional(reliable(6))).toEqual({ action: 'prack', rseq: 6 });
    expect(d.checkReliableProvisional(reliable(4))).toEqual({ action: 'ignore', reason: 'outOfOrder' });
    expect(d.checkReliableProvisional(reliable('x'))).toEqual({ action: 'ignore', reason: 'noRSeq' });
    expect(d.checkReliableProvisional(responseToAlice(180))).toEqual({ action: 'ignore', reason: 'noRSeq' });
  });

  it('createPrack: RAck = RSeq, CSeq number and method of the response; own CSeq; no Contact', () => {
    const res = reliable(776656);
    const d = aliceDialog(res);
    const prack = wire(d.createPrack(res, { headers: [['User-Agent', 'test']] }));
    expect(prack.method).toBe('PRACK');
    expect(prack.getHeader('RAck')).toBe('776656 1 INVITE');
    expect(prack.cseq).toEqual({ seq: 2, method: 'PRACK' });
    expect(prack.getHeader('User-Agent')).toBe('test');
    expect(prack.hasHeader('Contact')).toBe(false);
    expect(formatUri(prack.uri)).toBe('sip:bob@192.0.2.4');
  });

  it('createPrack refuses a response without RSeq', () => {
    expect(() => aliceDialog(responseToAlice(180)).createPrack(responseToAlice(180))).toThrow(TypeError);
  });

  it('the PRACK does not disturb the pending initial INVITE; the 2xx still confirms', () => {
    const d = aliceDialog(reliable(1));
    d.createPrack(reliable(1));
    d.responseReceived(responseToAlice(200, { cseq: 2, method: 'PRACK' }));
    expect(d.state).toBe('Early');
    d.responseReceived(responseToAlice(200));
    expect(d.state).toBe('Confirmed');
  });
});

describe('malformed network input never throws out of the dialog', () => {
  it('a 2xx to a re-INVITE with a malformed Contact leaves the target alone', () => {
    const alice = aliceDialog();
    const reinvite = alice.createRequest('INVITE');
    expect(() => alice.responseReceived(responseToAlice(200, { cseq: reinvite.cseq.seq, contact: '<sip:bob@' }))).not.toThrow();
    expect(formatUri(alice.remoteTarget)).toBe('sip:bob@192.0.2.4');
    expect(alice.outgoingInvitePending).toBe(false);
  });

  it('a 2xx confirming an early dialog with a malformed Record-Route keeps the early route set', () => {
    const alice = aliceDialog(responseToAlice(180));
    expect(() => alice.responseReceived(responseToAlice(200, { recordRoute: ['<sip:broken'] }))).not.toThrow();
    expect(alice.state).toBe('Confirmed');
    expect(alice.routeSet.map(formatNameAddr)).toEqual(['<sip:proxy1.atlanta.example.com;lr>', '<sip:proxy2.biloxi.example.com;lr>']);
  });

  it('a re-INVITE with a malformed Contact is validated and answered without changing the target', () => {
    const bob = bobDialog();
    const req = requestFromAlice('INVITE', 314160, ['Contact: <sip:alice@']);
    expect(bob.validateIncomingRequest(req)).toEqual({ ok: true });
    expect(() => bob.responseSent(req, createResponse(req, 200))).not.toThrow();
    expect(formatUri(bob.remoteTarget)).toBe('sip:alice@pc33.atlanta.example.com;transport=udp');
    expect(bob.incomingInvitePending).toBe(false);
  });

  it('the UAS secure flag can be given explicitly (e.g. TLS learned from the socket)', () => {
    const invite = inviteThroughProxies({ uri: 'sips:bob@biloxi.example.com' });
    const res = createResponse(invite, 200, undefined, { toTag: 't', headers: [['Contact', '<sips:bob@192.0.2.4>']] });
    expect(unwrap(Dialog.fromUasResponse(invite, res, { secureTransport: true })).secure).toBe(true);
    expect(unwrap(Dialog.fromUasResponse(invite, res)).secure).toBe(false);
  });

  it('a UAC dialog over sips is secure', () => {
    const invite = request([
      'INVITE sips:bob@biloxi.example.com SIP/2.0',
      'Via: SIP/2.0/TLS pc33.atlanta.example.com;branch=z9hG4bK-s',
      'Max-Forwards: 70',
      'From: <sips:alice@atlanta.example.com>;tag=9fxced76sl',
      'To: <sips:bob@biloxi.example.com>',
      `Call-ID: ${CALL_ID}`,
      'CSeq: 1 INVITE',
      'Contact: <sips:alice@pc33.atlanta.example.com>',
    ]);
    const d = unwrap(Dialog.fromUacResponse(invite, responseToAlice(200, { contact: '<sips:bob@192.0.2.4>' })));
    expect(d.secure).toBe(true);
    expect(wire(d.createRequest('BYE')).via.transport).toBe('TLS');
  });
});
