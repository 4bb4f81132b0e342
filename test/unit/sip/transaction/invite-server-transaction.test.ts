import { generateBranch, type SipRequest } from '../../../../src/sip/message';
import { InviteServerTransaction } from '../../../../src/sip/transaction';
import { InvalidStateError } from '../../../../src/util';
import { createLoopPair, RecordingHandlers, type LoopPair } from '../../../helpers/loop-transport';
import { drainAndExpectEmpty, flushMicrotasks, makeRequest, reply } from './fixtures';

describe('InviteServerTransaction (RFC 3261 §17.2.1, RFC 6026 §7.1)', () => {
  let pair: LoopPair;
  afterEach(() => pair.close());

  const invite = (): SipRequest => makeRequest({ method: 'INVITE', from: pair.uacAddr, to: pair.uasAddr });

  it('sends 100 Trying after 200 ms when the TU has not answered', () => {
    pair = createLoopPair();
    const h = new RecordingHandlers(pair.clock);
    pair.uac.sendRequest(invite(), pair.uasAddr, h);
    pair.clock.advance(199);
    expect(pair.loop.sent(pair.uasAddr)).toHaveLength(0);
    pair.clock.advance(1);
    const trying = pair.loop.sent(pair.uasAddr, 'SIP/2.0 100');
    expect(trying.map((r) => r.at)).toEqual([200]);
    expect(trying[0].msg.toTag).toBeUndefined(); // RFC 3261 §8.2.6.1: no To tag on 100
    expect(h.types()).toEqual(['provisional']);
    // The client stops retransmitting in Proceeding.
    pair.clock.advance(5_000);
    expect(pair.loop.sent(pair.uacAddr, 'INVITE')).toHaveLength(1);
    const ist = pair.uasTu.requests()[0].tx;
    expect(ist).toBeInstanceOf(InviteServerTransaction);
    ist.respond(reply(ist.request, 486));
    drainAndExpectEmpty(pair);
  });

  it('sends no 100 when the TU answers inside onRequest', () => {
    pair = createLoopPair();
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 180));
    pair.uac.sendRequest(invite(), pair.uasAddr, new RecordingHandlers(pair.clock));
    pair.clock.advance(1_000);
    expect(pair.loop.sent(pair.uasAddr).map((r) => r.startLine)).toEqual(['SIP/2.0 180 Ringing']);
    const ist = pair.uasTu.requests()[0].tx;
    expect(ist.pendingShortTimer).toBeUndefined();
    ist.respond(reply(ist.request, 480));
    drainAndExpectEmpty(pair);
  });

  it('copies Timestamp into the 100 and honours a configured delay', () => {
    pair = createLoopPair({ layer: { tryingDelayMs: 50 } });
    const req = makeRequest({ method: 'INVITE', from: pair.uacAddr, to: pair.uasAddr, headers: [['Timestamp', '54']] });
    pair.uac.sendRequest(req, pair.uasAddr, new RecordingHandlers(pair.clock));
    pair.clock.advance(50);
    const trying = pair.loop.sent(pair.uasAddr, 'SIP/2.0 100');
    expect(trying).toHaveLength(1);
    expect(trying[0].msg.getHeader('Timestamp')).toBe('54');
    const ist = pair.uasTu.requests()[0].tx;
    ist.respond(reply(ist.request, 603));
    drainAndExpectEmpty(pair);
  });

  it('answers a retransmitted INVITE with the last provisional, without bothering the TU', () => {
    pair = createLoopPair();
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 180));
    let first = true;
    pair.loop.discard = (rec) => rec.startLine.startsWith('SIP/2.0 180') && first && !(first = false);
    const h = new RecordingHandlers(pair.clock);
    pair.uac.sendRequest(invite(), pair.uasAddr, h);
    pair.clock.advance(0);
    expect(h.types()).toEqual([]);
    pair.clock.advance(500); // Timer A: INVITE again; the UAS re-sends its 180
    expect(pair.loop.sent(pair.uasAddr, 'SIP/2.0 180')).toHaveLength(2);
    expect(h.types()).toEqual(['provisional']);
    expect(pair.uasTu.requests()).toHaveLength(1);
    expect(pair.uas.stats.absorbed).toBe(1);
    expect(pair.uas.stats.retransmissions).toBe(1);
    const ist = pair.uasTu.requests()[0].tx;
    ist.respond(reply(ist.request, 486));
    drainAndExpectEmpty(pair);
  });

  it('answers a retransmitted INVITE with 100 at once if nothing was sent yet', () => {
    pair = createLoopPair({ layer: { tryingDelayMs: 2_000 } });
    pair.uac.sendRequest(invite(), pair.uasAddr, new RecordingHandlers(pair.clock));
    pair.clock.advance(500);
    expect(pair.loop.sendTimes(pair.uasAddr, 'SIP/2.0 100')).toEqual([500]);
    pair.clock.advance(3_000);
    expect(pair.loop.sent(pair.uasAddr, 'SIP/2.0 100')).toHaveLength(1); // the delayed 100 is not sent again
    const ist = pair.uasTu.requests()[0].tx;
    ist.respond(reply(ist.request, 486));
    drainAndExpectEmpty(pair);
  });

  it('retransmits the final with Timer G until the ACK arrives, then absorbs ACKs in Confirmed until Timer I', () => {
    pair = createLoopPair();
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 486));
    pair.loop.discard = (rec) => rec.startLine.startsWith('ACK') && pair.clock.now() < 5_000;
    pair.uac.sendRequest(invite(), pair.uasAddr, new RecordingHandlers(pair.clock));
    pair.clock.advance(0);
    const ist = pair.uasTu.requests()[0].tx;
    expect(ist.state).toBe('Completed');
    pair.clock.advance(7_500); // 486 at 0, 500, 1500, 3500 (ACKs lost), 7500 (ACK gets through)
    expect(pair.loop.sendTimes(pair.uasAddr, 'SIP/2.0 486')).toEqual([0, 500, 1500, 3500, 7500]);
    expect(ist.state).toBe('Confirmed');
    expect(ist.pendingLongTimer).toBe('TIMER_I');
    pair.clock.advance(4_000);
    expect(pair.loop.sent(pair.uasAddr, 'SIP/2.0 486')).toHaveLength(5); // Timer G is ignored in Confirmed
    // A duplicated ACK is absorbed (never reaches the TU as an ACK for 2xx).
    const ack = pair.loop.sent(pair.uacAddr, 'ACK').at(-1)!;
    pair.loop.inject(pair.uacAddr, pair.uasAddr, ack.bytes);
    pair.clock.advance(0);
    expect(pair.uasTu.ofType('ack')).toHaveLength(0);
    expect(ist.state).toBe('Confirmed');
    pair.clock.advance(1_000 + pair.uas.wheel.tickMs); // Timer I = T4 after 7500
    expect(ist.state).toBe('Terminated');
    expect(pair.uasTu.ofType('failure')).toHaveLength(0);
    drainAndExpectEmpty(pair);
  });

  it('answers an INVITE retransmitted in Completed with the final response', () => {
    pair = createLoopPair();
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 480));
    pair.loop.discard = (rec) => rec.startLine.startsWith('ACK');
    const req = invite();
    pair.uac.sendRequest(req, pair.uasAddr, new RecordingHandlers(pair.clock));
    pair.clock.advance(100);
    pair.loop.inject(pair.uacAddr, pair.uasAddr, req.serialize());
    pair.clock.advance(100);
    expect(pair.loop.sendTimes(pair.uasAddr, 'SIP/2.0 480')).toEqual([0, 100]);
    expect(pair.uasTu.requests()).toHaveLength(1);
    expect(pair.uasTu.requests()[0].tx.state).toBe('Completed');
    drainAndExpectEmpty(pair);
  });

  it('gives up on Timer H when the ACK never comes, after Timer G capped at T2', () => {
    pair = createLoopPair();
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 500));
    pair.loop.discard = (rec) => rec.startLine.startsWith('ACK');
    pair.uac.sendRequest(invite(), pair.uasAddr, new RecordingHandlers(pair.clock));
    pair.clock.advance(0);
    const ist = pair.uasTu.requests()[0].tx;
    pair.clock.advance(31_999);
    expect(ist.state).toBe('Completed');
    pair.clock.advance(1 + pair.uas.wheel.tickMs);
    expect(ist.state).toBe('Terminated');
    expect(pair.loop.sendTimes(pair.uasAddr, 'SIP/2.0 500')).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    const failures = pair.uasTu.ofType('failure');
    expect(failures).toHaveLength(1);
    expect(failures[0].reason).toBe('timeout');
    expect(failures[0].tx).toBe(ist);
    expect(pair.uas.stats.timeouts).toBe(1);
    drainAndExpectEmpty(pair);
  });

  it('ends at once on ACK over a reliable transport (Timer I zero) and never runs Timer G', () => {
    pair = createLoopPair({ transport: 'TCP' });
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 404));
    pair.uac.sendRequest(invite(), pair.uasAddr, new RecordingHandlers(pair.clock));
    pair.clock.advance(0);
    expect(pair.uas.size).toBe(0);
    expect(pair.loop.sent(pair.uasAddr, 'SIP/2.0 404')).toHaveLength(1);
    drainAndExpectEmpty(pair);
  });

  it('absorbs retransmitted INVITEs in Accepted, sends 2xx the TU retransmits, hands the 2xx ACK to the TU, ends on Timer L', () => {
    pair = createLoopPair();
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 200));
    let first = true;
    pair.loop.discard = (rec) => rec.startLine.startsWith('SIP/2.0 200') && first && !(first = false);
    const h = new RecordingHandlers(pair.clock);
    pair.uac.sendRequest(invite(), pair.uasAddr, h);
    pair.clock.advance(0);
    const ist = pair.uasTu.requests()[0].tx;
    expect(ist.state).toBe('Accepted');
    pair.clock.advance(1_500); // INVITE retransmitted at 500 and 1500: absorbed, nothing sent
    expect(pair.loop.sent(pair.uacAddr, 'INVITE')).toHaveLength(3);
    expect(pair.loop.sent(pair.uasAddr, 'SIP/2.0 200')).toHaveLength(1);
    expect(pair.uasTu.requests()).toHaveLength(1);
    expect(pair.uas.stats.absorbed).toBe(2);

    // RFC 3261 §13.3.1.4: the UAS core retransmits its 2xx; the transaction passes it on.
    ist.respond(ist.lastResponse!);
    pair.clock.advance(0);
    expect(h.finals().map((r) => r.status)).toEqual([200]);
    expect(() => ist.respond(reply(ist.request, 486))).toThrow(InvalidStateError);

    // The TU's ACK for the 2xx is a new transaction-less request with its own branch.
    const ack = makeRequest({ method: 'ACK', from: pair.uacAddr, to: pair.uasAddr, callId: ist.request.callId, toTag: 'uas-tag', branch: generateBranch() });
    void pair.uac.sendStateless(ack, pair.uasAddr);
    pair.clock.advance(0);
    expect(pair.uasTu.ofType('ack')).toHaveLength(1);
    expect(pair.uas.stats.unmatchedAcks).toBe(1);

    pair.clock.advance(32_000);
    expect(ist.state).toBe('Terminated'); // Timer L
    drainAndExpectEmpty(pair);
  });

  it('reports a transport failure of a response to the TU and terminates', async () => {
    pair = createLoopPair();
    pair.loop.fail = (rec) => rec.startLine.startsWith('SIP/2.0 503');
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 503));
    pair.uac.sendRequest(invite(), pair.uasAddr, new RecordingHandlers(pair.clock));
    pair.clock.advance(0);
    await flushMicrotasks();
    const failures = pair.uasTu.ofType('failure');
    expect(failures.map((f) => f.reason)).toEqual(['transport-error']);
    expect(failures[0].error).toBeInstanceOf(Error);
    expect(pair.uas.size).toBe(0);
    expect(pair.uas.stats.transportErrors).toBe(1);
    expect(() => failures[0].tx.respond(reply(failures[0].tx.request, 503))).toThrow(InvalidStateError);
    pair.loop.fail = undefined;
    // The client retransmits; a new server transaction takes it (the old one is gone).
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 486));
    pair.clock.advance(500);
    expect(pair.uasTu.requests()).toHaveLength(2);
    drainAndExpectEmpty(pair);
  });

  it('rejects statuses outside 100-699', () => {
    pair = createLoopPair();
    pair.uac.sendRequest(invite(), pair.uasAddr, new RecordingHandlers(pair.clock));
    pair.clock.advance(0);
    const ist = pair.uasTu.requests()[0].tx;
    const bad = reply(ist.request, 486);
    bad.status = 700;
    expect(() => ist.respond(bad)).toThrow(TypeError);
    ist.respond(reply(ist.request, 486));
    drainAndExpectEmpty(pair);
  });
});
