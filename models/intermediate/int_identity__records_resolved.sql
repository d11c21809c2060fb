{#- Every record that carries a person identifier, with its person (int_identity__stitched): touches and
    conversions join here on (source_model, record_id). When the caps split a record's identifiers between
    persons, the record belongs to the person of its highest-priority identifier (`person_count` > 1 shows it). -#}
{{ config(materialized='table') }}

with

int_identifiers__pseudonymized as (

    select * from {{ ref('int_identifiers__pseudonymized') }}

),

int_identity__stitched as (

    select * from {{ ref('int_identity__stitched') }}

),

observations as (

    select
        int_identifiers__pseudonymized.source_model,
        int_identifiers__pseudonymized.record_id,
        int_identifiers__pseudonymized.identifier_type,
        int_identifiers__pseudonymized.identifier_pseudonym,
        int_identifiers__pseudonymized.observed_at,
        int_identity__stitched.person_key,
        int_identity__stitched.priority_level
    from int_identifiers__pseudonymized
    inner join int_identity__stitched
        on
            int_identifiers__pseudonymized.identifier_type = int_identity__stitched.identifier_type
            and int_identifiers__pseudonymized.identifier_pseudonym = int_identity__stitched.identifier_pseudonym

),

records as (

    select
        source_model,
        record_id,
        count(*) as identifier_count,
        count(distinct person_key) as person_count,
        min(observed_at) as observed_at
    from observations
    group by 1, 2

),

best_identifiers as (

    select
        source_model,
        record_id,
        person_key,
        identifier_type
    from observations
    qualify row_number() over (
        partition by source_model, record_id
        order by priority_level, identifier_type, identifier_pseudonym
    ) = 1

),

final as (

    select
        -- ids
        records.source_model,
        records.record_id,
        best_identifiers.person_key,

        -- strings
        best_identifiers.identifier_type as resolved_by_identifier_type,

        -- numerics
        records.identifier_count,
        records.person_count,

        -- timestamps
        records.observed_at

    from records
    inner join best_identifiers
        on
            records.source_model = best_identifiers.source_model
            and records.record_id = best_identifiers.record_id

)

select * from final
