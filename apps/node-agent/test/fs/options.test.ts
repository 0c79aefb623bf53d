import { describe, expect, it } from 'vitest';
import { buildFuseOptions, DEFAULT_TUNING } from '../../src/fs/options.ts';

const opts = (s: string): string[] => {
  expect(s.startsWith('-o')).toBe(true);
  return s.slice(2).split(',');
};

describe('buildFuseOptions', () => {
  it('passes the options the design relies on, with the defaults', () => {
    const o = opts(buildFuseOptions('cordon-sb1', DEFAULT_TUNING));
    for (const want of [
      'allow_other',
      'auto_unmount',
      'use_ino',
      'hard_remove',
      'big_writes',
      'auto_cache',
      'subtype=cordon',
      'fsname=cordon-sb1',
      'max_read=131072',
      'max_readahead=1048576',
      'attr_timeout=1',
      'entry_timeout=1',
      'negative_timeout=1',
      'cordon_native_io',
      'cordon_attr_cache',
    ]) {
      expect(o).toContain(want);
    }
  });

  it('never asks the kernel to check mode bits or keep pages across opens', () => {
    const o = opts(buildFuseOptions('x', DEFAULT_TUNING));
    expect(o).not.toContain('default_permissions');
    expect(o).not.toContain('kernel_cache');
  });

  it('keeps zero timeouts (fuse-native dropped them) and honours the switches', () => {
    const o = opts(
      buildFuseOptions('x', {
        ...DEFAULT_TUNING,
        attrTimeoutSec: 0,
        entryTimeoutSec: 0,
        negativeTimeoutSec: 0,
        nativeIo: false,
        nativeAttrCache: false,
      }),
    );
    expect(o).toEqual(
      expect.arrayContaining(['attr_timeout=0', 'entry_timeout=0', 'negative_timeout=0']),
    );
    expect(o).not.toContain('cordon_native_io');
    expect(o).not.toContain('cordon_attr_cache');
  });

  it('cannot be made to inject options through the fs name', () => {
    const o = opts(buildFuseOptions('a,allow_root,dev=1 x', DEFAULT_TUNING));
    expect(o).not.toContain('allow_root');
    expect(o.find((x) => x.startsWith('fsname='))).toBe('fsname=a_allow_root_dev_1_x');
  });
});
