import { parseMessage, type SipRequest } from '../../../../src/sip/message';
import { InviteClientTransaction } from '../../../../src/sip/transaction';
import { createLoopPair, RecordingHandlers, type LoopPair } from '../../../helpers/loop-transport';
import { drainAndExpectEmpty, flushMicrotasks, makeRequest, reply } from './fixtures';

describe('InviteClientTransaction (RFC 3261 §17.1.1, RFC 6026 §8.4)', () => {
  let pair: LoopPair;
  afterEach(() => pair.close());

  function invite(routes?: string[]): SipRequest {
    return makeRequest({ method: 'INVITE', from: pair.uacAddr, to: pair.uasAddr, routes });
  }

  it('passes 1xx then 2xx to the TU, enters Accepted, passes retransmitted 2xx, and ends on Timer M', () => {
    pair = createLoopPair();
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 180));
    const h = new RecordingHandlers(pair.clock);
    const tx = pair.uac.sendRequest(invite(), pair.uasAddr, h);
    expect(tx).toBeInstanceOf(InviteClientTransaction);
    expect(tx.state).toBe('Calling');

    pair.clock.advance(0);
    expect(h.types()).toEqual(['provisional']);
    expect(tx.state).toBe('Proceeding');

    const ist = pair.uasTu.requests()[0].tx;
    const ok = reply(ist.request, 200);
    ist.respond(ok);
    pair.clock.advance(0);
    expect(h.types()).toEqual(['provisional', 'final']);
    expect(h.finals()[0].status).toBe(200);
    expect(tx.state).toBe('Accepted');
    expect(tx.pendingLongTimer).toBe('TIMER_M');
    // The transaction never ACKs a 2xx: that is the TU's (RFC 3261 §13.2.2.4).
    expect(pair.loop.sent(pair.uacAddr, 'ACK')).toHaveLength(0);

    // RFC 6026 §8.4: 2xx retransmissions in Accepted still reach the TU.
    ist.respond(ok);
    pair.clock.advance(0);
    expect(h.types()).toEqual(['provisional', 'final', 'final']);

    pair.clock.advance(32_000 + pair.uac.wheel.tickMs);
    expect(tx.state).toBe('Terminated');
    expect(h.types()).toEqual(['provisional', 'final', 'final', 'terminated']);

    // After Timer M, a 2xx retransmission (the UAS core's, its transaction being gone too) is a stray the TU must
    // see to re-ACK it.
    expect(ist.state).toBe('Terminated');
    void pair.uas.sendStateless(ok, pair.uacAddr);
    pair.clock.advance(0);
    expect(pair.uacTu.ofType('stray').map((e) => e.res.status)).toEqual([200]);
    drainAndExpectEmpty(pair);
  });

  it('ACKs a 3xx-6xx with the INVITE branch, URI, Route and top Via and the response To, and absorbs its retransmissions', () => {
    pair = createLoopPair();
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 486, 'busy-tag'));
    // Lose the first ACK: the UAS retransmits the 486 (Timer G), the UAC must re-ACK without telling the TU again.
    let acks = 0;
    pair.loop.discard = (rec) => rec.startLine.startsWith('ACK') && ++acks === 1;
    const h = new RecordingHandlers(pair.clock);
    const req = invite(['<sip:proxy1.example;lr>', '<sip:proxy2.example;lr>']);
    const tx = pair.uac.sendRequest(req, pair.uasAddr, h);
    pair.clock.advance(0);

    expect(tx.state).toBe('Completed');
    expect(h.types()).toEqual(['final']);
    expect(h.finals()[0].status).toBe(486);
    const ackRecs = pair.loop.sent(pair.uacAddr, 'ACK');
    expect(ackRecs).toHaveLength(1);
    const parsed = parseMessage(ackRecs[0].bytes);
    if (!parsed.ok) throw parsed.error;
    const ack = parsed.msg as SipRequest;
    expect(ack.method).toBe('ACK');
    expect(ack.getHeaders('Via')).toHaveLength(1);
    expect(ack.branch).toBe(req.branch);
    expect(ack.getHeaders('Via')[0]).toBe(req.getHeaders('Via')[0]);
    expect(ack.uri).toEqual(req.uri);
    expect(ack.callId).toBe(req.callId);
    expect(ack.getHeader('From')).toBe(req.getHeader('From'));
    expect(ack.toTag).toBe('busy-tag');
    expect(ack.cseq).toEqual({ seq: req.cseq.seq, method: 'ACK' });
    expect(ack.getHeaders('Route')).toEqual(['<sip:proxy1.example;lr>', '<sip:proxy2.example;lr>']);
    expect(ack.body.length).toBe(0);

    pair.clock.advance(500); // Timer G: 486 again
    expect(pair.loop.sent(pair.uasAddr, 'SIP/2.0 486')).toHaveLength(2);
    expect(pair.loop.sent(pair.uacAddr, 'ACK')).toHaveLength(2);
    expect(h.types()).toEqual(['final']);
    expect(pair.uac.stats.absorbed).toBe(1);
    expect(pair.uas.stats.inviteServer).toBe(1);
    expect(pair.uasTu.ofType('ack')).toHaveLength(0); // the ACK of a non-2xx stays in the transaction

    // Timer D: 32 s on UDP, then Terminated.
    pair.clock.advance(31_000);
    expect(tx.state).toBe('Completed');
    pair.clock.advance(1_000 + pair.uac.wheel.tickMs);
    expect(tx.state).toBe('Terminated');
    expect(h.types()).toEqual(['final', 'terminated']);
    drainAndExpectEmpty(pair);
  });

  it('retransmits with Timer A doubling (0, 500, 1500, 3500, ...) and times out on Timer B after exactly 7 sends', () => {
    pair = createLoopPair();
    pair.loop.discard = (rec) => rec.startLine.startsWith('INVITE');
    const h = new RecordingHandlers(pair.clock);
    const tx = pair.uac.sendRequest(invite(), pair.uasAddr, h);
    pair.clock.advance(31_999);
    expect(h.types()).toEqual([]);
    expect(tx.state).toBe('Calling');
    pair.clock.advance(1 + pair.uac.wheel.tickMs);
    expect(pair.loop.sendTimes(pair.uacAddr, 'INVITE')).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(h.types()).toEqual(['timeout', 'terminated']);
    expect(tx.state).toBe('Terminated');
    expect(pair.uac.stats.retransmissions).toBe(6);
    expect(pair.uac.stats.timeouts).toBe(1);
    drainAndExpectEmpty(pair);
    expect(pair.loop.sent(pair.uacAddr, 'INVITE')).toHaveLength(7);
  });

  it('stops retransmitting and disarms Timer B once a provisional arrives', () => {
    pair = createLoopPair();
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 180));
    const h = new RecordingHandlers(pair.clock);
    const tx = pair.uac.sendRequest(invite(), pair.uasAddr, h);
    pair.clock.advance(0);
    pair.clock.advance(60_000);
    expect(pair.loop.sent(pair.uacAddr, 'INVITE')).toHaveLength(1);
    expect(tx.state).toBe('Proceeding');
    expect(h.types()).toEqual(['provisional']);
    expect(pair.uac.wheel.size).toBe(0);
    // The TU bounds a ringing INVITE (CANCEL, Expires): here it gives up.
    tx.terminate();
    pair.uasTu.requests()[0].tx.respond(reply(pair.uasTu.requests()[0].req, 408));
    drainAndExpectEmpty(pair);
    expect(h.types()).toEqual(['provisional', 'terminated']);
  });

  it('never retransmits over a reliable transport; Timer B still applies and Timer D is zero', () => {
    pair = createLoopPair({ transport: 'TCP' });
    pair.loop.discard = (rec) => rec.startLine.startsWith('INVITE');
    const h = new RecordingHandlers(pair.clock);
    pair.uac.sendRequest(invite(), pair.uasAddr, h);
    pair.clock.advance(32_000 + pair.uac.wheel.tickMs);
    expect(pair.loop.sent(pair.uacAddr, 'INVITE')).toHaveLength(1);
    expect(h.types()).toEqual(['timeout', 'terminated']);
    expect(pair.uac.stats.retransmissions).toBe(0);

    pair.loop.discard = undefined;
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 603));
    const h2 = new RecordingHandlers(pair.clock);
    const tx2 = pair.uac.sendRequest(invite(), pair.uasAddr, h2);
    pair.clock.advance(0);
    expect(h2.types()).toEqual(['final', 'terminated']);
    expect(tx2.state).toBe('Terminated');
    expect(pair.loop.sent(pair.uacAddr, 'ACK')).toHaveLength(1);
    expect(pair.uac.size).toBe(0);
    pair.clock.advance(0); // the ACK reaches the UAS: Confirmed, Timer I zero
    expect(pair.uas.size).toBe(0);
    drainAndExpectEmpty(pair);
  });

  it.each(['reject', 'throw'] as const)('moves to Terminated and tells the TU when the transport fails the send (%s)', async (mode) => {
    pair = createLoopPair();
    pair.loop.fail = () => true;
    pair.loop.failMode = mode;
    const h = new RecordingHandlers(pair.clock);
    const tx = pair.uac.sendRequest(invite(), pair.uasAddr, h);
    expect(h.types()).toEqual([]); // never inside sendRequest
    await flushMicrotasks();
    expect(h.types()).toEqual(['transport-error', 'terminated']);
    expect(tx.state).toBe('Terminated');
    expect(pair.uac.stats.transportErrors).toBe(1);
    expect(pair.uac.size).toBe(0);
    drainAndExpectEmpty(pair);
    expect(pair.loop.sent(pair.uacAddr, 'INVITE')).toHaveLength(1); // no retransmission after Terminated
  });
});
