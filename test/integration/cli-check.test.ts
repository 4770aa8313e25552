/** `amebo check` and `amebo serve` from the real launcher: exit codes and messages as the contract says. */
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from '../helpers/child.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

afterEach(() => cleanupTmp());

function amebo(...args: string[]) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('amebo check', () => {
  it('accepts the shipped amebo.yaml.example', () => {
    const r = amebo('check', '--config', 'amebo.yaml.example');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/ok \(2 applications, 2 actions, 4 subscriptions\)/);
    expect(r.code).toBe(0);
  });

  it('prints each problem as path: message and exits 1', () => {
    const dir = tmpDir();
    const file = join(dir, 'amebo.yaml');
    writeFileSync(file, 'applications:\n  a:\n    address: http://a.example\n    secret: abcdefgh1\nactions:\n  x:\n    application: b\n    schemata: { type: nonsense }\n');
    const r = amebo('check', '--config', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^actions\.x\.application: no application named "b" is declared$/m);
    expect(r.stderr).toMatch(/^actions\.x\.schemata: schemata is not a valid draft-07 JSON Schema/m);
  });

  it('exits 2 on bad usage and 1 on a missing named config', () => {
    expect(amebo('check', '--no-such-flag').code).toBe(2);
    expect(amebo('frobnicate').code).toBe(2);
    const missing = amebo('check', '--config', '/nonexistent/amebo.yaml');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read the config file \(ENOENT\)/);
  });

  it('prints the version and the commit', () => {
    const r = amebo('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+ \(([0-9a-f]{7,}|unknown)\)$/);
  });

  it('refuses to serve on a bad config with the reasons', () => {
    const dir = tmpDir();
    const file = join(dir, 'amebo.yaml');
    writeFileSync(file, 'server:\n  durability: maybe\n');
    const r = amebo('serve', '--config', file, '--data', join(dir, 'data'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/server\.durability: must be one of "commit", "fsync"/);
  });
});
