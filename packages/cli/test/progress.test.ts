import { describe, expect, it, vi } from 'vitest';
import { blobLine, blobStateOf, progressBar, ProgressBoard, totalLine, totals } from '../src/progress/board.js';
import { ProgressRenderer } from '../src/progress/renderer.js';

describe('progress bars', () => {
  it('draws Docker\'s bar', () => {
    expect(progressBar(0, 100, 10)).toBe('[>         ]');
    expect(progressBar(50, 100, 10)).toBe('[=====>    ]');
    expect(progressBar(100, 100, 10)).toBe('[==========]');
    expect(progressBar(150, 100, 10)).toBe('[==========]');
    expect(progressBar(5, 0, 10)).toBe('');
    expect(progressBar(50, 100)).toHaveLength(52);
  });
  it('a moving blob has label, bar and amounts; a finished one only its label', () => {
    expect(blobLine({ id: 'a3ed95caeb02', state: 'downloading', current: 1_200_000, total: 5_600_000 }, 'pull')).toBe(
      `a3ed95caeb02: Downloading [==========>${' '.repeat(39)}] 1.2MB/5.6MB`,
    );
    expect(blobLine({ id: 'a3ed95caeb02', state: 'done', current: 5, total: 5 }, 'pull')).toBe('a3ed95caeb02: Pull complete');
    expect(blobLine({ id: 'a3ed95caeb02', state: 'exists', current: 0, total: 5 }, 'push')).toBe('a3ed95caeb02: Layer already exists');
    expect(blobLine({ id: 'x', state: 'uploading', current: 1, total: 0 }, 'push')).toBe('x: Pushing 1B');
  });
  it('maps the API states', () => {
    expect(blobStateOf('PROGRESS_STATE_DOWNLOADING')).toBe('downloading');
    expect(blobStateOf('PROGRESS_STATE_DONE')).toBe('done');
    expect(blobStateOf('PROGRESS_STATE_UNSPECIFIED')).toBeUndefined();
    expect(blobStateOf('UNRECOGNIZED')).toBeUndefined();
  });
  it('totals count transferred blobs whole and moving ones by their bytes', () => {
    const blobs = [
      { id: 'a', state: 'done' as const, current: 0, total: 100 },
      { id: 'b', state: 'downloading' as const, current: 50, total: 200 },
      { id: 'c', state: 'waiting' as const, current: 0, total: 300 },
      { id: 'd', state: 'extracting' as const, current: 10, total: 400 },
    ];
    expect(totals(blobs)).toEqual({ current: 550, total: 1000 });
    expect(totalLine(blobs)).toMatch(/^Total: \[=+>\s+\] 550B\/1kB$/);
  });
});

describe('ProgressBoard', () => {
  it('keeps first-seen order, reports state changes only, keeps known totals', () => {
    const board = new ProgressBoard('pull');
    expect(board.expect([{ id: 'l1', total: 10 }, { id: 'l2', total: 20 }]).map((b) => b.state)).toEqual(['waiting', 'waiting']);
    expect(board.update([{ id: 'l2', state: 'downloading', current: 5, total: 0 }])).toEqual([
      { id: 'l2', state: 'downloading', current: 5, total: 20 },
    ]);
    expect(board.update([{ id: 'l2', state: 'downloading', current: 10, total: 20 }])).toEqual([]);
    expect(board.all().map((b) => b.id)).toEqual(['l1', 'l2']);
    expect(board.lines()).toHaveLength(3);
    expect(board.allExisted()).toBe(false);
  });
});

function fakeOut(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, out: { isTTY, columns: 100, write: (t: string) => writes.push(t) } };
}

describe('ProgressRenderer', () => {
  it('without a terminal prints one plain line per state change, no bars or escapes', () => {
    const { writes, out } = fakeOut(false);
    const r = new ProgressRenderer(out, 'pull');
    r.note('latest: Pulling from library/busybox');
    r.expect([{ id: 'aaaaaaaaaaaa', total: 100 }]);
    r.update([{ id: 'aaaaaaaaaaaa', state: 'downloading', current: 10, total: 100 }]);
    r.update([{ id: 'aaaaaaaaaaaa', state: 'downloading', current: 90, total: 100 }]);
    r.update([{ id: 'aaaaaaaaaaaa', state: 'done', current: 100, total: 100 }]);
    r.finish();
    expect(writes.join('')).toBe(
      'latest: Pulling from library/busybox\naaaaaaaaaaaa: Waiting\naaaaaaaaaaaa: Downloading\naaaaaaaaaaaa: Pull complete\n',
    );
  });

  it('on a terminal redraws the lines in place (cursor up, erase line) and draws the final state on finish', () => {
    vi.useFakeTimers();
    try {
      const { writes, out } = fakeOut(true);
      const r = new ProgressRenderer(out, 'pull');
      r.expect([{ id: 'aaaaaaaaaaaa', total: 100 }]);
      r.update([{ id: 'aaaaaaaaaaaa', state: 'downloading', current: 50, total: 100 }]);
      expect(writes).toEqual([]); // throttled
      vi.advanceTimersByTime(150);
      expect(writes).toHaveLength(1);
      expect(writes[0]).toContain('\x1b[2Kaaaaaaaaaaaa: Downloading [');
      expect(writes[0]).toContain('\x1b[2KTotal: [');
      r.update([{ id: 'aaaaaaaaaaaa', state: 'done', current: 100, total: 100 }]);
      r.finish();
      expect(writes).toHaveLength(2);
      expect(writes[1]!.startsWith('\x1b[2A')).toBe(true); // back over the two lines drawn before
      expect(writes[1]).toContain('aaaaaaaaaaaa: Pull complete');
      expect(writes[1]).toContain('Total: [==================================================] 100B/100B');
    } finally {
      vi.useRealTimers();
    }
  });

  it('cuts lines to the terminal width so redraws never wrap', () => {
    const { writes, out } = fakeOut(true);
    out.columns = 30;
    const r = new ProgressRenderer(out, 'pull');
    r.update([{ id: 'aaaaaaaaaaaa', state: 'downloading', current: 50, total: 100 }]);
    r.finish();
    for (const line of writes.join('').split('\n').filter(Boolean)) {
      expect(line.replace(/\x1b\[\d*[A-Z]/g, '').length).toBeLessThanOrEqual(29);
    }
  });
});
