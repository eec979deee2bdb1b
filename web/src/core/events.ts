/** A tiny typed event emitter: panels listen to state changes without knowing each other. */
export class Emitter<Events extends Record<string, unknown>> {
  private handlers = new Map<keyof Events, Set<(value: never) => void>>();

  on<K extends keyof Events>(name: K, handler: (value: Events[K]) => void): () => void {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(handler as (value: never) => void);
    return () => set.delete(handler as (value: never) => void);
  }

  emit<K extends keyof Events>(name: K, value: Events[K]): void {
    for (const handler of this.handlers.get(name) ?? []) (handler as (v: Events[K]) => void)(value);
  }
}
