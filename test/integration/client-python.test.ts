/**
 * The Python client (clients/python, issue 13): its unittest suite, run by /usr/bin/python3 against a
 * real daemon. The suite includes the seed's Flask services receiving and verifying real webhooks, so
 * python3-flask must be installed (.ci/run installs it). Then `pip install ./clients/python` into a
 * fresh virtualenv, offline (Debian's python3-venv and python3-wheel), and an import from outside the
 * checkout.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';

const PYTHON = '/usr/bin/python3';
const CLIENT = fileURLToPath(new URL('../../clients/python', import.meta.url));
const ADMIN = 'admin-token-for-python';

let d: TestDaemon | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await d?.close();
  d = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The environment without the caller's AMEBO_* settings, so only what a test sets counts. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AMEBO_') && k !== 'PYTHONPATH' && k !== 'PYTHONHOME'));
  return { ...env, PYTHONDONTWRITEBYTECODE: '1', ...extra };
}

/** Runs a command (not synchronously: the daemon it talks to lives in this process). */
async function run(file: string, args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }): Promise<{ code: number; output: string }> {
  try {
    const r = await promisify(execFile)(file, args, { ...options, encoding: 'utf8', timeout: 170_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: `${r.stdout}${r.stderr}` };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}\n${e.message}` };
  }
}

describe('the Python client', () => {
  it('passes its unittest suite against a real daemon, the seed\'s Flask handlers included', async () => {
    d = await startDaemon({ yaml: `auth: { admin_token: ${ADMIN} }\n` });
    const r = await run(PYTHON, ['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.', '-v'], {
      cwd: CLIENT,
      env: cleanEnv({ PYTHONPATH: CLIENT, AMEBO_TEST_URL: d.url, AMEBO_TEST_ADMIN_TOKEN: ADMIN }),
    });
    if (r.code !== 0) console.error(r.output);
    expect(r.code, r.output).toBe(0);
    const ran = Number(/^Ran (\d+) tests? in/m.exec(r.output)?.[1] ?? 0);
    expect(ran, r.output).toBeGreaterThanOrEqual(37);
    expect(r.output).toMatch(/^OK$/m);
    // Nothing skipped: a missing Flask is a failure, not a pass.
    expect(r.output).not.toMatch(/skipped/);
    for (const name of ['test_user_registration_flow', 'test_order_processing_flow', 'test_a_forged_webhook_is_rejected', 'test_event_replay']) {
      expect(r.output).toMatch(new RegExp(`^${name} \\(tests\\.test_seed_flask\\.SeedFlow.*\\) \\.\\.\\. ok$`, 'm'));
    }
    // The batching publisher (issue 15) ran and passed against the same daemon.
    for (const name of ['test_futures_resolve_with_the_stored_events_in_publish_order', 'test_an_invalid_event_fails_only_its_own_future', 'test_flush_and_close_wait_for_every_answer']) {
      expect(r.output).toMatch(new RegExp(`^${name} \\(tests\\.test_publisher\\.BatchingPublisher.*\\) \\.\\.\\. ok$`, 'm'));
    }
  }, 180_000);

  it('installs with pip into a fresh virtualenv, offline, and imports from anywhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'amebo-pip-'));
    dirs.push(dir);
    // A copy, so the in-tree build leaves nothing behind in the checkout.
    cpSync(CLIENT, join(dir, 'src'), { recursive: true, filter: (p) => !p.includes('__pycache__') });
    const env = cleanEnv({ PIP_NO_INDEX: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' });
    // --system-site-packages: the build needs `wheel`, which Debian's python3-wheel provides offline.
    const venv = await run(PYTHON, ['-m', 'venv', '--system-site-packages', join(dir, 'venv')], { env });
    expect(venv.code, venv.output).toBe(0);
    const pip = await run(join(dir, 'venv/bin/python'), ['-m', 'pip', 'install', '--no-build-isolation', join(dir, 'src')], { env });
    expect(pip.code, pip.output).toBe(0);
    expect(pip.output).toMatch(/Successfully installed amebo-client-0\.1\.0/);
    const imported = await run(join(dir, 'venv/bin/python'), ['-c', 'import amebo_client, sys; print(amebo_client.__file__); print(sorted(amebo_client.__all__))'], { cwd: tmpdir(), env });
    expect(imported.code, imported.output).toBe(0);
    expect(imported.output).toContain(join(dir, 'venv'));
    expect(imported.output).toMatch(/'publish_event'.*'verify_webhook'/s);
  }, 120_000);
});
