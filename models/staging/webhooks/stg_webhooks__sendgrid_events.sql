{#- One row per SendGrid event (`sg_event_id`), the first received copy. -#}
with

source as (

    {{ source_columns('webhooks', 'sendgrid_events') }}

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
        json_extract_string(payload, '$.sg_message_id') as message_id,
        json_extract_string(payload, '$."smtp-id"') as smtp_id,

        -- strings
        event_type,
        json_extract_string(payload, '$.email') as email,
        case json_type(payload, '$.category')
            when 'ARRAY' then cast(json_extract_string(payload, '$.category[*]') as varchar[])
            when 'VARCHAR' then [json_extract_string(payload, '$.category')]
        end as categories,
        json_extract_string(payload, '$.url') as url,
        json_extract_string(payload, '$.useragent') as user_agent,
        json_extract_string(payload, '$.ip') as ip_address,
        json_extract_string(payload, '$.response') as smtp_response,
        json_extract_string(payload, '$.reason') as reason,
        json_extract_string(payload, '$.status') as smtp_status,
        json_extract_string(payload, '$.type') as bounce_type,

        -- dates
        cast(timezone('UTC', occurred_at) as date) as event_date,

        -- timestamps
        occurred_at,
        received_at,

        -- metadata
        receipt_id,
        journal_segment,
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from deduplicated

)

select * from final
