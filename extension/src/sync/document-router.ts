/**
 * Routes VS Code's document events to the bound documents: one `onDidChangeTextDocument`
 * subscription for the whole extension, dispatched by URI to the `EditorSync` of the `SharedFile`
 * the document is attached to. Closing a document detaches it (the file stays open in the room).
 */
import * as vscode from 'vscode';
import type { SharedFile } from './shared-file';
import type { AttachMode, EditorSync } from './editor-sync';
import { documentPort } from './document-port';

interface Attachment {
  readonly document: vscode.TextDocument;
  readonly file: SharedFile;
  readonly sync: EditorSync;
}

/** The documents attached to shared files, by URI. */
export class DocumentRouter implements vscode.Disposable {
  private readonly attached = new Map<string, Attachment>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly detachedEmitter = new vscode.EventEmitter<{ readonly uri: vscode.Uri; readonly file: SharedFile }>();

  /** A document was detached because VS Code closed it. */
  readonly onDidDetach = this.detachedEmitter.event;

  private readonly attachedEmitter = new vscode.EventEmitter<vscode.TextDocument>();
  /** A document was bound to a shared file. */
  readonly onDidAttach = this.attachedEmitter.event;

  constructor() {
    this.disposables.push(
      this.detachedEmitter,
      this.attachedEmitter,
      vscode.workspace.onDidChangeTextDocument((e) => {
        // Every event of an attached document is passed on (empty ones too: the EOL may have
        // changed); the changes are handed over in array order.
        this.attached.get(e.document.uri.toString())?.sync.onDidChange({ contentChanges: e.contentChanges, reason: e.reason });
      }),
      vscode.workspace.onDidCloseTextDocument((document) => {
        const key = document.uri.toString();
        const attachment = this.attached.get(key);
        if (!attachment || attachment.document !== document) return;
        this.detach(document.uri);
        this.detachedEmitter.fire({ uri: document.uri, file: attachment.file });
      }),
    );
  }

  /** Binds `document` to `file` (replacing an earlier attachment of the URI or of the file). */
  attach(document: vscode.TextDocument, file: SharedFile, mode: AttachMode): EditorSync {
    const key = document.uri.toString();
    for (const [otherKey, a] of this.attached) {
      // A file is shown by one document at a time (a rename gives it a new URI).
      if (a.file === file && otherKey !== key) this.attached.delete(otherKey);
    }
    const sync = file.attach(documentPort(document), vscode.workspace.asRelativePath(document.uri), mode);
    this.attached.set(key, { document, file, sync });
    this.attachedEmitter.fire(document);
    return sync;
  }

  /** Unbinds the document at `uri`, if bound. */
  detach(uri: vscode.Uri): void {
    const key = uri.toString();
    const attachment = this.attached.get(key);
    if (!attachment) return;
    this.attached.delete(key);
    attachment.file.detach();
  }

  /** Unbinds every document of the room file `fileId` (it was deleted). */
  detachFileId(fileId: string): void {
    for (const [key, a] of [...this.attached]) {
      if (a.file.fileId !== fileId) continue;
      this.attached.delete(key);
      a.file.detach();
    }
  }

  /** Unbinds every document of `file`. */
  detachFile(file: SharedFile): void {
    for (const [key, a] of [...this.attached]) {
      if (a.file !== file) continue;
      this.attached.delete(key);
      file.detach();
    }
  }

  /** The shared file a document is attached to. */
  fileOf(uri: vscode.Uri): SharedFile | undefined {
    return this.attached.get(uri.toString())?.file;
  }

  /** The attached document of a shared file. */
  documentOf(file: SharedFile): vscode.TextDocument | undefined {
    for (const a of this.attached.values()) if (a.file === file) return a.document;
    return undefined;
  }

  /** Unbinds everything. */
  clear(): void {
    for (const a of this.attached.values()) a.file.detach();
    this.attached.clear();
  }

  /** Unbinds everything and stops listening. */
  dispose(): void {
    this.clear();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
