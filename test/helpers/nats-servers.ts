/**
 * Real nats-server processes for tests: one `nats-server -js`, or a cluster of three on loopback
 * ports, each with its own store dir under a temp dir. Nodes can be killed (SIGKILL is real: the
 * process dies mid-write) and restarted on the same ports and store, as a machine that reboots.
 *
 * Readiness is the plain `/healthz`, which answers ok only once a JetStream meta leader exists and the
 * node's assets are current (`?js-enabled-only=true` answers before any leader: too early).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface NatsNode {
  readonly name: string;
  readonly port: number;
  readonly httpPort: number;
  readonly clusterPort: number;
  readonly url: string;
  /** Whether the process is running now. */
  readonly running: boolean;
  /** The process id while it runs. */
  readonly pid: number | undefined;
}

export interface NatsServers {
  readonly nodes: readonly NatsNode[];
  /** Every node's client URL, comma-separated: the `server.log` value. */
  readonly urls: string;
  /** Kills one node (SIGKILL by default) and waits for it to exit. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped node again on the same ports and store dir, and waits until it is healthy. */
  restart(name: string): Promise<void>;
  /** The `/jsz` document of a running node (streams and consumers with their cluster info). */
  jsz(name?: string): Promise<JszDocument>;
  /** The node that leads `stream`, as the running nodes report it; null while there is none. */
  streamLeader(stream: string): Promise<string | null>;
  /** Waits until every running node answers `/healthz` ok. */
  healthy(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes the temp dir. Safe to call twice. */
  close(): Promise<void>;
}

export interface JszDocument {
  readonly server_name?: string;
  readonly meta_cluster?: { readonly leader?: string };
  readonly account_details?: ReadonlyArray<{
    readonly stream_detail?: ReadonlyArray<{ readonly name: string; readonly cluster?: { readonly leader?: string } }>;
  }>;
}

/** The nats-server binary: `$AMEBO_NATS_SERVER`, else the one on PATH (Debian installs /usr/sbin/nats-server). */
export function natsServerBinary(): string {
  return process.env['AMEBO_NATS_SERVER'] ?? 'nats-server';
}

/** True when a nats-server can be run here. */
export function haveNatsServer(): boolean {
  const r = spawnSync(natsServerBinary(), ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/** Free loopback TCP ports (probed just before use). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

interface Node extends NatsNode {
  proc: ChildProcess | null;
  exited: Promise<void> | null;
  readonly config: string;
  log: string;
}

/** Starts `count` nats-servers (1: standalone `-js`; 3: a cluster) and waits until all are healthy. */
export async function startNatsServers(count: 1 | 3 = 1): Promise<NatsServers> {
  // Its own temp dir, not tmp.ts's: suites clean those after every test, and servers outlive tests.
  const dir = mkdtempSync(join(tmpdir(), 'amebo-nats-'));
  const ports = await freePorts(count * 3);
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) {
    const name = `n${i + 1}`;
    const port = ports[i * 3]!;
    const httpPort = ports[i * 3 + 1]!;
    const clusterPort = ports[i * 3 + 2]!;
    const store = join(dir, name);
    mkdirSync(store, { recursive: true });
    const routes = Array.from({ length: count }, (_, j) => `nats-route://127.0.0.1:${ports[j * 3 + 2]}`);
    const lines = [
      `server_name: ${name}`,
      `listen: 127.0.0.1:${port}`,
      `http: 127.0.0.1:${httpPort}`,
      // amebo accepts 1 MiB bodies; the server's default max_payload is exactly 1 MiB.
      'max_payload: 2MB',
      `jetstream { store_dir: "${store}", max_memory_store: 256MB, max_file_store: 2GB }`,
    ];
    if (count > 1) lines.push(`cluster { name: amebo-test, listen: 127.0.0.1:${clusterPort}, routes: [${routes.join(', ')}] }`);
    const config = join(dir, `${name}.conf`);
    writeFileSync(config, lines.join('\n') + '\n');
    nodes.push({ name, port, httpPort, clusterPort, url: `nats://127.0.0.1:${port}`, running: false, pid: undefined, proc: null, exited: null, config, log: '' });
  }

  const launch = (node: Node) => {
    const proc = spawn(natsServerBinary(), ['-c', node.config], { stdio: ['ignore', 'pipe', 'pipe'] });
    node.proc = proc;
    (node as { pid: number | undefined }).pid = proc.pid;
    node.log = '';
    const keep = (chunk: Buffer) => {
      // Keep the tail only: enough to explain a failed start.
      node.log = (node.log + chunk.toString('utf8')).slice(-8_000);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    node.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    (node as { running: boolean }).running = true;
    void node.exited.then(() => {
      if (node.proc === proc) (node as { running: boolean }).running = false;
    });
  };

  const healthyNode = async (node: Node, deadline: number) => {
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${node.httpPort}/healthz`);
        await res.text();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (!node.running) throw new Error(`nats-server ${node.name} exited during start:\n${node.log}`);
      if (Date.now() > deadline) throw new Error(`nats-server ${node.name} not healthy in time:\n${node.log}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  const find = (name: string) => {
    const node = nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no nats node ${name}`);
    return node;
  };

  const healthy = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(nodes.filter((n) => n.running).map((n) => healthyNode(n, deadline)));
  };

  const jsz = async (name?: string): Promise<JszDocument> => {
    const node = name ? find(name) : nodes.find((n) => n.running);
    if (!node) throw new Error('no nats node is running');
    const res = await fetch(`http://127.0.0.1:${node.httpPort}/jsz?accounts=true&streams=true`);
    return (await res.json()) as JszDocument;
  };

  let closed: Promise<void> | null = null;
  const servers: NatsServers = {
    nodes,
    urls: nodes.map((n) => n.url).join(','),
    async kill(name, signal = 'SIGKILL') {
      const node = find(name);
      if (!node.proc || !node.running) return;
      node.proc.kill(signal);
      await node.exited;
    },
    async restart(name) {
      const node = find(name);
      if (node.running) return;
      launch(node);
      await healthyNode(node, Date.now() + 30_000);
    },
    jsz,
    async streamLeader(stream) {
      for (const node of nodes.filter((n) => n.running)) {
        try {
          const doc = await jsz(node.name);
          for (const account of doc.account_details ?? []) {
            for (const s of account.stream_detail ?? []) if (s.name === stream && s.cluster?.leader) return s.cluster.leader;
          }
        } catch {
          // a node that does not answer is not the one to ask
        }
      }
      return null;
    },
    healthy,
    close() {
      closed ??= (async () => {
        for (const node of nodes) {
          if (node.proc && node.running) {
            node.proc.kill('SIGTERM');
            const timer = setTimeout(() => node.proc?.kill('SIGKILL'), 5_000);
            await node.exited;
            clearTimeout(timer);
          }
        }
        rmSync(dir, { recursive: true, force: true });
      })();
      return closed;
    },
  };

  for (const node of nodes) launch(node);
  try {
    await healthy();
  } catch (err) {
    await servers.close();
    throw err;
  }
  return servers;
}
