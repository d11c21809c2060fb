{#- The identity graph's edges: two identifiers seen on one record (a login page view: cookie and user
    id; a server purchase: cookie, user id and email; a CRM contact: email and phone; an MMP event: its
    install id, user id and advertising id). Pseudonyms only. A table: stitching reads it at every priority level. -#}
{{ config(materialized='table') }}

with

int_identifiers__pseudonymized as (

    select * from {{ ref('int_identifiers__pseudonymized') }}

),

pairs as (

    select
        left_identifier.identifier_type as identifier_a_type,
        left_identifier.identifier_pseudonym as identifier_a_pseudonym,
        right_identifier.identifier_type as identifier_b_type,
        right_identifier.identifier_pseudonym as identifier_b_pseudonym,
        left_identifier.source_model,
        left_identifier.record_id,
        left_identifier.observed_at
    from int_identifiers__pseudonymized as left_identifier
    inner join int_identifiers__pseudonymized as right_identifier
        on
            left_identifier.source_model = right_identifier.source_model
            and left_identifier.record_id = right_identifier.record_id
            -- each unordered pair once: (type, pseudonym) of a before b
            and (left_identifier.identifier_type, left_identifier.identifier_pseudonym)
            < (right_identifier.identifier_type, right_identifier.identifier_pseudonym)

),

final as (

    select
        -- ids
        identifier_a_pseudonym,
        identifier_b_pseudonym,

        -- strings
        identifier_a_type,
        identifier_b_type,

        -- numerics
        count(*) as record_count,

        -- timestamps
        min(observed_at) as first_observed_at,
        max(observed_at) as last_observed_at

    from pairs
    group by identifier_a_type, identifier_a_pseudonym, identifier_b_type, identifier_b_pseudonym

)

select * from final
