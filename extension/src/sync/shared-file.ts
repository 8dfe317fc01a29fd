/**
 * One room file this window has open: its sync state (a `DocumentBinding`, which is the
 * `SyncCore` of the client's `FileSync` driver) and, while a VS Code document shows it, the
 * `EditorSync` loop that keeps that document in step.
 *
 * The file stays open on the server for the whole session, whether or not a document shows it:
 * remote ops keep the model current, local typing made offline is kept, and a document that
 * (re)appears is attached with `attach` (the room's text wins, except for a host's freshly shared
 * file). While detached, remote ops are folded into the binding's editor text right away, since
 * there is no editor to write them into. Pure: no 'vscode' import.
 */
import { randomBytes } from 'node:crypto';
import { createSyncState, type ErrorBody, type SyncEffect, type WireOp } from '@collab/protocol';
import { FileSync, fromWire, type CollabConnection } from '@collab/client';
import { DocumentBinding } from '../binding/document-binding';
import { toCanonical } from '../eol';
import type { Logger } from '../util/log';
import { EditorSync, diffChange, type AttachMode, type CheckResult, type EditorPort, type EditorSyncOptions } from './editor-sync';

/** What a shared file reports to its session. */
export interface SharedFileHooks {
  /** A transport effect worth telling about: `rolledBack`, `merged`, `needResync`, `retryLater`. */
  onEffect?(file: SharedFile, effect: SyncEffect): void;
  /** The server refused an op for a session reason: re-establish the session (PROTOCOL.md §7.5). */
  onStalled?(file: SharedFile, effect: Extract<SyncEffect, { type: 'stalled' }>): void;
}

/** A fresh random clientId (16 bytes, base64url: 22 characters). */
export function newClientId(): string {
  return randomBytes(16).toString('base64url');
}

/** A room file open in this window. */
export class SharedFile {
  readonly binding: DocumentBinding;
  readonly sync: FileSync;
  private editor: EditorSync | undefined;
  private disposed = false;
  private readonly detachedListeners = new Set<() => void>();

  private constructor(
    connection: CollabConnection,
    readonly roomId: string,
    readonly fileId: string,
    readonly clientId: string,
    version: number,
    text: string,
    private readonly log: Logger,
    private readonly hooks: SharedFileHooks,
    private readonly editorOptions: EditorSyncOptions,
  ) {
    this.binding = new DocumentBinding(createSyncState(clientId, version, text), '\n');
    const binding = this.binding;
    this.sync = new FileSync(
      connection,
      roomId,
      fileId,
      clientId,
      { get state() { return binding.state; }, feed: (event) => binding.onSyncEvent(event) },
      {
        onChange: () => this.afterChange(),
        onEffect: (effect) => {
          if (effect.type === 'rolledBack' || effect.type === 'merged' || effect.type === 'needResync' || effect.type === 'retryLater') {
            this.hooks.onEffect?.(this, effect);
          }
        },
        onStalled: (effect) => this.hooks.onStalled?.(this, effect),
      },
    );
  }

  /**
   * Opens a room file (`file:open`, snapshot). Ops broadcast while the request is under way are
   * held and fed after the state exists (the server subscribes us before it reads the snapshot, so
   * they may arrive before the reply; those at or below the snapshot's version are ignored).
   */
  static async open(
    connection: CollabConnection,
    roomId: string,
    fileId: string,
    log: Logger,
    hooks: SharedFileHooks = {},
    editorOptions: EditorSyncOptions = {},
  ): Promise<{ ok: true; file: SharedFile } | { ok: false; error: ErrorBody }> {
    const clientId = newClientId();
    const held: WireOp[] = [];
    const stopHolding = connection.on('op', (op) => {
      if (op.fileId === fileId) held.push(op);
    });
    try {
      const reply = await connection.request('file:open', { roomId, fileId, clientId });
      if (!reply.ok) return { ok: false, error: reply.error };
      if (reply['mode'] !== 'snapshot') return { ok: false, error: { code: 'INTERNAL', message: 'file:open answered without a snapshot' } };
      const file = new SharedFile(connection, roomId, fileId, clientId, reply['version'] as number, reply['text'] as string, log, hooks, editorOptions);
      stopHolding();
      for (const op of held) file.sync.feed({ type: 'remote', op: fromWire(op) });
      return { ok: true, file };
    } finally {
      stopHolding();
    }
  }

  /** The EditorSync of the attached document, if one is attached. */
  get editorSync(): EditorSync | undefined {
    return this.editor;
  }

  /** True while a document is attached. */
  get attached(): boolean {
    return this.editor !== undefined;
  }

  /**
   * The text a reader of the file should see: what the attached document shows (so that VS Code,
   * re-reading the file, finds nothing to change), else the model text.
   */
  get text(): string {
    return this.editor ? this.binding.editorText : this.binding.modelText;
  }

  /** Attaches a document (detaching any previous one). */
  attach(port: EditorPort, name: string, mode: AttachMode): EditorSync {
    this.editor?.dispose();
    this.editor = new EditorSync(this.binding, port, { run: (effects) => this.sync.run(effects) }, this.log, name, mode, this.editorOptions);
    return this.editor;
  }

  /** Detaches the document (it was closed); the file stays open and in sync. */
  detach(): void {
    this.editor?.dispose();
    this.editor = undefined;
    this.afterChange();
  }

  /**
   * Replaces the file's text while no document is attached (a write through the file system
   * provider): the difference is sent as a local edit.
   */
  writeDetached(text: string): void {
    if (this.editor) throw new Error('writeDetached with a document attached');
    const target = toCanonical(text);
    const model = this.binding.modelText;
    if (target === model) return;
    this.binding.editorReplaced(model);
    this.sync.run(this.binding.onEditorChange([diffChange(model, target)]).effects);
  }

  /** Calls `listener` whenever the text changes while no document is attached (remote edits). */
  onDidChangeWhileDetached(listener: () => void): { dispose(): void } {
    this.detachedListeners.add(listener);
    return { dispose: () => this.detachedListeners.delete(listener) };
  }

  /** Checks the attached document against the binding ('ok' when none is attached). */
  check(): CheckResult {
    return this.editor?.check() ?? 'ok';
  }

  /** Closes the file on the server (`file:close`) and stops. */
  async close(): Promise<void> {
    this.dispose();
    await this.sync.close();
  }

  /** Stops listening; the server keeps the file open until the connection leaves the room. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.detachedListeners.clear();
    this.editor?.dispose();
    this.editor = undefined;
    this.sync.dispose();
  }

  private afterChange(): void {
    if (this.disposed) return;
    if (this.editor) this.editor.flush();
    else if (this.binding.hasPendingEditorChanges) {
      this.binding.editorReplaced(this.binding.modelText);
      for (const listener of [...this.detachedListeners]) listener();
    }
  }
}
