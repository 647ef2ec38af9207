-- When the client says it made a version (X-Coffer-Made-At), beside
-- created_at, when the server stored it. A backup that waited in a client's
-- spool is made long before it is stored. Informational only, on the client's
-- clock: retention and every other rule keep to created_at. NULL when the
-- client did not say.
ALTER TABLE versions ADD COLUMN made_at timestamptz;
