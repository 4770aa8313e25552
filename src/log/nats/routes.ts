/**
 * The consumers that hand out gists. A subscription's gists of one action come from one durable
 * consumer on the events stream filtered to that action (a "route"); its replayed gists from one
 * consumer of its replay tickets. All instances pull from the same consumers, so the server gives each
 * message to one of them, and a dead instance's messages go to the others after `ack_wait`.
 *
 * The contract hands the engine (action, subscription) pairs at append time and nothing else, so routes
 * are made there: before an event naming a pair is stored, its route exists (created with deliver
 * policy `new`, which therefore holds that event). Creating an identical consumer again is a no-op on
 * the server, so instances racing to create one agree. Routes are never deleted by amebo: a removed
 * subscription's open gists stay in its consumer, as they stay in LMDB, until it comes back.
 *
 * Instances learn of routes others made from a notice (at once) and from listing the consumers (every
 * few seconds, in case a notice was missed).
 */
import { AckPolicy, DeliverPolicy, ReplayPolicy, type ConsumerConfig, type ConsumerInfo } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { amebo } from '../../errors.js';
import { call, type NatsContext } from './connection.js';
import { API, apiCode, retrying } from './failures.js';

/** One consumer amebo made, as its description records it. */
export interface Route {
  readonly name: string;
  readonly stream: string;
  readonly kind: 'route' | 'ticket';
  readonly subscription: string;
  /** The action a route hands out (tickets: undefined). */
  readonly action?: string | undefined;
}

const REFRESH_MS = 3_000;

export class Routes {
  readonly #known = new Map<string, Route>();
  readonly #bySubscription = new Map<string, Map<string, Route>>();
  readonly #creating = new Map<string, Promise<void>>();
  readonly #listeners = new Set<(route: Route) => void>();
  #refreshed = 0;
  #refreshing: Promise<void> | null = null;
  #unsubscribe: (() => void) | null = null;

  constructor(private readonly ctx: NatsContext) {}

  /** Reads every consumer amebo made, and listens for routes other instances make. */
  async start(): Promise<void> {
    await this.refresh(true);
    const sub = this.ctx.nc.subscribe(this.ctx.names.notice('route'), {
      callback: (err, m) => {
        if (err) return;
        try {
          this.#add(JSON.parse(m.string()) as Route);
        } catch {
          // not ours
        }
      },
    });
    this.#unsubscribe = () => sub.unsubscribe();
  }

  close(): void {
    this.#unsubscribe?.();
  }

  /** Calls `listener` for every route learnt from now on. */
  onRoute(listener: (route: Route) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Consumers of one subscription known now. */
  of(subscription: string): Route[] {
    return [...(this.#bySubscription.get(subscription)?.values() ?? [])];
  }

  /** Every consumer known now. */
  all(): Route[] {
    return [...this.#known.values()];
  }

  /** Lists the consumers again unless that was done less than a few seconds ago (or `force`). */
  refresh(force = false): Promise<void> {
    if (!force && Date.now() - this.#refreshed < REFRESH_MS) return Promise.resolve();
    this.#refreshing ??= (async () => {
      try {
        const { jsm, names } = this.ctx;
        const infos = await call(this.ctx, 'listing the consumers', async () => {
          const all = [];
          for (const stream of [names.events, names.tickets]) for await (const info of jsm.consumers.list(stream)) all.push(info);
          return all;
        });
        for (const info of infos) this.#learn(info);
        this.#refreshed = Date.now();
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  /** Makes sure the route of (subscription, action) exists before an event naming the pair is stored. */
  ensureRoute(subscription: string, action: string): Promise<void> {
    const { names } = this.ctx;
    const name = names.routeConsumer(subscription, action);
    return this.#ensure({ name, stream: names.events, kind: 'route', subscription, action }, names.actionFilter(action));
  }

  /** Makes sure the replay-ticket consumer of a subscription exists before a ticket is written. */
  ensureTickets(subscription: string): Promise<void> {
    const { names } = this.ctx;
    const name = names.ticketConsumer(subscription);
    return this.#ensure({ name, stream: names.tickets, kind: 'ticket', subscription }, names.ticketSubject(subscription));
  }

  #ensure(route: Route, filter: string): Promise<void> {
    if (this.#known.has(route.name)) return Promise.resolve();
    let creating = this.#creating.get(route.name);
    if (!creating) {
      creating = this.#create(route, filter).finally(() => this.#creating.delete(route.name));
      this.#creating.set(route.name, creating);
    }
    return creating;
  }

  async #create(route: Route, filter: string): Promise<void> {
    const { jsm, settings, replicas } = this.ctx;
    const config: Partial<ConsumerConfig> = {
      durable_name: route.name,
      description: JSON.stringify({ amebo: route.kind, subscription: route.subscription, action: route.action }),
      filter_subject: filter,
      ack_policy: AckPolicy.Explicit,
      // A ticket stream is a work queue: it holds only tickets not yet settled, so "all" is "new".
      deliver_policy: route.kind === 'ticket' ? DeliverPolicy.All : DeliverPolicy.New,
      replay_policy: ReplayPolicy.Instant,
      ack_wait: nanos(settings.ack_wait_ms),
      // amebo decides when a gist is dead (a 410 dies at once; retries count from the last replay).
      max_deliver: -1,
      max_ack_pending: settings.max_pending,
      max_waiting: 512,
      num_replicas: replicas,
    };
    await retrying('creating a consumer', settings.publish_timeout_ms, async () => {
      try {
        this.#learn(await jsm.consumers.add(route.stream, config));
      } catch (err) {
        const code = apiCode(err);
        if (code !== API.consumerExists && code !== API.consumerNameExists) throw err;
        // It exists with other settings (ack_wait or max_pending changed in the config): update what
        // may change; the filter and start position never do.
        this.#learn(await jsm.consumers.update(route.stream, route.name, { ack_wait: config.ack_wait!, max_ack_pending: config.max_ack_pending!, description: config.description! }));
      }
    });
    if (!this.#known.has(route.name)) throw amebo('AMEBO_ERR_INTERNAL', `consumer ${route.name} was created but is not amebo's`);
    this.ctx.nc.publish(this.ctx.names.notice('route'), JSON.stringify(route));
  }

  #learn(info: ConsumerInfo): void {
    let meta: { amebo?: string; subscription?: string; action?: string };
    try {
      meta = JSON.parse(info.config.description ?? '') as typeof meta;
    } catch {
      return;
    }
    if ((meta.amebo !== 'route' && meta.amebo !== 'ticket') || typeof meta.subscription !== 'string') return;
    this.#add({ name: info.name, stream: info.stream_name, kind: meta.amebo, subscription: meta.subscription, action: meta.action });
  }

  #add(route: Route): void {
    if (typeof route?.name !== 'string' || this.#known.has(route.name)) return;
    this.#known.set(route.name, route);
    let bySub = this.#bySubscription.get(route.subscription);
    if (!bySub) this.#bySubscription.set(route.subscription, (bySub = new Map()));
    bySub.set(route.name, route);
    for (const listener of this.#listeners) listener(route);
  }
}
