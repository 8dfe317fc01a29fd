import { strict as assert } from 'node:assert';
import { statusView } from './status-text';

describe('status bar text', () => {
  it('says there is no session when idle', () => {
    assert.equal(statusView({ phase: 'idle' }).text, '$(broadcast) Collab');
  });

  it('shows connecting, reconnecting and offline', () => {
    assert.match(statusView({ phase: 'connecting', roomId: 'r' }).text, /connecting/);
    const re = statusView({ phase: 'reconnecting', roomId: 'r' });
    assert.match(re.text, /sync~spin.*reconnecting/);
    assert.match(re.tooltip, /edits are kept/);
    const off = statusView({ phase: 'offline', roomId: 'r' });
    assert.match(off.text, /offline/);
    assert.equal(off.warning, true);
    assert.match(statusView({ phase: 'offline', needsSignIn: true }).text, /sign in needed/);
  });

  it('shows live with the number of participants online', () => {
    const v = statusView({ phase: 'live', roomId: 'ROOM', role: 'owner', online: 2, total: 3 });
    assert.equal(v.text, '$(broadcast) Collab: live · 2');
    assert.match(v.tooltip, /Room ROOM · you are the owner · 2 of 3 participants online/);
    assert.equal(v.warning, false);
    assert.match(statusView({ phase: 'live', role: 'editor', online: 1, total: 1 }).tooltip, /an editor · 1 of 1 participant online/);
  });

  it('shows read-only for viewers', () => {
    const v = statusView({ phase: 'live', roomId: 'ROOM', role: 'viewer', online: 4, total: 4 });
    assert.equal(v.text, '$(lock) Collab: read-only · 4');
    assert.match(v.tooltip, /a viewer \(read-only\)/);
  });
});
