{#- One row per page change Meta pushed: Lead Ads `leadgen` changes (ids only; the answers are read
    from the Graph API) and other fields such as `feed` comments, which carry a person's id, name and
    message. -#}
with

source as (

    {{ source_columns('webhooks', 'meta_changes') }}

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
        json_extract_string(payload, '$.entry_id') as page_id,
        json_extract_string(payload, '$.value.leadgen_id') as leadgen_id,
        json_extract_string(payload, '$.value.form_id') as form_id,
        json_extract_string(payload, '$.value.ad_id') as ad_id,
        json_extract_string(payload, '$.value.adgroup_id') as ad_group_id,
        json_extract_string(payload, '$.value.post_id') as post_id,
        json_extract_string(payload, '$.value.comment_id') as comment_id,
        json_extract_string(payload, '$.value.from.id') as from_id,

        -- strings
        json_extract_string(payload, '$.object') as object_type,
        event_type as change_field,
        json_extract_string(payload, '$.value.item') as item,
        json_extract_string(payload, '$.value.verb') as verb,
        json_extract_string(payload, '$.value.from.name') as from_name,
        json_extract_string(payload, '$.value.message') as message,

        -- booleans
        event_type = 'leadgen' as is_lead,

        -- dates
        cast(timezone('UTC', occurred_at) as date) as event_date,

        -- timestamps: `entry.time` of the delivery, and the change's own `created_time`
        occurred_at,
        to_timestamp(cast(json_extract_string(payload, '$.value.created_time') as bigint)) as created_at,
        received_at,

        -- metadata
        receipt_id,
        journal_segment,
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from deduplicated

)

select * from final
