import { describe, expect, it } from 'vitest';
import {
  isFuseMount,
  isStrictlyUnder,
  mountsAt,
  parseMountInfo,
  unescapeMountField,
} from '../../src/mounts/mountinfo.ts';
import { selectStaleMounts } from '../../src/mounts/stale.ts';

const SAMPLE = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '40 22 0:39 / /var/cordon/mnt/s1 rw,nosuid,nodev,relatime shared:5 - fuse /dev/fuse rw,user_id=0,group_id=0,allow_other',
  '41 40 0:40 / /var/cordon/mnt/s1/nested rw,relatime - fuse.cordon cordon rw,user_id=0,group_id=0',
  '42 22 0:41 / /var/cordon/mnt2/s9 rw,relatime - fuse /dev/fuse rw,user_id=0,group_id=0',
  '43 22 0:42 / /var/cordon/mnt/with\\040space rw,relatime - fuse.bindfs /src\\040dir rw',
  '44 22 0:43 / /var/cordon/mnt/tmp rw,relatime - tmpfs tmpfs rw',
  '45 22 0:44 / /var/cordon/mnt rw,relatime - fuse /dev/fuse rw',
  '46 22 8:2 / /mnt/usb rw,relatime - fuseblk /dev/sdb1 rw',
  'this line is garbage',
  '',
].join('\n');

describe('mountinfo', () => {
  it('parses fields, including optional fields and escaped paths', () => {
    const mounts = parseMountInfo(SAMPLE);
    expect(mounts).toHaveLength(8);
    expect(mounts[1]).toEqual({
      mountId: 40,
      parentId: 22,
      major: 0,
      minor: 39,
      root: '/',
      mountPoint: '/var/cordon/mnt/s1',
      options: 'rw,nosuid,nodev,relatime',
      fsType: 'fuse',
      source: '/dev/fuse',
      superOptions: 'rw,user_id=0,group_id=0,allow_other',
    });
    expect(mounts[4]?.mountPoint).toBe('/var/cordon/mnt/with space');
    expect(mounts[4]?.source).toBe('/src dir');
  });

  it('unescapes octal sequences', () => {
    expect(unescapeMountField('a\\040b\\011c\\012d\\134e')).toBe('a b\tc\nd\\e');
  });

  it('recognises FUSE types', () => {
    const types = parseMountInfo(SAMPLE).map((m) => [m.fsType, isFuseMount(m)]);
    expect(types).toEqual([
      ['ext4', false],
      ['fuse', true],
      ['fuse.cordon', true],
      ['fuse', true],
      ['fuse.bindfs', true],
      ['tmpfs', false],
      ['fuse', true],
      ['fuseblk', true],
    ]);
  });

  it('is strictly under a root only below it, not beside it', () => {
    expect(isStrictlyUnder('/var/cordon/mnt/s1', '/var/cordon/mnt')).toBe(true);
    expect(isStrictlyUnder('/var/cordon/mnt/s1', '/var/cordon/mnt/')).toBe(true);
    expect(isStrictlyUnder('/var/cordon/mnt', '/var/cordon/mnt')).toBe(false);
    expect(isStrictlyUnder('/var/cordon/mnt2/s9', '/var/cordon/mnt')).toBe(false);
    expect(isStrictlyUnder('/x', '/')).toBe(true);
  });

  it('selects only FUSE mounts strictly below the root, deepest first', () => {
    const stale = selectStaleMounts(parseMountInfo(SAMPLE), '/var/cordon/mnt');
    expect(stale.map((m) => m.mountPoint)).toEqual([
      '/var/cordon/mnt/s1/nested',
      '/var/cordon/mnt/with space',
      '/var/cordon/mnt/s1',
    ]);
  });

  it('lists stacked mounts at one point in mount order', () => {
    const stacked = parseMountInfo(
      [
        '50 22 0:50 / /m/p rw - fuse a rw',
        '51 50 0:51 / /m/p rw - fuse b rw',
        '52 22 0:52 / /m/q rw - fuse c rw',
      ].join('\n'),
    );
    expect(mountsAt(stacked, '/m/p/').map((m) => m.source)).toEqual(['a', 'b']);
  });
});
