/**
 * Holds the daemon's answers against the OpenAPI document. `watchResponses(server)` sees every
 * response an in-process test daemon sends, whoever asked (the request helper, fetch, the CLI, raw
 * sockets), and checks its status and JSON body against the document's response schemas. The daemon
 * helper reports what did not conform when it closes, so any integration test that gets an answer the
 * document does not describe fails.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { openApiDocument } from '../../src/api/openapi/document.js';

type Json = Record<string, unknown>;
interface Operation {
  readonly responses: Record<string, Json>;
}

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => Ajv2020;
const DOC_ID = 'https://amebo.local/openapi.json';
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
ajv.addSchema({ $id: DOC_ID, components: openApiDocument['components'] });

const paths = openApiDocument['paths'] as Record<string, Record<string, Operation>>;
const templates = Object.keys(paths).map((t) => ({
  template: t,
  regex: new RegExp(`^${t.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
}));
const compiled = new Map<string, ValidateFunction>();

function resolve(ref: Json): Json {
  const r = ref['$ref'];
  if (typeof r !== 'string') return ref;
  let node: unknown = openApiDocument;
  for (const part of r.slice(2).split('/')) node = (node as Json)[part];
  return node as Json;
}

/** The response object the document gives for this answer, and where it was found. */
function responseFor(method: string, path: string, status: number): { where: string; response: Json } | string {
  const found = templates.find((t) => t.regex.test(path));
  // An unknown path or method is answered with the error envelope.
  const errorResponse = { where: `${method} ${path} (not routed)`, response: resolve({ $ref: '#/components/responses/Error' }) };
  if (!found) return errorResponse;
  const op = paths[found.template]![method.toLowerCase()];
  if (!op) return errorResponse;
  const r = op.responses[String(status)] ?? (status >= 400 ? op.responses['default'] : undefined);
  if (!r) return `${method} ${found.template} answered ${status}, which the document does not list`;
  return { where: `${method} ${found.template} ${status}`, response: resolve(r) };
}

/** Checks one answer; returns what is wrong with it, or undefined when it conforms. */
export function checkResponse(method: string, path: string, status: number, contentType: string | undefined, text: string): string | undefined {
  if (method === 'HEAD') return undefined;
  const found = responseFor(method, path, status);
  if (typeof found === 'string') return found;
  const content = found.response['content'] as Record<string, { schema: Json }> | undefined;
  if (!content) return text === '' ? undefined : `${found.where}: the document says no body, but one was sent`;
  const type = (contentType ?? '').split(';')[0]!.trim();
  const media = content[type];
  if (!media) return `${found.where}: content type ${JSON.stringify(type)} is not one of ${Object.keys(content).join(', ')}`;
  if (type !== 'application/json') return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `${found.where}: the body is not JSON`;
  }
  const key = JSON.stringify(media.schema);
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(JSON.parse(JSON.stringify(media.schema).replaceAll('"#/components/', `"${DOC_ID}#/components/`)) as Json);
    compiled.set(key, validate);
  }
  if (validate(body)) return undefined;
  return `${found.where}: ${ajv.errorsText(validate.errors)} in ${text.slice(0, 500)}`;
}

/** Watches every response of `server`; the returned list fills with the ones that do not conform. */
export function watchResponses(server: Server): string[] {
  const problems: string[] = [];
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const keep = (chunk: unknown): void => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function' || size > 4 * 1024 * 1024) return;
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      size += b.length;
      chunks.push(b);
    };
    let contentType: string | undefined;
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
    // writeHead(status, headers) sends headers that getHeader() never sees, so note the type here.
    res.writeHead = ((...args: unknown[]) => {
      const headers = args.find((a): a is Record<string, unknown> => typeof a === 'object' && a !== null && !Array.isArray(a));
      const type = headers && Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
      if (typeof type === 'string') contentType = type;
      return writeHead(...args);
    }) as typeof res.writeHead;
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.write = ((...args: unknown[]) => {
      keep(args[0]);
      return write(...args);
    }) as typeof res.write;
    res.end = ((...args: unknown[]) => {
      keep(args[0]);
      return end(...args);
    }) as typeof res.end;
    res.once('finish', () => {
      if (size > 4 * 1024 * 1024) return;
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const problem = checkResponse(req.method ?? 'GET', path, res.statusCode, contentType ?? (res.getHeader('content-type') as string | undefined), Buffer.concat(chunks).toString('utf8'));
      if (problem) problems.push(problem);
    });
  });
  return problems;
}
