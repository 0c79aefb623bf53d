// A tiny fuse-native filesystem for the stale-mount tests, run as its own process:
//   /ok          readable ("ok\n")
//   /hang-read   stat-able, but read() never answers
//   /hang-stat   lookup/getattr never answers
// Prints "mounted" once the mount is up. It never touches its own mount (a synchronous call on it
// from this process would deadlock), and fuse-native's per-request timeout is off, so a hung
// request stays hung until the connection is aborted.
// Usage: node fuse-server.ts <mountpoint>
import { createRequire } from 'node:module';

type Callback = (code: number, ...values: unknown[]) => void;

interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
}

interface FuseConstructor {
  new (mnt: string, ops: Record<string, (...args: never[]) => void>, opts: object): FuseInstance;
  readonly ENOENT: number;
}

const Fuse = createRequire(import.meta.url)('fuse-native') as FuseConstructor;
const mountPoint = process.argv[2];
if (mountPoint === undefined) throw new Error('usage: fuse-server.ts <mountpoint>');

const epoch = new Date(1_700_000_000_000);
const dirStat = { mode: 0o40755, size: 4096, nlink: 2, mtime: epoch, atime: epoch, ctime: epoch };
const fileStat = (size: number): object => ({
  mode: 0o100644,
  size,
  nlink: 1,
  mtime: epoch,
  atime: epoch,
  ctime: epoch,
});
const OK = Buffer.from('ok\n');

const ops = {
  readdir(path: string, cb: Callback): void {
    if (path === '/') cb(0, ['ok', 'hang-read', 'hang-stat']);
    else cb(Fuse.ENOENT);
  },
  getattr(path: string, cb: Callback): void {
    if (path === '/') cb(0, dirStat);
    else if (path === '/ok') cb(0, fileStat(OK.length));
    else if (path === '/hang-read') cb(0, fileStat(100));
    else if (path === '/hang-stat')
      return; // never answers
    else cb(Fuse.ENOENT);
  },
  open(_path: string, _flags: number, cb: Callback): void {
    cb(0, 42);
  },
  read(path: string, _fd: number, buf: Buffer, len: number, pos: number, cb: Callback): void {
    if (path !== '/ok') return; // never answers
    const n = OK.subarray(pos, pos + len).copy(buf);
    cb(n);
  },
  release(_path: string, _fd: number, cb: Callback): void {
    cb(0);
  },
};

const fuse = new Fuse(mountPoint, ops, { force: true, timeout: false, allowOther: true });
fuse.mount((err) => {
  if (err !== null) {
    process.stderr.write(`mount failed: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write('mounted\n');
});
