/** The test-only fault switches: off by default, exact about when the crash hook fires. */
import { strict as assert } from 'node:assert';
import type { WireOp } from '@collab/protocol';
import { faultsFromEnv } from './faults';

describe('backend faults: test-only fault injection from the environment', () => {
  it('is off unless COLLAB_FAULTS=1, whatever else is set', () => {
    assert.equal(faultsFromEnv({ COLLAB_FAULT_CRASH_AFTER_COMMITS: '1', COLLAB_FAULT_PUBLISH_DELAY_MS: '50' }), undefined);
    assert.equal(faultsFromEnv({ COLLAB_FAULTS: 'true', COLLAB_FAULT_CRASH_AFTER_COMMITS: '1' }), undefined);
  });

  it('delays publishes and kills the process after the N-th commit, not before', () => {
    const reports: string[] = [];
    const faults = faultsFromEnv({ COLLAB_FAULTS: '1', COLLAB_FAULT_PUBLISH_DELAY_MS: '40', COLLAB_FAULT_CRASH_AFTER_COMMITS: '3' }, (r) => void reports.push(r));
    assert.ok(faults);
    assert.equal(faults.publishDelayMs, 40);
    const op: WireOp = { fileId: 'f', version: 1, op: ['x'], clientId: 'c', seq: 1, author: 'u', at: 0 };
    faults.afterCommit?.(op);
    faults.afterCommit?.(op);
    assert.equal(reports.length, 0);
    faults.afterCommit?.(op);
    assert.deepEqual(reports, ['COLLAB_FAULT crash-after-commit {"fileId":"f","version":1,"clientId":"c","seq":1}']);
  });

  it('refuses a value that is not a whole number', () => {
    assert.throws(() => faultsFromEnv({ COLLAB_FAULTS: '1', COLLAB_FAULT_PUBLISH_DELAY_MS: '-5' }), /whole number/);
  });
});
