import { ReliableProvisionalSender } from '../../../../src/sip/dialog';
import { createResponse, type SipResponse } from '../../../../src/sip/message';
import { VirtualClock } from '../../../../src/util';
import { CALL_ID, inviteThroughProxies, request } from './sip-text';

const invite = inviteThroughProxies();

function provisional(status: number): SipResponse {
  return createResponse(invite, status, undefined, { toTag: 'b1', headers: [['Contact', '<sip:bob@192.0.2.4>']] });
}

function prack(rack: string, cseq = 314160): ReturnType<typeof request> {
  return request([
    'PRACK sip:bob@192.0.2.4 SIP/2.0',
    `Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK-pr${cseq}`,
    'Max-Forwards: 70',
    'From: "Alice" <sip:alice@atlanta.example.com>;tag=9fxced76sl',
    'To: Bob <sip:bob@biloxi.example.com>;tag=b1',
    `Call-ID: ${CALL_ID}`,
    `CSeq: ${cseq} PRACK`,
    `RAck: ${rack}`,
  ]);
}

function setup(t1?: number) {
  const clock = new VirtualClock();
  const sent: [number, number, string | undefined][] = [];
  const timeouts: [number, number][] = [];
  const sender = new ReliableProvisionalSender({
    clock,
    t1,
    random: () => 0,
    transmit: (res) => sent.push([clock.now(), res.status, res.getHeader('RSeq')]),
    onTimeout: (res) => timeouts.push([clock.now(), res.status]),
  });
  return { clock, sender, sent, timeouts };
}

describe('ReliableProvisionalSender (RFC 3262 §3)', () => {
  it('stamps RSeq and Require: 100rel and sends at once', () => {
    const { sender, sent } = setup();
    const res = provisional(183);
    expect(sender.send(res)).toBe(1);
    expect(res.getHeader('RSeq')).toBe('1');
    expect(res.getHeaders('Require')).toEqual(['100rel']);
    expect(sent).toEqual([[0, 183, '1']]);
    expect(sender.unacknowledged).toBe(res);
  });

  it('retransmits at T1 doubling without a T2 cap and gives up at 64*T1', () => {
    const { clock, sender, sent, timeouts } = setup();
    sender.send(provisional(180));
    clock.advance(60_000);
    expect(sent.map(([t]) => t)).toEqual([0, 500, 1500, 3500, 7500, 15_500, 31_500]);
    expect(timeouts).toEqual([[32_000, 180]]);
    expect(sender.unacknowledged).toBeUndefined();
    expect(sender.retransmissions).toBe(6);
    expect(clock.pending()).toBe(0);
  });

  it('a matching PRACK stops retransmission; a mismatching one gets 481', () => {
    const { clock, sender, sent, timeouts } = setup();
    const res = provisional(183);
    sender.send(res);
    clock.advance(600);
    expect(sender.prack(prack('2 314159 INVITE'))).toEqual({ ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' });
    expect(sender.prack(prack('1 314158 INVITE'))).toMatchObject({ ok: false, status: 481 });
    expect(sender.prack(prack('1 314159 UPDATE'))).toMatchObject({ ok: false, status: 481 });
    expect(sender.prack(prack('garbage'))).toMatchObject({ ok: false, status: 481 });
    expect(sender.prack(prack('1 314159 INVITE'))).toEqual({ ok: true, response: res, rseq: 1 });
    // Already acknowledged: a second PRACK matches nothing.
    expect(sender.prack(prack('1 314159 INVITE', 314161))).toMatchObject({ ok: false, status: 481 });
    clock.advance(60_000);
    expect(sent.map(([t]) => t)).toEqual([0, 500]);
    expect(timeouts).toEqual([]);
    expect(clock.pending()).toBe(0);
  });

  it('queues a second reliable provisional until the first is PRACKed, with consecutive RSeqs', () => {
    const { clock, sender, sent } = setup();
    sender.send(provisional(180));
    expect(sender.send(provisional(183))).toBe(2);
    expect(sender.queued).toBe(1);
    expect(sent).toEqual([[0, 180, '1']]);
    clock.advance(100);
    expect(sender.prack(prack('1 314159 INVITE')).ok).toBe(true);
    expect(sent).toEqual([
      [0, 180, '1'],
      [100, 183, '2'],
    ]);
    expect(sender.queued).toBe(0);
    expect(sender.prack(prack('2 314159 INVITE', 314161)).ok).toBe(true);
  });

  it('stop() (final response sent) drops everything; send() afterwards is refused', () => {
    const { clock, sender, sent } = setup();
    sender.send(provisional(180));
    sender.send(provisional(183));
    sender.stop();
    clock.advance(60_000);
    expect(sent).toHaveLength(1);
    expect(clock.pending()).toBe(0);
    expect(() => sender.send(provisional(183))).toThrow('final response');
  });

  it.each([100, 200, 486])('refuses to send %p reliably', (status) => {
    const { sender } = setup();
    expect(() => sender.send(createResponse(invite, status, undefined, { toTag: 'b1' }))).toThrow(TypeError);
  });

  it('follows a configured T1', () => {
    const { clock, sender, sent, timeouts } = setup(100);
    sender.send(provisional(180));
    clock.advance(10_000);
    expect(sent.map(([t]) => t)).toEqual([0, 100, 300, 700, 1500, 3100, 6300]);
    expect(timeouts).toEqual([[6400, 180]]);
  });
});
