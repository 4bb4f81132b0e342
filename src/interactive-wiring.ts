import { join } from 'node:path';
import type { QueueApi } from './api';
import {
  AiSessionLimiter,
  HttpIvrWebhookClient,
  HttpTranscriber,
  IvrCallApp,
  IvrPromptRenderer,
  MachineDetectionService,
  QueueCallApp,
  QueueService,
  RecordingService,
  type CallManager,
  type WebhookNotifier,
} from './call';
import type { Config } from './config';
import { MohLibrary } from './media';
import type { Logger } from './observability';
import { createRepositories, RecordingRepository, type Database } from './store';
import { signWebhook } from './util';

// Wiring of the interactive features (IVR, queues, music on hold, recording, transcription, AMD) into a server
// instance; server.ts calls it once call control exists. Kept apart so server.ts stays a readable table of contents.

export interface InteractiveServices {
  readonly ivr: IvrCallApp;
  readonly queues: QueueCallApp;
  readonly queueService: QueueService;
  readonly aiSlots: AiSessionLimiter;
  readonly recordings: RecordingService;
  readonly recordingIndex: RecordingRepository;
  readonly machineDetection: MachineDetectionService;
  readonly moh: MohLibrary;
  /** What the REST API mounts. */
  readonly api: {
    ivrMenus: ReturnType<typeof createRepositories>['ivrMenus'];
    queues: QueueApi;
    recordings: { index: RecordingRepository; control: RecordingService };
  };
  close(): Promise<void>;
}

/** Build the IVR and queue apps (registered on `calls`), recording, transcription and AMD. */
export function wireInteractive(config: Config, db: Database, calls: CallManager, webhooks: WebhookNotifier, logger: Logger): InteractiveServices {
  const repos = createRepositories(db);
  const instanceId = config.cluster.instanceId;
  const log = logger.child({ component: 'interactive' });
  const moh = new MohLibrary({ dir: config.media.mohDir, mode: config.media.mohMode });
  // Converted at start-up so the first caller on hold does not wait for the conversion.
  moh.scan().then(
    (r) => {
      if (r.failed.length > 0) log.warn({ failed: r.failed }, 'some music-on-hold files could not be loaded');
    },
    (err: unknown) => log.warn({ err }, 'music-on-hold scan failed'),
  );
  const prompts = new IvrPromptRenderer({
    promptDir: config.media.mohDir,
    cacheDir: join(config.database.dataDir, 'tts-cache'),
    ttsCommand: config.media.ttsCommand,
  });
  const signingKey = config.webhookSigningKey;
  const ivrWebhook = new HttpIvrWebhookClient({ sign: signingKey ? (body) => signWebhook(body, signingKey) : undefined });
  const aiSlots = new AiSessionLimiter(config.ai.maxSessions);
  const queueService = new QueueService({ store: repos.queues, instanceId });
  const queues = new QueueCallApp({
    service: queueService,
    calls,
    appOf: (kind) => calls.appOf(kind),
    aiSlots,
    instanceId,
    moh,
    mohMode: config.media.mohMode,
    prompts,
    logger: log,
  });
  const ivr = new IvrCallApp({
    menus: repos.ivrMenus,
    prompts,
    webhook: ivrWebhook,
    logger: log,
    handoff: {
      appOf: (kind) => calls.appOf(kind),
      joinQueue: (ctx, queue, priority) => queues.join(ctx, queue, priority),
    },
  });
  // Held parties hear the same music as queues (MOH_MODE): the number's track, else the default one.
  calls.setHoldMusic((held) => moh.source({ number: held.number }));

  // Whether a number records its calls, asked once per call: cached 2 s per number so the call path needs no query.
  const numberRecords = new TtlCache<boolean>(2000, async (number) => {
    const n = await repos.numbers.get(number);
    return n !== undefined && (n.recordingEnabled || n.aiSettings['record'] === true);
  });
  const recordingIndex = new RecordingRepository(db);
  const transcriber = config.media.transcriberUrl !== undefined ? new HttpTranscriber({ url: config.media.transcriberUrl }) : undefined;
  const recordings = new RecordingService({
    store: recordingIndex,
    calls,
    dir: config.media.recordingsDir,
    instanceId,
    numberRecords: (number) => numberRecords.get(number),
    webhooks,
    transcriber,
    transcripts: repos.callEvents,
    logger: log,
  });
  // Recordings a crash left open cannot be completed: their files stop mid-write.
  recordingIndex.failOpen(instanceId).catch((err: unknown) => log.warn({ err }, 'could not close recordings left open'));
  const machineDetection = new MachineDetectionService({ calls, cdr: repos.calls, webhooks, logger: log });
  // An outbound call placed with machine_detection starts its route once the verdict (and, when asked, the beep
  // after a machine's greeting) is in; every other call starts at once.
  const ai = calls.appOf('ai');
  if (ai) calls.registerApp('ai', machineDetection.wrap(ai));
  calls.registerApp('ivr', machineDetection.wrap(ivr));
  calls.registerApp('queue', machineDetection.wrap(queues));

  const queueApi: QueueApi = {
    listQueues: () => repos.queues.listQueues(),
    getQueue: async (ref) => (await repos.queues.getQueue(ref)) ?? (await repos.queues.getQueueByName(ref)),
    define: (input) => queueService.define(input),
    deleteQueue: (id) => repos.queues.deleteQueue(id),
    positions: (queueId) => repos.queues.positions(queueId),
    changePriority: (callId, priority) => queues.changePriority(callId, priority),
    pull: (callId, target) => queues.pull(callId, target),
    changed: (queueId) => queues.queueChanged(queueId),
  };
  return {
    ivr,
    queues,
    queueService,
    aiSlots,
    recordings,
    recordingIndex,
    machineDetection,
    moh,
    api: { ivrMenus: repos.ivrMenus, queues: queueApi, recordings: { index: recordingIndex, control: recordings } },
    close: async () => {
      queues.close();
      queueService.close();
      await recordings.close();
    },
  };
}

/** A small per-key cache with a time to live, loading misses through `load` (concurrent misses share one load). */
class TtlCache<V> {
  private readonly entries = new Map<string, { at: number; value: Promise<V> }>();
  constructor(
    private readonly ttlMs: number,
    private readonly load: (key: string) => Promise<V>,
    private readonly maxEntries = 50_000,
  ) {}
  get(key: string): Promise<V> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const value = this.load(key);
    this.entries.set(key, { at: now, value });
    value.catch(() => this.entries.delete(key));
    return value;
  }
}
