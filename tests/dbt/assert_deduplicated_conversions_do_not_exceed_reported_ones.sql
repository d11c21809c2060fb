{%- set names = var('conversion_event_names') if execute else {'Purchase': 'purchase'} %}
-- Deduplicated conversions <= reported ones, for every UTC day and conversion name: fct_conversions never
-- counts more conversions than the copies its sources reported (pixel, server, AppsFlyer push and pull,
-- Adjust, won CRM deals), because every conversion keeps the event time of one of its copies. The
-- platforms' self-attributed claims are not comparable day by day (they count on the touch's day, in
-- the account's zone): rpt_conversion_reconciliation_daily shows them next to each other instead.

with

conversions as (

    select
        conversion_date,
        conversion_name,
        count(*) as deduplicated_conversions
    from {{ ref('fct_conversions') }}
    group by conversion_date, conversion_name

),

conversion_names as (

    {%- for event_name, conversion_name in names.items() %}
    select
        '{{ event_name }}' as event_name,
        '{{ conversion_name }}' as conversion_name
    {%- if not loop.last %}
    union all
    {%- endif -%}
    {%- endfor %}

),

reported_copies as (

    select
        event_name,
        event_at as occurred_at
    from {{ ref('stg_webhooks__first_party_events') }}

    union all

    select
        event_name,
        coalesce(case when event_name = 'install' then installed_at end, event_at) as occurred_at
    from {{ ref('stg_webhooks__appsflyer_events') }}
    where is_primary_attribution

    union all

    select
        event_name,
        event_at as occurred_at
    from {{ ref('stg_appsflyer__in_app_events') }}
    where is_primary_attribution

    union all

    select
        event_name,
        installed_at as occurred_at
    from {{ ref('stg_appsflyer__installs') }}
    where coalesce(is_primary_attribution, true)

    union all

    select
        activity_kind as event_name,
        coalesce(installed_at, created_at) as occurred_at
    from {{ ref('stg_webhooks__adjust_callbacks') }}

),

reported_days as (

    select
        cast(timezone('UTC', reported_copies.occurred_at) as date) as conversion_date,
        conversion_names.conversion_name,
        count(*) as reported_conversions
    from reported_copies
    inner join conversion_names
        on reported_copies.event_name = conversion_names.event_name
    group by
        cast(timezone('UTC', reported_copies.occurred_at) as date),
        conversion_names.conversion_name

    union all

    select
        cast(timezone('UTC', coalesce(closed_at, modified_at)) as date) as conversion_date,
        'deal' as conversion_name,
        count(*) as reported_conversions
    from {{ ref('stg_crm__deals') }}
    where is_won and not is_archived
    group by cast(timezone('UTC', coalesce(closed_at, modified_at)) as date)

)

select
    conversions.conversion_date,
    conversions.conversion_name,
    conversions.deduplicated_conversions,
    reported_days.reported_conversions
from conversions
left join reported_days
    on
        conversions.conversion_date = reported_days.conversion_date
        and conversions.conversion_name = reported_days.conversion_name
where conversions.deduplicated_conversions > coalesce(reported_days.reported_conversions, 0)
