/**
 * What the domain tells the transport: changes that live sockets must see at once (a role change,
 * a removal, a new file). The domain emits; the Socket.IO layer listens and, with several nodes,
 * relays them across nodes. The domain never imports the transport.
 */
import type { FileInfo, JoinDecision, Participant, Role, UserInfo } from '@collab/protocol';

/** Every domain event with its payload. `roomId` is always the public room id. */
export interface DomainEventMap {
  participantAdded: { readonly roomId: string; readonly participant: Participant };
  roleChanged: { readonly roomId: string; readonly userId: string; readonly role: Role };
  participantRemoved: { readonly roomId: string; readonly userId: string };
  roomDeleted: { readonly roomId: string };
  fileCreated: { readonly roomId: string; readonly file: FileInfo };
  fileRenamed: { readonly roomId: string; readonly file: FileInfo };
  fileDeleted: { readonly roomId: string; readonly fileId: string };
  joinRequested: { readonly roomId: string; readonly requestId: string; readonly ownerId: string; readonly user: UserInfo; readonly role: 'editor' | 'viewer' };
  joinResolved: {
    readonly roomId: string;
    readonly ownerId: string;
    readonly requestId: string;
    readonly userId: string;
    readonly decision: JoinDecision;
  };
}

/** A listener for one kind of domain event. */
export type DomainListener<K extends keyof DomainEventMap> = (event: DomainEventMap[K]) => void;

/** A tiny typed, synchronous event bus. Listeners must not throw; errors are reported, not propagated. */
export class DomainEvents {
  private readonly listeners = new Map<keyof DomainEventMap, Set<(event: never) => void>>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => undefined) {}

  /** Subscribes; returns a function that unsubscribes. */
  on<K extends keyof DomainEventMap>(name: K, listener: DomainListener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  /** Delivers `event` to every listener of `name`, in subscription order. */
  emit<K extends keyof DomainEventMap>(name: K, event: DomainEventMap[K]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        (listener as DomainListener<K>)(event);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}
