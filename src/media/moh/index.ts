export { MOH_FRAME_SAMPLES, MOH_SAMPLES_PER_MS, MohTrack } from './moh-track';
export { MohPlayer, type MohMode, type MohSource } from './moh-source';
export { MohStream, MohStreamListener, type MohStreamOptions } from './moh-stream';
export { MohLibrary, MohTrackError, type MohChoice, type MohLibraryOptions, type MohScanReport } from './moh-library';
