// Two network namespaces joined by a veth pair, for live-capture tests. Addresses only from
// 198.18.0.0/15 and 2001:db8::/32; namespaces are named rw-agent-*; destroy() removes everything.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface NetnsPair {
  /** Namespace names: `a` is the capture side. */
  a: string;
  b: string;
  /** veth inside `a` and `b`. */
  ifA: string;
  ifB: string;
  addrA: string;
  addrB: string;
  /** Spawn a command inside a namespace (tracked; killed by PID on destroy). */
  spawnIn(ns: string, cmd: string, args: string[]): ChildProcess;
  /** Run a command inside a namespace to completion (bounded by `timeoutMs`). */
  execIn(ns: string, cmd: string, args: string[], timeoutMs?: number): string;
  destroy(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** True when this process may create namespaces (root / CAP_SYS_ADMIN) and `ip` exists. */
export function canUseNetns(): boolean {
  try {
    const ns = `rw-agent-probe-${randomBytes(3).toString('hex')}`;
    ip('netns', 'add', ns);
    ip('netns', 'del', ns);
    return true;
  } catch {
    return false;
  }
}

export function createNetnsPair(octet: number): NetnsPair {
  const id = randomBytes(3).toString('hex');
  const a = `rw-agent-${id}-a`;
  const b = `rw-agent-${id}-b`;
  const ifA = `rwa${id}a`;
  const ifB = `rwa${id}b`;
  const addrA = `198.19.${octet}.1`;
  const addrB = `198.19.${octet}.2`;
  const children: ChildProcess[] = [];
  const destroy = () => {
    for (const c of children) if (c.exitCode === null && c.pid !== undefined) c.kill('SIGKILL');
    for (const ns of [a, b]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  };
  try {
    ip('netns', 'add', a);
    ip('netns', 'add', b);
    ip('link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB);
    ip('link', 'set', ifA, 'netns', a);
    ip('link', 'set', ifB, 'netns', b);
    ip('-n', a, 'addr', 'add', `${addrA}/24`, 'dev', ifA);
    ip('-n', b, 'addr', 'add', `${addrB}/24`, 'dev', ifB);
    ip('-n', a, 'addr', 'add', `2001:db8:${octet}::1/64`, 'dev', ifA, 'nodad');
    ip('-n', b, 'addr', 'add', `2001:db8:${octet}::2/64`, 'dev', ifB, 'nodad');
    for (const [ns, dev] of [
      [a, ifA],
      [b, ifB],
    ] as const) {
      ip('-n', ns, 'link', 'set', dev, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    a,
    b,
    ifA,
    ifB,
    addrA,
    addrB,
    spawnIn(ns, cmd, args) {
      const c = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(c);
      return c;
    },
    execIn(ns, cmd, args, timeoutMs = 10_000) {
      return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], {
        timeout: timeoutMs,
        stdio: ['ignore', 'pipe', 'pipe'],
      }).toString();
    },
    destroy,
  };
}
