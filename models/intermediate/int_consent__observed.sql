{#- Every consent state a person's own events recorded (the pixel's and the server's Consent Mode
    fields), with the person the event resolves to: what "the person's consent at that time" is read
    from (macro consent_as_of). Events without a recorded state are no observation. -#}
with

first_party_events as (

    select * from {{ ref('stg_webhooks__first_party_events') }}

),

records_resolved as (

    select * from {{ ref('int_identity__records_resolved') }}
    where source_model = 'stg_webhooks__first_party_events'

),

states as (

    select
        message_id,
        event_at,
        {{ consent_state('consent_ad_user_data') }} as consent_ad_user_data,
        {{ consent_state('consent_ad_personalization') }} as consent_ad_personalization
    from first_party_events

),

final as (

    select
        -- ids
        states.message_id as record_id,
        records_resolved.person_key,

        -- strings
        states.consent_ad_user_data,
        states.consent_ad_personalization,

        -- timestamps
        states.event_at as observed_at

    from states
    inner join records_resolved
        on states.message_id = records_resolved.record_id
    where states.consent_ad_user_data != 'unknown'

)

select * from final
