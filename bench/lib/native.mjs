// The native publishers (bench/native/pub.c): built once per source version with the system's C
// compiler (gcc from Debian's build-essential, installed like wrk when missing), run as a child
// process, their one JSON line of results parsed.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCommand } from './install.mjs';

const SOURCE = new URL('../native/pub.c', import.meta.url).pathname;

/** Path of the built publisher, compiling it when this version of the source has not been built. */
export function nativeBinary(log = () => {}) {
  const source = readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'amebo-bench-native');
  const bin = join(dir, `pub-${hash}`);
  if (existsSync(bin)) return bin;
  if (!ensureCommand({ log }, 'cc', 'gcc')) throw new Error('no C compiler (cc) to build bench/native/pub.c: apt-get install gcc');
  mkdirSync(dir, { recursive: true });
  execFileSync('cc', ['-O2', '-o', bin, SOURCE], { stdio: 'inherit' });
  return bin;
}

/**
 * One run of the native publisher. `mode`: 'jetstream' (body: the payload) or 'amebo-stream' (body:
 * one NDJSON line); `maxEvents` stops it after that many. Resolves {tool, ok, errors, seconds, rps, p50, p99, p999, loadgenCores}.
 */
export async function nativePublisher(mode, { port, inflight, warmup, duration, body, maxEvents }) {
  const bin = nativeBinary();
  const file = join(tmpdir(), `amebo-bench-body-${process.pid}-${mode}.json`);
  writeFileSync(file, body);
  const args = [mode, String(port), String(inflight), String(warmup), String(duration), file, ...(maxEvents ? [String(maxEvents)] : [])];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (code !== 0 || !line) throw new Error(`native publisher (${mode}) exited with ${code}: ${err.trim() || out.trim()}`);
  const r = JSON.parse(line);
  return { ...r, loadgenCores: r.cpu / r.seconds };
}
