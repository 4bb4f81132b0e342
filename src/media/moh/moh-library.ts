import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { loadWavAs8kMono } from '../../dsp';
import { CodedError, systemClock, type Clock } from '../../util';
import { MohPlayer, type MohMode, type MohSource } from './moh-source';
import { MohStream } from './moh-stream';
import { MohTrack } from './moh-track';

/** A music-on-hold name that is not a file of MOH_DIR (missing, outside it, or not a usable WAV). */
export class MohTrackError extends CodedError {
  constructor(
    code: 'MOH_BAD_NAME' | 'MOH_NOT_FOUND' | 'MOH_BAD_FILE',
    message: string,
    readonly track: string,
  ) {
    super(code, message);
  }
}

/** Which music a held caller hears: an explicit track, else the one of the queue, else of the dialled number. */
export interface MohChoice {
  /** Track asked for explicitly (an IVR or API choice). */
  track?: string;
  /** Queue the caller waits in. */
  queue?: string;
  /** Our number (DID) the caller dialled. */
  number?: string;
}

export interface MohLibraryOptions {
  /** MOH_DIR: WAV files of any common rate and channel count. */
  dir: string;
  /** Track used when no rule matches (default: `default`, if that file exists). */
  defaultTrack?: string;
  /** Track per queue id or name. */
  byQueue?: Readonly<Record<string, string>>;
  /** Track per number (DID). */
  byNumber?: Readonly<Record<string, string>>;
  /** Clock of the shared streams. */
  clock?: Clock;
  /** Shared-stream resync threshold, ms (see MohStreamOptions). */
  resyncMs?: number;
  /** How sources are served when a caller does not say (MOH_MODE; default `shared`). */
  mode?: MohMode;
}

interface Entry {
  track: MohTrack;
  mtimeMs: number;
  size: number;
}

export interface MohScanReport {
  loaded: string[];
  failed: { track: string; error: string }[];
}

/**
 * The music-on-hold files of MOH_DIR, each converted once (any rate -> 8 kHz mono -> PCMU and PCMA) and
 * kept for every call. A file changed on disk is converted again on the next load; one shared stream per
 * track serves every `shared` listener.
 */
export class MohLibrary {
  private readonly dir: string;
  private readonly clock: Clock;
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<MohTrack>>();
  private readonly streams = new Map<string, MohStream>();

  constructor(private readonly options: MohLibraryOptions) {
    this.dir = resolve(options.dir);
    this.clock = options.clock ?? systemClock;
  }

  /** The default way sources are served (MOH_MODE). */
  get mode(): MohMode {
    return this.options.mode ?? 'shared';
  }

  /** Tracks loaded so far. */
  get loaded(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * Load and convert every .wav file of the directory (at start-up, so the first held call does not pay
   * for the conversion). A bad file is reported, not fatal. A missing directory loads nothing.
   */
  async scan(): Promise<MohScanReport> {
    const report: MohScanReport = { loaded: [], failed: [] };
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return report;
      throw err;
    }
    for (const file of names.sort()) {
      if (extname(file).toLowerCase() !== '.wav') continue;
      const name = file.slice(0, -4);
      try {
        await this.load(name);
        report.loaded.push(name);
      } catch (err) {
        report.failed.push({ track: name, error: err instanceof Error ? err.message : String(err) });
      }
    }
    return report;
  }

  /**
   * The track `name` (a file of the directory, `.wav` optional). Rejects with MohTrackError for a name
   * outside the directory, a missing file or an unusable WAV.
   */
  async load(name: string): Promise<MohTrack> {
    const key = this.keyOf(name);
    const path = join(this.dir, `${key}.wav`);
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new MohTrackError('MOH_NOT_FOUND', `no music-on-hold file ${path}`, key);
    }
    const cached = this.entries.get(key);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.track;
    const pending = this.loading.get(key);
    if (pending) return pending;
    const job = (async () => {
      let track: MohTrack;
      try {
        track = MohTrack.fromPcm(key, loadWavAs8kMono(await readFile(path)));
      } catch (err) {
        throw new MohTrackError('MOH_BAD_FILE', `music-on-hold file ${path}: ${err instanceof Error ? err.message : String(err)}`, key);
      }
      this.entries.set(key, { track, mtimeMs: info.mtimeMs, size: info.size });
      // A changed file restarts its shared stream with the new audio.
      this.streams.delete(key);
      return track;
    })();
    this.loading.set(key, job);
    try {
      return await job;
    } finally {
      this.loading.delete(key);
    }
  }

  /** The track name a choice resolves to (explicit, then queue, then number, then the default), or undefined. */
  resolveName(choice: MohChoice): string | undefined {
    if (choice.track) return choice.track;
    if (choice.queue !== undefined && this.options.byQueue?.[choice.queue]) return this.options.byQueue[choice.queue];
    if (choice.number !== undefined && this.options.byNumber?.[choice.number]) return this.options.byNumber[choice.number];
    return this.options.defaultTrack ?? 'default';
  }

  /**
   * A frame provider for one held leg: a listener of the track's shared stream (`shared`: it joins where the stream
   * is), or a player of its own from the top (`per-listener`). A chosen track that cannot be loaded falls back to the default track,
   * so a typo in a queue definition still gives the caller music; undefined when there is no music at all.
   */
  async source(choice: MohChoice, mode: MohMode = this.mode): Promise<MohSource | undefined> {
    const names = [this.resolveName(choice), this.options.defaultTrack ?? 'default'];
    for (const name of names) {
      if (name === undefined) continue;
      let track: MohTrack;
      try {
        track = await this.load(name);
      } catch {
        continue;
      }
      return mode === 'shared' ? this.streamOf(track).listen() : new MohPlayer(track);
    }
    return undefined;
  }

  /** The shared stream of a track (created on first use, then running for the life of the process). */
  async stream(name: string): Promise<MohStream> {
    return this.streamOf(await this.load(name));
  }

  /** Drop every converted track and stream. */
  clear(): void {
    this.entries.clear();
    this.streams.clear();
  }

  private streamOf(track: MohTrack): MohStream {
    let stream = this.streams.get(track.name);
    if (!stream || stream.track !== track) {
      stream = new MohStream(track, { clock: this.clock, resyncMs: this.options.resyncMs });
      this.streams.set(track.name, stream);
    }
    return stream;
  }

  /** A track name as a file stem inside the directory; names that climb out of it are refused. */
  private keyOf(name: string): string {
    const stem = extname(name).toLowerCase() === '.wav' ? name.slice(0, -4) : name;
    const rel = relative(this.dir, resolve(this.dir, `${stem}.wav`));
    if (stem.length === 0 || isAbsolute(stem) || rel.startsWith('..') || isAbsolute(rel) || stem.includes('\0')) {
      throw new MohTrackError('MOH_BAD_NAME', `music-on-hold name ${JSON.stringify(name)} is not a file of the music-on-hold directory`, name);
    }
    return rel.slice(0, -4);
  }
}
