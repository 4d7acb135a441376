-- Contract v1 (EVENTS.md) as a set-based fast lane for replay. A line is accepted here only when it is
-- valid in the contract's plainest form: no backslash anywhere (so no escapes: a JSON string is its text
-- between the quotes), no key twice, the contract's fields strings or null, except data (an object) and
-- rating (a digit 1-5), time as YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+hh:mm).
-- Every other line goes to the pydantic models (schemas/), which accept it or name its reason, so this
-- file never decides a rejection. Accepting must imply that pydantic accepts with the same values:
-- tests/integration/test_sql_validation.py checks it on thousands of mutated lines.
-- One query over _chunk(seq BIGINT, line VARCHAR). Parameters: now_us, and the contract's literals (enums,
-- patterns, time bounds) and the event's fields, formatted in from schemas/ by services/store/lane.py. Run it with DuckDB's filter
-- pushdown off (services/store/lane.filter_pushdown_off): the optimizer would otherwise move the later tests below
-- the parse (so parsing twice) and run the guarded duplicate-key test on every line (3 to 5 times slower).
WITH fields AS (
    -- the cheap tests on the raw text first, then one parse. DuckDB's JSON reader is laxer than the
    -- contract's: trailing commas go to pydantic here; NaN and Infinity cannot pass the type checks
    SELECT seq, line, len(json_keys(line)) AS n_keys, len(json_keys(line, '$.data')) AS n_data_keys,
        unnest(from_json(line, '{{"specversion": "VARCHAR", "id": "VARCHAR", "source": "VARCHAR",
            "type": "VARCHAR", "time": "VARCHAR", "subject": "VARCHAR", "datacontenttype": "VARCHAR",
            "data": {{"contact_id": "VARCHAR", "council": "VARCHAR", "channel": "VARCHAR", "service": "VARCHAR",
            "queue": "VARCHAR", "site": "VARCHAR", "customer_ref": "VARCHAR", "agent_ref": "VARCHAR",
            "resolution": "VARCHAR", "rating": "VARCHAR"}}}}'), recursive := true)
    FROM _chunk
    WHERE json_valid(line) AND NOT contains(line, '\') AND NOT regexp_matches(line, ',\s*[\]}}]')
      -- a contract key, at any depth, whose value is neither a string nor null (a number, object, array,
      -- true or false, or NaN); rating is the one number, a digit 1-5. A null reads as SQL NULL: as if absent
      AND NOT regexp_matches(line, '"(specversion|id|source|type|time|subject|datacontenttype|contact_id|council|channel|service|queue|site|customer_ref|agent_ref|resolution)"\s*:\s*(?:[^"n\s]|n[^u])|"rating"\s*:\s*(?:[^1-5n\s]|n[^u])')
), counted AS (
    -- keys beyond the contract fields found: extension attributes, unknown or another type's fields, a
    -- repeated key
    SELECT *,
    n_keys - 1 - (specversion IS NOT NULL)::INT - (id IS NOT NULL)::INT - (source IS NOT NULL)::INT
        - (type IS NOT NULL)::INT - (time IS NOT NULL)::INT - (subject IS NOT NULL)::INT
        - (datacontenttype IS NOT NULL)::INT AS extra_keys,
    n_data_keys - 2 - (channel IS NOT NULL)::INT - (service IS NOT NULL)::INT - (queue IS NOT NULL)::INT
        - (site IS NOT NULL)::INT - (customer_ref IS NOT NULL)::INT - (agent_ref IS NOT NULL)::INT
        - (resolution IS NOT NULL)::INT - (rating IS NOT NULL)::INT AS extra_data_keys
    FROM fields
), checked AS (
    SELECT *, epoch_us(try_cast(time AS TIMESTAMPTZ)) AS t FROM counted
    WHERE contact_id IS NOT NULL AND council IS NOT NULL  -- so data is an object
      -- DuckDB reads a repeated key's first value and pydantic its last, so no key may repeat: with extra
      -- keys, the line's keys are read again
      AND CASE WHEN extra_keys = 0 AND extra_data_keys = 0 THEN true
               ELSE len(json_keys(line)) = len(list_distinct(json_keys(line)))
                    AND len(json_keys(line, '$.data')) = len(list_distinct(json_keys(line, '$.data'))) END
      AND regexp_full_match(time, '{time_pattern}')
)
SELECT seq, {event_fields} FROM (
SELECT * REPLACE (CASE WHEN type = '{wrapped_up}' THEN resolution END AS resolution,
                  CASE WHEN type = '{surveyed}' THEN CAST(rating AS INTEGER) END AS rating)
FROM checked
WHERE {contract_fields}
)
