-- Documents that are only ever stored and returned whole (never queried by their contents) are
-- kept as text: jsonb would parse and re-encode each of them on every insert, which was the
-- largest share of database CPU per decision in the round-trip benchmark.
ALTER TABLE analysis_lines ALTER COLUMN declared TYPE text USING declared::text;
ALTER TABLE analysis_lines ALTER COLUMN attribution TYPE text USING attribution::text;
ALTER TABLE findings ALTER COLUMN attribution TYPE text USING attribution::text;
ALTER TABLE findings ALTER COLUMN suppression TYPE text USING suppression::text;
ALTER TABLE decisions ALTER COLUMN decision TYPE text USING decision::text;
ALTER TABLE bundles ALTER COLUMN envelope TYPE text USING envelope::text;
ALTER TABLE sarif_reports ALTER COLUMN sarif TYPE text USING sarif::text;
