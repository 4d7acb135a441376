-- First-contact resolution (METRICS.md section 2), set-based, for bulk replay and the consumer: every
-- contact of each group a batch touched (the groups in _facts, and _old_groups: touched contacts' groups
-- before the batch) is judged again. The same rule as pipelines/fcr.py (incremental replay's judge);
-- tests/integration/test_bulk_replay.py and test_streaming.py keep their contact_fcr equal.
-- Parameters: {window_us}, {eligible_outcomes}.
MERGE INTO fcr_verdicts USING (
WITH g AS (
    SELECT council, customer_ref, service FROM _facts WHERE customer_ref IS NOT NULL AND service IS NOT NULL
    UNION SELECT council, customer_ref, service FROM _old_groups
), members AS (
    SELECT c.council, c.contact_id, c.outcome IN {eligible_outcomes} AS eligible, c.resolution,
        -- another contact of the group, not a short abandon, started in (started_at, started_at + W]
        count(*) FILTER (WHERE NOT c.short_abandon) OVER (
            PARTITION BY c.council, c.customer_ref, c.service ORDER BY epoch_us(c.started_at)
            RANGE BETWEEN 1 FOLLOWING AND {window_us} FOLLOWING) > 0 AS has_repeat
    FROM contacts c JOIN g USING (council, customer_ref, service)
)
SELECT council, contact_id, eligible, CASE WHEN eligible THEN has_repeat END,
    CASE WHEN eligible THEN NOT has_repeat AND coalesce(resolution, 'resolved') = 'resolved' END
FROM members
UNION ALL
SELECT council, contact_id, false, NULL, NULL FROM _facts WHERE customer_ref IS NULL OR service IS NULL
) s (council, contact_id, fcr_eligible, has_repeat, first_contact_resolved) USING (council, contact_id)
WHEN MATCHED THEN UPDATE WHEN NOT MATCHED THEN INSERT
