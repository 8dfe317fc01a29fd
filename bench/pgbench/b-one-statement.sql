-- The same work as one statement: role check, insert, conditional progress upsert (no FOR UPDATE).
\set c random(1, 50)
WITH ok AS (SELECT 1 FROM room_participants WHERE room_id = '00000000-0000-0000-0000-000000000001' AND user_id = '00000000-0000-0000-0000-000000000002' AND role IN ('owner','editor')),
ins AS (INSERT INTO file_ops (file_id, version, op, author, client_id, seq) SELECT '00000000-0000-0000-0000-00000000000f', nextval('v'), '[1000,"x",1000]', '00000000-0000-0000-0000-000000000002', 'client' || :c, nextval('v') FROM ok RETURNING version, seq, created_at)
INSERT INTO client_progress (file_id, client_id, last_seq, last_version) SELECT '00000000-0000-0000-0000-00000000000f', 'client' || :c, seq, version FROM ins ON CONFLICT (file_id, client_id) DO UPDATE SET last_seq = EXCLUDED.last_seq, last_version = EXCLUDED.last_version WHERE client_progress.last_seq < EXCLUDED.last_seq RETURNING last_version;
