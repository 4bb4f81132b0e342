// Public surface of the RTP layer: packet codecs, RTCP, sequence math, port pool, endpoint, sender,
// jitter buffer, arrival-order (reorder) buffer, pacer and RFC 4733 telephone-events. Knows nothing of SIP or SDP.
export * from './seq';
export * from './seq-validator';
export * from './rtp-packet';
export * from './classify';
export * from './ntp';
export * from './rtcp-packet';
export * from './rtp-stats';
export * from './rtcp-session';
export * from './rtcp-scheduler';
export * from './port-pool';
export * from './rtp-sender';
export * from './pacer';
export * from './jitter-buffer';
export * from './reorder-buffer';
export * from './telephone-event';
export * from './send-batch';
export * from './rtp-endpoint';
