-- Today's commit transaction (backend/src/storage/ops-repo.ts `commit`): 7 round trips.
\set c random(1, 50)
BEGIN;
SELECT last_seq, last_version, fenced_seq FROM client_progress WHERE file_id = '00000000-0000-0000-0000-00000000000f' AND client_id = 'client' || :c FOR UPDATE;
SELECT role FROM room_participants WHERE room_id = '00000000-0000-0000-0000-000000000001' AND user_id = '00000000-0000-0000-0000-000000000002';
SELECT version, op FROM file_ops WHERE file_id = '00000000-0000-0000-0000-00000000000f' AND version > 2000000000 ORDER BY version LIMIT 1000;
INSERT INTO file_ops (file_id, version, op, author, client_id, seq) VALUES ('00000000-0000-0000-0000-00000000000f', nextval('v'), '[1000,"x",1000]', '00000000-0000-0000-0000-000000000002', 'client' || :c, nextval('v')) RETURNING created_at;
INSERT INTO client_progress (file_id, client_id, last_seq, last_version) VALUES ('00000000-0000-0000-0000-00000000000f', 'client' || :c, currval('v'), currval('v')) ON CONFLICT (file_id, client_id) DO UPDATE SET last_seq = EXCLUDED.last_seq, last_version = EXCLUDED.last_version;
COMMIT;
