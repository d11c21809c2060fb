{#- Every real conversion once (int_conversions__deduplicated), with its value also in the reporting
    currency at the rate of the conversion's UTC day (int_fx_rates__daily), its person (the stitched
    person of its best identifier, int_identity__stitched) and that person's consent as of the
    conversion (macro consent_as_of: the conversion's own pixel/server event is an observation). -#}

with

conversions as (

    select * from {{ ref('int_conversions__deduplicated') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

stitched as (

    select * from {{ ref('int_identity__stitched') }}

),

consent_observed as (

    select * from {{ ref('int_consent__observed') }}

),

personal_conversions as (

    select
        conversions.*,
        stitched.person_key
    from conversions
    left join stitched
        on
            conversions.person_identifier_type = stitched.identifier_type
            and conversions.person_pseudonym = stitched.identifier_pseudonym

),

conversions_with_consent as (

    {{ consent_as_of('personal_conversions', 'conversion_id', 'occurred_at') }}

),

final as (

    select
        -- ids
        cast(conversions.conversion_id as varchar) as conversion_id,
        cast(conversions.dedup_id as varchar) as dedup_id,
        cast(conversions.person_pseudonym as varchar) as person_pseudonym,
        cast(conversions.lead_conversion_id as varchar) as lead_conversion_id,
        cast(conversions.person_key as varchar) as person_key,

        -- strings
        cast(conversions.conversion_name as varchar) as conversion_name,
        cast(conversions.conversion_type as varchar) as conversion_type,
        cast(conversions.person_identifier_type as varchar) as person_identifier_type,
        cast(conversions.currency as varchar) as currency,
        cast(
            coalesce(fx_rates.reporting_currency, upper('{{ var("reporting_currency") }}')) as varchar
        ) as reporting_currency,
        cast(conversions.kept_copy_reported_by as varchar) as kept_copy_reported_by,
        cast(coalesce(conversions.person_consent_ad_user_data, 'unknown') as varchar) as consent_ad_user_data,
        cast(
            coalesce(conversions.person_consent_ad_personalization, 'unknown') as varchar
        ) as consent_ad_personalization,
        cast(conversions.reported_by as varchar[]) as reported_by,

        -- numerics
        cast(conversions.conversion_value as decimal(18, 6)) as conversion_value,
        cast(fx_rates.rate_to_reporting as double) as fx_rate_to_reporting,
        cast(conversions.conversion_value * fx_rates.rate_to_reporting as decimal(18, 6)) as value_reporting,
        cast(conversions.reported_copies as bigint) as reported_copies,

        -- booleans
        cast(conversions.seen_by_pixel as boolean) as seen_by_pixel,
        cast(conversions.seen_by_server as boolean) as seen_by_server,
        cast(conversions.seen_by_mmp as boolean) as seen_by_mmp,
        cast(conversions.seen_by_crm as boolean) as seen_by_crm,
        cast(
            {{ consent_allows_journeys('conversions.person_consent_ad_user_data') }} as boolean
        ) as has_journey_consent,

        -- dates
        cast(conversions.conversion_date as date) as conversion_date,

        -- timestamps
        cast(conversions.occurred_at as timestamp with time zone) as occurred_at,
        cast(conversions.first_received_at as timestamp with time zone) as first_received_at

    from conversions_with_consent as conversions
    left join fx_rates
        on
            conversions.currency = fx_rates.currency
            and conversions.conversion_date = fx_rates.date_day

)

select * from final
