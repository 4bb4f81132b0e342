import { createResponse, type SipResponse } from '../../../../src/sip/message';
import { InviteServerTransaction, NonInviteServerTransaction } from '../../../../src/sip/transaction';
import { createLoopPair, RecordingHandlers, type LoopPair } from '../../../helpers/loop-transport';
import { drainAndExpectEmpty, makeRequest, reply } from './fixtures';

/**
 * After its final response a server transaction keeps only what absorption needs (the key, the response's bytes,
 * the target): these contracts check that retransmissions are still matched and answered byte for byte, and that
 * `request` / `lastResponse` stay readable.
 */
describe('server transaction retention after the final response', () => {
  let pair: LoopPair;
  afterEach(() => pair.close());

  it('a completed non-INVITE server transaction answers every retransmission with the identical bytes', () => {
    pair = createLoopPair();
    let answered: SipResponse | undefined;
    pair.uasTu.answer = (tx, req) => {
      answered = createResponse(req, 200, undefined, { toTag: 'uas-tag', headers: [['X-Trace', 'one']] });
      tx.respond(answered);
    };
    // Lose the first two 200s: the client retransmits the BYE (Timer E) and the server must answer from its bytes.
    let lost = 0;
    pair.loop.discard = (rec) => rec.startLine.startsWith('SIP/2.0 200') && lost++ < 2;
    const bye = makeRequest({ method: 'BYE', from: pair.uacAddr, to: pair.uasAddr, toTag: 'uas-tag' });
    const h = new RecordingHandlers(pair.clock);
    pair.uac.sendRequest(bye, pair.uasAddr, h);
    pair.clock.advance(0);
    const nist = pair.uasTu.requests()[0].tx;
    expect(nist).toBeInstanceOf(NonInviteServerTransaction);
    expect(nist.state).toBe('Completed');
    const received = pair.uasTu.requests()[0].req;

    pair.clock.advance(2_000);
    const sent = pair.loop.sent(pair.uasAddr, 'SIP/2.0 200');
    expect(sent.length).toBe(3);
    for (const rec of sent) expect(rec.bytes.equals(sent[0].bytes)).toBe(true);
    expect(h.types()).toEqual(['final']);
    expect(pair.uasTu.requests()).toHaveLength(1);
    expect(pair.uas.stats.absorbed).toBe(2);

    // The parsed request is no longer held; reading it gives an equal one from the retained text.
    expect(nist.request).not.toBe(received);
    expect(nist.request.serialize().equals(received.serialize())).toBe(true);
    expect(nist.callId).toBe(bye.callId);
    expect(nist.lastResponse?.status).toBe(200);
    expect(nist.lastResponse?.getHeader('X-Trace')).toBe('one');
    expect(nist.lastResponse?.serialize().equals((answered as SipResponse).serialize())).toBe(true);
    expect(nist.finalStatus).toBe(200);
    expect(nist.finalToTag).toBe('uas-tag');
    drainAndExpectEmpty(pair);
  });

  it('an INVITE server transaction in Completed retransmits its final on Timer G from the bytes and still takes the ACK', () => {
    pair = createLoopPair();
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 486));
    // The first two ACKs are lost: Timer G re-sends the 486 at T1 and 2*T1.
    let acks = 0;
    pair.loop.discard = (rec) => rec.startLine.startsWith('ACK') && acks++ < 2;
    const h = new RecordingHandlers(pair.clock);
    pair.uac.sendRequest(makeRequest({ method: 'INVITE', from: pair.uacAddr, to: pair.uasAddr }), pair.uasAddr, h);
    pair.clock.advance(0);
    const ist = pair.uasTu.requests()[0].tx;
    expect(ist).toBeInstanceOf(InviteServerTransaction);
    expect(ist.state).toBe('Completed');
    pair.clock.advance(1_500);
    const finals = pair.loop.sent(pair.uasAddr, 'SIP/2.0 486');
    expect(finals.map((r) => r.at)).toEqual([0, 500, 1500]);
    for (const rec of finals) expect(rec.bytes.equals(finals[0].bytes)).toBe(true);
    expect(ist.state).toBe('Confirmed');
    expect(ist.pendingShortTimer).toBeUndefined();
    expect(h.types()).toEqual(['final']);
    drainAndExpectEmpty(pair);
  });

  it('an INVITE server transaction in Accepted absorbs retransmitted INVITEs and still sends the TU\'s 2xx retransmissions', () => {
    pair = createLoopPair();
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 200));
    const invite = makeRequest({ method: 'INVITE', from: pair.uacAddr, to: pair.uasAddr });
    pair.uac.sendRequest(invite, pair.uasAddr, new RecordingHandlers(pair.clock));
    pair.clock.advance(0);
    const ist = pair.uasTu.requests()[0].tx;
    expect(ist.state).toBe('Accepted');
    // A retransmitted INVITE (same bytes as the first) is absorbed: no new TU request, nothing sent.
    const first = pair.loop.sent(pair.uacAddr, 'INVITE')[0];
    pair.loop.inject(pair.uacAddr, pair.uasAddr, first.bytes);
    pair.clock.advance(0);
    expect(pair.uasTu.requests()).toHaveLength(1);
    expect(pair.loop.sent(pair.uasAddr, 'SIP/2.0 200')).toHaveLength(1);
    // RFC 6026 §8.7: the TU's own 2xx retransmission goes out in Accepted.
    const again = reply(ist.request, 200);
    ist.respond(again);
    expect(pair.loop.sent(pair.uasAddr, 'SIP/2.0 200')).toHaveLength(2);
    expect(ist.finalStatus).toBe(200);
    drainAndExpectEmpty(pair);
  });

  it('matches an RFC 2543 ACK (no magic cookie) on the retained final To tag', () => {
    pair = createLoopPair();
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 603, 'legacy-tag'));
    const invite = makeRequest({ method: 'INVITE', from: pair.uacAddr, to: pair.uasAddr, branch: null, fromTag: 'f1', callId: 'legacy@a' });
    pair.loop.inject(pair.uacAddr, pair.uasAddr, invite.serialize());
    pair.clock.advance(0);
    const ist = pair.uasTu.requests()[0].tx;
    expect(ist.state).toBe('Completed');
    const ackWrongTag = makeRequest({ method: 'ACK', from: pair.uacAddr, to: pair.uasAddr, branch: null, fromTag: 'f1', callId: 'legacy@a', toTag: 'other' });
    pair.loop.inject(pair.uacAddr, pair.uasAddr, ackWrongTag.serialize());
    pair.clock.advance(0);
    expect(ist.state).toBe('Completed');
    const ack = makeRequest({ method: 'ACK', from: pair.uacAddr, to: pair.uasAddr, branch: null, fromTag: 'f1', callId: 'legacy@a', toTag: 'legacy-tag' });
    pair.loop.inject(pair.uacAddr, pair.uasAddr, ack.serialize());
    pair.clock.advance(0);
    expect(ist.state).toBe('Confirmed');
    drainAndExpectEmpty(pair);
  });
});
