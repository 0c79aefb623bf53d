// The npm registry reachable from our build hosts serves Linux packages only: platform binaries
// for other systems (e.g. @turbo/darwin-64) answer 404, so npm cannot record them in
// package-lock.json, and `npm ci` then rejects the lock as out of sync. Cordon runs on Linux
// only; this drops optional dependencies the lock has no entry for, so `npm ci` accepts it.
// Run after changing dependencies: node scripts/prune-lock.ts
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
interface LockPackage {
  optionalDependencies?: Record<string, string>;
}
const lock = JSON.parse(readFileSync(file, 'utf8')) as { packages: Record<string, LockPackage> };
const present = new Set(Object.keys(lock.packages).map((k) => k.replace(/^.*node_modules\//, '')));
let dropped = 0;
for (const pkg of Object.values(lock.packages)) {
  if (!pkg.optionalDependencies) continue;
  for (const name of Object.keys(pkg.optionalDependencies)) {
    if (!present.has(name)) {
      delete pkg.optionalDependencies[name];
      dropped++;
    }
  }
  if (Object.keys(pkg.optionalDependencies).length === 0) delete pkg.optionalDependencies;
}
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`prune-lock: dropped ${dropped} optional dependencies the registry does not serve`);
