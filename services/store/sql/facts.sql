-- The facts of METRICS.md section 1, set-based, for the contacts in _affected, from their new events
-- (_new, not yet in contact_events) and those stored before. The same definitions as pipelines/facts.py (the incremental path); a test keeps them equal.
-- Each interval (waiting, served, on hold) is open after a relevant event exactly when that event is
-- an opener, because opening an open interval and closing a closed one are ignored. So an interval
-- starts at an opener whose previous relevant event was not one, and ends at a closer whose previous
-- relevant event was an opener; one still open at the end closes at the last activity.
-- Parameters: {sl_values} (channel, seconds) rows; {short_abandon_seconds}; from services/store/schema.py,
-- {event_fields}, {stored_event_fields} (the event columns) and {lifecycle_rank} (a CASE on type).
WITH affected AS (
    -- a number per contact: the windows below partition by it (sorting numbers, not two strings)
    SELECT council, contact_id, row_number() OVER () AS cid FROM _affected
), stored AS (
    -- a contact seen before has a contacts row; a load into an empty database reads nothing here
    SELECT {stored_event_fields}
    FROM contact_events JOIN (SELECT council, contact_id FROM _affected SEMI JOIN contacts USING (council, contact_id))
        USING (council, contact_id)
), ev AS (
    SELECT a.cid, e.* EXCLUDE (source), {lifecycle_rank} AS rank,
           CASE WHEN e.type IN ('contact.queued', 'contact.transferred') THEN 1
                WHEN e.type IN ('contact.answered', 'contact.ended') THEN 0 END AS w_open,
           CASE WHEN e.type = 'contact.answered' THEN 1
                WHEN e.type IN ('contact.transferred', 'contact.ended') THEN 0 END AS s_open
    FROM (SELECT {event_fields} FROM _new UNION ALL SELECT * FROM stored) e
        JOIN affected a USING (council, contact_id)
), marked AS (
    -- one sort: every window here shares the contact's event order (time, lifecycle, id)
    SELECT *,
        row_number() OVER (w) AS seq,
        -- served now: the latest served-relevant event so far was an answer
        last_value(s_open IGNORE NULLS) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) = 1 AS served_now,
        -- for each kind, the previous relevant event's state (0 when none)
        coalesce(last_value(w_open IGNORE NULLS) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
            AS w_prev,
        coalesce(last_value(s_open IGNORE NULLS) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
            AS s_prev
    FROM ev
    WINDOW w AS (PARTITION BY cid ORDER BY t, rank, id)
), marked2 AS (
    SELECT *,
        CASE WHEN type = 'contact.hold_started' AND served_now THEN 1
             WHEN type IN ('contact.hold_ended', 'contact.transferred', 'contact.ended') THEN 0 END AS h_open
    FROM marked
), holds AS (
    -- the hold state moves only at these events: the previous one's state is the previous row's here
    SELECT cid, t, seq, h_open, coalesce(lag(h_open) OVER (PARTITION BY cid ORDER BY seq), 0) AS h_prev
    FROM marked2 WHERE h_open IS NOT NULL
), hold_sums AS (
    SELECT cid,
        coalesce(sum(t) FILTER (WHERE h_open = 0 AND h_prev = 1), 0)
            - coalesce(sum(t) FILTER (WHERE h_open = 1 AND h_prev = 0), 0) AS h_closed,
        arg_max(h_open, seq) AS h_last,
        count(*) FILTER (WHERE h_open = 1 AND h_prev = 0) AS hold_count
    FROM holds GROUP BY cid
), per_contact AS (
    SELECT cid, any_value(council) AS council, any_value(contact_id) AS contact_id,
        min(t) AS started, max(t) AS last_event,
        coalesce(max(t) FILTER (WHERE type NOT IN ('contact.wrapped_up', 'contact.surveyed')), min(t)) AS activity_end,
        min(t) FILTER (WHERE type = 'contact.queued') AS queued_at,
        min(t) FILTER (WHERE type = 'contact.answered') AS answered_at,
        max(t) FILTER (WHERE type = 'contact.ended') AS ended_at,
        max(t) FILTER (WHERE type = 'contact.wrapped_up') AS wrapped_at,
        arg_max(channel, seq) FILTER (WHERE channel IS NOT NULL) AS channel,
        arg_max(site, seq) FILTER (WHERE site IS NOT NULL) AS site,
        arg_max(customer_ref, seq) FILTER (WHERE customer_ref IS NOT NULL) AS customer_ref,
        arg_max(service, seq) FILTER (WHERE service IS NOT NULL) AS service,
        arg_min(queue, seq) FILTER (WHERE type = 'contact.queued') AS queue,
        arg_max(queue, seq) FILTER (WHERE type IN ('contact.queued', 'contact.transferred')) AS last_queue,
        arg_min_null(agent_ref, seq) FILTER (WHERE type = 'contact.answered') AS agent_ref,
        count(*) FILTER (WHERE type = 'contact.transferred') AS transfers,
        arg_max_null(resolution, seq) FILTER (WHERE type = 'contact.wrapped_up') AS resolution,
        arg_max_null(rating, seq) FILTER (WHERE type = 'contact.surveyed') AS rating,
        -- interval sums: ends minus starts (microseconds), and whether one is still open at the end
        coalesce(sum(t) FILTER (WHERE w_open = 0 AND w_prev = 1), 0)
            - coalesce(sum(t) FILTER (WHERE w_open = 1 AND w_prev = 0), 0) AS w_closed,
        arg_max(w_open, seq) FILTER (WHERE w_open IS NOT NULL) AS w_last,
        coalesce(sum(t) FILTER (WHERE s_open = 0 AND s_prev = 1), 0)
            - coalesce(sum(t) FILTER (WHERE s_open = 1 AND s_prev = 0), 0) AS s_closed,
        arg_max(s_open, seq) FILTER (WHERE s_open IS NOT NULL) AS s_last
    FROM marked2 GROUP BY cid
), durations AS (
    SELECT *,
        -- a sum is ends minus starts; an interval still open adds the end of activity
        w_closed + CASE WHEN w_last = 1 THEN activity_end ELSE 0 END AS wait_us,
        s_closed + CASE WHEN s_last = 1 THEN activity_end ELSE 0 END AS served_us,
        coalesce(h_closed, 0) + CASE WHEN h_last = 1 THEN activity_end ELSE 0 END AS hold_us,
        coalesce(hold_count, 0) AS holds
    FROM per_contact LEFT JOIN hold_sums USING (cid)
), facts AS (
    SELECT d.*,
        wait_us / 1000000 AS wait_seconds,
        hold_us / 1000000 AS hold_seconds,
        served_us / 1000000 - hold_us / 1000000 AS talk_seconds,
        CASE WHEN answered_at IS NOT NULL AND queued_at IS NOT NULL AND answered_at >= queued_at
             THEN (answered_at - queued_at) / 1000000 END AS tta,
        CASE WHEN wrapped_at IS NOT NULL AND ended_at IS NOT NULL AND wrapped_at >= ended_at
             THEN (wrapped_at - ended_at) / 1000000 END AS acw,
        CASE WHEN answered_at IS NOT NULL THEN 'handled'
             WHEN queued_at IS NOT NULL AND ended_at IS NOT NULL THEN 'abandoned'
             WHEN ended_at IS NOT NULL THEN 'self_served' ELSE 'open' END AS outcome,
        sl.seconds AS sl_threshold
    FROM durations d LEFT JOIN (VALUES {sl_values}) AS sl(channel, seconds) USING (channel)
)
SELECT council, contact_id,
       (to_timestamp(0) + to_microseconds(started)) AS started_at, (to_timestamp(0) + to_microseconds(queued_at)) AS queued_at,
       (to_timestamp(0) + to_microseconds(answered_at)) AS answered_at, (to_timestamp(0) + to_microseconds(ended_at)) AS ended_at,
       (to_timestamp(0) + to_microseconds(wrapped_at)) AS wrapped_at,
       channel, site, customer_ref, service, queue, last_queue, agent_ref,
       wait_seconds, tta AS time_to_answer_seconds, hold_seconds, holds::INTEGER AS hold_count, talk_seconds,
       acw AS acw_seconds,
       CASE WHEN outcome = 'handled' THEN talk_seconds + hold_seconds + coalesce(acw, 0) END AS handle_seconds,
       transfers::INTEGER AS transfers, outcome,
       outcome = 'abandoned' AND wait_seconds < {short_abandon_seconds} AS short_abandon,
       CASE WHEN queued_at IS NULL OR sl_threshold IS NULL THEN NULL
            WHEN tta IS NOT NULL THEN tta <= sl_threshold
            WHEN answered_at IS NOT NULL THEN NULL ELSE false END AS answered_within_sl,
       resolution, rating::INTEGER AS rating, (to_timestamp(0) + to_microseconds(last_event)) AS last_event_at
FROM facts
