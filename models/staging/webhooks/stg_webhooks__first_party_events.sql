{#- One row per first-party delivery (`webhook-id` = `<source>:<event id>`). The pixel and the server
    report one purchase with the same event id, so a purchase can have a `web` and a `server` row here:
    deduplicating conversions is the intermediate layer's job. -#}
with

source as (

    {{ source_columns('webhooks', 'first_party_events') }}

),

deduplicated as (

    select *
    from source
    {{ first_received(['event_id']) }}

),

final as (

    select
        -- ids
        event_id as message_id,
        json_extract_string(payload, '$.event_id') as event_id,
        json_extract_string(payload, '$.identifiers.anonymous_id') as anonymous_id,
        json_extract_string(payload, '$.identifiers.user_id') as user_id,
        json_extract_string(payload, '$.identifiers.fbp') as fbp,
        json_extract_string(payload, '$.identifiers.fbc') as fbc,
        json_extract_string(payload, '$.gclid') as gclid,
        json_extract_string(payload, '$.fbclid') as fbclid,
        json_extract_string(payload, '$.ttclid') as ttclid,
        json_extract_string(payload, '$.li_fat_id') as li_fat_id,
        json_extract_string(payload, '$.msclkid') as msclkid,

        -- strings
        event_type as event_name,
        json_extract_string(payload, '$.source') as event_source,
        json_extract_string(payload, '$.identifiers.email') as email,
        json_extract_string(payload, '$.page_url') as page_url,
        json_extract_string(payload, '$.referrer') as referrer,
        json_extract_string(payload, '$.utm_source') as utm_source,
        json_extract_string(payload, '$.utm_medium') as utm_medium,
        json_extract_string(payload, '$.utm_campaign') as utm_campaign,
        json_extract_string(payload, '$.utm_content') as utm_content,
        json_extract_string(payload, '$.utm_term') as utm_term,
        json_extract_string(payload, '$.consent.ad_user_data') as consent_ad_user_data,
        json_extract_string(payload, '$.consent.ad_personalization') as consent_ad_personalization,
        nullif(json_extract_string(payload, '$.currency'), '') as currency,

        -- numerics
        cast(json_extract_string(payload, '$.value') as decimal(18, 6)) as conversion_value,

        -- dates
        cast(timezone('UTC', occurred_at) as date) as event_date,

        -- timestamps
        occurred_at as event_at,
        received_at,

        -- metadata
        receipt_id,
        journal_segment,
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from deduplicated

)

select * from final
