{#- One row per attributed install. Raw data never restates, but every run re-reads the last days:
    the same install lands once per run that read it, so installs are keyed by the columns that
    identify an AppsFlyer event (as for in-app events) and the newest version is kept. -#}
{%- set report_timezone = appsflyer_report_timezone() -%}
{%- set event_key = ['app_id', 'appsflyer_id', 'event_name', 'event_time', 'event_value', 'is_primary_attribution'] -%}

with

source as (

    {{ source_columns('appsflyer', 'installs') }}

),

latest as (

    select *
    from source
    {{ latest_version(event_key) }}

),

final as (

    select
        -- ids
        {{ surrogate_key(event_key) }} as install_sk,
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
        media_source,
        channel,
        campaign as campaign_name,
        adset as ad_set_name,
        ad as ad_name,
        conversion_type,
        attributed_touch_type,
        country_code,
        platform as device_platform,
        '{{ report_timezone }}' as report_timezone,

        -- booleans
        cast(is_retargeting as boolean) as is_retargeting,
        cast(is_primary_attribution as boolean) as is_primary_attribution,
        coalesce(media_source = 'organic', false) as is_organic,

        -- dates
        cast(cast(coalesce(install_time, event_time) as timestamp) as date) as install_date,

        -- timestamps: AppsFlyer writes local times of the report time zone
        timezone('{{ report_timezone }}', cast(coalesce(install_time, event_time) as timestamp)) as installed_at,
        timezone('{{ report_timezone }}', cast(attributed_touch_time as timestamp)) as attributed_touch_at,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from latest

)

select * from final
