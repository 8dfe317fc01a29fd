/**
 * The VS Code side of `EditorPort`: a `TextDocument` and `workspace.applyEdit`. The edit is built
 * and handed to VS Code synchronously, so it is stamped with the document version the binding
 * planned it against (the extension host records the version when `applyEdit` is called).
 */
import * as vscode from 'vscode';
import type { EditorPort } from './editor-sync';

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
        edit.replace(document.uri, new vscode.Range(e.range.start.line, e.range.start.character, e.range.end.line, e.range.end.character), e.text);
      }
      return vscode.workspace.applyEdit(edit);
    },
  };
}
