-- Ten ops with today's statements, batched in one transaction (group commit).
BEGIN;
SELECT client_id, last_seq, last_version, fenced_seq FROM client_progress WHERE file_id = '00000000-0000-0000-0000-00000000000f' AND client_id = ANY(ARRAY['client0','client1','client2','client3','client4','client5','client6','client7','client8','client9']) FOR UPDATE;
SELECT role FROM room_participants WHERE room_id = '00000000-0000-0000-0000-000000000001' AND user_id = '00000000-0000-0000-0000-000000000002';
INSERT INTO file_ops (file_id, version, op, author, client_id, seq) VALUES ('00000000-0000-0000-0000-00000000000f', nextval('v'), '[1000,"x",1000]', '00000000-0000-0000-0000-000000000002', 'client0', nextval('v')),
('00000000-0000-0000-0000-00000000000f', nextval('v'), '[1000,"x",1000]', '00000000-0000-0000-0000-000000000002', 'client1', nextval('v')),
('00000000-0000-0000-0000-00000000000f', nextval('v'), '[1000,"x",1000]', '00000000-0000-0000-0000-000000000002', 'client2', nextval('v')),
('00000000-0000-0000-0000-00000000000f', nextval('v'), '[1000,"x",1000]', '00000000-0000-0000-0000-000000000002', 'client3', nextval('v')),
('00000000-0000-0000-0000-00000000000f', nextval('v'), '[1000,"x",1000]', '00000000-0000-0000-0000-000000000002', 'client4', nextval('v')),
('00000000-0000-0000-0000-00000000000f', nextval('v'), '[1000,"x",1000]', '00000000-0000-0000-0000-000000000002', 'client5', nextval('v')),
('00000000-0000-0000-0000-00000000000f', nextval('v'), '[1000,"x",1000]', '00000000-0000-0000-0000-000000000002', 'client6', nextval('v')),
('00000000-0000-0000-0000-00000000000f', nextval('v'), '[1000,"x",1000]', '00000000-0000-0000-0000-000000000002', 'client7', nextval('v')),
('00000000-0000-0000-0000-00000000000f', nextval('v'), '[1000,"x",1000]', '00000000-0000-0000-0000-000000000002', 'client8', nextval('v')),
('00000000-0000-0000-0000-00000000000f', nextval('v'), '[1000,"x",1000]', '00000000-0000-0000-0000-000000000002', 'client9', nextval('v')) RETURNING created_at;
INSERT INTO client_progress (file_id, client_id, last_seq, last_version) VALUES ('00000000-0000-0000-0000-00000000000f', 'client0', currval('v'), currval('v')),
('00000000-0000-0000-0000-00000000000f', 'client1', currval('v'), currval('v')),
('00000000-0000-0000-0000-00000000000f', 'client2', currval('v'), currval('v')),
('00000000-0000-0000-0000-00000000000f', 'client3', currval('v'), currval('v')),
('00000000-0000-0000-0000-00000000000f', 'client4', currval('v'), currval('v')),
('00000000-0000-0000-0000-00000000000f', 'client5', currval('v'), currval('v')),
('00000000-0000-0000-0000-00000000000f', 'client6', currval('v'), currval('v')),
('00000000-0000-0000-0000-00000000000f', 'client7', currval('v'), currval('v')),
('00000000-0000-0000-0000-00000000000f', 'client8', currval('v'), currval('v')),
('00000000-0000-0000-0000-00000000000f', 'client9', currval('v'), currval('v')) ON CONFLICT (file_id, client_id) DO UPDATE SET last_seq = EXCLUDED.last_seq, last_version = EXCLUDED.last_version;
COMMIT;
