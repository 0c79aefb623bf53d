// Picks the cgroup driver for the detected layout.
import type { CgroupLayout } from './detect.ts';
import type { CgroupDriver } from './types.ts';
import { CgroupV1Driver } from './v1.ts';
import { CgroupV2Driver } from './v2.ts';

export interface CgroupDriverOptions {
  /** Where sandbox cgroups go in the hierarchy. Default `cordon`; a node agent: `cordon/<nodeId>`. */
  readonly parent?: string;
}

export function createCgroupDriver(
  layout: CgroupLayout,
  o: CgroupDriverOptions = {},
): CgroupDriver {
  switch (layout.version) {
    case 1:
      return new CgroupV1Driver(layout.mounts, o.parent);
    case 2:
      return new CgroupV2Driver(layout.root, o.parent);
  }
}
