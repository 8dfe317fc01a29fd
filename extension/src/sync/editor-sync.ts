/**
 * The editor-sync loop of one bound document, behind a tiny `EditorPort` so that it runs in plain
 * Node against the simulated document of the binding tests. The VS Code adapter
 * (`document-port.ts`) implements the port with `TextDocument` and `workspace.applyEdit`.
 *
 * Responsibilities (the binding decides, this loop acts):
 *  - change events → `binding.onEditorChange` (array order), effects to the transport;
 *  - the flush loop: `planFlush` → one `applyEdit` → `flushSettled(result)` → again while the
 *    binding has more; at most one applyEdit of ours runs at a time;
 *  - bounded retries when applyEdit keeps failing (the user typing between plan and apply makes VS
 *    Code refuse it: the version guard), then a back-off, then a repair;
 *  - repairs: when the binding asks for a full replace, or a check finds the binding's idea of the
 *    editor text differs from the document, the binding re-reads the document
 *    (`editorReplaced(documentText)`), and the next flush writes whatever the model has that the
 *    editor lacks. That goes through the normal echo-checked path instead of a blind replace.
 *
 * Invariant relied on: outside our own code, `binding.editorText` equals the document's canonical
 * text, because the extension host updates a document and fires its change event in one step, and
 * every change event reaches `onDidChange`. A repair is therefore never done while an applyEdit of
 * ours is running (its echo would then look like typing): it waits for the result.
 */
import type { SyncEffect } from '@collab/protocol';
import type { DocumentBinding, EditorChange, EditorEdit } from '../binding/document-binding';
import { toCanonical } from '../eol';
import type { Logger } from '../util/log';

/** The document as the loop sees it. */
export interface EditorPort {
  /** The document's text in its own EOL (`TextDocument.getText()`). */
  getText(): string;
  /** The document's line break now (`TextDocument.eol`). */
  readonly eol: '\n' | '\r\n';
  /**
   * One `workspace.applyEdit` with these replacements, computed against the document as it is at
   * the moment of the call (VS Code stamps the edit with the document's version then).
   */
  applyEdit(edits: readonly EditorEdit[]): PromiseLike<boolean>;
}

/** Carries out transport effects (`FileSync.run`). */
export interface EffectSink {
  run(effects: readonly SyncEffect[]): void;
}

/** A `TextDocumentChangeEvent` as far as the loop needs it. */
export interface EditorChangeEvent {
  readonly contentChanges: readonly EditorChange[];
  /** `TextDocumentChangeReason`: 1 undo, 2 redo. */
  readonly reason?: number | undefined;
}

/** Tuning of the retry policy. */
export interface EditorSyncOptions {
  /** Failed applyEdits retried at once before backing off. @default 5 */
  readonly immediateRetries?: number;
  /** Consecutive failures after which the binding re-reads the document. @default 20 */
  readonly repairAfter?: number;
  /** First back-off delay (ms), doubled up to `maxDelayMs`. @default 50 */
  readonly delayMs?: number;
  /** @default 2000 */
  readonly maxDelayMs?: number;
}

/** How `attach` reconciles a document that differs from the model. */
export type AttachMode =
  /** The room's text wins: the editor is brought to the model (guests, re-opened host files). */
  | 'room'
  /** The editor's text wins: the difference is sent as a local edit (a host's freshly shared file). */
  | 'editor';

/** What a consistency check found. */
export type CheckResult = 'ok' | 'busy' | 'repaired';

/** Keeps one document and its binding in step. */
export class EditorSync {
  private running = false;
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** A repair to do before the next flush: why, and whether it is an expected race (logged as info). */
  private repairPending: { reason: string; expected: boolean } | undefined;
  private disposed = false;
  private eol: '\n' | '\r\n';
  private readonly options: Required<EditorSyncOptions>;

  constructor(
    readonly binding: DocumentBinding,
    private readonly port: EditorPort,
    private readonly sink: EffectSink,
    private readonly log: Logger,
    private readonly name: string,
    mode: AttachMode,
    options: EditorSyncOptions = {},
  ) {
    this.options = { immediateRetries: 5, repairAfter: 20, delayMs: 50, maxDelayMs: 2000, ...options };
    this.eol = port.eol;
    binding.setEol(this.eol);
    const text = toCanonical(port.getText());
    if (mode === 'editor' && text !== binding.modelText) {
      // The editor is taken to show the model, then its real text is typed over it.
      binding.editorReplaced(binding.modelText);
      const change = diffChange(binding.modelText, text);
      sink.run(binding.onEditorChange([change]).effects);
    } else {
      // Also ends any flush a previous attachment left running: its result will be ignored.
      binding.editorReplaced(text);
    }
    this.flush();
  }

  /** True while an applyEdit of ours has not resolved. */
  get busy(): boolean {
    return this.running;
  }

  /** Handles a change event of the bound document. */
  onDidChange(event: EditorChangeEvent): void {
    if (this.disposed) return;
    this.syncEol();
    if (event.contentChanges.length === 0) return; // a dirty-state or EOL-only event
    const { kind, effects } = this.binding.onEditorChange(event.contentChanges);
    if (kind === 'edit' && event.reason !== undefined) this.log.debug(`${this.name}: ${event.reason === 1 ? 'undo' : 'redo'} synced as an edit`);
    this.sink.run(effects);
    if (this.binding.needsFullReplace) this.requestRepair('an applyEdit of ours raced with typing', true);
    this.flush();
  }

  /** Writes remote changes into the editor, if there are any and no applyEdit of ours is running. */
  flush(): void {
    if (this.disposed || this.running || this.retryTimer !== undefined) return;
    if (this.binding.needsFullReplace) this.requestRepair('an applyEdit of ours raced with typing', true);
    if (this.repairPending !== undefined) this.repairNow(this.repairPending);
    const plan = this.binding.planFlush();
    if (!plan) return;
    this.running = true;
    let result: PromiseLike<boolean>;
    try {
      result = this.port.applyEdit(plan.edits);
    } catch (error) {
      this.log.warn(`${this.name}: applyEdit threw: ${String(error)}`);
      result = Promise.resolve(false);
    }
    Promise.resolve(result)
      .catch((error: unknown) => {
        this.log.warn(`${this.name}: applyEdit failed: ${String(error)}`);
        return false;
      })
      .then((applied) => this.settled(applied));
  }

  /**
   * Compares the binding's view of the editor with the document (and the binding's invariant);
   * repairs a difference and logs it as a warning. It should never find one.
   */
  check(): CheckResult {
    if (this.disposed) return 'ok';
    if (this.running) return 'busy';
    const actual = toCanonical(this.port.getText());
    if (actual !== this.binding.editorText) {
      this.requestRepair(`the editor text differs from what the binding saw (${actual.length} vs ${this.binding.editorText.length} units)`);
      this.flush();
      return 'repaired';
    }
    if (!this.binding.checkInvariant()) {
      this.requestRepair('the binding invariant does not hold');
      this.flush();
      return 'repaired';
    }
    return 'ok';
  }

  /** Stops: later events and applyEdit results are ignored. */
  dispose(): void {
    this.disposed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private settled(applied: boolean): void {
    if (this.disposed) return;
    this.running = false;
    this.sink.run(this.binding.flushSettled(applied));
    if (applied) {
      this.failures = 0;
    } else {
      this.failures++;
      if (this.failures >= this.options.repairAfter) {
        this.requestRepair(`${this.failures} applyEdits in a row failed`);
        this.failures = 0;
      } else if (this.failures > this.options.immediateRetries) {
        const delay = Math.min(this.options.maxDelayMs, this.options.delayMs * 2 ** (this.failures - this.options.immediateRetries - 1));
        this.log.debug(`${this.name}: applyEdit failed ${this.failures} times; retrying in ${delay} ms`);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.flush();
        }, delay);
        return;
      }
    }
    this.flush();
  }

  private requestRepair(reason: string, expected = false): void {
    this.repairPending ??= { reason, expected };
  }

  private repairNow(repair: { reason: string; expected: boolean }): void {
    // Only called with no applyEdit of ours running (see the invariant above).
    this.repairPending = undefined;
    if (repair.expected) this.log.info(`${this.name}: re-reading the editor: ${repair.reason}`);
    else this.log.warn(`${this.name}: repairing the editor: ${repair.reason}`);
    this.binding.editorReplaced(toCanonical(this.port.getText()));
  }

  private syncEol(): void {
    const eol = this.port.eol;
    if (eol !== this.eol) {
      this.eol = eol;
      this.binding.setEol(eol);
    }
  }
}

/** One editor change turning canonical text `from` into `to` (a single replacement, pair-safe). */
export function diffChange(from: string, to: string): EditorChange {
  const max = Math.min(from.length, to.length);
  let prefix = 0;
  while (prefix < max && from.charCodeAt(prefix) === to.charCodeAt(prefix)) prefix++;
  if (prefix > 0 && isLow(from.charCodeAt(prefix)) && isHigh(from.charCodeAt(prefix - 1))) prefix--;
  let suffix = 0;
  while (suffix < max - prefix && from.charCodeAt(from.length - 1 - suffix) === to.charCodeAt(to.length - 1 - suffix)) suffix++;
  if (suffix > 0 && isHigh(from.charCodeAt(from.length - suffix - 1)) && isLow(from.charCodeAt(from.length - suffix))) suffix--;
  return {
    range: { start: positionOf(from, prefix), end: positionOf(from, from.length - suffix) },
    text: to.slice(prefix, to.length - suffix),
  };
}

function isHigh(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLow(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

function positionOf(text: string, offset: number): { line: number; character: number } {
  let line = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, character: offset - lineStart };
}
