import { createResponse, generateBranch, type SipRequest } from '../../../../src/sip/message';
import { createCancel, InviteServerTransaction, TransactionLayer, type ServerTransaction } from '../../../../src/sip/transaction';
import { InvalidStateError, VirtualClock } from '../../../../src/util';
import { createLoopPair, RecordingHandlers, seededRng, type LoopAddress, type LoopPair } from '../../../helpers/loop-transport';
import { drainAndExpectEmpty, makeRequest, reply } from './fixtures';

describe('TransactionLayer (RFC 3261 §17.1.3, §17.2.3, §9)', () => {
  let pair: LoopPair;
  afterEach(() => pair.close());

  describe('CANCEL', () => {
    it('is its own transaction, finds the INVITE it cancels, and the INVITE ends with 487 and an ACK', () => {
      pair = createLoopPair();
      const invite = makeRequest({ method: 'INVITE', from: pair.uacAddr, to: pair.uasAddr, routes: ['<sip:p.example;lr>'] });
      const hInvite = new RecordingHandlers(pair.clock);
      const ict = pair.uac.sendRequest(invite, pair.uasAddr, hInvite);
      pair.clock.advance(200); // 100 Trying from the server transaction
      expect(ict.state).toBe('Proceeding');

      // UAS core: answer the CANCEL 200, then the INVITE 487 (RFC 3261 §9.2).
      pair.uasTu.answer = (tx, req) => {
        if (req.method !== 'CANCEL') return;
        const target = pair.uas.findInviteServerTransaction(req);
        expect(target).toBeInstanceOf(InviteServerTransaction);
        tx.respond(reply(req, 200));
        target!.respond(reply(target!.request, 487));
      };
      const cancel = createCancel(invite);
      expect(cancel.branch).toBe(invite.branch);
      expect(cancel.cseq).toEqual({ seq: invite.cseq.seq, method: 'CANCEL' });
      expect(cancel.getHeaders('Route')).toEqual(['<sip:p.example;lr>']);
      const hCancel = new RecordingHandlers(pair.clock);
      pair.uac.sendRequest(cancel, pair.uasAddr, hCancel);
      expect(pair.uac.size).toBe(2);
      pair.clock.advance(0);

      expect(pair.uasTu.requests().map((e) => e.req.method)).toEqual(['INVITE', 'CANCEL']);
      expect(hCancel.finals().map((r) => r.status)).toEqual([200]);
      expect(hInvite.finals().map((r) => r.status)).toEqual([487]);
      expect(pair.loop.sent(pair.uacAddr, 'ACK')).toHaveLength(1);
      expect(pair.uasTu.requests()[0].tx.state).toBe('Confirmed');
      drainAndExpectEmpty(pair);
    });

    it('finds nothing for a CANCEL whose INVITE is unknown or already finished', () => {
      pair = createLoopPair();
      const invite = makeRequest({ method: 'INVITE', from: pair.uacAddr, to: pair.uasAddr });
      expect(pair.uas.findInviteServerTransaction(createCancel(invite))).toBeUndefined();
      pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 486));
      pair.uac.sendRequest(invite, pair.uasAddr, new RecordingHandlers(pair.clock));
      pair.clock.advance(0);
      expect(pair.uas.findInviteServerTransaction(createCancel(invite))?.state).toBe('Confirmed');
      drainAndExpectEmpty(pair);
      expect(pair.uas.findInviteServerTransaction(createCancel(invite))).toBeUndefined();
    });

    it('does not match a CANCEL with the same branch from another sent-by', () => {
      pair = createLoopPair();
      const invite = makeRequest({ method: 'INVITE', from: pair.uacAddr, to: pair.uasAddr });
      pair.uac.sendRequest(invite, pair.uasAddr, new RecordingHandlers(pair.clock));
      pair.clock.advance(0);
      const other = makeRequest({ method: 'CANCEL', from: { transport: 'UDP', address: '10.0.0.7', port: 5060 }, to: pair.uasAddr, branch: invite.branch });
      expect(pair.uas.findInviteServerTransaction(other)).toBeUndefined();
      expect(pair.uas.findInviteServerTransaction(createCancel(invite))).toBeDefined();
      const ist = pair.uasTu.requests()[0].tx;
      ist.respond(reply(ist.request, 487));
      drainAndExpectEmpty(pair);
    });
  });

  describe('RFC 2543 matching (no magic cookie)', () => {
    function legacyInvite(branch: string | null): SipRequest {
      return makeRequest({ method: 'INVITE', from: pair.uacAddr, to: pair.uasAddr, branch, callId: 'old-ua-call', cseq: 7, fromTag: 'ft' });
    }

    it.each([['no branch', null], ['a pre-3261 branch', '7a3b1']] as const)('matches retransmissions, CANCEL and the non-2xx ACK by URI, tags, Call-ID, CSeq and top Via (%s)', (_name, branch) => {
      pair = createLoopPair();
      const inv = legacyInvite(branch);
      pair.loop.inject(pair.uacAddr, pair.uasAddr, inv.serialize());
      pair.loop.inject(pair.uacAddr, pair.uasAddr, inv.serialize()); // retransmission
      pair.clock.advance(0);
      expect(pair.uasTu.requests()).toHaveLength(1);
      expect(pair.uas.stats.absorbed).toBe(1);
      const ist = pair.uasTu.requests()[0].tx;

      const cancel = createCancel(inv);
      expect(pair.uas.findInviteServerTransaction(cancel)).toBe(ist);
      ist.respond(reply(ist.request, 487, 'legacy-tag'));
      expect(ist.state).toBe('Completed');

      // An ACK with another To tag is not for this transaction: it goes to the TU.
      const wrongAck = makeRequest({ method: 'ACK', from: pair.uacAddr, to: pair.uasAddr, branch, callId: 'old-ua-call', cseq: 7, fromTag: 'ft', toTag: 'other' });
      pair.loop.inject(pair.uacAddr, pair.uasAddr, wrongAck.serialize());
      pair.clock.advance(0);
      expect(pair.uasTu.ofType('ack')).toHaveLength(1);
      expect(ist.state).toBe('Completed');

      const ack = makeRequest({ method: 'ACK', from: pair.uacAddr, to: pair.uasAddr, branch, callId: 'old-ua-call', cseq: 7, fromTag: 'ft', toTag: 'legacy-tag' });
      pair.loop.inject(pair.uacAddr, pair.uasAddr, ack.serialize());
      pair.clock.advance(0);
      expect(ist.state).toBe('Confirmed');
      expect(pair.uasTu.ofType('ack')).toHaveLength(1);
      drainAndExpectEmpty(pair);
    });

    it('keeps requests differing in CSeq apart and hands the ACK of a 2xx to the TU', () => {
      pair = createLoopPair();
      pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 200, 'dlg'));
      const a = legacyInvite(null);
      const b = makeRequest({ method: 'INVITE', from: pair.uacAddr, to: pair.uasAddr, branch: null, callId: 'old-ua-call', cseq: 8, fromTag: 'ft', toTag: 'dlg' });
      pair.loop.inject(pair.uacAddr, pair.uasAddr, a.serialize());
      pair.loop.inject(pair.uacAddr, pair.uasAddr, b.serialize());
      pair.clock.advance(0);
      expect(pair.uasTu.requests()).toHaveLength(2);
      const ack = makeRequest({ method: 'ACK', from: pair.uacAddr, to: pair.uasAddr, branch: null, callId: 'old-ua-call', cseq: 8, fromTag: 'ft', toTag: 'dlg' });
      pair.loop.inject(pair.uacAddr, pair.uasAddr, ack.serialize());
      pair.clock.advance(0);
      expect(pair.uasTu.ofType('ack').map((e) => e.req.cseq.seq)).toEqual([8]);
      drainAndExpectEmpty(pair);
    });
  });

  describe('response matching', () => {
    it('hands responses matching no client transaction to the TU as strays', () => {
      pair = createLoopPair();
      const req = makeRequest({ method: 'INVITE', from: pair.uacAddr, to: pair.uasAddr });
      pair.loop.inject(pair.uasAddr, pair.uacAddr, reply(req, 200).serialize());
      pair.clock.advance(0);
      expect(pair.uacTu.ofType('stray').map((e) => e.res.status)).toEqual([200]);
      expect(pair.uac.stats.strayResponses).toBe(1);
    });

    it('matches on branch and CSeq method: a 200 for CANCEL does not complete the INVITE', () => {
      pair = createLoopPair();
      const invite = makeRequest({ method: 'INVITE', from: pair.uacAddr, to: pair.uasAddr });
      const h = new RecordingHandlers(pair.clock);
      pair.uac.sendRequest(invite, pair.uasAddr, h);
      pair.clock.advance(0);
      pair.loop.inject(pair.uasAddr, pair.uacAddr, reply(createCancel(invite), 200).serialize());
      pair.clock.advance(0);
      expect(h.finals()).toHaveLength(0);
      expect(pair.uacTu.ofType('stray')).toHaveLength(1);
      const ist = pair.uasTu.requests()[0].tx;
      ist.respond(reply(ist.request, 486));
      drainAndExpectEmpty(pair);
    });

    it('drops and counts messages whose Via cannot be read, without throwing', () => {
      pair = createLoopPair();
      const req = makeRequest({ method: 'OPTIONS', from: pair.uacAddr, to: pair.uasAddr });
      const res = createResponse(req, 200);
      res.removeHeader('Via');
      expect(() => pair.uac.receive(res, pair.uasAddr)).not.toThrow();
      req.setHeader('Via', 'not a via');
      expect(() => pair.uas.receive(req, pair.uacAddr)).not.toThrow();
      expect(pair.uac.stats.dropped + pair.uas.stats.dropped).toBe(2);
      expect(pair.uasTu.events).toHaveLength(0);
      expect(pair.uacTu.events).toHaveLength(0);
    });
  });

  describe('API contract', () => {
    it('refuses an ACK, a request without an RFC 3261 branch, and a branch in use', () => {
      pair = createLoopPair();
      const h = new RecordingHandlers(pair.clock);
      const ack = makeRequest({ method: 'ACK', from: pair.uacAddr, to: pair.uasAddr });
      expect(() => pair.uac.sendRequest(ack, pair.uasAddr, h)).toThrow(TypeError);
      const legacy = makeRequest({ method: 'OPTIONS', from: pair.uacAddr, to: pair.uasAddr, branch: 'abc' });
      expect(() => pair.uac.sendRequest(legacy, pair.uasAddr, h)).toThrow(TypeError);
      const opt = makeRequest({ method: 'OPTIONS', from: pair.uacAddr, to: pair.uasAddr });
      pair.uac.sendRequest(opt, pair.uasAddr, h);
      expect(() => pair.uac.sendRequest(opt, pair.uasAddr, h)).toThrow(InvalidStateError);
      expect(pair.uac.findClientTransaction(opt.branch!, 'OPTIONS')?.request).toBe(opt);
      pair.uac.close();
      expect(pair.uac.size).toBe(0);
      expect(h.types()).toEqual(['terminated']);
      expect(() => pair.uac.sendRequest(makeRequest({ method: 'OPTIONS', from: pair.uacAddr, to: pair.uasAddr }), pair.uasAddr, h)).toThrow(InvalidStateError);
    });

    it('survives a TU callback that throws', () => {
      const errors: unknown[] = [];
      pair = createLoopPair({ layer: { onCallbackError: (e) => errors.push(e) } });
      pair.uasTu.answer = (tx, req) => {
        tx.respond(reply(req, 200));
        throw new Error('TU bug');
      };
      const h = new RecordingHandlers(pair.clock);
      h.onFinal = () => {
        throw new Error('handler bug');
      };
      const tx = pair.uac.sendRequest(makeRequest({ method: 'MESSAGE', from: pair.uacAddr, to: pair.uasAddr }), pair.uasAddr, h);
      pair.clock.advance(0);
      expect(errors.map((e) => (e as Error).message)).toEqual(['TU bug', 'handler bug']);
      expect(pair.uas.stats.callbackErrors).toBe(1);
      expect(tx.state).toBe('Completed');
      drainAndExpectEmpty(pair);
    });

    it('validates timer values and uses the configured T1', () => {
      const clock = new VirtualClock();
      const tu = { onRequest: () => undefined, onAck: () => undefined, onStrayResponse: () => undefined };
      expect(() => new TransactionLayer<LoopAddress>({ clock, send: () => undefined, tu, T1: 0 })).toThrow(TypeError);
      const sent: number[] = [];
      const layer = new TransactionLayer<LoopAddress>({ clock, send: () => void sent.push(clock.now()), tu, T1: 100, T2: 400 });
      const from: LoopAddress = { transport: 'UDP', address: '10.0.0.1', port: 5060 };
      const h = new RecordingHandlers(clock);
      layer.sendRequest(makeRequest({ method: 'OPTIONS', from, to: from }), from, h);
      clock.advance(6_400 + layer.wheel.tickMs);
      expect(sent.slice(0, 6)).toEqual([0, 100, 300, 700, 1100, 1500]);
      expect(h.types()).toEqual(['timeout', 'terminated']);
      expect(layer.size).toBe(0);
      layer.close();
      expect(clock.pending()).toBe(0);
    });
  });

  describe('loss', () => {
    it('completes every transaction over a link losing 10% of packets (seeded)', () => {
      pair = createLoopPair();
      pair.loop.rng = seededRng(0x5eed);
      pair.loop.lossRate = 0.1;
      pair.loop.delayMs = 20;
      const pending: ServerTransaction<LoopAddress>[] = [];
      pair.uasTu.answer = (tx, req) => {
        if (req.method === 'INVITE') {
          tx.respond(reply(req, 180));
          pending.push(tx); // busy after a while
        } else {
          tx.respond(reply(req, 200));
        }
      };
      const handlers: RecordingHandlers[] = [];
      const N = 100;
      for (let i = 0; i < N; i++) {
        const method = i % 2 === 0 ? 'INVITE' : 'MESSAGE';
        const h = new RecordingHandlers(pair.clock);
        handlers.push(h);
        pair.uac.sendRequest(makeRequest({ method, from: pair.uacAddr, to: pair.uasAddr, branch: generateBranch() }), pair.uasAddr, h);
        pair.clock.advance(10);
      }
      pair.clock.advance(2_000);
      for (const tx of pending.splice(0)) tx.respond(reply(tx.request, 486));
      pair.clock.advance(20_000);

      const lost = pair.loop.log.filter((r) => r.fate === 'lost').length;
      expect(lost).toBeGreaterThan(0);
      expect(pair.loop.parseErrors).toBe(0);
      for (const [i, h] of handlers.entries()) {
        const finals = h.finals().map((r) => r.status);
        expect(finals).toEqual([i % 2 === 0 ? 486 : 200]);
        expect(h.types()).not.toContain('timeout');
      }
      expect(pair.uasTu.requests()).toHaveLength(N);
      expect(pair.uasTu.ofType('failure')).toHaveLength(0);
      drainAndExpectEmpty(pair);
    });
  });
});
