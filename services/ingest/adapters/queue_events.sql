-- The queue log's events, assembled and checked in DuckDB from the mapper's specs (queue_lane.py).
-- _specs: seq, line, type, cid, t (epoch seconds), tag, name (the one data field's name, or ''), value.
-- The JSON is what services.ingest.adapters.asterisk.event and orjson make, byte for byte, for specs whose
-- texts are plain (printable ASCII without a double quote or a backslash) and whose id needs no hash; the
-- rest, and any event the contract's rules refuse, leave their line to Python.
CREATE OR REPLACE TEMP TABLE _events AS
SELECT seq, line, type, encode(cid) AS key,
    'ast:' || cid || ':' || tag || ':' || CAST(t AS VARCHAR) || ':' || type AS id,
    t * 1000000 AS t_us, cid,
    CASE WHEN name = 'queue' THEN value END AS queue,
    CASE WHEN name = 'customer_ref' THEN value END AS customer_ref,
    CASE WHEN name = 'agent_ref' THEN value END AS agent_ref,
    CASE WHEN name = 'resolution' THEN value END AS resolution,
    regexp_full_match(cid, '[ !#-\[\]-~]+') AND regexp_full_match(tag, '[ !#-\[\]-~]+')
        AND (value IS NULL OR regexp_full_match(value, '[ !#-\[\]-~]*')) AS plain,
    value, name
FROM _specs;

-- the lines any of whose events is not the lane's
CREATE OR REPLACE TEMP TABLE _left AS
SELECT DISTINCT line FROM (SELECT *, '1.0' AS specversion, NULL::VARCHAR AS datacontenttype, $source AS source,
                                  $council AS council, 'phone' AS channel, NULL::VARCHAR AS service,
                                  NULL::VARCHAR AS site, NULL::VARCHAR AS rating, t_us AS t, cid AS subject,
                                  cid AS contact_id FROM _events)
WHERE NOT (plain AND strlen(id) <= {max_id} AND ({contract_fields}));

CREATE OR REPLACE TEMP TABLE _out AS
SELECT seq, line, type, key,
    '{{"specversion":"1.0","id":"' || id || '","source":' || $source_json || ',"type":"' || type
    || '","time":"' || strftime(make_timestamp(t_us), '%Y-%m-%dT%H:%M:%S') || '.000Z","subject":"' || cid
    || '","data":{{"contact_id":"' || cid || '","council":' || $council_json || ',"channel":"phone"'
    || coalesce(',"' || name || '":"' || value || '"', '') || '}}}}' || chr(10) AS json
FROM _events ANTI JOIN _left USING (line);
