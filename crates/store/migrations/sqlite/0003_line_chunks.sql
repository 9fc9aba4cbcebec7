-- Changed lines are kept in chunks of 1000, one JSON array of lines per row (see
-- src/line_chunks.rs): one row per line made every submission and every completed analysis write
-- hundreds of rows. Line `seq` lives in chunk `seq / 1000` at index `seq % 1000`.

CREATE TABLE analysis_line_chunks (
    analysis_id TEXT    NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    chunk       INTEGER NOT NULL, -- lines chunk*1000 … chunk*1000+999 in submission order
    lines       TEXT    NOT NULL, -- JSON array of ChangedLine
    PRIMARY KEY (analysis_id, chunk)
) STRICT;

-- The stored lines, in the JSON form of ChangedLine (absent optional fields as null, which
-- reads back the same).
INSERT INTO analysis_line_chunks (analysis_id, chunk, lines)
SELECT analysis_id, seq / 1000,
       json_group_array(json_object(
           'file_path', file_path, 'line_number', line_number, 'change_type', change_type,
           'content', content, 'language', language, 'author_identity', author_identity,
           'declared', json(declared), 'content_sha256', content_sha256,
           'attestation_signature', attestation_signature, 'attribution', json(attribution)
       ) ORDER BY seq)
FROM analysis_lines
GROUP BY analysis_id, seq / 1000;

DROP TABLE analysis_lines;
