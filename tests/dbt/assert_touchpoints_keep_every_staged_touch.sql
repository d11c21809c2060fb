{%- set page_view_names = var('touchpoint_page_view_event_names') if execute else ['PageView'] -%}
-- Integrity: fct_touchpoints holds every staged page view of the pixel once, and one touch per distinct
-- SendGrid click (message, URL, time), per UTC day.
with

page_views as (

    select
        event_date as touch_date,
        count(*) as touches
    from {{ ref('stg_webhooks__first_party_events') }}
    where
        event_source = 'web'
        and event_name in ('{{ page_view_names | join("', '") }}')
    group by event_date

),

distinct_email_clicks as (

    select
        message_id,
        url,
        occurred_at,
        min(event_date) as touch_date
    from {{ ref('stg_webhooks__sendgrid_events') }}
    where event_type = 'click'
    group by message_id, url, occurred_at

),

email_clicks as (

    select
        touch_date,
        count(*) as touches
    from distinct_email_clicks
    group by touch_date

),

staged as (

    select
        'stg_webhooks__first_party_events' as source_model,
        touch_date,
        touches
    from page_views

    union all

    select
        'stg_webhooks__sendgrid_events' as source_model,
        touch_date,
        touches
    from email_clicks

),

marts as (

    select
        source_model,
        touch_date,
        count(*) as touches
    from {{ ref('fct_touchpoints') }}
    where source_model in ('stg_webhooks__first_party_events', 'stg_webhooks__sendgrid_events')
    group by source_model, touch_date

),

final as (

    select
        coalesce(staged.source_model, marts.source_model) as source_model,
        coalesce(staged.touch_date, marts.touch_date) as touch_date,
        staged.touches as staged_touches,
        marts.touches as mart_touches
    from staged
    full outer join marts
        on
            staged.source_model = marts.source_model
            and staged.touch_date = marts.touch_date
    where staged.touches is distinct from marts.touches

)

select * from final
