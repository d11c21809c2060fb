{#- One row per AppsFlyer Push API event. Push times are UTC (`yyyy-mm-dd hh:mm:ss.sss`). -#}
with

source as (

    {{ source_columns('webhooks', 'appsflyer_events') }}

),

deduplicated as (

    select *
    from source
    {{ first_received(['event_id']) }}

),

final as (

    select
        -- ids
        event_id,
        json_extract_string(payload, '$.app_id') as app_id,
        json_extract_string(payload, '$.appsflyer_id') as appsflyer_id,
        nullif(json_extract_string(payload, '$.customer_user_id'), '') as customer_user_id,
        nullif(json_extract_string(payload, '$.advertising_id'), '') as advertising_id,
        nullif(json_extract_string(payload, '$.idfa'), '') as idfa,
        nullif(json_extract_string(payload, '$.idfv'), '') as idfv,
        nullif(json_extract_string(payload, '$.android_id'), '') as android_id,
        nullif(json_extract_string(payload, '$.af_c_id'), '') as campaign_id,
        nullif(json_extract_string(payload, '$.af_adset_id'), '') as ad_set_id,
        nullif(json_extract_string(payload, '$.af_ad_id'), '') as ad_id,

        -- strings
        event_type as event_name,
        nullif(json_extract_string(payload, '$.event_value'), '') as event_value,
        nullif(json_extract_string(payload, '$.media_source'), '') as media_source,
        nullif(json_extract_string(payload, '$.campaign'), '') as campaign_name,
        nullif(json_extract_string(payload, '$.af_adset'), '') as ad_set_name,
        nullif(json_extract_string(payload, '$.conversion_type'), '') as conversion_type,
        nullif(json_extract_string(payload, '$.event_revenue_currency'), '') as currency,
        json_extract_string(payload, '$.platform') as device_platform,

        -- numerics
        cast(nullif(json_extract_string(payload, '$.event_revenue'), '') as decimal(18, 6)) as revenue,

        -- booleans
        coalesce(cast(json_extract_string(payload, '$.is_retargeting') as boolean), false) as is_retargeting,
        coalesce(
            cast(json_extract_string(payload, '$.is_primary_attribution') as boolean), true
        ) as is_primary_attribution,

        -- dates
        cast(timezone('UTC', occurred_at) as date) as event_date,

        -- timestamps
        occurred_at as event_at,
        timezone(
            'UTC', cast(nullif(json_extract_string(payload, '$.install_time'), '') as timestamp)
        ) as installed_at,
        received_at,

        -- metadata
        receipt_id,
        journal_segment,
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from deduplicated

)

select * from final
