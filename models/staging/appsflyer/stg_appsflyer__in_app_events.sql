{#- One row per in-app event and attribution copy. AppsFlyer has no event id and raw data never
    restates: a re-read of the window appends the same event again, so the event key is the columns
    that identify it (see the model YAML), and the newest version of each is kept. -#}
{%- set report_timezone = appsflyer_report_timezone() -%}
{%- set event_key = ['app_id', 'appsflyer_id', 'event_name', 'event_time', 'event_value', 'is_primary_attribution'] -%}

with

source as (

    {{ source_columns('appsflyer', 'in_app_events') }}

),

latest as (

    select *
    from source
    {{ latest_version(event_key) }}

),

final as (

    select
        -- ids
        {{ surrogate_key(event_key) }} as event_sk,
        app_id,
        appsflyer_id,
        customer_user_id,
        advertising_id,
        idfa,
        idfv,
        android_id,
        campaign_id,
        adset_id as ad_set_id,
        ad_id,

        -- strings
        event_name,
        event_value,
        media_source,
        channel,
        campaign as campaign_name,
        adset as ad_set_name,
        ad as ad_name,
        conversion_type,
        attributed_touch_type,
        event_revenue_currency as currency,
        country_code,
        platform as device_platform,
        '{{ report_timezone }}' as report_timezone,

        -- numerics
        cast(event_revenue as decimal(18, 6)) as revenue,
        cast(event_revenue_usd as decimal(18, 6)) as revenue_usd,

        -- booleans
        cast(is_retargeting as boolean) as is_retargeting,
        cast(is_primary_attribution as boolean) as is_primary_attribution,

        -- dates
        cast(cast(event_time as timestamp) as date) as event_date,

        -- timestamps: AppsFlyer writes local times of the report time zone
        timezone('{{ report_timezone }}', cast(event_time as timestamp)) as event_at,
        timezone('{{ report_timezone }}', cast(install_time as timestamp)) as installed_at,
        timezone('{{ report_timezone }}', cast(attributed_touch_time as timestamp)) as attributed_touch_at,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from latest

)

select * from final
