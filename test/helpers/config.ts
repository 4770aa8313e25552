/** Builds amebo.yaml texts for tests. */

export interface YamlOptions {
  /** Subscription name → handler URL (and optional policy lines). */
  readonly subscriptions: Record<string, { handler: string; action?: string; extra?: string }>;
  readonly schema?: string;
  readonly delivery?: string;
  readonly server?: string;
  readonly auth?: string;
}

/** One publisher app (`shop`, secret `shop-secret-123`), one receiver app (`sink`), action `order.placed`. */
export function yaml(o: YamlOptions): string {
  const subs = Object.entries(o.subscriptions)
    .map(
      ([name, s]) =>
        `  ${name}:\n    application: sink\n    action: ${s.action ?? 'order.placed'}\n    handler: ${s.handler}\n${s.extra ? s.extra.replace(/^/gm, '    ') + '\n' : ''}`,
    )
    .join('');
  return `server:
${o.server ?? '  durability: commit'}
${o.auth ? `auth:\n${o.auth}\n` : ''}delivery:
${o.delivery ?? '  timeout: 2s\n  max_retries: 3\n  backoff:\n    initial: 50ms\n    max: 200ms\n    jitter: 0'}
applications:
  shop:
    address: http://127.0.0.1:9
    secret: shop-secret-123
  sink:
    address: http://127.0.0.1:9
    secret: sink-secret-123
actions:
  order.placed:
    application: shop
    schemata: ${o.schema ?? '{ type: object, required: [order_id], properties: { order_id: { type: string } } }'}
  order.shipped:
    application: shop
    schemata: { type: object }
subscriptions:
${subs}`;
}
