{#- Every touch once (int_touchpoints__unioned) with its person (int_identity__records_resolved) and
    consent: the event's own, else the person's as of the touch (macro consent_as_of); typed for the
    contract. -#}

with

touchpoints as (

    select * from {{ ref('int_touchpoints__unioned') }}

),

records_resolved as (

    select * from {{ ref('int_identity__records_resolved') }}

),

consent_observed as (

    select * from {{ ref('int_consent__observed') }}

),

personal_touchpoints as (

    select
        touchpoints.*,
        records_resolved.person_key
    from touchpoints
    left join records_resolved
        on
            touchpoints.source_model = records_resolved.source_model
            and touchpoints.record_id = records_resolved.record_id

),

touchpoints_with_person_consent as (

    {{ consent_as_of('personal_touchpoints', 'touchpoint_id', 'touched_at') }}

),

consented as (

    select
        *,
        case
            when consent_ad_user_data != 'unknown' then 'event'
            when person_consent_ad_user_data is not null then 'person_as_of_touch'
            else 'none'
        end as consent_source,
        case
            when consent_ad_user_data != 'unknown' then consent_ad_user_data
            else coalesce(person_consent_ad_user_data, 'unknown')
        end as touch_consent_ad_user_data,
        case
            when consent_ad_user_data != 'unknown' then consent_ad_personalization
            else coalesce(person_consent_ad_personalization, 'unknown')
        end as touch_consent_ad_personalization
    from touchpoints_with_person_consent

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
        cast(person_key as varchar) as person_key,

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
        cast(touch_consent_ad_user_data as varchar) as consent_ad_user_data,
        cast(touch_consent_ad_personalization as varchar) as consent_ad_personalization,
        cast(consent_source as varchar) as consent_source,

        -- numerics
        cast(channel_rule_priority as integer) as channel_rule_priority,

        -- booleans
        cast({{ consent_allows_journeys('touch_consent_ad_user_data') }} as boolean) as has_journey_consent,

        -- dates
        cast(touch_date as date) as touch_date,

        -- timestamps
        cast(touched_at as timestamp with time zone) as touched_at,
        cast(received_at as timestamp with time zone) as received_at

    from consented

)

select * from final
