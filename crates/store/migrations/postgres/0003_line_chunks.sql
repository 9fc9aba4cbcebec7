-- Changed lines are kept in chunks of 1000, one JSON array of lines per row (see
-- src/line_chunks.rs): one row per line made every submission and every completed analysis write
-- hundreds of rows, index entries and foreign-key checks, which was most of the database time per
-- decision in the round-trip benchmark. Line `seq` lives in chunk `seq / 1000` at index
-- `seq % 1000`. Mirrors migrations/sqlite/0003 (plus the choice of compression, at the end).

CREATE TABLE analysis_line_chunks (
    analysis_id text   NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    chunk       bigint NOT NULL,  -- lines chunk*1000 … chunk*1000+999 in submission order
    lines       text   NOT NULL,  -- JSON array of ChangedLine
    PRIMARY KEY (analysis_id, chunk)
);

-- The stored lines, in the JSON form of ChangedLine (absent optional fields omitted).
INSERT INTO analysis_line_chunks (analysis_id, chunk, lines)
SELECT analysis_id, seq / 1000,
       json_agg(json_strip_nulls(json_build_object(
           'file_path', file_path, 'line_number', line_number, 'change_type', change_type,
           'content', content, 'language', language, 'author_identity', author_identity,
           'declared', declared::json, 'content_sha256', content_sha256,
           'attestation_signature', attestation_signature, 'attribution', attribution::json
       )) ORDER BY seq)::text
FROM analysis_lines
GROUP BY analysis_id, seq / 1000;

DROP TABLE analysis_lines;

-- Large documents (line chunks, SARIF, bundles, decisions) are compressed when stored out of
-- line; PostgreSQL's default, pglz, was a sixth of the database's CPU time in the round-trip
-- benchmark, and lz4 compresses several times faster. Servers built without lz4 keep pglz.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE analysis_line_chunks ALTER COLUMN lines SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE sarif_reports ALTER COLUMN sarif SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE bundles ALTER COLUMN envelope SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE decisions ALTER COLUMN decision SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE analysis_files ALTER COLUMN content SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4; large documents stay pglz-compressed';
END
$$;
