import type { Call, CallEnding } from './call';
import { cdrFinalStatusOf, cdrStatusOf, type CallState } from './call-state';
import type { CallStore, CdrPatch } from './call-store';
import type { CdrWriter } from './cdr-writer';
import type { JsonObject } from './json';
import { formatRoute } from './route-spec';
import type { WebhookNotifier } from './webhook-notifier';

/** Call counters call control reports (observability's Metrics.calls satisfies it). */
export interface CallMetricsSink {
  started(direction: 'inbound' | 'outbound'): void;
  ended(direction: 'inbound' | 'outbound', state: 'completed' | 'failed' | 'busy' | 'no_answer' | 'cancelled' | 'rejected'): void;
  setupSeconds(direction: 'inbound' | 'outbound', seconds: number): void;
  durationSeconds(direction: 'inbound' | 'outbound', seconds: number): void;
}

export interface CdrTrackerOptions {
  store: CallStore;
  writer: CdrWriter;
  instanceId: string;
  webhooks?: WebhookNotifier;
  metrics?: CallMetricsSink;
}

/** Status webhooks are sent for these moments of a call (the seed's `initiated/ringing/answered/completed`). */
type WebhookEvent = 'initiated' | 'ringing' | 'answered' | 'completed';

/**
 * Persists a call as it happens: the CDR row at start, a call_events row and a CDR update for every state change,
 * DTMF digits, and at the end the media statistics, codec, final status, cause and side (durations are computed
 * by the store). Writes are queued per call in order and batched across calls (CdrWriter), never awaited by
 * signalling. Also sends the status webhooks and feeds the call metrics.
 */
export class CdrTracker {
  constructor(private readonly opts: CdrTrackerOptions) {}

  /** Start tracking `call` (call right after creating it, before any state change). */
  track(call: Call): void {
    const { store, writer } = this.opts;
    const id = call.id;
    const startedAt = new Date(call.startedAt);
    const metadata: JsonObject = { ...call.metadata, route: formatRoute(call.route) };
    writer.submit(store, id, {
      kind: 'create',
      start: {
        callId: id,
        instanceId: this.opts.instanceId,
        direction: call.direction,
        fromNumber: call.from,
        toNumber: call.to,
        fromDisplay: call.fromDisplay,
        parentCallId: call.parentCallId,
        trunkId: call.trunkId,
        remoteAddress: call.remoteAddress,
        startedAt,
        webhookUrl: call.webhookUrl,
        metadata,
      },
    });
    this.event(id, 'initiated', { from: call.from, to: call.to, direction: call.direction }, startedAt);
    this.opts.metrics?.started(call.direction);
    this.webhook(call, 'initiated');

    call.on('statechange', (from, to, data) => this.onState(call, from, to, data));
    call.on('dtmf', (digit, source, leg) => {
      const at = new Date();
      writer.submit(store, id, { kind: 'dtmf', digits: digit });
      this.event(id, 'dtmf', { digit, source, leg }, at);
    });
    call.on('event', (type, data) => this.event(id, type, data, new Date()));
    call.on('ended', (ending) => this.onEnded(call, ending));
  }

  private event(callId: string, type: string, data: JsonObject, at: Date): void {
    this.opts.writer.submit(this.opts.store, callId, { kind: 'event', event: { type, data, at } });
  }

  private update(callId: string, patch: CdrPatch): void {
    this.opts.writer.submit(this.opts.store, callId, { kind: 'update', patch });
  }

  private onState(call: Call, from: CallState, to: CallState, data: JsonObject): void {
    const id = call.id;
    const at = new Date();
    this.event(id, to, { ...data, from }, at);
    if (to === 'ringing') {
      this.update(id, { status: 'ringing' });
      this.webhook(call, 'ringing');
    } else if (to === 'answered' && from !== 'held' && from !== 'transferring') {
      const patch: CdrPatch = { status: 'answered', answeredAt: new Date(call.answeredAt ?? at.getTime()), sipCode: 200 };
      const codec = call.a.codec;
      if (codec) patch.codec = codec;
      this.update(id, patch);
      this.opts.metrics?.setupSeconds(call.direction, Math.max(0, ((call.answeredAt ?? at.getTime()) - call.startedAt) / 1000));
      this.webhook(call, 'answered');
    } else if (cdrStatusOf(to) !== cdrStatusOf(from) && !call.isEnded) {
      this.update(id, { status: cdrStatusOf(to) });
    }
  }

  private onEnded(call: Call, ending: CallEnding): void {
    const id = call.id;
    const endedAt = new Date(call.endedAt ?? Date.now());
    const patch: CdrPatch = {};
    let changed = false;
    const stats = call.a.mediaStats();
    if (stats) {
      const rtp = stats.rtp;
      patch.rtpPacketsSent = rtp.packetsSent;
      patch.rtpPacketsReceived = rtp.packetsReceived;
      patch.rtpBytesSent = rtp.bytesSent;
      patch.rtpBytesReceived = rtp.bytesReceived;
      patch.rtpPacketsLost = Math.max(0, rtp.packetsLost);
      patch.rtpJitterMs = Math.round(rtp.jitterMs * 100) / 100;
      changed = true;
    }
    const codec = call.a.codec;
    if (codec) {
      patch.codec = codec;
      changed = true;
    }
    const b = call.b;
    if (b) {
      patch.metadata = { b_leg: b.callId, b_codec: b.codec ?? null };
      changed = true;
    }
    if (changed) this.update(id, patch);
    const status = cdrFinalStatusOf(ending.state, ending.rejected);
    // The `completed` webhook leaves once the closed CDR is durable (or its write failed), so a status callback
    // that reads the call back through the API finds it closed.
    this.opts.writer.submit(
      this.opts.store,
      id,
      { kind: 'end', end: { status, endedAt, sipCode: ending.sipCode, hangupCause: ending.cause, hangupSide: ending.side } },
      () => this.webhook(call, 'completed'),
    );
    const m = this.opts.metrics;
    if (m) {
      m.ended(call.direction, status);
      if (call.answeredAt !== undefined) m.durationSeconds(call.direction, call.talkSeconds(endedAt.getTime()));
      else if (ending.sipCode !== undefined) m.setupSeconds(call.direction, Math.max(0, (endedAt.getTime() - call.startedAt) / 1000));
    }
  }

  private webhook(call: Call, event: WebhookEvent): void {
    const hooks = this.opts.webhooks;
    const url = call.webhookUrl;
    if (!hooks || !url) return;
    const payload: JsonObject = {
      event,
      call_id: call.id,
      direction: call.direction,
      from: call.from,
      to: call.to,
      status: cdrStatusOf(call.state),
      timestamp: new Date().toISOString(),
    };
    if (call.parentCallId) payload['parent_call_id'] = call.parentCallId;
    if (event === 'completed' && call.ending) {
      payload['sip_code'] = call.ending.sipCode ?? null;
      payload['duration'] = Math.round(call.talkSeconds() * 1000) / 1000;
      payload['hangup_cause'] = call.ending.cause;
      payload['hangup_side'] = call.ending.side;
    }
    hooks.notify(url, call.id, payload);
  }
}
