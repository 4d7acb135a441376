-- The CSV adapter's SQL lane (table_lane.py): a block of plain lines (_rows: line, text; one record
-- each, no double quote) as contract events, in the order and JSON that Table._events
-- (services/ingest/adapters/table.py) gives them. The values the mapping decides (outcome, channel,
-- slugs, customer_ref, resolution) are Table's own, for each distinct cell (the _d_* tables); this file
-- splits and strips cells, reads times and durations, and assembles. A row it is not sure of is left out
-- of _plain, and table_lane.py gives it to Table.row. The per-column expressions are written out by
-- table_lane.lane_sql; $delimiter, $source and $council (and their JSON) and the constants ($k_<name>)
-- are bound.

-- the cells by contract name, as Table.cells has them; a row whose cells are all blank is no record. A
-- line with whitespace other than spaces (tabs, no-break spaces...) goes to Python, so that trimming
-- spaces is stripping as str.strip does
CREATE OR REPLACE TEMP TABLE _cells AS
SELECT line, len(parts) AS width, other_space, {cells}
FROM (SELECT line, string_split(body, $delimiter) AS parts, regexp_matches(body, '{other_space}') AS other_space
      FROM (SELECT line, rtrim(text, chr(13) || chr(10)) AS body FROM _rows)
      WHERE other_space OR trim(replace(body, $delimiter, '')) <> '');

CREATE OR REPLACE TEMP TABLE _read AS
SELECT line, c_contact_id AS cid, c_agent AS agent, {decided},
    {naive_times},
    {bad_times},
    {durations}
FROM _cells {decided_joins}
WHERE width >= {width} AND NOT other_space;

-- the local hours the rows' times fall in, for table_lane.py to give their one UTC offset (_offsets)
CREATE OR REPLACE TEMP TABLE _hours AS
SELECT DISTINCT h FROM (SELECT unnest([{hour_list}]) AS h FROM _read) WHERE h IS NOT NULL;

-- the plain rows with their times in UTC (microseconds) and their events' times
CREATE OR REPLACE TEMP TABLE _plain AS
WITH utc AS (
    SELECT r.*, {utc_times}
    FROM _read r {offset_joins}
), sure AS (
    SELECT * FROM utc
    WHERE cid <> '' AND strlen(cid) <= {max_cid} AND outcome <> '' AND u_started IS NOT NULL
      AND NOT ({any_bad}) AND {all_offsets} AND {all_durations}
), queued AS (
    SELECT *, CASE WHEN outcome <> 'self_served' THEN coalesce(u_queued, u_started) END AS at_q FROM sure
), answered AS (
    SELECT *, CASE WHEN outcome = 'answered' THEN coalesce(u_answered, at_q + queue_us) END AS at_a FROM queued
), ended AS (
    SELECT *, coalesce(u_ended, CASE outcome WHEN 'answered' THEN at_a + talk_us + hold_us
                                             WHEN 'abandoned' THEN at_q + queue_us ELSE u_started END) AS at_e
    FROM answered
)
SELECT *, coalesce(u_wrapped, CASE WHEN wrap_us <> 0 THEN at_e + wrap_us END) AS at_w FROM ended;

-- each plain row's events, in Table._events' order, with their fields as columns for the contract's
-- rules (contract_fields.sql) and their JSON; seq (line and order) numbers them. The JSON is built from
-- to_json of every text, so it is well formed by construction (table_lane.py checks json_valid too).
-- A row's subject and data fields are written once and shared by its events.
CREATE OR REPLACE TEMP TABLE _events AS
WITH rows AS (
    SELECT *, to_json(cid) AS cid_json,
        ',"subject":' || to_json(cid) || ',"data":{{"contact_id":' || to_json(cid) || ',"council":'
        || $council_json || coalesce(',"channel":' || to_json(channel), '')
        || coalesce(',"service":' || to_json(service), '') || coalesce(',"site":' || to_json(site), '') AS data_json
    FROM _plain
), e AS (
    SELECT line, cid, cid_json, data_json, channel, service, site, unnest(list_filter([
        {{'o': 0, 'type': 'contact.started', 'at': u_started, 'queue': NULL::VARCHAR, 'customer_ref': ref,
          'agent_ref': NULL::VARCHAR, 'resolution': NULL::VARCHAR}},
        CASE WHEN at_q IS NOT NULL THEN {{'o': 1, 'type': 'contact.queued', 'at': at_q, 'queue': queue,
          'customer_ref': NULL, 'agent_ref': NULL, 'resolution': NULL}} END,
        CASE WHEN at_a IS NOT NULL THEN {{'o': 2, 'type': 'contact.answered', 'at': at_a, 'queue': NULL,
          'customer_ref': NULL, 'agent_ref': nullif(agent, ''), 'resolution': NULL}} END,
        CASE WHEN at_a IS NOT NULL AND hold_us > 0 THEN {{'o': 3, 'type': 'contact.hold_started', 'at': at_a,
          'queue': NULL, 'customer_ref': NULL, 'agent_ref': NULL, 'resolution': NULL}} END,
        CASE WHEN at_a IS NOT NULL AND hold_us > 0 THEN {{'o': 4, 'type': 'contact.hold_ended',
          'at': at_a + hold_us, 'queue': NULL, 'customer_ref': NULL, 'agent_ref': NULL, 'resolution': NULL}} END,
        {{'o': 5, 'type': 'contact.ended', 'at': at_e, 'queue': NULL, 'customer_ref': NULL, 'agent_ref': NULL,
          'resolution': NULL}},
        CASE WHEN at_w IS NOT NULL THEN {{'o': 6, 'type': 'contact.wrapped_up', 'at': at_w, 'queue': NULL,
          'customer_ref': NULL, 'agent_ref': NULL, 'resolution': resolution}} END
    ], lambda x: x IS NOT NULL)) AS ev
    FROM rows
)
SELECT line * 8 + ev.o AS seq, line, encode(cid) AS key,
    -- "row:<id>:<type>" as JSON: the id's JSON without its closing quote, then the type (plain ASCII)
    '{{"specversion":"1.0","id":"row:' || cid_json[2:-2] || ':' || ev.type || '","source":' || $source_json
    || ',"type":"' || ev.type || '","time":"' || strftime(make_timestamp(ev.at), '%Y-%m-%dT%H:%M:%S.%gZ') || '"'
    || data_json || coalesce(',"customer_ref":' || to_json(ev.customer_ref), '')
    || coalesce(',"queue":' || to_json(ev.queue), '') || coalesce(',"agent_ref":' || to_json(ev.agent_ref), '')
    || coalesce(',"resolution":' || to_json(ev.resolution), '') || '}}}}' AS line_json,
    'row:' || cid || ':' || ev.type AS id, ev.type AS type, ev.at AS t, cid AS subject, cid AS contact_id,
    channel, service, site, ev.queue AS queue, ev.customer_ref AS customer_ref, ev.agent_ref AS agent_ref,
    ev.resolution AS resolution
FROM e;

-- the events the contract accepts, by its rules for their fields; as in validate.sql, only in the plain
-- form: a text that needed an escape (a backslash, a control character) is Python's to judge
CREATE OR REPLACE TEMP TABLE _accepted AS
SELECT seq FROM (SELECT *, '1.0' AS specversion, NULL::VARCHAR AS datacontenttype, $source AS source,
                        $council AS council, NULL::VARCHAR AS rating FROM _events)
WHERE NOT contains(line_json, '\') AND json_valid(line_json) AND ({contract_fields});
