/**
 * The inspector reading forces a real full GC in another process: a child that drops a large
 * garbage graph reads much less heap after the GC than as found, and what it still references
 * survives the GC.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { readMemoryAroundGc } from './inspector';

/** Keeps ~20 MB alive and drops ~60 MB of garbage it built after its last GC, then idles. */
const CHILD = `
  globalThis.kept = Array.from({ length: 200 }, () => new Array(12_500).fill(1.5));
  let garbage = Array.from({ length: 600 }, () => new Array(12_500).fill(2.5));
  garbage = null;
  console.log('ready');
  setInterval(() => {}, 1000);
`;

describe('bench: inspector memory reading', function () {
  this.timeout(30_000);
  let child: ChildProcess | undefined;
  afterEach(() => child?.kill('SIGKILL'));

  it('forces a full GC in the inspected process: garbage goes, referenced memory stays', async () => {
    // A young generation large enough that the garbage is still uncollected when we read.
    child = spawn(process.execPath, ['--min-semi-space-size=128', '--max-semi-space-size=128', '--inspect=127.0.0.1:0', '-e', CHILD], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The inspector answers as soon as it listens, even mid-script: wait for the child's "ready" too.
    const url = await new Promise<string>((resolve, reject) => {
      let err = '';
      let out = '';
      let found: string | undefined;
      const settle = (): void => {
        if (found && out.includes('ready')) resolve(found);
      };
      child!.stderr!.on('data', (c: Buffer) => {
        err += c.toString();
        found ??= /Debugger listening on (ws:\/\/\S+)/.exec(err)?.[1];
        settle();
      });
      child!.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        settle();
      });
      child!.once('exit', () => reject(new Error(`child exited: ${err}`)));
    });
    const reading = await readMemoryAroundGc(url);
    const mb = (b: number): number => b / 1e6;
    assert.ok(mb(reading.asFound.heapUsed) > 70, `as found ${mb(reading.asFound.heapUsed)} MB used`);
    assert.ok(mb(reading.afterGc.heapUsed) >= 20, `after GC ${mb(reading.afterGc.heapUsed)} MB: the kept arrays survive`);
    assert.ok(mb(reading.asFound.heapUsed - reading.afterGc.heapUsed) > 40, `the GC freed only ${mb(reading.asFound.heapUsed - reading.afterGc.heapUsed)} MB`);
    assert.ok(reading.afterGc.rss > 0 && reading.afterGc.heapTotal >= reading.afterGc.heapUsed);
  });
});
