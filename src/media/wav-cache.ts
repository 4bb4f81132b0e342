import { readFile, stat } from 'node:fs/promises';
import { loadWavAs8kMono } from '../dsp';

interface CacheEntry {
  samples: Int16Array;
  mtimeMs: number;
  size: number;
}

/**
 * Prompts and music on hold decoded once to 8 kHz mono PCM16 and shared by every call that plays them. Bounded
 * by total decoded bytes (least recently used evicted first); a file changed on disk (mtime or size) is decoded
 * again. Concurrent loads of one path share one read.
 */
export class WavCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly loading = new Map<string, Promise<Int16Array>>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  /** @param maxBytes decoded PCM kept in memory (default 64 MiB, about 70 minutes of audio). */
  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  /** Bytes of decoded audio held. */
  get sizeBytes(): number {
    return this.bytes;
  }

  /** Decoded 8 kHz mono PCM of a WAV file. Rejects with the file system error or a WavError. */
  async load(path: string): Promise<Int16Array> {
    const info = await stat(path);
    const cached = this.entries.get(path);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) {
      this.hits++;
      // Refresh its LRU position.
      this.entries.delete(path);
      this.entries.set(path, cached);
      return cached.samples;
    }
    const pending = this.loading.get(path);
    if (pending) return pending;
    this.misses++;
    const job = (async () => {
      const samples = loadWavAs8kMono(await readFile(path));
      this.store(path, { samples, mtimeMs: info.mtimeMs, size: info.size });
      return samples;
    })();
    this.loading.set(path, job);
    try {
      return await job;
    } finally {
      this.loading.delete(path);
    }
  }

  /** Forget everything. */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private store(path: string, entry: CacheEntry): void {
    const old = this.entries.get(path);
    if (old) {
      this.bytes -= old.samples.byteLength;
      this.entries.delete(path);
    }
    // A file larger than the whole cache is returned but not kept.
    if (entry.samples.byteLength > this.maxBytes) return;
    this.entries.set(path, entry);
    this.bytes += entry.samples.byteLength;
    for (const [key, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(key);
      this.bytes -= e.samples.byteLength;
    }
  }
}
