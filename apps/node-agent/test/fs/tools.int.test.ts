// Real toolchains on a write-level tree, and a command run through bwrap as an unprivileged uid
// with the mount at /workspace.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, mountFixture, sh, type Fixture } from './helpers.ts';

const POLICY = {
  rules: [
    { pattern: '**/*', permission: 'write' as const },
    { pattern: '**/.env*', permission: 'none' as const, priority: 100 },
    { pattern: '/docs/**', permission: 'read' as const, priority: 10 },
  ],
};
const GIT = 'git -c user.name=t -c user.email=t@e -c init.defaultBranch=main -c safe.directory=*';
const hasBwrap = spawnSync('bwrap', ['--version']).status === 0;

describe('real tools on a write-level tree', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await mountFixture(POLICY, {
      files: {
        'src/a.txt': 'hello world\n',
        'src/b.txt': 'b\n',
        'docs/README.md': '# docs\n',
        '.env': 'S=1\n',
      },
      extra: { ownerUid: 65534, ownerGid: 65534 },
    });
  });
  afterAll(cleanupAll);

  const ok = (script: string): string => {
    const r = sh(script, f.mnt);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return r.stdout;
  };

  it('git init, add, commit, status, checkout', () => {
    ok(`${GIT} init -q && ${GIT} add -A && ${GIT} commit -qm one`);
    ok(`echo more >> src/a.txt && ${GIT} status --porcelain > /tmp/.x; true`);
    expect(ok(`${GIT} status --porcelain`)).toBe(' M src/a.txt\n');
    ok(`${GIT} checkout -q -- src/a.txt`);
    expect(ok(`${GIT} status --porcelain && cat src/a.txt`)).toBe('hello world\n');
    ok(
      `${GIT} checkout -q -b feature && echo f > src/f.txt && ${GIT} add src/f.txt && ${GIT} commit -qm two && ${GIT} checkout -q main`,
    );
    expect(fs.existsSync(path.join(f.mnt, 'src/f.txt'))).toBe(false);
    expect(ok(`${GIT} log --oneline feature | wc -l`).trim()).toBe('2');
    // .env is invisible, so git never saw it.
    expect(ok(`${GIT} ls-files`)).not.toContain('.env');
  });

  it('sed -i, python read/write, write-to-temp-then-rename', () => {
    ok('sed -i s/hello/bye/ src/a.txt');
    expect(ok('cat src/a.txt')).toBe('bye world\n');
    ok(`python3 -c "
import os
p='src/b.txt'
s=open(p).read()
open(p+'.tmp','w').write(s.upper())
os.replace(p+'.tmp', p)
"`);
    expect(ok('cat src/b.txt; ls src')).toBe('B\na.txt\nb.txt\n');
  });

  it('tar x, mv of directories, rm -rf', () => {
    ok(
      'mkdir -p /tmp/cordon-tar && cd /tmp/cordon-tar && mkdir -p pkg/lib && echo x > pkg/lib/x.js && touch -d @1400000000 pkg/lib/x.js && tar cf ../cordon.tar pkg',
    );
    ok('tar xf /tmp/cordon.tar && stat -c %Y pkg/lib/x.js > /tmp/cordon-mtime');
    expect(fs.readFileSync('/tmp/cordon-mtime', 'utf8')).toBe('1400000000\n');
    ok(
      'mv pkg pkg2 && mv src src2 && test -f src2/a.txt && test -f pkg2/lib/x.js && test ! -e src',
    );
    ok('rm -rf pkg2 src2 && ls');
    expect(ok('ls -A')).toBe('.git\ndocs\n');
    fs.rmSync('/tmp/cordon-tar', { recursive: true, force: true });
    fs.rmSync('/tmp/cordon.tar', { force: true });
    fs.rmSync('/tmp/cordon-mtime', { force: true });
  });

  it('npm install from a local tarball', () => {
    const work = fs.mkdtempSync('/tmp/cordon-npm-');
    try {
      fs.mkdirSync(path.join(work, 'dep'));
      fs.writeFileSync(
        path.join(work, 'dep/package.json'),
        JSON.stringify({ name: 'cordon-dep', version: '1.0.0', main: 'index.js' }),
      );
      fs.writeFileSync(path.join(work, 'dep/index.js'), 'module.exports = 42;\n');
      const pack = sh('npm pack --silent', path.join(work, 'dep'));
      expect(pack.status).toBe(0);
      const tgz = path.join(work, 'dep', pack.stdout.trim());
      ok(
        `mkdir app && cd app && echo '{"name":"app","version":"1.0.0"}' > package.json && npm install --silent --no-audit --no-fund --offline ${tgz}`,
      );
      expect(ok(`cd app && node -e "console.log(require('cordon-dep'))"`)).toBe('42\n');
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('keeps read-level files read-only for tools', () => {
    const r = sh('sed -i s/docs/x/ docs/README.md', f.mnt);
    expect(r.status).not.toBe(0);
    expect(fs.readFileSync(path.join(f.src, 'docs/README.md'), 'utf8')).toBe('# docs\n');
  });

  it.skipIf(!hasBwrap)(
    'runs through bwrap as an unprivileged uid with the mount at /workspace',
    () => {
      const script = [
        'cd /workspace',
        'id -u',
        'echo from-sandbox > sandbox.txt && cat sandbox.txt',
        'stat -c %u sandbox.txt',
        'cat .env 2>&1 || true',
        '{ echo x >> docs/README.md; } 2>&1 || true',
        'ls -A',
      ].join('; ');
      const args = [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'bwrap',
        '--ro-bind',
        '/usr',
        '/usr',
      ];
      for (const l of ['bin', 'lib', 'lib64', 'sbin'])
        if (fs.existsSync(`/${l}`)) args.push('--symlink', `usr/${l}`, `/${l}`);
      args.push(
        '--proc',
        '/proc',
        '--dev',
        '/dev',
        '--tmpfs',
        '/tmp',
        '--bind',
        f.mnt,
        '/workspace',
        '--unshare-all',
        '--die-with-parent',
        '--cap-drop',
        'ALL',
        '--',
        'bash',
        '-c',
        script,
      );
      const r = spawnSync('setpriv', args, { encoding: 'utf8', timeout: 30_000 });
      expect(r.stderr).toBe('');
      const lines = r.stdout.split('\n');
      expect(lines[0]).toBe('65534');
      expect(lines[1]).toBe('from-sandbox');
      expect(lines[2]).toBe('65534');
      expect(lines[3]).toMatch(/No such file or directory/);
      expect(lines[4]).toMatch(/Permission denied/);
      expect(lines.slice(5)).not.toContain('.env');
      expect(lines.slice(5)).toContain('sandbox.txt');
      // The real file is in the delta, owned by the codebase's owner, not by the sandbox uid.
      const st = fs.statSync(path.join(f.delta, 'upper/sandbox.txt'));
      expect(st.uid).toBe(fs.statSync(f.src).uid);
    },
  );
});
