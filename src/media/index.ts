// Public surface of the media layer: one MediaSession per call leg over an RTP endpoint (decode, jitter buffer,
// DTMF, playback, PCM queue for the AI bridge, recording, bridging) and the MediaEngine that creates them.
// Knows nothing of SIP or call control.
export * from './media-ticker';
export * from './sample-ring';
export * from './pcm-queue';
export * from './playback-source';
export * from './wav-cache';
export * from './dtmf-arbiter';
export * from './call-recorder';
export * from './media-session';
export * from './media-engine';
export * from './moh';
