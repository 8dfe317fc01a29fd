/**
 * A minimal event emitter for the modules that must not import 'vscode' (so that they run under
 * plain Node in unit tests). `Event<T>` has the same shape as `vscode.Event<T>`, so an `Emitter`'s
 * `event` can be handed to VS Code code unchanged.
 */

/** Something that releases a resource; structurally a `vscode.Disposable`. */
export interface Disposable {
  dispose(): void;
}

/** A subscription function, shaped like `vscode.Event<T>`. */
export type Event<T> = (listener: (e: T) => unknown, thisArgs?: unknown, disposables?: Disposable[]) => Disposable;

/** Fires events to its listeners, in subscription order; a throwing listener does not stop the others. */
export class Emitter<T> implements Disposable {
  private listeners: Array<(e: T) => unknown> = [];
  private disposed = false;

  /** Subscribes to the events. */
  readonly event: Event<T> = (listener, thisArgs, disposables) => {
    const bound = thisArgs === undefined ? listener : listener.bind(thisArgs);
    if (!this.disposed) this.listeners.push(bound);
    const subscription = {
      dispose: () => {
        this.listeners = this.listeners.filter((l) => l !== bound);
      },
    };
    disposables?.push(subscription);
    return subscription;
  };

  /** Calls every listener with `e`. */
  fire(e: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(e);
      } catch (error) {
        // A listener's bug must not break the emitter's other listeners (VS Code behaves the same).
        console.error('collab: an event listener threw', error);
      }
    }
  }

  /** Drops every listener; later subscriptions are ignored. */
  dispose(): void {
    this.disposed = true;
    this.listeners = [];
  }
}
