{#- One row per Adjust callback. Times are unix seconds (UTC); the tracker name is
    `Network::Campaign::Adgroup::Creative`; Adjust drops empty placeholders, so absent is null. -#}
with

source as (

    {{ source_columns('webhooks', 'adjust_callbacks') }}

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
        json_extract_string(payload, '$.adid') as adid,
        nullif(json_extract_string(payload, '$.gps_adid'), '') as gps_adid,
        nullif(json_extract_string(payload, '$.idfa'), '') as idfa,
        nullif(json_extract_string(payload, '$.event_token'), '') as event_token,

        -- strings
        event_type as activity_kind,
        nullif(json_extract_string(payload, '$.tracker_name'), '') as tracker_name,
        nullif(split_part(json_extract_string(payload, '$.tracker_name'), '::', 1), '') as network_name,
        nullif(split_part(json_extract_string(payload, '$.tracker_name'), '::', 2), '') as campaign_name,
        nullif(split_part(json_extract_string(payload, '$.tracker_name'), '::', 3), '') as ad_group_name,
        nullif(split_part(json_extract_string(payload, '$.tracker_name'), '::', 4), '') as creative_name,
        nullif(json_extract_string(payload, '$.currency'), '') as currency,

        -- numerics
        cast(nullif(json_extract_string(payload, '$.revenue'), '') as decimal(18, 6)) as revenue,

        -- dates
        cast(timezone('UTC', occurred_at) as date) as event_date,

        -- timestamps
        occurred_at as created_at,
        to_timestamp(cast(nullif(json_extract_string(payload, '$.installed_at'), '') as bigint)) as installed_at,
        received_at,

        -- metadata
        receipt_id,
        journal_segment,
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from deduplicated

)

select * from final
