-- 10 op(s) in one statement (multi-row CTE): group commit in one round trip.
WITH ok AS (SELECT 1 FROM room_participants WHERE room_id = '00000000-0000-0000-0000-000000000001' AND user_id = '00000000-0000-0000-0000-000000000002' AND role IN ('owner','editor')),
src(file_id, version, op, author, client_id, seq) AS (VALUES ('00000000-0000-0000-0000-00000000000f'::uuid, nextval('v')::int, '[1000,"x",1000]'::jsonb, '00000000-0000-0000-0000-000000000002'::uuid, 'client0', nextval('v')),
('00000000-0000-0000-0000-00000000000f'::uuid, nextval('v')::int, '[1000,"x",1000]'::jsonb, '00000000-0000-0000-0000-000000000002'::uuid, 'client1', nextval('v')),
('00000000-0000-0000-0000-00000000000f'::uuid, nextval('v')::int, '[1000,"x",1000]'::jsonb, '00000000-0000-0000-0000-000000000002'::uuid, 'client2', nextval('v')),
('00000000-0000-0000-0000-00000000000f'::uuid, nextval('v')::int, '[1000,"x",1000]'::jsonb, '00000000-0000-0000-0000-000000000002'::uuid, 'client3', nextval('v')),
('00000000-0000-0000-0000-00000000000f'::uuid, nextval('v')::int, '[1000,"x",1000]'::jsonb, '00000000-0000-0000-0000-000000000002'::uuid, 'client4', nextval('v')),
('00000000-0000-0000-0000-00000000000f'::uuid, nextval('v')::int, '[1000,"x",1000]'::jsonb, '00000000-0000-0000-0000-000000000002'::uuid, 'client5', nextval('v')),
('00000000-0000-0000-0000-00000000000f'::uuid, nextval('v')::int, '[1000,"x",1000]'::jsonb, '00000000-0000-0000-0000-000000000002'::uuid, 'client6', nextval('v')),
('00000000-0000-0000-0000-00000000000f'::uuid, nextval('v')::int, '[1000,"x",1000]'::jsonb, '00000000-0000-0000-0000-000000000002'::uuid, 'client7', nextval('v')),
('00000000-0000-0000-0000-00000000000f'::uuid, nextval('v')::int, '[1000,"x",1000]'::jsonb, '00000000-0000-0000-0000-000000000002'::uuid, 'client8', nextval('v')),
('00000000-0000-0000-0000-00000000000f'::uuid, nextval('v')::int, '[1000,"x",1000]'::jsonb, '00000000-0000-0000-0000-000000000002'::uuid, 'client9', nextval('v'))),
ins AS (INSERT INTO file_ops (file_id, version, op, author, client_id, seq) SELECT s.* FROM src s, ok RETURNING file_id, client_id, version, seq, created_at)
INSERT INTO client_progress (file_id, client_id, last_seq, last_version) SELECT file_id, client_id, seq, version FROM ins ON CONFLICT (file_id, client_id) DO UPDATE SET last_seq = EXCLUDED.last_seq, last_version = EXCLUDED.last_version WHERE client_progress.last_seq < EXCLUDED.last_seq RETURNING last_version;
