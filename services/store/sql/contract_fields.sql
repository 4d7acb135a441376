-- The contract's rules for an event's fields (EVENTS.md), as one SQL condition over the columns
-- specversion, datacontenttype, id, source, type, t (the time, epoch microseconds), subject, contact_id,
-- council, channel, service, queue, site, customer_ref, agent_ref, resolution and rating (VARCHAR; NULL
-- for absent). True only when pydantic accepts those values too (stricter where that is simpler:
-- lengths in bytes). Used by validate.sql, after it has parsed a line. The literals are formatted in
-- from schemas/ by services/store/lane.py.
specversion = '{specversion}' AND (datacontenttype IS NULL OR datacontenttype = 'application/json')
  AND strlen(id) BETWEEN 1 AND 128
  AND strlen(source) >= 1
  AND type IN {types}
  AND t BETWEEN {earliest_us} AND {now_us} + {ahead_us}
  AND (subject IS NULL OR subject = contact_id)
  AND strlen(contact_id) BETWEEN 1 AND 128
  AND regexp_full_match(council, '{council_pattern}')
  AND (channel IS NULL OR channel IN {channels})
  AND (channel IS NOT NULL OR type NOT IN {needs_channel})
  AND (service IS NULL OR regexp_full_match(service, '{slug_pattern}'))
  AND (queue IS NULL OR regexp_full_match(queue, '{slug_pattern}'))
  AND (queue IS NOT NULL OR type NOT IN {needs_queue})
  AND (site IS NULL OR regexp_full_match(site, '{slug_pattern}'))
  AND (customer_ref IS NULL OR (strlen(customer_ref) BETWEEN 16 AND 128
       AND regexp_full_match(customer_ref, '{customer_ref_pattern}')))
  AND (agent_ref IS NULL OR strlen(agent_ref) <= 128)
  AND (type <> '{wrapped_up}' OR resolution IN {resolutions})
  -- stricter than the contract (which ignores a rating on another type): a rating here is always 1-5
  AND (rating IS NULL OR rating IN ('1', '2', '3', '4', '5'))
  AND (type <> '{surveyed}' OR rating IS NOT NULL)
