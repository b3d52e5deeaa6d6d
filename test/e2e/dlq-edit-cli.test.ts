/**
 * `assetbridge dlq` edit & replay through the CLI: a dead letter the ERP refused for its content
 * (a 400 on a field) is printed (`show --payload`), edited in a file and queued again with the
 * edited payload (`replay ID --payload FILE`), under a new idempotency key when nothing of it reached
 * the ERP, and the edit in its audit.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { editedKeyFor, replayKeyFor } from '../../src/core/delivery/idempotency.js';
import { runCli, writeConfig } from '../helpers/cli.js';

async function storeWithDeadLetter(mayHaveLanded = false): Promise<{ path: string; dir: string; id: number; key: string }> {
  const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
  const store = new SqliteStore({ path: join(dir, 'ab.db') });
  try {
    const fact = { destination: 'erp', operation: 'workorder.create', kind: 'fact' as const, businessKey: 'EQ-1|engine-temp|t1', erpAssetId: 'EQ-1', eventTime: 1, payload: { erpAssetId: 'EQ-1', title: 'x'.repeat(300), priority: 'HIGH' } };
    await store.commitIngest({ states: [], deliveries: [fact], quarantine: [], accepted: 1 });
    const [d] = await store.claimDue('erp', Date.now() + 1000, 10, new Set());
    if (!d) throw new Error('nothing claimed');
    await store.completeAttempts([{ id: d.id, result: 'dead', error: 'POST /api/v1/work-orders → 400: title longer than 255', ...(mayHaveLanded ? { mayHaveLanded: true as const } : {}) }], [], Date.now());
    return { path, dir, id: d.id, key: d.idempotencyKey };
  } finally {
    await store.close();
  }
}

describe('assetbridge dlq list', () => {
  // A reason over 100 characters was cut mid-word with nothing to say so ("gave up after 3 attem").
  it('marks a reason it cuts, and says where it is whole', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
    const store = new SqliteStore({ path: join(dir, 'ab.db') });
    const long = `PATCH /api/v1/assets/A1/location → connection-refused: fetch failed: connect ECONNREFUSED 127.0.0.1:4010 (gave up after 3 attempts)`;
    try {
      await store.commitIngest({ states: [], deliveries: [{ destination: 'erp', operation: 'location.update', kind: 'state', businessKey: 'A1', erpAssetId: 'A1', eventTime: 1, payload: {} }], quarantine: [], accepted: 1 });
      const [d] = await store.claimDue('erp', Date.now() + 1000, 10, new Set());
      if (!d) throw new Error('nothing claimed');
      await store.completeAttempts([{ id: d.id, result: 'dead', error: long }], [], Date.now());
    } finally {
      await store.close();
    }
    const r = await runCli(['dlq', 'list', '-c', path]);
    expect(r.code).toBe(0);
    const [, row, note] = r.stdout.trimEnd().split('\n');
    expect(row).toMatch(/ no +PATCH \/api\/v1\/assets\/A1\/location → connection-refused: fetch failed: connect ECONNREFUSED 127\.0\.0\.1…$/);
    expect(note).toBe("(a reason ending in … is cut: 'assetbridge dlq show ID' has it whole)");
    expect(JSON.parse((await runCli(['dlq', 'list', '--json', '-c', path])).stdout)).toMatchObject([{ lastError: long }]);
  });

  // Listing the letters of a destination the config no longer names said nothing of it (status did): a replay keeps them.
  it('says on stderr, also with --json, that a destination of the letters listed is not in the config', async () => {
    const { path } = await storeWithDeadLetter();
    writeFileSync(path, stringify({ store: { path: 'ab.db' }, destinations: [{ name: 'erp2', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] }));
    const note = "destination erp is not in the config (destinations[].name: erp2): nothing would send its dead letters, so a replay keeps them; if it was renamed, put the old name back and replay them, or give them up: 'assetbridge dlq discard --all --destination erp'\n";
    const r = await runCli(['dlq', 'list', '--destination', 'erp', '-c', path]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: note });
    expect(r.stdout).toContain('400: title longer than 255');
    const json = await runCli(['dlq', 'list', '--destination', 'erp', '--json', '-c', path]);
    expect({ code: json.code, stderr: json.stderr }).toEqual({ code: 0, stderr: note });
    expect(JSON.parse(json.stdout)).toMatchObject([{ destination: 'erp' }]);
  });

  it('says nothing of cut reasons when none is cut', async () => {
    const { path } = await storeWithDeadLetter();
    const r = await runCli(['dlq', 'list', '-c', path]);
    expect(r.stdout).toMatch(/400: title longer than 255\n$/);
  });
});

describe('assetbridge dlq show', () => {
  // It read the newest 1,000 audit records and printed them as the history, with nothing to say older ones were left out.
  it('says how many older records of a long history it left out, and how to list them all', async () => {
    const { path, dir, id, key } = await storeWithDeadLetter();
    const store = new SqliteStore({ path: join(dir, 'ab.db') });
    const rows = 1003;
    try {
      const audit = Array.from({ length: rows }, (_, i) => ({ at: 1_000 + i, deliveryId: id, destination: 'erp', operation: 'workorder.create', erpAssetId: 'EQ-1', idempotencyKey: key, attempt: i + 1, latencyMs: 1, outcome: 'retry', error: `try ${i + 1}` }));
      await store.completeAttempts([], audit, Date.now());
    } finally {
      await store.close();
    }
    const r = await runCli(['dlq', 'show', String(id), '-c', path]);
    expect(r.code).toBe(0);
    const shown = JSON.parse(r.stdout) as { history: { error: string }[]; historyLeftOut?: number };
    expect(shown.history).toHaveLength(1000);
    expect(shown.history[0]?.error).toBe('try 4'); // the newest, oldest first
    expect(shown.historyLeftOut).toBe(3);
    expect(r.stderr).toBe(`history: the newest 1000 of 1003 records shown, 3 older left out: 'assetbridge audit --delivery ${id} --limit 1003' lists them all\n`);
    const whole = await runCli(['audit', '--delivery', String(id), '--limit', '1003', '--json', '-c', path]);
    expect(whole.stdout.trimEnd().split('\n')).toHaveLength(rows);
  });

  it('says nothing of records left out when the history is whole', async () => {
    const { path, id } = await storeWithDeadLetter();
    const r = await runCli(['dlq', 'show', String(id), '-c', path]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).not.toHaveProperty('historyLeftOut');
    // '--json', as on the listing commands, was refused as an unknown option (exit 2), though the output is JSON.
    expect(await runCli(['dlq', 'show', String(id), '--json', '-c', path])).toEqual(r);
    expect(await runCli(['dlq', 'show', String(id), '--payload', '--json', '-c', path])).toEqual(await runCli(['dlq', 'show', String(id), '--payload', '-c', path]));
  });
});

describe('assetbridge dlq show of a delivery that is not a dead letter', () => {
  // It printed a delivered or pending delivery as it prints a dead letter, with nothing to say it was not one.
  it('says its actual status first (delivered at …, pending with its next attempt) and fails (exit 1), showing it all the same', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
    const store = new SqliteStore({ path: join(dir, 'ab.db') });
    const deliveredAt = Date.UTC(2026, 10, 2, 9, 30);
    let sent: number, queued: number, nextAt: number;
    try {
      const fact = (n: number) => ({ destination: 'erp', operation: 'workorder.create', kind: 'fact' as const, businessKey: `EQ-1|engine-temp|t${n}`, erpAssetId: 'EQ-1', eventTime: n, payload: { erpAssetId: 'EQ-1', title: `t${n}` } });
      await store.commitIngest({ states: [], deliveries: [fact(1)], quarantine: [], accepted: 1 });
      const [d] = await store.claimDue('erp', Date.now() + 1000, 10, new Set());
      if (!d) throw new Error('nothing claimed');
      sent = d.id;
      await store.completeAttempts([{ id: d.id, result: 'delivered' }], [{ at: deliveredAt, deliveryId: d.id, destination: 'erp', operation: d.operation, erpAssetId: 'EQ-1', idempotencyKey: d.idempotencyKey, attempt: 1, latencyMs: 1, outcome: 'delivered' }], deliveredAt);
      await store.commitIngest({ states: [], deliveries: [fact(2)], quarantine: [], accepted: 1 });
      const pending = (await store.listDeliveries({ status: 'pending' }))[0];
      if (!pending) throw new Error('nothing pending');
      queued = pending.id;
      nextAt = pending.nextAttemptAt;
    } finally {
      await store.close();
    }
    const delivered = await runCli(['dlq', 'show', String(sent), '-c', path]);
    expect({ code: delivered.code, stderr: delivered.stderr }).toEqual({ code: 1, stderr: `not a dead letter: delivery ${sent} is delivered at 2026-11-02T09:30:00.000Z; shown all the same; 'assetbridge dlq list' lists the dead letters\n` });
    expect(JSON.parse(delivered.stdout)).toMatchObject({ delivery: { id: sent, status: 'delivered' } });
    const pending = await runCli(['dlq', 'show', String(queued), '--payload', '-c', path]);
    expect({ code: pending.code, stderr: pending.stderr }).toEqual({ code: 1, stderr: `not a dead letter: delivery ${queued} is pending: queued to be sent, next attempt at ${new Date(nextAt).toISOString()} (replayed already, or not failed yet); shown all the same; 'assetbridge dlq list' lists the dead letters\n` });
    expect(JSON.parse(pending.stdout)).toEqual({ erpAssetId: 'EQ-1', title: 't2' });
  });
});

describe('assetbridge dlq replay --payload (edit & replay)', () => {
  // The edited payload went out under the old key: an ERP that keeps its 400 under the key, or
  // refuses a key reused with another body (422), refused the corrected payload every time.
  it('prints the payload, queues the dead letter again with the edited one under a new key (nothing of it reached the ERP) and audits the edit', async () => {
    const { path, dir, id, key } = await storeWithDeadLetter();
    const show = await runCli(['dlq', 'show', String(id), '--payload', '-c', path]);
    expect(show.code).toBe(0);
    const payload = JSON.parse(show.stdout) as Record<string, unknown>;
    expect(payload).toEqual({ erpAssetId: 'EQ-1', title: 'x'.repeat(300), priority: 'HIGH' });

    const edited = join(dir, 'edited.json');
    writeFileSync(edited, JSON.stringify({ ...payload, title: 'engine hot' }));
    const r = await runCli(['dlq', 'replay', String(id), '--payload', edited, '-c', path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const newKey = editedKeyFor(key, { ...payload, title: 'engine hot' });
    expect(newKey).not.toBe(key);
    expect(r.stdout).toContain(`payload of ${id} replaced; sent with a new idempotency key ${newKey}, as no request of it reached the ERP`);
    expect(r.stdout).toContain('1 dead letter(s) queued again');

    const store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      expect(await store.getDelivery(id)).toMatchObject({ status: 'pending', idempotencyKey: newKey, payload: { erpAssetId: 'EQ-1', title: 'engine hot', priority: 'HIGH' } });
      const [edit] = await store.queryAudit({ deliveryId: id, limit: 10 });
      expect(edit).toMatchObject({ outcome: 'edited', idempotencyKey: newKey });
      expect(edit?.error).toContain(`with a new idempotency key (was ${key}`);
      expect(JSON.parse(edit?.requestBody ?? '')).toMatchObject({ title: 'engine hot' });
    } finally {
      await store.close();
    }
  });

  // Invariant 3: a request of it got no answer, so the ERP may hold the old payload under the old key; a new key could create it twice.
  it('keeps the key of a dead letter that may have reached the ERP, and says so', async () => {
    const { path, dir, id, key } = await storeWithDeadLetter(true);
    const edited = join(dir, 'edited.json');
    writeFileSync(edited, JSON.stringify({ erpAssetId: 'EQ-1', title: 'engine hot', priority: 'HIGH' }));
    const r = await runCli(['dlq', 'replay', String(id), '--payload', edited, '-c', path]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`payload of ${id} replaced; it keeps its idempotency key, as a request of it may have reached the ERP`);
    const store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      expect(await store.getDelivery(id)).toMatchObject({ status: 'pending', idempotencyKey: key, payload: { title: 'engine hot' } });
    } finally {
      await store.close();
    }
  });

  it('keeps the key when the payload is given back unchanged', async () => {
    const { path, dir, id, key } = await storeWithDeadLetter();
    const show = await runCli(['dlq', 'show', String(id), '--payload', '-c', path]);
    const same = join(dir, 'same.json');
    writeFileSync(same, show.stdout);
    const r = await runCli(['dlq', 'replay', String(id), '--payload', same, '-c', path]);
    expect(r.stdout).toContain(`payload of ${id} replaced (the edit`);
    const store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      expect(await store.getDelivery(id)).toMatchObject({ status: 'pending', idempotencyKey: key });
    } finally {
      await store.close();
    }
  });

  it('refuses a payload that is not a JSON object, or more than one id, and changes nothing', async () => {
    const { path, dir, id } = await storeWithDeadLetter();
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '[1, 2');
    const r = await runCli(['dlq', 'replay', String(id), '--payload', bad, '-c', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--payload ${bad} is not a JSON object`);
    expect(r.stderr).toContain("; write the payload as 'dlq show ID --payload' prints it");
    const two = await runCli(['dlq', 'replay', String(id), '7', '--payload', bad, '-c', path]);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('--payload edits one dead letter: name one id');
    const all = await runCli(['dlq', 'replay', String(id), '--all', '--payload', bad, '-c', path]);
    expect(all.code).toBe(2);
    expect(all.stderr).toContain('--payload edits one dead letter: name one id (not --all)');
    // JSON, but a list: not a payload.
    const list = join(dir, 'list.json');
    writeFileSync(list, '[{"title": "engine hot"}]');
    const listed = await runCli(['dlq', 'replay', String(id), '--payload', list, '-c', path]);
    expect(listed.code).toBe(2);
    expect(listed.stderr).toContain(`--payload ${list} is not a JSON object: write the payload as 'dlq show ID --payload' prints it`);
    // A file that is not there: why in words (not Node's ENOENT) and what to give instead.
    const missing = join(dir, 'edited.json');
    const gone = await runCli(['dlq', 'replay', String(id), '--payload', missing, '-c', path]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toBe(`error: --payload ${missing}: cannot read it (no such file or directory); give the file 'assetbridge dlq show ID --payload' was saved to and edited in, or - for standard input\n`);
    const store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      expect(await store.getDelivery(id)).toMatchObject({ status: 'dead', payload: { title: 'x'.repeat(300) } });
    } finally {
      await store.close();
    }
  });

  // Was: taken, and sent to the old asset's path with the other asset in its body
  // (POST /api/v1/assets/EQ-1/… with "erpAssetId": "EQ-2"), a request naming two assets.
  it('refuses a payload naming another asset than the dead letter’s (exit 2), saying what to do, and changes nothing', async () => {
    const { path, dir, id, key } = await storeWithDeadLetter();
    const edited = join(dir, 'edited.json');
    writeFileSync(edited, JSON.stringify({ erpAssetId: 'EQ-2', title: 'engine hot', priority: 'HIGH' }));
    const r = await runCli(['dlq', 'replay', String(id), '--payload', edited, '-c', path]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`--payload ${edited}: its erpAssetId "EQ-2" is not the asset of dead letter ${id}, EQ-1`);
    expect(r.stderr).toContain(`Keep "erpAssetId": "EQ-1"; if the asset mapping is wrong, correct it for what comes next ('assetbridge assets import') and give this one up ('assetbridge dlq discard ${id}')`);
    const store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      expect(await store.getDelivery(id)).toMatchObject({ status: 'dead', idempotencyKey: key, payload: { erpAssetId: 'EQ-1', title: 'x'.repeat(300) } });
      expect((await store.queryAudit({ deliveryId: id, limit: 10 })).filter((a) => a.outcome === 'edited')).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('reads the edited payload from standard input with --payload -', async () => {
    const { path, dir, id } = await storeWithDeadLetter();
    const r = await runCli(['dlq', 'replay', String(id), '--payload', '-', '-c', path], {}, JSON.stringify({ erpAssetId: 'EQ-1', title: 'engine hot', priority: 'HIGH' }));
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`payload of ${id} replaced`);
    const store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      expect(await store.getDelivery(id)).toMatchObject({ status: 'pending', payload: { title: 'engine hot' } });
    } finally {
      await store.close();
    }
  });

  it('takes an edited file that starts with a byte order mark (as Notepad and PowerShell save it)', async () => {
    const { path, dir, id } = await storeWithDeadLetter();
    const edited = join(dir, 'edited-bom.json');
    writeFileSync(edited, `\uFEFF${JSON.stringify({ erpAssetId: 'EQ-1', title: 'engine hot', priority: 'HIGH' }, null, 2)}\r\n`);
    const r = await runCli(['dlq', 'replay', String(id), '--payload', edited, '-c', path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      expect(await store.getDelivery(id)).toMatchObject({ status: 'pending', payload: { erpAssetId: 'EQ-1', title: 'engine hot', priority: 'HIGH' } });
    } finally {
      await store.close();
    }
  });

  it('edits only a dead letter: a delivery still queued keeps its payload, and the command fails', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
    let store = new SqliteStore({ path: join(dir, 'ab.db') });
    let id: number;
    try {
      await store.commitIngest({ states: [], deliveries: [{ destination: 'erp', operation: 'workorder.create', kind: 'fact', businessKey: 'EQ-1|engine-temp|t1', erpAssetId: 'EQ-1', eventTime: 1, payload: { title: 't' } }], quarantine: [], accepted: 1 });
      const [d] = await store.listDeliveries({ status: 'pending', limit: 10 });
      if (!d) throw new Error('nothing queued');
      id = d.id;
    } finally {
      await store.close();
    }
    const edited = join(dir, 'edited.json');
    writeFileSync(edited, '{"title": "engine hot"}');
    const r = await runCli(['dlq', 'replay', String(id), '--payload', edited, '-c', path]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 1, stdout: '', stderr: `not dead letters: ${id} (pending: queued to be sent (replayed already, or not failed yet)); 'assetbridge dlq list' lists the dead letters, 'assetbridge audit --delivery ID' one delivery's attempts\n` });
    store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      expect(await store.getDelivery(id)).toMatchObject({ status: 'pending', payload: { title: 't' } });
      expect((await store.queryAudit({ deliveryId: id, limit: 10 })).filter((a) => a.outcome === 'edited')).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

/** The ids `dlq list --json` shows. */
const deadListed = async (path: string): Promise<number[]> => (JSON.parse((await runCli(['dlq', 'list', '--json', '-c', path])).stdout) as { id: number }[]).map((d) => d.id);

/** Two destinations, erp and crm, each with one dead letter; their ids. */
async function deadAtTwoDestinations(): Promise<{ path: string; ids: Record<string, number> }> {
  const { path, dir } = writeConfig({
    store: { path: 'ab.db' },
    destinations: [
      { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' },
      { name: 'crm', type: 'rest', baseUrl: 'http://127.0.0.1:9' },
    ],
  });
  const store = new SqliteStore({ path: join(dir, 'ab.db') });
  const ids: Record<string, number> = {};
  try {
    for (const destination of ['erp', 'crm']) {
      const fact = { destination, operation: 'workorder.create', kind: 'fact' as const, businessKey: `EQ-1|r|${destination}`, erpAssetId: 'EQ-1', eventTime: 1, payload: { title: 't' } };
      await store.commitIngest({ states: [], deliveries: [fact], quarantine: [], accepted: 1 });
      const [d] = await store.claimDue(destination, Date.now() + 1000, 10, new Set());
      if (!d) throw new Error('nothing claimed');
      await store.completeAttempts([{ id: d.id, result: 'dead', error: 'connection refused' }], [], Date.now());
      ids[destination] = d.id;
    }
  } finally {
    await store.close();
  }
  return { path, ids };
}

describe('assetbridge dlq replay|discard --all --destination', () => {
  it('touches only the dead letters of that destination, after its fix', async () => {
    const { path, ids } = await deadAtTwoDestinations();
    const r = await runCli(['dlq', 'replay', '--all', '--destination', 'crm', '-c', path]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('1 dead letter(s) queued again');
    expect(await deadListed(path)).toEqual([ids.erp]);
    const typo = await runCli(['dlq', 'discard', '--all', '--destination', 'ERP2', '-c', path]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('no destination "ERP2" in the config (destinations: erp, crm)');
    const d = await runCli(['dlq', 'discard', '--all', '--destination', 'erp', '-c', path]);
    expect(d.stdout).toContain('discarded 1 dead letter(s)');
    expect((await runCli(['dlq', 'list', '-c', path])).stdout).toContain('no dead letters');
  });

  it('discard --all --destination leaves the other destinations\' dead letters; a name not in the config is refused for replay too', async () => {
    const { path, ids } = await deadAtTwoDestinations();
    const d = await runCli(['dlq', 'discard', '--all', '--destination', 'erp', '-c', path]);
    expect(d.stdout).toBe('discarded 1 dead letter(s)\n');
    expect(await deadListed(path)).toEqual([ids.crm]);
    const typo = await runCli(['dlq', 'replay', '--all', '--destination', 'CRM2', '-c', path]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('no destination "CRM2" in the config (destinations: erp, crm)');
  });

  // They were queued again ("sent when it starts") for a destination nothing sends to, and left the dead letters.
  it('keeps the dead letters of a destination the config no longer names, saying why, and replays the others', async () => {
    const { path, ids } = await deadAtTwoDestinations();
    const onlyErp = join(dirname(path), 'only-erp.yaml');
    writeFileSync(onlyErp, stringify({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] }));
    const kept = `kept as dead letters: 1 of destination crm (${ids.crm}), which is not in the config (destinations[].name: erp), so nothing would send them; if it was renamed, put the old name back and replay them, or give them up: 'assetbridge dlq discard --all --destination crm'\n`;
    const named = await runCli(['dlq', 'replay', '--all', '--destination', 'crm', '-c', onlyErp]);
    expect(named).toEqual({ code: 1, stdout: '0 dead letter(s) queued again\n', stderr: kept });
    const edit = join(dirname(path), 'p.json');
    writeFileSync(edit, '{"title": "u"}');
    const edited = await runCli(['dlq', 'replay', String(ids.crm), '--payload', edit, '-c', onlyErp]);
    expect({ code: edited.code, stderr: edited.stderr }).toEqual({ code: 2, stderr: `error: ${kept}` });
    const all = await runCli(['dlq', 'replay', '--all', '-c', onlyErp]);
    expect(all.stdout).toContain('1 dead letter(s) queued again');
    expect({ code: all.code, stderr: all.stderr }).toEqual({ code: 1, stderr: kept });
    expect(await deadListed(path)).toEqual([ids.crm]);
    const gone = await runCli(['dlq', 'discard', '--all', '--destination', 'crm', '-c', onlyErp]);
    expect(gone.stdout).toBe('discarded 1 dead letter(s)\n');
  });

  // Each id named its state again: a replay of thousands already queued wrote the same words thousands of times.
  it('names the ids that are not dead letters together by what they are now', async () => {
    const { path, ids } = await deadAtTwoDestinations();
    expect((await runCli(['dlq', 'replay', '--all', '-c', path])).code).toBe(0);
    const r = await runCli(['dlq', 'replay', String(ids.erp), String(ids.crm), '999', '-c', path]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 1,
      stderr: `not dead letters: ${ids.erp} ${ids.crm} (pending: queued to be sent (replayed already, or not failed yet)), 999 (no such delivery); 'assetbridge dlq list' lists the dead letters, 'assetbridge audit --delivery ID' one delivery's attempts\n`,
    });
  });

  it('--destination goes with --all: named ids with it are refused, and nothing is touched', async () => {
    const { path, ids } = await deadAtTwoDestinations();
    for (const command of ['replay', 'discard']) {
      const r = await runCli(['dlq', command, String(ids.erp), '--destination', 'crm', '-c', path]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: 'error: --destination goes with --all: every dead letter of that destination\n' });
    }
    // Without ids it was refused as "name delivery ids or use --all", which said nothing of --destination.
    for (const command of ['replay', 'discard']) {
      const r = await runCli(['dlq', command, '--destination', 'crm', '-c', path]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: `error: --destination goes with --all: every dead letter of that destination ('assetbridge dlq ${command} --all --destination crm')\n` });
    }
    expect(new Set(await deadListed(path))).toEqual(new Set([ids.erp, ids.crm]));
  });
});

/**
 * A store with dead letters: an inventory count per SKU and a work order. `landed` names the SKUs
 * whose count's last request got no answer (it may have reached the ERP); the rest were refused.
 */
async function deadCounts(skus: readonly string[], landed: readonly string[] = []): Promise<{ path: string; dir: string; ids: number[] }> {
  const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
  const store = new SqliteStore({ path: join(dir, 'ab.db') });
  const ids: number[] = [];
  try {
    const count = (sku: string) => ({ destination: 'erp', operation: 'inventory.count', kind: 'fact' as const, businessKey: `WH-1|${sku}|r1`, sequence: `WH-1|${sku}`, erpAssetId: sku, eventTime: 1, payload: { location: 'WH-1', sku, countedQuantity: 4, delta: 4 } });
    const order = { destination: 'erp', operation: 'workorder.create', kind: 'fact' as const, businessKey: 'EQ-1|t|1', erpAssetId: 'EQ-1', eventTime: 1, payload: { title: 'x' } };
    await store.commitIngest({ states: [], deliveries: [...skus.map(count), order], quarantine: [], accepted: skus.length + 1 });
    for (const d of await store.claimDue('erp', Date.now() + 1000, 10, new Set())) {
      const timedOut = landed.some((sku) => d.businessKey === `WH-1|${sku}|r1`);
      // A request that timed out just now (audited): it may still land for retry.unknownOutcomeSettleMs (2m).
      const audit = { at: Date.now(), deliveryId: d.id, destination: 'erp', operation: d.operation, erpAssetId: d.erpAssetId, idempotencyKey: d.idempotencyKey, attempt: 1, latencyMs: 30_000, outcome: 'dead', error: 'timeout' };
      await store.completeAttempts([{ id: d.id, result: 'dead', error: timedOut ? 'timeout' : '400', ...(timedOut ? { mayHaveLanded: true as const } : {}) }], timedOut ? [audit] : [], Date.now());
      ids.push(d.id);
    }
  } finally {
    await store.close();
  }
  return { path, dir, ids };
}

describe('assetbridge dlq discard of inventory counts', () => {
  it('says which discarded dead letters were inventory counts, whose change the next inventory run sends again', async () => {
    const { path, ids } = await deadCounts(['PAL', 'DRUM']);
    expect(ids).toHaveLength(3);
    const one = await runCli(['dlq', 'discard', String(ids[0]), '-c', path]);
    expect(one.stderr).toBe('');
    expect(one.stdout).toBe('discarded 1 dead letter(s)\n1 of them inventory count(s): the next inventory run sends their change again (`assetbridge inventory counts` shows it)\n');
    const rest = await runCli(['dlq', 'discard', '--all', '-c', path]);
    expect(rest.stdout).toBe('discarded 2 dead letter(s)\n1 of them inventory count(s): the next inventory run sends their change again (`assetbridge inventory counts` shows it)\n');
  });

  // The inventory run sends counts only to configured destinations: "the next run sends it again" was untrue.
  it('says a discarded count of a destination no longer configured is sent again only once it is configured again', async () => {
    const { path, ids } = await deadCounts(['PAL']);
    writeFileSync(path, stringify({ store: { path: 'ab.db' }, destinations: [{ name: 'erp-new', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] }));
    const r = await runCli(['dlq', 'discard', String(ids[0]), '-c', path]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      'discarded 1 dead letter(s)\n1 of them inventory count(s): none is sent again while "erp" is not configured (destinations[].name); once it is again, the next inventory run sends their change again (`assetbridge inventory counts` shows it)\n',
    );
  });

  it('keeps a count that may have reached the ERP until the operator says which: mark-delivered, or discard --send-again', async () => {
    // Every one timed out at its last attempt but the bin count, refused with a 400, and the work order.
    const { path, dir, ids } = await deadCounts(['PAL', 'DRUM', 'BIN'], ['PAL', 'DRUM']);
    const [pal, drum, bin, order] = ids as [number, number, number, number];
    const list = await runCli(['dlq', 'list', '-c', path]);
    // The column says whether the ERP may hold the write: a count it answered with a 400 is not in it, though the request reached it.
    expect(list.stdout).toMatch(/^ID +DESTINATION +OPERATION +ASSET +ATTEMPTS +MAY BE IN ERP +REASON\n/);
    expect(list.stdout).toMatch(new RegExp(`^${pal} .*inventory\\.count .* maybe `, 'm'));
    expect(list.stdout).toMatch(new RegExp(`^${bin} .*inventory\\.count .* no `, 'm'));
    expect(list.stdout).toContain("'maybe': a request of it got no answer");
    // --all discards the work order and the refused count; the two counts that may have landed stay.
    const all = await runCli(['dlq', 'discard', '--all', '-c', path]);
    expect(all.code).toBe(1);
    expect(all.stdout).toBe('discarded 2 dead letter(s)\n1 of them inventory count(s): the next inventory run sends their change again (`assetbridge inventory counts` shows it)\n');
    expect(all.stderr).toContain(`inventory count(s) ${pal} ${drum} may have reached the ERP`);
    expect(all.stderr).toContain(`'assetbridge dlq mark-delivered ${pal} ${drum}'`);
    expect(new Set(await deadListed(path))).toEqual(new Set([pal, drum]));
    // The ERP holds the pallets' count: recorded as delivered, not sent. The drums' is not there: discarded, sent again.
    const marked = await runCli(['dlq', 'mark-delivered', String(pal), String(order), '-c', path]);
    expect(marked.code).toBe(1); // the work order is no dead letter any more
    expect(marked.stdout).toBe("1 dead letter(s) recorded as delivered (not sent; 'assetbridge audit --delivery ID' shows the record)\n1 of them inventory count(s): their change counts as sent\n");
    expect(marked.stderr).toContain(`not dead letters: ${order}`);
    const again = await runCli(['dlq', 'discard', '--send-again', String(drum), '-c', path]);
    expect(again.stderr).toBe('');
    expect(again.stdout).toContain('discarded 1 dead letter(s)\n1 of them inventory count(s): the first inventory run from the time below sends the change of 1 of them again');
    // Its request timed out moments ago and may still land: its change is not sent again before the settle time has passed.
    expect(again.stdout).toMatch(new RegExp(`\\n  ${drum}  sent again no sooner than \\S+ \\(its last request ended \\S+; retry\\.unknownOutcomeSettleMs of erp: 2m\\)\\n$`));
    expect(await deadListed(path)).toEqual([]);
    const check = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      expect([(await check.getDelivery(pal))?.status, (await check.getDelivery(drum))?.status, (await check.getDelivery(bin))?.status]).toEqual(['delivered', 'discarded', 'discarded']);
      expect((await check.queryAudit({ deliveryId: pal })).map((a) => a.outcome)).toEqual(['dead', 'marked-delivered']);
    } finally {
      await check.close();
    }
  });
});

describe('dlq list --limit', () => {
  it('says when there are more dead letters than shown, instead of cutting the list silently', async () => {
    const { path } = await deadAtTwoDestinations();
    const cut = await runCli(['dlq', 'list', '--limit', '1', '--json', '-c', path]);
    expect(cut.code).toBe(0);
    expect((JSON.parse(cut.stdout) as unknown[]).length).toBe(1);
    // It said "more than the 1 shown", not how many: the operator could not tell what --limit to give.
    expect(cut.stderr).toBe('the newest 1 of 2 dead letters shown, 1 left out: --limit <n> to see more, --destination <name> to narrow\n');
    const whole = await runCli(['dlq', 'list', '--limit', '2', '-c', path]);
    expect(whole.stderr).toBe('');
    expect(whole.stdout.trim().split('\n')).toHaveLength(3);
  });
});

/** The dead letter `storeWithDeadLetter` made, sent and refused again (a 400) under the key it has now. */
async function refuseAgain(dir: string, id: number): Promise<string> {
  const store = new SqliteStore({ path: join(dir, 'ab.db') });
  try {
    const [d] = await store.claimDue('erp', Date.now() + 1000, 10, new Set());
    if (d?.id !== id) throw new Error(`claimed ${d?.id}, not ${id}`);
    await store.completeAttempts([{ id, result: 'dead', error: 'POST /api/v1/work-orders → 400: title longer than 255' }], [], Date.now());
    return d.idempotencyKey;
  } finally {
    await store.close();
  }
}

describe('assetbridge dlq replay --new-key', () => {
  // A replay kept the key, so an ERP that stored its 400 under it answered the replay with that 400 for ever.
  it('queues the dead letter again unchanged under a new key derived from the old one and the replay generation, and audits it', async () => {
    const { path, dir, id, key } = await storeWithDeadLetter();
    const r = await runCli(['dlq', 'replay', String(id), '--new-key', '-c', path]);
    const first = replayKeyFor(key, 1);
    expect(first).not.toBe(key);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`${id}: new idempotency key ${first} (was ${key})\n`);
    expect(r.stdout).toContain('1 dead letter(s) queued again');
    let store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      expect(await store.getDelivery(id)).toMatchObject({ status: 'pending', idempotencyKey: first, attempts: 0, payload: { title: 'x'.repeat(300) } });
      const [audit] = await store.queryAudit({ deliveryId: id, limit: 10 });
      expect(audit).toMatchObject({ outcome: 'new-key', idempotencyKey: first });
      expect(audit?.error).toContain(`with a new idempotency key (was ${key}`);
    } finally {
      await store.close();
    }
    // Refused again under that key: the next re-keyed replay is a generation on, not the first key again.
    expect(await refuseAgain(dir, id)).toBe(first);
    const again = await runCli(['dlq', 'replay', String(id), '--new-key', '-c', path]);
    expect(again.stdout).toContain(`${id}: new idempotency key ${replayKeyFor(first, 2)} (was ${first})\n`);
    store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      expect(await store.getDelivery(id)).toMatchObject({ status: 'pending', idempotencyKey: replayKeyFor(first, 2) });
    } finally {
      await store.close();
    }
    // A plain replay still keeps the key.
    const kept = await refuseAgain(dir, id);
    expect((await runCli(['dlq', 'replay', String(id), '-c', path])).code).toBe(0);
    store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      expect(await store.getDelivery(id)).toMatchObject({ status: 'pending', idempotencyKey: kept });
    } finally {
      await store.close();
    }
  });

  // Invariant 3: a request of it got no answer, so the ERP may hold it under the old key; a new key could make it apply it twice.
  it('keeps a dead letter that may have reached the ERP, with its key, saying what to do; --not-in-erp gives it a new key', async () => {
    const { path, dir, id, key } = await storeWithDeadLetter(true);
    const r = await runCli(['dlq', 'replay', String(id), '--new-key', '-c', path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('0 dead letter(s) queued again\n');
    expect(r.stderr).toBe(
      `kept as dead letters, keys unchanged: ${id} may have reached the ERP (a request of it got no answer or a 5xx), and under a new key the ERP could apply it twice; check the ERP: if it holds them, 'assetbridge dlq mark-delivered ${id}'; if it does not, 'assetbridge dlq replay ${id} --new-key --not-in-erp'; or replay them under their keys: 'assetbridge dlq replay ${id}'\n`,
    );
    let store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      expect(await store.getDelivery(id)).toMatchObject({ status: 'dead', idempotencyKey: key, mayHaveLanded: true });
      expect((await store.queryAudit({ deliveryId: id, limit: 10 })).filter((a) => a.outcome === 'new-key')).toEqual([]);
    } finally {
      await store.close();
    }
    const checked = await runCli(['dlq', 'replay', String(id), '--new-key', '--not-in-erp', '-c', path]);
    expect({ code: checked.code, stderr: checked.stderr }).toEqual({ code: 0, stderr: '' });
    expect(checked.stdout).toContain(`${id}: new idempotency key ${replayKeyFor(key, 1)} (was ${key})\n`);
    store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      const d = await store.getDelivery(id);
      expect(d).toMatchObject({ status: 'pending', idempotencyKey: replayKeyFor(key, 1) });
      expect(d?.mayHaveLanded).toBeUndefined();
      const [audit] = await store.queryAudit({ deliveryId: id, limit: 10 });
      expect(audit?.error).toContain('the operator checked that the ERP does not hold it');
    } finally {
      await store.close();
    }
  });

  it('re-keys the others of --all and keeps those that may have reached the ERP', async () => {
    const { path, ids } = await deadCounts(['PAL', 'BIN'], ['PAL']);
    const [pal, bin, order] = ids as [number, number, number];
    const r = await runCli(['dlq', 'replay', '--all', '--new-key', '-c', path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${bin}: new idempotency key `);
    expect(r.stdout).toContain(`${order}: new idempotency key `);
    expect(r.stdout).toContain('2 dead letter(s) queued again');
    expect(r.stderr).toContain(`kept as dead letters, keys unchanged: ${pal} may have reached the ERP`);
    expect(await deadListed(path)).toEqual([pal]);
  });

  it('refuses --not-in-erp without --new-key, and --new-key with --payload, changing nothing', async () => {
    const { path, dir, id, key } = await storeWithDeadLetter();
    const alone = await runCli(['dlq', 'replay', String(id), '--not-in-erp', '-c', path]);
    expect({ code: alone.code, stderr: alone.stderr }).toEqual({ code: 2, stderr: 'error: --not-in-erp goes with --new-key: it lets dead letters that may have reached the ERP take a new idempotency key\n' });
    const edited = join(dir, 'edited.json');
    writeFileSync(edited, '{"title": "engine hot"}');
    const both = await runCli(['dlq', 'replay', String(id), '--payload', edited, '--new-key', '-c', path]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--payload and --new-key: an edited payload gets a new idempotency key anyway');
    const help = await runCli(['dlq', 'replay', '--help']);
    expect(help.stdout).toContain('--new-key');
    expect(help.stdout).toContain('--not-in-erp');
    const store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      expect(await store.getDelivery(id)).toMatchObject({ status: 'dead', idempotencyKey: key });
    } finally {
      await store.close();
    }
  });
});

describe('assetbridge dlq replay of a create whose last request may still land', () => {
  const settleMs = 5 * 60_000;
  /** Work orders `keys` made dead letters, each by a request (audited) that ended at the time given; `landed`: got no answer. */
  async function deadOrders(ended: readonly { key: string; at: number; landed: boolean }[]): Promise<{ path: string; dir: string; ids: number[] }> {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', retry: { unknownOutcomeSettleMs: '5m' } }] });
    const store = new SqliteStore({ path: join(dir, 'ab.db') });
    const ids: number[] = [];
    try {
      const order = (key: string) => ({ destination: 'erp', operation: 'workorder.create', kind: 'fact' as const, businessKey: key, erpAssetId: 'EQ-1', eventTime: 1, payload: { title: key } });
      await store.commitIngest({ states: [], deliveries: ended.map((e) => order(e.key)), quarantine: [], accepted: ended.length });
      const claimed = await store.claimDue('erp', Date.now() + 1000, 10, new Set());
      for (const e of ended) {
        const d = claimed.find((c) => c.businessKey === e.key);
        if (!d) throw new Error(`${e.key} not claimed`);
        const error = e.landed ? 'POST /api/v1/work-orders → timeout: no response within 15000 ms (gave up after 1 attempt)' : 'POST /api/v1/work-orders → 422: invalid plant';
        const audit = { at: e.at, deliveryId: d.id, destination: 'erp', operation: 'workorder.create', erpAssetId: 'EQ-1', idempotencyKey: d.idempotencyKey, attempt: 1, method: 'POST', url: 'http://127.0.0.1:9/api/v1/work-orders', latencyMs: 15_000, outcome: 'dead', error };
        await store.completeAttempts([{ id: d.id, result: 'dead', error, ...(e.landed ? { mayHaveLanded: true as const } : {}) }], [audit], e.at);
        ids.push(d.id);
      }
    } finally {
      await store.close();
    }
    return { path, dir, ids };
  }
  const dueAt = async (dir: string, ids: readonly number[]): Promise<(number | undefined)[]> => {
    const store = new SqliteStore({ path: join(dir, 'ab.db') });
    try {
      return await Promise.all(ids.map(async (id) => (await store.getDelivery(id))?.nextAttemptAt));
    } finally {
      await store.close();
    }
  };

  // It was due at once: replayed moments after the timeout, the ERP could be creating the same work order twice at once.
  it('is sent no sooner than its last request ended + retry.unknownOutcomeSettleMs, and says when; the others at once', async () => {
    const now = Date.now();
    const { path, dir, ids } = await deadOrders([
      { key: 'WO-just-timed-out', at: now - 30_000, landed: true },
      { key: 'WO-refused', at: now - 30_000, landed: false },
      { key: 'WO-timed-out-long-ago', at: now - settleMs - 60_000, landed: true },
    ]);
    const [recent, refused, old] = ids as [number, number, number];
    const r = await runCli(['dlq', 'replay', '--all', '-c', path]);
    const until = new Date(now - 30_000 + settleMs).toISOString();
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toBe(
      "3 dead letter(s) queued again; no service is running on this store: they are sent when it starts ('assetbridge run'), 1 of them no sooner than the time below\n" +
        '1 wait until their last request can no longer land: a request of each got no answer or a 5xx, so the ERP may still be creating the record, and sent again before then it could be created twice:\n' +
        `  ${recent}  workorder.create WO-just-timed-out: sent no sooner than ${until} (its last request ended ${new Date(now - 30_000).toISOString()}; retry.unknownOutcomeSettleMs of erp: 5m)\n`,
    );
    const [recentDue, refusedDue, oldDue] = await dueAt(dir, [recent, refused, old]);
    expect(recentDue).toBe(now - 30_000 + settleMs);
    expect(refusedDue).toBeLessThanOrEqual(Date.now());
    expect(oldDue).toBeLessThanOrEqual(Date.now());
  });

  // The operator checked the ERP, but a request still on its way is not in it yet: under a new key it would be a second create.
  it('waits under --new-key --not-in-erp too', async () => {
    const now = Date.now();
    const { path, dir, ids } = await deadOrders([{ key: 'WO-1', at: now - 10_000, landed: true }]);
    const [id] = ids as [number];
    const r = await runCli(['dlq', 'replay', String(id), '--new-key', '--not-in-erp', '-c', path]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`: new idempotency key `);
    expect(r.stdout).toContain(`  ${id}  workorder.create WO-1: sent no sooner than ${new Date(now - 10_000 + settleMs).toISOString()}`);
    expect(await dueAt(dir, [id])).toEqual([now - 10_000 + settleMs]);
  });
});
