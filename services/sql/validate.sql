-- Contract v1 (EVENTS.md) as a set-based fast lane for replay. A line is accepted here only when it is
-- valid in the contract's plainest form: no \u escapes, no backslash in a field we read, no duplicate
-- keys, time as YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+hh:mm). Every other line goes to the pydantic models
-- (schemas/), which accept it or name its reason, so this file never decides a rejection. Accepting must
-- imply that pydantic accepts with the same values: tests/unit/test_sql_validation.py checks it on
-- thousands of mutated lines.
-- Two statements: the macro, then the query over _chunk(seq BIGINT, line VARCHAR). Parameter: {now_us}.
CREATE OR REPLACE TEMP MACRO _plain_string(x) AS CASE WHEN starts_with(x, '"') AND NOT contains(x, '\') THEN trim(x, '"') END;
WITH parsed AS (
    SELECT seq, json_keys(line) AS keys, json_keys(line, '$.data') AS data_keys,
        unnest(from_json(line, '{{"specversion": "JSON", "id": "JSON", "source": "JSON", "type": "JSON",
            "time": "JSON", "subject": "JSON", "datacontenttype": "JSON", "data": {{"contact_id": "JSON",
            "council": "JSON", "channel": "JSON", "service": "JSON", "queue": "JSON", "site": "JSON",
            "customer_ref": "JSON", "agent_ref": "JSON", "resolution": "JSON", "rating": "JSON"}}}}'),
            recursive := true)
    FROM _chunk
    -- DuckDB's JSON reader is laxer than the contract's (trailing commas, NaN); such lines go to pydantic
    WHERE json_valid(line) AND NOT regexp_matches(line, '\\u|,\s*[\]}}]|[:\[,]\s*[-+]?(?i:nan|inf)')
), fields AS MATERIALIZED (
    -- a JSON string with no escape is its text between the quotes; anything else is NULL here
    SELECT seq, specversion = '"1.0"' AS specversion_ok, rating AS rating_json,
        subject IS NULL AS no_subject, datacontenttype IS NULL OR datacontenttype = '"application/json"' AS dct_ok,
        channel IS NULL AS no_channel, service IS NULL AS no_service, queue IS NULL AS no_queue,
        site IS NULL AS no_site, customer_ref IS NULL AS no_customer_ref, agent_ref IS NULL AS no_agent_ref,
        len(keys) = len(list_distinct(keys)) AND len(data_keys) = len(list_distinct(data_keys)) AS unique_keys,
        _plain_string(id) AS id, _plain_string(source) AS source, _plain_string(type) AS type,
        _plain_string(time) AS time, _plain_string(subject) AS subject,
        _plain_string(contact_id) AS contact_id, _plain_string(council) AS council,
        _plain_string(channel) AS channel, _plain_string(service) AS service,
        _plain_string(queue) AS queue, _plain_string(site) AS site,
        _plain_string(customer_ref) AS customer_ref, _plain_string(agent_ref) AS agent_ref,
        _plain_string(resolution) AS resolution
    FROM parsed
), timed AS (
    SELECT *, epoch_us(try_cast(time AS TIMESTAMPTZ)) AS t FROM fields
    WHERE regexp_full_match(time, '\d{{4}}-\d\d-\d\dT([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{{1,6}})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)')
)
SELECT seq, id, type, t, council, contact_id, source, channel, service, queue, site, customer_ref, agent_ref,
    CASE WHEN type = 'contact.wrapped_up' THEN resolution END AS resolution,
    CASE WHEN type = 'contact.surveyed' THEN CAST(rating_json AS INTEGER) END AS rating
FROM timed
WHERE unique_keys
  AND specversion_ok AND dct_ok
  AND strlen(id) BETWEEN 1 AND 128
  AND strlen(source) >= 1
  AND type IN ('contact.started', 'contact.queued', 'contact.answered', 'contact.hold_started',
               'contact.hold_ended', 'contact.transferred', 'contact.ended', 'contact.wrapped_up', 'contact.surveyed')
  AND t BETWEEN 946684800000000 AND {now_us} + 299000000
  AND (no_subject OR subject = contact_id)
  AND strlen(contact_id) BETWEEN 1 AND 128
  AND regexp_full_match(council, '[a-z0-9-]{{2,40}}')
  AND (no_channel OR channel IN ('phone', 'webchat', 'chatbot', 'email', 'web', 'face_to_face', 'video', 'social'))
  AND (channel IS NOT NULL OR type NOT IN ('contact.started', 'contact.queued'))
  AND (no_service OR regexp_full_match(service, '[a-z0-9][a-z0-9_-]{{0,63}}'))
  AND (no_queue OR regexp_full_match(queue, '[a-z0-9][a-z0-9_-]{{0,63}}'))
  AND (queue IS NOT NULL OR type NOT IN ('contact.queued', 'contact.transferred'))
  AND (no_site OR regexp_full_match(site, '[a-z0-9][a-z0-9_-]{{0,63}}'))
  AND (no_customer_ref OR (strlen(customer_ref) BETWEEN 16 AND 128
       AND regexp_full_match(customer_ref, '[0-9_-]*[A-Za-z][A-Za-z0-9_-]*')))
  AND (no_agent_ref OR strlen(agent_ref) <= 128)
  AND (type <> 'contact.wrapped_up' OR resolution IN ('resolved', 'referred', 'callback', 'escalated', 'unresolved'))
  AND (type <> 'contact.surveyed' OR rating_json IN ('1', '2', '3', '4', '5'))
