-- The commit path's tables as in backend/src/storage/migrations.ts (without the foreign keys to
-- users/rooms/files, which these experiments do not exercise), one editor, and a sequence that
-- hands out versions and seqs.
CREATE TABLE room_participants (room_id uuid, user_id uuid, role text, PRIMARY KEY (room_id, user_id));
CREATE TABLE file_ops (file_id uuid NOT NULL, version integer NOT NULL, op jsonb NOT NULL, author uuid, client_id text NOT NULL, seq bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (file_id, version), UNIQUE (file_id, client_id, seq));
CREATE TABLE client_progress (file_id uuid NOT NULL, client_id text NOT NULL, last_seq bigint NOT NULL DEFAULT 0, last_version integer NOT NULL DEFAULT 0, fenced_seq bigint NOT NULL DEFAULT 0, PRIMARY KEY (file_id, client_id));
CREATE SEQUENCE v;
INSERT INTO room_participants VALUES ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002', 'editor');
