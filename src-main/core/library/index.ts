// The library: what the models folders hold, for GET /api/library (and the Deploy page to come).
// Headers read once per unchanged file (a cache by path, size, mtime and inode); concurrent calls
// share one scan.
import os from 'node:os';
import type { ModelConfig } from '../../../src-shared/config.js';
import type { LibraryListing } from '../../../src-shared/contract.js';
import { libraryRoots, scanLibrary, type HeaderCache, type LibraryRoot } from './scan.js';

export { libraryRoots, scanLibrary, type LibraryRoot } from './scan.js';

export interface LibraryOptions {
  /** program.models_dirs, absolute. */
  modelsDirs: () => readonly string[];
  /** The configured models (paths resolved), for `usedBy`. */
  models: () => readonly ModelConfig[];
  /** Where LM Studio's folder and the Hugging Face cache are looked for (default: the user's home and environment). */
  home?: string;
  env?: Record<string, string | undefined>;
  /** Instead of the default folders (tests). */
  roots?: () => LibraryRoot[];
}

export class Library {
  private readonly cache: HeaderCache = new Map();
  private inFlight: Promise<LibraryListing> | null = null;
  constructor(private readonly options: LibraryOptions) {}

  roots(): LibraryRoot[] {
    return this.options.roots?.() ?? libraryRoots(this.options.modelsDirs(), { home: this.options.home ?? os.homedir(), env: this.options.env ?? process.env });
  }

  /** Scans now (or joins the scan under way). */
  list(): Promise<LibraryListing> {
    this.inFlight ??= scanLibrary(this.roots(), { models: this.options.models(), cache: this.cache }).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }
}
