// Typed access to fuse-native (CommonJS, untyped) and a check that the patched build is loaded.
import { createRequire } from 'node:module';
import path from 'node:path';
import { FsError } from '../errors.ts';

export interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
  /** fuse-native's option builder; replaced per instance (see options.ts). */
  _fuseOptions: () => string;
}

interface FuseConstructor {
  new (mnt: string, ops: object, opts: object): FuseInstance;
}

const require = createRequire(import.meta.url);

export function loadFuse(): FuseConstructor {
  const dir = path.dirname(require.resolve('fuse-native/package.json'));
  const loadBinding = require('node-gyp-build') as (dir: string) => { cordon_patch_level?: number };
  if ((loadBinding(dir).cordon_patch_level ?? 0) < 1) {
    throw new FsError(
      'FUSE_UNPATCHED',
      `fuse-native at ${dir} is the unpatched build (utimens sets mtime to atime, no native I/O); run scripts/patch-fuse-native.sh`,
    );
  }
  return require('fuse-native') as FuseConstructor;
}
