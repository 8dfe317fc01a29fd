import { strict as assert } from 'node:assert';
import { apply, createSyncState, type RemoteCursor } from '@collab/protocol';
import type { BindingView } from '../sync/cursor-offsets';
import { ActivityClock, colorSpec, cssColor, diffOp, renderCursors, resolveCursor, ServerTextHistory } from './cursor-model';

const view = (version: number, text: string): BindingView => ({ editorText: text, pendingEditorOp: null, state: createSyncState('Cself', version, text) });
const caret = (line: number, character: number) => ({ anchor: { line, character }, head: { line, character } });

describe('cursor model', () => {
  it('diffOp turns one text into another', () => {
    for (const [a, b] of [['abc', 'abXc'], ['hello world', 'hello'], ['', 'x'], ['same', 'same'], ['aaa', 'aaaa']] as const) {
      assert.equal(apply(diffOp(a, b), a), b);
    }
  });

  it('places a cursor at our version directly', () => {
    const h = new ServerTextHistory();
    assert.deepEqual(resolveCursor(view(3, 'ab\ncd'), h, 3, [{ anchor: 4, head: 4 }]), [caret(1, 1)]);
  });

  it('transforms a cursor from an older version through the change since', () => {
    const h = new ServerTextHistory();
    h.record(3, 'hello world');
    // Version 4 inserted "big " before "world": a caret on "w" (6) follows it.
    assert.deepEqual(resolveCursor(view(4, 'hello big world'), h, 3, [{ anchor: 6, head: 6 }]), [caret(0, 10)]);
    // A caret before the change stays.
    assert.deepEqual(resolveCursor(view(4, 'hello big world'), h, 3, [{ anchor: 2, head: 2 }]), [caret(0, 2)]);
  });

  it('does not place cursors from the future or from forgotten versions', () => {
    const h = new ServerTextHistory(2);
    assert.equal(resolveCursor(view(4, 'x'), h, 5, [{ anchor: 0, head: 0 }]), undefined);
    h.record(1, 'a');
    h.record(2, 'ab');
    h.record(3, 'abc');
    assert.equal(h.textAt(1), undefined);
    assert.equal(resolveCursor(view(4, 'abcd'), h, 1, [{ anchor: 0, head: 0 }]), undefined);
    assert.deepEqual(resolveCursor(view(4, 'abcd'), h, 3, [{ anchor: 3, head: 3 }]), [caret(0, 4)]);
  });

  it('maps colours: CSS stays, theme ids become theme variables, junk falls back', () => {
    assert.deepEqual(colorSpec('#1f77b4'), { kind: 'css', value: '#1f77b4' });
    assert.deepEqual(colorSpec('charts.blue'), { kind: 'theme', id: 'charts.blue' });
    assert.deepEqual(colorSpec('url(x)', 1), { kind: 'theme', id: 'charts.red' });
    assert.equal(cssColor({ kind: 'theme', id: 'charts.blue' }), 'var(--vscode-charts-blue)');
    assert.equal(cssColor({ kind: 'css', value: '#abc' }, 0.25), 'color-mix(in srgb, #abc 25%, transparent)');
  });

  it('shows the name tag for ~2 s after the last update (fake clock)', () => {
    let now = 1000;
    const clock = new ActivityClock(() => now, 2000);
    assert.equal(clock.isActive('A'), false);
    clock.touch('A');
    assert.equal(clock.isActive('A'), true);
    now += 1500;
    assert.equal(clock.nextExpiry(), 500);
    now += 499;
    assert.equal(clock.isActive('A'), true);
    now += 1;
    assert.equal(clock.isActive('A'), false);
    assert.equal(clock.nextExpiry(), undefined);
    clock.touch('A');
    clock.forget('A');
    assert.equal(clock.isActive('A'), false);
  });

  it('renders everyone but ourselves, leaving unplaceable cursors out', () => {
    const now = 0;
    const clock = new ActivityClock(() => now);
    clock.touch('B');
    const cursors: RemoteCursor[] = [
      { fileId: 'f', userId: 'u1', clientId: 'Cself', version: 2, selections: [{ anchor: 0, head: 0 }] },
      { fileId: 'f', userId: 'u2', clientId: 'B', version: 2, selections: [{ anchor: 1, head: 2 }] },
      { fileId: 'f', userId: 'u3', clientId: 'C', version: 9, selections: [{ anchor: 0, head: 0 }] },
    ];
    const out = renderCursors(view(2, 'abc'), new ServerTextHistory(), cursors, 'Cself', clock);
    assert.deepEqual(out, [{ clientId: 'B', userId: 'u2', selections: [{ anchor: { line: 0, character: 1 }, head: { line: 0, character: 2 } }], showName: true }]);
  });
});
