// Typed access to fuse-native (CommonJS, untyped) and a check that the patched build is loaded.
import { createRequire } from 'node:module';
import path from 'node:path';
import type { AttrCacheBinding } from '../attr-cache.ts';
import { FsError } from '../errors.ts';

/** The patch level this code needs (scripts/patch-fuse-native.sh builds it). */
const REQUIRED_PATCH_LEVEL = 2;

export interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
  /** fuse-native's option builder; replaced per instance (see options.ts). */
  _fuseOptions: () => string;
  /** The native per-mount state (fuse_thread_t); allocated by mount(). */
  readonly _thread: Buffer | null;
}

interface FuseConstructor {
  new (mnt: string, ops: object, opts: object): FuseInstance;
}

export interface Binding extends AttrCacheBinding {
  readonly cordon_patch_level?: number;
}

const require = createRequire(import.meta.url);

export function loadFuse(): { Fuse: FuseConstructor; binding: Binding } {
  const dir = path.dirname(require.resolve('fuse-native/package.json'));
  const loadBinding = require('node-gyp-build') as (dir: string) => Binding;
  const binding = loadBinding(dir);
  if ((binding.cordon_patch_level ?? 0) < REQUIRED_PATCH_LEVEL) {
    throw new FsError(
      'FUSE_UNPATCHED',
      `fuse-native at ${dir} is not the patched build (patch level ${binding.cordon_patch_level ?? 0}, need ${REQUIRED_PATCH_LEVEL}); run scripts/patch-fuse-native.sh`,
    );
  }
  return { Fuse: require('fuse-native') as FuseConstructor, binding };
}
