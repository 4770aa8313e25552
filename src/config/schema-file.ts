/** Reads an action schema from a `.json`, `.yaml` or `.yml` file next to the config. */
import { readFile, realpath } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { parse } from 'yaml';

export type SchemaFileResult = { ok: true; path: string; schema: unknown } | { ok: false; error: string };

/**
 * Resolves `file` against the config's directory. Paths that leave that directory (absolute paths,
 * `..`, or symlinks pointing out) are refused, so a config cannot read arbitrary files into a schema.
 */
export async function readSchemaFile(dir: string, file: string): Promise<SchemaFileResult> {
  if (isAbsolute(file)) return { ok: false, error: `"${file}" must be a path relative to the config file` };
  const ext = extname(file).toLowerCase();
  if (ext !== '.json' && ext !== '.yaml' && ext !== '.yml') {
    return { ok: false, error: `"${file}" must be a .json, .yaml or .yml file` };
  }
  const wanted = resolve(dir, file);
  if (escapes(dir, wanted)) return { ok: false, error: `"${file}" is outside the config's directory` };
  let real: string;
  try {
    real = await realpath(wanted);
    const realDir = await realpath(dir);
    if (escapes(realDir, real)) return { ok: false, error: `"${file}" links outside the config's directory` };
  } catch (err) {
    return { ok: false, error: `cannot read "${file}" (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  let text: string;
  try {
    text = await readFile(real, 'utf8');
  } catch (err) {
    return { ok: false, error: `cannot read "${file}" (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  try {
    const schema: unknown = ext === '.json' ? JSON.parse(text) : parse(text, { maxAliasCount: 100 });
    // (parse throws on an alias bomb; the catch below reports it)
    return { ok: true, path: wanted, schema };
  } catch (err) {
    return { ok: false, error: `"${file}" is not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}` };
  }
}

function escapes(dir: string, target: string): boolean {
  const rel = relative(dir, target);
  return rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}
