-- Period aggregates of METRICS.md section 3, as table macros stored in the database.
-- Queue measures count contacts by queued_at; all others by started_at. Periods are calendar periods in
-- the configured time zone (the timezone setting, formatted in by services/store/store.py; DuckDB's ICU).
-- FCR (METRICS.md section 2): rate = resolved-first-time-and-final / eligible-and-final; repeat contact
-- rate = eligible with a repeat / eligible-and-final, as METRICS.md section 3 writes it.
-- period_counts(grain): additive counts and sums at the finest cut (council, channel, queue, service);
-- grain is 'day', 'week' (ISO, Monday), 'month' or 'quarter'.
CREATE OR REPLACE MACRO period_counts(grain) AS TABLE
WITH q AS (
    SELECT date_trunc(grain, timezone('{timezone}', queued_at))::DATE AS period, council, channel, queue, service,
           count(*) AS offered,
           count(*) FILTER (WHERE outcome = 'handled') AS answered,
           count(*) FILTER (WHERE outcome = 'abandoned' AND NOT short_abandon) AS abandoned,
           count(*) FILTER (WHERE short_abandon) AS short_abandons,
           count(*) FILTER (WHERE answered_within_sl) AS answered_within_sl,
           sum(time_to_answer_seconds) FILTER (WHERE outcome = 'handled') AS tta_sum,
           count(time_to_answer_seconds) FILTER (WHERE outcome = 'handled') AS tta_count
    FROM contacts WHERE queued_at IS NOT NULL GROUP BY ALL
), s AS (
    SELECT date_trunc(grain, timezone('{timezone}', started_at))::DATE AS period, council, channel, queue, service,
           count(*) AS contacts,
           count(*) FILTER (WHERE outcome = 'handled') AS handled,
           sum(handle_seconds) FILTER (WHERE outcome = 'handled') AS handle_sum,
           count(*) FILTER (WHERE outcome = 'handled' AND hold_count > 0) AS handled_with_hold,
           sum(hold_seconds) FILTER (WHERE outcome = 'handled') AS hold_sum,
           count(rating) AS ratings,
           count(*) FILTER (WHERE rating >= 4) AS satisfied,
           count(*) FILTER (WHERE channel IN {digital_channels}) AS digital,
           count(*) FILTER (WHERE f.fcr_eligible AND f.fcr_final) AS fcr_eligible_final,
           count(*) FILTER (WHERE f.first_contact_resolved AND f.fcr_final) AS fcr_resolved_final,
           count(*) FILTER (WHERE f.fcr_eligible AND f.has_repeat) AS fcr_with_repeat,
           count(*) FILTER (WHERE f.fcr_eligible AND NOT f.fcr_final) AS fcr_provisional,
           count(*) FILTER (WHERE customer_ref IS NULL) AS not_linkable,
           count(*) FILTER (WHERE opened_out_of_hours) AS opened_out_of_hours
    FROM contacts LEFT JOIN contact_fcr f USING (council, contact_id) GROUP BY ALL
)
SELECT * FROM s FULL OUTER JOIN q USING (period, council, channel, queue, service);

-- period_rollup(grain): per period, each council and the partnership ('partnership'), with every ratio
-- of pipelines/measures.py (formatted in by services/store/store.py, as are the digital channels).
CREATE OR REPLACE MACRO period_rollup(grain) AS TABLE
SELECT period,
       coalesce(council, 'partnership') AS council,
       sum(contacts) AS contacts,
       sum(offered) AS offered,
       sum(answered) AS answered,
       sum(abandoned) AS abandoned,
       sum(short_abandons) AS short_abandons,
       {ratios},
       sum(ratings) AS ratings,
       sum(fcr_eligible_final) AS fcr_eligible_final,
       sum(not_linkable) AS not_linkable
FROM period_counts(grain)
GROUP BY GROUPING SETS ((period, council), (period))
ORDER BY period, council;

-- standard_counts(grain): each customer care standard's verdicts (METRICS.md section 5, contact_standards)
-- by the period of the contact's start, per council and for the partnership ('partnership'): a standard's
-- met rate is met / final (met-and-final over final); pending verdicts are counted apart.
CREATE OR REPLACE MACRO standard_counts(grain) AS TABLE
SELECT date_trunc(grain, timezone('{timezone}', c.started_at))::DATE AS period,
       coalesce(c.council, 'partnership') AS council,
       s.standard,
       count(*) FILTER (WHERE s.final AND s.met) AS met,
       count(*) FILTER (WHERE s.final) AS final,
       count(*) FILTER (WHERE NOT s.final) AS pending
FROM contact_standards s JOIN contacts c USING (council, contact_id)
GROUP BY GROUPING SETS ((period, c.council, s.standard), (period, s.standard))
ORDER BY period, council, s.standard;
