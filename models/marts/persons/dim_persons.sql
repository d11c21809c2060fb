{#- One row per stitched person: when it was seen and how many identifiers of each kind it holds
    (pseudonymous: no identifier, clear or pseudonymized, only counts). -#}
with

int_identity__stitched as (

    select * from {{ ref('int_identity__stitched') }}

),

int_identity__records_resolved as (

    select * from {{ ref('int_identity__records_resolved') }}

),

identifier_counts as (

    select
        person_key,
        count(*) as identifier_count,
        count(*) filter (where identifier_type = 'customer_user_id') as customer_user_id_count,
        count(*) filter (where identifier_type = 'crm_contact_id') as crm_contact_id_count,
        count(*) filter (where identifier_type = 'email') as email_count,
        count(*) filter (where identifier_type = 'phone') as phone_count,
        count(*) filter (where identifier_type in ('gaid', 'idfa', 'idfv', 'android_id')) as device_id_count,
        count(*) filter (where identifier_type in ('appsflyer_id', 'adjust_adid')) as app_install_id_count,
        count(*) filter (where identifier_type in ('anonymous_id', 'fbp', 'fbc')) as cookie_count,
        bool_or(is_capped) as has_capped_identifiers,
        min(first_observed_at) as first_seen_at
    from int_identity__stitched
    group by 1

),

record_counts as (

    select
        person_key,
        count(*) as record_count,
        max(observed_at) as last_seen_at
    from int_identity__records_resolved
    group by 1

),

final as (

    select
        -- ids
        identifier_counts.person_key,

        -- numerics
        identifier_counts.identifier_count,
        identifier_counts.customer_user_id_count,
        identifier_counts.crm_contact_id_count,
        identifier_counts.email_count,
        identifier_counts.phone_count,
        identifier_counts.device_id_count,
        identifier_counts.app_install_id_count,
        identifier_counts.cookie_count,
        coalesce(record_counts.record_count, 0) as record_count,

        -- booleans
        identifier_counts.customer_user_id_count > 0 as has_customer_user_id,
        identifier_counts.has_capped_identifiers,

        -- timestamps
        identifier_counts.first_seen_at,
        record_counts.last_seen_at

    from identifier_counts
    left join record_counts on identifier_counts.person_key = record_counts.person_key

)

select * from final
