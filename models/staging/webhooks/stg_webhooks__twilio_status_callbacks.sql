{#- One row per SMS status callback (`MessageSid:MessageStatus`): a message has several (queued,
    sent, delivered...), possibly out of order. Every status is kept; `status_rank` orders them, so a
    model that wants one row per message keeps the highest rank. Twilio sends no event time: the
    status time is when the receiver got the callback. -#}
with

source as (

    {{ source_columns('webhooks', 'twilio_status_callbacks') }}

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
        json_extract_string(payload, '$.MessageSid') as message_sid,
        json_extract_string(payload, '$.AccountSid') as account_sid,

        -- strings
        lower(json_extract_string(payload, '$.MessageStatus')) as message_status,
        json_extract_string(payload, '$.From') as from_phone,
        json_extract_string(payload, '$.To') as to_phone,
        json_extract_string(payload, '$.ApiVersion') as api_version,

        -- numerics
        cast(json_extract_string(payload, '$.ErrorCode') as integer) as error_code,
        case lower(json_extract_string(payload, '$.MessageStatus'))
            when 'accepted' then 0
            when 'scheduled' then 0
            when 'queued' then 1
            when 'sending' then 2
            when 'receiving' then 2
            when 'sent' then 3
            when 'delivered' then 4
            when 'undelivered' then 4
            when 'failed' then 4
            when 'canceled' then 4
            when 'partially_delivered' then 4
            when 'received' then 4
            when 'read' then 5
        end as status_rank,

        -- booleans
        coalesce(
            lower(json_extract_string(payload, '$.MessageStatus'))
            in ('delivered', 'undelivered', 'failed', 'canceled', 'partially_delivered', 'received', 'read'),
            false
        ) as is_final_status,

        -- dates
        cast(timezone('UTC', received_at) as date) as status_date,

        -- timestamps
        received_at as status_at,

        -- metadata
        receipt_id,
        journal_segment,
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from deduplicated

)

select * from final
