// Picks the cgroup driver for the detected layout.
import type { CgroupLayout } from './detect.ts';
import type { CgroupDriver } from './types.ts';
import { CgroupV1Driver } from './v1.ts';
import { CgroupV2Driver } from './v2.ts';

export function createCgroupDriver(layout: CgroupLayout): CgroupDriver {
  switch (layout.version) {
    case 1:
      return new CgroupV1Driver(layout.mounts);
    case 2:
      return new CgroupV2Driver(layout.root);
  }
}
