{#- Every touch once (int_touchpoints__unioned), typed for the contract. -#}

with

touchpoints as (

    select * from {{ ref('int_touchpoints__unioned') }}

),

final as (

    select
        -- ids
        cast(touchpoint_id as varchar) as touchpoint_id,
        cast(source_model as varchar) as source_model,
        cast(record_id as varchar) as record_id,
        cast(campaign_id as varchar) as campaign_id,
        cast(ad_id as varchar) as ad_id,
        cast(app_id as varchar) as app_id,

        -- strings
        cast(touch_source as varchar) as touch_source,
        cast(touch_type as varchar) as touch_type,
        cast(channel as varchar) as channel,
        cast(platform as varchar) as platform,
        cast(event_name as varchar) as event_name,
        cast(click_id_type as varchar) as click_id_type,
        cast(utm_source as varchar) as utm_source,
        cast(utm_medium as varchar) as utm_medium,
        cast(utm_campaign as varchar) as utm_campaign,
        cast(utm_content as varchar) as utm_content,
        cast(utm_term as varchar) as utm_term,
        cast(referrer_host as varchar) as referrer_host,
        cast(landing_host as varchar) as landing_host,
        cast(landing_path as varchar) as landing_path,
        cast(consent_ad_user_data as varchar) as consent_ad_user_data,
        cast(consent_ad_personalization as varchar) as consent_ad_personalization,

        -- numerics
        cast(channel_rule_priority as integer) as channel_rule_priority,

        -- booleans
        cast(has_journey_consent as boolean) as has_journey_consent,

        -- dates
        cast(touch_date as date) as touch_date,

        -- timestamps
        cast(touched_at as timestamp with time zone) as touched_at,
        cast(received_at as timestamp with time zone) as received_at

    from touchpoints

)

select * from final
