import { describe, expect, it, onTestFinished } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackgroundRemover, durableTransaction, openStore, purgeRemoved, removeInBackground, removeTempLeftovers, writeFileAtomic, writeFileAtomicAsync } from '../src/index.js';
import { STATEMENT_CACHE_LIMIT } from '../src/sqlite.js';

/** A fresh directory, removed when the test ends. */
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('openStore', () => {
  it('applies migrations once and keeps data across reopen', () => {
    const dir = tempDir('berth-store-');
    const path = join(dir, 'meta.db');
    const migrations = ['CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)'];
    const db = openStore(path, migrations);
    db.prepare('INSERT INTO kv VALUES (?, ?)').run('a', '1');
    db.close();
    const again = openStore(path, [...migrations, 'ALTER TABLE kv ADD COLUMN n INTEGER']);
    expect(again.prepare('SELECT v FROM kv WHERE k = ?').get('a')).toEqual({ v: '1' });
    expect(again.pragma('user_version', { simple: true })).toBe(2);
    expect(again.pragma('journal_mode', { simple: true })).toBe('wal');
    again.close();
  });

  it('rolls back a failing migration whole', () => {
    const dir = tempDir('berth-store-');
    const path = join(dir, 'meta.db');
    expect(() => openStore(path, ['CREATE TABLE a (x); CREATE TABLE a (y)'])).toThrow(/already exists/);
    const db = openStore(path, []);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'a'").get()).toEqual({ n: 0 });
    expect(db.pragma('user_version', { simple: true })).toBe(0);
    db.close();
  });

  it('refuses a store written by a newer schema', () => {
    const dir = tempDir('berth-store-');
    const path = join(dir, 'meta.db');
    openStore(path, ['CREATE TABLE a (x)', 'CREATE TABLE b (x)']).close();
    expect(() => openStore(path, ['CREATE TABLE a (x)'])).toThrow(/newer than this build/);
  });
});

describe('synchronous and durableTransaction', () => {
  const FULL = 2;
  const NORMAL = 1;
  const migrations = ['CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)'];

  it('fsyncs every commit by default; "normal" applies after the migrations', () => {
    const dir = tempDir('berth-store-sync-');
    const full = openStore(join(dir, 'full.db'), migrations);
    expect(full.pragma('synchronous', { simple: true })).toBe(FULL);
    full.close();
    const normal = openStore(join(dir, 'normal.db'), migrations, { synchronous: 'normal' });
    expect(normal.pragma('synchronous', { simple: true })).toBe(NORMAL);
    expect(normal.pragma('user_version', { simple: true })).toBe(1);
    normal.close();
  });

  it('commits a durable transaction with FULL, then restores the store\'s setting, also when it throws', () => {
    const db = openStore(join(tempDir('berth-store-durable-'), 'meta.db'), migrations, { synchronous: 'normal' });
    onTestFinished(() => {
      db.close();
    });
    const seen = durableTransaction(db, () => {
      db.prepare('INSERT INTO kv VALUES (?, ?)').run('exit', '0');
      return db.pragma('synchronous', { simple: true });
    });
    expect(seen).toBe(FULL);
    expect(db.pragma('synchronous', { simple: true })).toBe(NORMAL);
    expect(() =>
      durableTransaction(db, () => {
        db.prepare('INSERT INTO kv VALUES (?, ?)').run('half', '1');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(db.pragma('synchronous', { simple: true })).toBe(NORMAL);
    // the failed one rolled back whole; the first one is there
    expect(db.prepare('SELECT k FROM kv ORDER BY k').all()).toEqual([{ k: 'exit' }]);
  });

  it('leaves a FULL store as it is, and refuses to nest in another transaction', () => {
    const db = openStore(join(tempDir('berth-store-nest-'), 'meta.db'), migrations);
    onTestFinished(() => {
      db.close();
    });
    durableTransaction(db, () => db.prepare('INSERT INTO kv VALUES (?, ?)').run('a', '1'));
    expect(db.pragma('synchronous', { simple: true })).toBe(FULL);
    expect(() => db.transaction(() => durableTransaction(db, () => undefined))()).toThrow(/inside another transaction/);
    expect(db.prepare('SELECT count(*) AS n FROM kv').get()).toEqual({ n: 1 });
  });
});

describe('prepared statements', () => {
  it('compiles each SQL text once and the shared statement keeps working', () => {
    const db = openStore(':memory:', ['CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)']);
    onTestFinished(() => void db.close());
    const insert = db.prepare('INSERT INTO kv VALUES (?, ?)');
    expect(db.prepare('INSERT INTO kv VALUES (?, ?)')).toBe(insert);
    expect(db.prepare('SELECT v FROM kv WHERE k = ?')).not.toBe(insert);
    db.transaction(() => {
      for (const k of ['a', 'b', 'c']) db.prepare('INSERT INTO kv VALUES (?, ?)').run(k, k.toUpperCase());
    })();
    expect(db.prepare('SELECT v FROM kv WHERE k = ?').get('b')).toEqual({ v: 'B' });
    expect(db.prepare('SELECT v FROM kv WHERE k = ?').get('c')).toEqual({ v: 'C' });
    // a failing run leaves the shared statement usable
    expect(() => db.prepare('INSERT INTO kv VALUES (?, ?)').run('a', 'again')).toThrow(/UNIQUE/);
    db.prepare('INSERT INTO kv VALUES (?, ?)').run('d', 'D');
    expect(db.prepare('SELECT count(*) AS n FROM kv').get()).toEqual({ n: 4 });
  });

  it('stops keeping new texts at the limit, so SQL built from values cannot grow it without bound', () => {
    const db = openStore(':memory:', ['CREATE TABLE t (x INTEGER)']);
    onTestFinished(() => void db.close());
    for (let i = 0; i < STATEMENT_CACHE_LIMIT; i++) db.prepare(`SELECT ${i} AS x`);
    expect(db.prepare('SELECT 0 AS x')).toBe(db.prepare('SELECT 0 AS x'));
    const past = 'SELECT x FROM t WHERE x = 1';
    expect(db.prepare(past)).not.toBe(db.prepare(past));
    expect(db.prepare(past).all()).toEqual([]);
  });

  it('refuses what would leave a shared statement busy or changed for its next user', () => {
    const db = openStore(':memory:', ['CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)']);
    onTestFinished(() => void db.close());
    const select = db.prepare('SELECT k, v FROM kv');
    expect(() => select.iterate()).toThrow(/iterate\(\) on a shared prepared statement .*SELECT k, v FROM kv/);
    expect(() => select.pluck()).toThrow(/pluck\(\) on a shared/);
    expect(() => select.raw()).toThrow(/raw\(\) on a shared/);
    expect(() => select.expand()).toThrow(/expand\(\) on a shared/);
    expect(select.all()).toEqual([]);
  });

  it('reports bad SQL at prepare, and caches nothing for it', () => {
    const db = openStore(':memory:', []);
    onTestFinished(() => void db.close());
    expect(() => db.prepare('SELEC 1')).toThrow(/syntax error/);
    expect(() => db.prepare('SELEC 1')).toThrow(/syntax error/);
  });
});

describe('writeFileAtomic', () => {
  it('replaces content whole and leaves no temp files', () => {
    const dir = tempDir('berth-atomic-');
    const path = join(dir, 'f.json');
    writeFileAtomic(path, 'old');
    writeFileAtomic(path, 'new');
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['f.json']);
  });

  it('without durability (no fsync) still replaces content whole, with the mode asked', () => {
    const dir = tempDir('berth-atomic-');
    const path = join(dir, 'hosts');
    writeFileAtomic(path, 'old', 0o600, { durable: false });
    writeFileAtomic(path, 'new', 0o644, { durable: false });
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir)).toEqual(['hosts']);
    expect(() => writeFileAtomic(join(dir, 'missing', 'f'), 'x', 0o644, { durable: false })).toThrow(/ENOENT/);
  });

  it('the async form: replaces content whole with the mode asked, leaves no temp files, and fails cleanly in a missing directory', async () => {
    const dir = tempDir('berth-atomic-');
    const path = join(dir, 'f.json');
    await writeFileAtomicAsync(path, 'old', 0o600);
    await Promise.all([writeFileAtomicAsync(path, 'new'), writeFileAtomicAsync(path, 'new')]);
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir)).toEqual(['f.json']);
    await expect(writeFileAtomicAsync(join(dir, 'missing', 'f'), 'x')).rejects.toThrow(/ENOENT/);
  });

  it('cleans leftovers of an interrupted write', () => {
    const dir = tempDir('berth-atomic-');
    writeFileSync(join(dir, '.tmp-berth-f.json.abc'), 'half');
    writeFileSync(join(dir, 'keep'), 'x');
    expect(removeTempLeftovers(dir)).toBe(1);
    expect(readdirSync(dir)).toEqual(['keep']);
  });
});

describe('removeInBackground and purgeRemoved', () => {
  it('moves the tree aside at once, deletes it in the background, and a new tree may take its name', async () => {
    const dir = tempDir('berth-removal-');
    const tree = join(dir, 'containers', 'c1');
    mkdirSync(join(tree, 'a', 'b'), { recursive: true });
    writeFileSync(join(tree, 'a', 'b', 'f'), 'x');
    const errors: unknown[] = [];
    const { done } = removeInBackground(tree, join(dir, 'removed'), (err) => errors.push(err));
    expect(existsSync(tree)).toBe(false);
    mkdirSync(tree);
    writeFileSync(join(tree, 'new'), 'y');
    await done;
    expect(readdirSync(join(dir, 'removed'))).toEqual([]);
    expect(readFileSync(join(tree, 'new'), 'utf8')).toBe('y');
    expect(errors).toEqual([]);
  });

  it('a missing tree is not an error; two removals of the same name do not collide', async () => {
    const dir = tempDir('berth-removal-');
    const removed = join(dir, 'removed');
    await removeInBackground(join(dir, 'absent'), removed, () => undefined).done;
    const tree = join(dir, 't');
    mkdirSync(tree);
    const first = removeInBackground(tree, removed, () => undefined);
    mkdirSync(tree);
    const second = removeInBackground(tree, removed, () => undefined);
    await Promise.all([first.done, second.done]);
    expect(readdirSync(removed)).toEqual([]);
    expect(existsSync(tree)).toBe(false);
  });

  it('purgeRemoved deletes what a crash left and reports it; a missing dir is empty', async () => {
    const dir = tempDir('berth-removal-');
    const removed = join(dir, 'removed');
    expect(await purgeRemoved(removed)).toEqual([]);
    mkdirSync(join(removed, 'x.1.2.3', 'deep'), { recursive: true });
    writeFileSync(join(removed, 'x.1.2.3', 'deep', 'f'), 'z');
    expect(await purgeRemoved(removed)).toEqual([join(removed, 'x.1.2.3')]);
    expect(readdirSync(removed)).toEqual([]);
  });

  it('BackgroundRemover: purges leftovers, removes trees aside, settles once they are deleted', async () => {
    const dir = tempDir('berth-removal-');
    const remover = new BackgroundRemover(join(dir, 'removed'), () => undefined);
    mkdirSync(join(dir, 'removed', 'left.1.2.3'), { recursive: true });
    expect(await remover.purge()).toEqual([join(dir, 'removed', 'left.1.2.3')]);
    for (const name of ['a', 'b']) {
      mkdirSync(join(dir, name, 'x'), { recursive: true });
      writeFileSync(join(dir, name, 'x', 'f'), name);
      remover.remove(join(dir, name));
      expect(existsSync(join(dir, name))).toBe(false);
    }
    await remover.settled();
    expect(readdirSync(join(dir, 'removed'))).toEqual([]);
  });
});
