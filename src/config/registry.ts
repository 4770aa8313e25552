/**
 * The objects in force: those declared in amebo.yaml merged with those created through the API (kept
 * in the engine's object store). Readers take `registry.snapshot`, an immutable view; every change
 * builds a new snapshot and swaps it in one assignment, so a publish sees either the old world or the
 * new one. API objects change only through the store's watch, this process's own writes included, so
 * a change made by another instance sharing the store takes effect the same way.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Action, Application, JsonSchema, Source, Subscription } from '../types.js';
import { actionEntries, actionMatcher, actionSpecErrors, isPattern } from '../routing/actions.js';
import { filterTypeErrors } from '../routing/filter-types.js';
import { compileFilter } from '../routing/filter.js';
import { isOwnAction, OWN_ACTION_OBJECTS, OWN_APPLICATION, OWN_APPLICATION_OBJECT } from '../routing/own-events.js';
import type { ObjectChange, ObjectKind, ObjectStore } from '../log/contract.js';
import type { PayloadValidator, SchemaCompiler } from '../schema/compile.js';
import { amebo, isAmeboError } from '../errors.js';
import type { ResolvedAction, ResolvedConfig } from './load.js';
import { resolveHandler } from './handler.js';
import { breakingChanges } from '../schema/compat.js';

/** A subscription with its handler resolved to a full URL, and its routing compiled. */
export interface ResolvedSubscription extends Subscription {
  readonly url: string;
  /** True for the actions the subscription takes (its name, list or patterns). */
  readonly takes: (action: string) => boolean;
  /** The compiled payload filter; null when there is none. */
  readonly accepts: ((payload: unknown) => boolean) | null;
}

export interface Snapshot {
  readonly config: ResolvedConfig;
  readonly applications: ReadonlyMap<string, Application>;
  readonly actions: ReadonlyMap<string, ResolvedAction>;
  readonly subscriptions: ReadonlyMap<string, ResolvedSubscription>;
  /** Subscriptions of each action, the fan-out of a publish. */
  readonly byAction: ReadonlyMap<string, readonly ResolvedSubscription[]>;
  /** sha256(secret) → application name, for O(1) constant-time-safe secret lookup. */
  readonly secretIndex: ReadonlyMap<string, string>;
  /** Problems found while merging (e.g. an API object shadowed by the file). */
  readonly warnings: readonly string[];
}

/** The kinds of object the registry holds (the store also keeps delivery state). */
type Kind = Exclude<ObjectKind, 'state'>;

export function secretDigest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export class Registry {
  #snapshot!: Snapshot;
  #api = { application: new Map<string, Application>(), action: new Map<string, Action>(), subscription: new Map<string, Subscription>() };
  /** Revision of each API object in the store, for compare-and-swap writes. */
  readonly #revisions = new Map<string, number>();
  #unwatch: (() => void) | null = null;
  readonly #listeners = new Set<(next: Snapshot, previous: Snapshot) => void>();
  /** Each API action's validator (or why it does not compile), so a rebuild compiles nothing again. */
  readonly #compiled = new WeakMap<Action, PayloadValidator | string>();
  /** Each subscription's compiled routing, so a rebuild compiles no filter again. */
  readonly #routing = new WeakMap<Subscription, Pick<ResolvedSubscription, 'takes' | 'accepts'>>();

  private constructor(
    private readonly objects: ObjectStore,
    private readonly compiler: SchemaCompiler,
    private readonly now: () => number,
    /** Whether the storage engine keeps per-key order (`ordering`). */
    private readonly ordering: boolean,
  ) {}

  /** Reads the API objects from the store, builds the first snapshot, and follows the store's changes. */
  static async open(objects: ObjectStore, compiler: SchemaCompiler, config: ResolvedConfig, now: () => number = Date.now, ordering = true): Promise<Registry> {
    const registry = new Registry(objects, compiler, now, ordering);
    for (const o of await objects.list()) if (o.kind !== 'state') registry.#set(o.kind, o.name, o.value, o.revision);
    registry.#snapshot = registry.#build(config);
    registry.#unwatch = objects.watch((change) => registry.#onChange(change));
    return registry;
  }

  /** Stops following the store. */
  close(): void {
    this.#unwatch?.();
    this.#unwatch = null;
  }

  #set(kind: Kind, name: string, value: unknown, revision: number): void {
    const map = this.#api[kind] as Map<string, unknown>;
    if (value === null) {
      map.delete(name);
      this.#revisions.delete(`${kind}:${name}`);
    } else {
      map.set(name, value);
      this.#revisions.set(`${kind}:${name}`, revision);
    }
  }

  #onChange(change: ObjectChange): void {
    // Delivery state (pause, circuits) is the dispatcher's, not an object of the config.
    if (change.kind === 'state') return;
    this.#set(change.kind, change.name, change.value, change.revision);
    this.#swap(this.#build(this.#snapshot.config));
  }

  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  /** Called after every swap with the new and the previous snapshot. */
  onSwap(listener: (next: Snapshot, previous: Snapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Swaps in a new file config (start-up or reload), keeping API objects. */
  applyConfig(config: ResolvedConfig): Snapshot {
    return this.#swap(this.#build(config));
  }

  #swap(next: Snapshot): Snapshot {
    const previous = this.#snapshot;
    this.#snapshot = next;
    for (const listener of this.#listeners) listener(next, previous);
    return next;
  }

  #build(config: ResolvedConfig): Snapshot {
    const warnings: string[] = [];
    const applications = new Map<string, Application>([[OWN_APPLICATION, OWN_APPLICATION_OBJECT]]);
    for (const a of config.applications) applications.set(a.name, a);
    for (const a of this.#api.application.values()) {
      if (applications.has(a.name)) warnings.push(`application ${a.name}: declared in amebo.yaml, which overrides the one created through the API`);
      else applications.set(a.name, a);
    }
    const actions = new Map<string, ResolvedAction>();
    for (const a of OWN_ACTION_OBJECTS) actions.set(a.name, { ...a, validator: this.compiler.compile(a.schemata) });
    for (const a of config.actions) actions.set(a.name, a);
    for (const a of this.#api.action.values()) {
      if (actions.has(a.name)) {
        warnings.push(`action ${a.name}: declared in amebo.yaml, which overrides the one created through the API`);
        continue;
      }
      let compiled = this.#compiled.get(a);
      if (compiled === undefined) {
        try {
          compiled = this.compiler.compile(a.schemata);
        } catch (err) {
          compiled = isAmeboError(err) ? err.message : String(err);
        }
        this.#compiled.set(a, compiled);
      }
      if (typeof compiled === 'string') warnings.push(`action ${a.name}: ${compiled}`);
      else actions.set(a.name, { ...a, validator: compiled });
    }
    const subscriptions = new Map<string, ResolvedSubscription>();
    const add = (s: Subscription) => {
      const url = resolveHandler(s.handler, applications.get(s.application)?.address);
      if (!url.ok) {
        warnings.push(`subscription ${s.name}: ${url.error}`);
        return;
      }
      let routing = this.#routing.get(s);
      if (!routing) {
        routing = { takes: actionMatcher(s.action), accepts: s.filter ? compileFilter(s.filter) : null };
        this.#routing.set(s, routing);
      }
      // API subscriptions written before circuits existed take the configured default.
      const circuit = s.circuit === undefined ? config.delivery.circuit : s.circuit;
      subscriptions.set(s.name, { ...s, circuit, url: url.url, ...routing });
    };
    for (const s of config.subscriptions) add(s);
    for (const s of this.#api.subscription.values()) {
      if (subscriptions.has(s.name)) warnings.push(`subscription ${s.name}: declared in amebo.yaml, which overrides the one created through the API`);
      else add(s);
    }
    const byAction = new Map<string, ResolvedSubscription[]>();
    for (const name of actions.keys()) {
      const takers = [...subscriptions.values()].filter((s) => s.takes(name));
      if (takers.length > 0) byAction.set(name, takers);
    }
    const secretIndex = new Map<string, string>();
    for (const a of applications.values()) {
      // The built-in application has no secret: nobody authenticates as it.
      if (a.source === 'builtin') continue;
      secretIndex.set(secretDigest(a.secret), a.name);
      if (a.previous_secret) secretIndex.set(secretDigest(a.previous_secret), a.name);
    }
    return Object.freeze({ config, applications, actions, subscriptions, byAction, secretIndex, warnings: Object.freeze(warnings) });
  }

  /** Source of an object in force, or undefined. */
  #sourceOf(kind: Kind, name: string): Source | undefined {
    const snap = this.#snapshot;
    const obj = kind === 'application' ? snap.applications.get(name) : kind === 'action' ? snap.actions.get(name) : snap.subscriptions.get(name);
    return obj?.source;
  }

  #assertNotFile(kind: Kind, name: string): void {
    const source = this.#sourceOf(kind, name);
    if (source === 'builtin' || (kind === 'application' && name === OWN_APPLICATION) || (kind === 'action' && isOwnAction(name))) {
      throw amebo('AMEBO_ERR_CONFLICT', `${kind} ${name} is amebo's own (its events are amebo.gist.dead and amebo.circuit.*); it cannot be created, changed or deleted`);
    }
    if (source === 'file') {
      const file = this.#snapshot.config.file ?? 'amebo.yaml';
      throw amebo('AMEBO_ERR_MANAGED_BY_FILE', `${kind} ${name} is managed by amebo.yaml (${file}); change it there`, { file });
    }
  }

  /** Writes through the store; the snapshot changes when the store's watch reports the write. */
  async #persist(kind: Kind, name: string, value: Application | Action | Subscription | null): Promise<void> {
    const revision = this.#revisions.get(`${kind}:${name}`) ?? null;
    if (value === null) {
      if (revision !== null) await this.objects.delete(kind, name, revision);
    } else await this.objects.put(kind, name, value, revision);
  }

  async createApplication(input: { name: string; address: string; secret: string }): Promise<Application> {
    if (input.name === OWN_APPLICATION) this.#assertNotFile('application', input.name);
    const existing = this.#snapshot.applications.get(input.name);
    if (existing && !existing.implicit) {
      if (existing.source === 'file') this.#assertNotFile('application', input.name);
      throw amebo('AMEBO_ERR_CONFLICT', `application ${input.name} already exists`);
    }
    const app: Application = { ...input, source: 'api', created_at: new Date(this.now()).toISOString() };
    await this.#persist('application', app.name, app);
    return app;
  }

  async updateApplication(name: string, patch: Partial<Pick<Application, 'address' | 'secret' | 'previous_secret' | 'previous_secret_expires_at'>>): Promise<Application> {
    this.#assertNotFile('application', name);
    const current = this.#api.application.get(name);
    if (!current) throw amebo('AMEBO_ERR_NOT_FOUND', `no application named ${name}`);
    const next: Application = { ...current, ...patch, implicit: undefined };
    await this.#persist('application', name, next);
    return next;
  }

  async deleteApplication(name: string): Promise<void> {
    this.#assertNotFile('application', name);
    if (!this.#api.application.has(name)) throw amebo('AMEBO_ERR_NOT_FOUND', `no application named ${name}`);
    const snap = this.#snapshot;
    const dependents = [
      ...[...snap.actions.values()].filter((a) => a.application === name).map((a) => `action ${a.name}`),
      ...[...snap.subscriptions.values()].filter((s) => s.application === name).map((s) => `subscription ${s.name}`),
    ];
    if (dependents.length > 0) {
      throw amebo('AMEBO_ERR_CONFLICT', `application ${name} still has ${dependents.join(', ')}; delete those first`, { dependents });
    }
    await this.#persist('application', name, null);
  }

  async createAction(input: { name: string; application: string; schemata: JsonSchema }): Promise<Action> {
    if (isOwnAction(input.name) || input.application === OWN_APPLICATION) this.#assertNotFile('action', isOwnAction(input.name) ? input.name : 'amebo.');
    if (this.#snapshot.actions.has(input.name)) {
      this.#assertNotFile('action', input.name);
      throw amebo('AMEBO_ERR_CONFLICT', `action ${input.name} already exists`);
    }
    if (!this.#snapshot.applications.has(input.application)) {
      throw amebo('AMEBO_ERR_NOT_FOUND', `no application named ${input.application}; register it first`);
    }
    this.compiler.compile(input.schemata);
    const action: Action = { ...input, source: 'api', created_at: new Date(this.now()).toISOString() };
    await this.#persist('action', action.name, action);
    return action;
  }

  async updateAction(name: string, patch: { schemata?: JsonSchema; application?: string }, allowBreaking = false): Promise<Action> {
    this.#assertNotFile('action', name);
    const current = this.#api.action.get(name);
    if (!current) throw amebo('AMEBO_ERR_UNKNOWN_ACTION', `no action named ${name}`);
    if (patch.application !== undefined && !this.#snapshot.applications.has(patch.application)) {
      throw amebo('AMEBO_ERR_NOT_FOUND', `no application named ${patch.application}`);
    }
    if (patch.schemata !== undefined) {
      this.compiler.compile(patch.schemata);
      const changes = allowBreaking ? [] : breakingChanges(current.schemata, patch.schemata);
      if (changes.length > 0) {
        throw amebo('AMEBO_ERR_CONFLICT', `breaking schema change for ${name}: ${changes.join('; ')}; send "allow_breaking_changes": true to make it anyway`, { breaking_changes: changes });
      }
    }
    const next: Action = { ...current, ...patch };
    await this.#persist('action', name, next);
    return next;
  }

  /**
   * Creates a subscription. When it names an application that is not registered yet (the seed
   * subscribes `email-service` without registering it), a placeholder application is created with a
   * random secret; registering the application later claims it and sets the real address and secret.
   */
  async createSubscription(input: Omit<Subscription, 'source' | 'created_at'>): Promise<{ subscription: Subscription; implicitApplication: boolean }> {
    if (this.#snapshot.subscriptions.has(input.name)) {
      this.#assertNotFile('subscription', input.name);
      throw amebo('AMEBO_ERR_CONFLICT', `subscription ${input.name} already exists`);
    }
    this.#checkRouting(input);
    if (input.application === OWN_APPLICATION) this.#assertNotFile('application', OWN_APPLICATION);
    let implicitApplication = false;
    const app = this.#snapshot.applications.get(input.application);
    const check = resolveHandler(input.handler, app?.address);
    if (!check.ok) throw amebo('AMEBO_ERR_VALIDATION', `handler: ${check.error}`, { field: 'handler' });
    if (!app) {
      const placeholder: Application = {
        name: input.application,
        address: new URL(check.url).origin,
        secret: `whsec_${randomBytes(24).toString('base64')}`,
        source: 'api',
        implicit: true,
        created_at: new Date(this.now()).toISOString(),
      };
      await this.#persist('application', placeholder.name, placeholder);
      implicitApplication = true;
    }
    const subscription: Subscription = { ...input, source: 'api', created_at: new Date(this.now()).toISOString() };
    await this.#persist('subscription', subscription.name, subscription);
    return { subscription, implicitApplication };
  }

  async updateSubscription(name: string, patch: Partial<Omit<Subscription, 'name' | 'source' | 'created_at'>>): Promise<Subscription> {
    this.#assertNotFile('subscription', name);
    const current = this.#api.subscription.get(name);
    if (!current) throw amebo('AMEBO_ERR_NOT_FOUND', `no subscription named ${name}`);
    const next: Subscription = { ...current, ...patch };
    this.#checkRouting(next);
    const check = resolveHandler(next.handler, this.#snapshot.applications.get(next.application)?.address);
    if (!check.ok) throw amebo('AMEBO_ERR_VALIDATION', `handler: ${check.error}`, { field: 'handler' });
    await this.#persist('subscription', name, next);
    return next;
  }

  /**
   * The actions a subscription names exist (patterns may match none yet), and its filter can match
   * the payloads of every action it takes (filter-types.ts).
   */
  #checkRouting(s: Pick<Subscription, 'action' | 'filter' | 'ordering'>): void {
    if (s.ordering && !this.ordering) {
      throw amebo('AMEBO_ERR_VALIDATION', 'ordering: per-key ordering is not available on this daemon\'s storage engine (NATS JetStream) yet', { field: 'ordering' });
    }
    const errors = actionSpecErrors(s.action, 'action');
    if (errors.length > 0) throw amebo('AMEBO_ERR_VALIDATION', errors.join('; '), { field: 'action', errors });
    for (const entry of actionEntries(s.action)) {
      if (!isPattern(entry) && !this.#snapshot.actions.has(entry)) throw amebo('AMEBO_ERR_UNKNOWN_ACTION', `no action named ${entry}`);
    }
    if (!s.filter) return;
    const takes = actionMatcher(s.action);
    const problems: string[] = [];
    for (const action of this.#snapshot.actions.values()) {
      if (takes(action.name)) problems.push(...filterTypeErrors(s.filter, action.schemata, 'filter').map((e) => `${e} (schema of ${action.name})`));
    }
    if (problems.length > 0) throw amebo('AMEBO_ERR_VALIDATION', `the filter can never match: ${problems.join('; ')}`, { field: 'filter', errors: problems });
  }

  async deleteSubscription(name: string): Promise<void> {
    this.#assertNotFile('subscription', name);
    if (!this.#api.subscription.has(name)) throw amebo('AMEBO_ERR_NOT_FOUND', `no subscription named ${name}`);
    await this.#persist('subscription', name, null);
  }
}
