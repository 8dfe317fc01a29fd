/**
 * The VS Code side of `EditorPort`: a `TextDocument` and `workspace.applyEdit`. The edit is built
 * and handed to VS Code synchronously, so it is stamped with the document version the binding
 * planned it against (the extension host records the version when `applyEdit` is called).
 *
 * Why every replacement carries entry metadata: for the document of the *active* editor, VS Code's
 * bulk edit service first asks the editor worker for "more minimal" edits (an asynchronous round
 * trip) and re-creates the edits from its answer WITHOUT their version stamp; the version is then
 * checked only before that round trip. A keystroke landing during it made VS Code apply our edit at
 * stale coordinates, and its change event no longer matched the planned text, so it was taken for
 * typing and sent back: duplicated keystrokes under concurrent typing (VS Code 1.100,
 * `bulkTextEdits.ts`, `_createEditsTasks`). Edits with metadata skip the minimising and keep their
 * version, which VS Code checks synchronously right before applying them: a stale edit now fails
 * (`false`) and the binding re-plans it. `needsConfirmation: false` shows no refactor preview.
 */
import * as vscode from 'vscode';
import type { EditorPort } from './editor-sync';

/** Metadata on our replacements; its presence is what keeps VS Code's version check (see above). */
const REMOTE_EDIT_METADATA: vscode.WorkspaceEditEntryMetadata = { needsConfirmation: false, label: 'Collab: remote edit' };

/** The document's line break as the binding wants it. */
export function eolOf(document: vscode.TextDocument): '\n' | '\r\n' {
  return document.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n';
}

/** An `EditorPort` over one document. */
export function documentPort(document: vscode.TextDocument): EditorPort {
  return {
    getText: () => document.getText(),
    get eol() {
      return eolOf(document);
    },
    applyEdit: (edits) => {
      const edit = new vscode.WorkspaceEdit();
      for (const e of edits) {
        edit.replace(document.uri, new vscode.Range(e.range.start.line, e.range.start.character, e.range.end.line, e.range.end.character), e.text, REMOTE_EDIT_METADATA);
      }
      return vscode.workspace.applyEdit(edit);
    },
  };
}
