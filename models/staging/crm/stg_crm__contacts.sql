with

source as (

    {{ source_columns('crm', 'contacts') }}

),

latest as (

    select *
    from source
    {{ latest_version(['id']) }}

),

final as (

    select
        -- ids
        cast(id as varchar) as contact_id,

        -- strings
        email,
        phone,
        firstname as first_name,
        lastname as last_name,
        company as company_name,
        lifecyclestage as lifecycle_stage,

        -- booleans
        coalesce(archived, false) as is_archived,

        -- timestamps
        coalesce(
            {{ crm_timestamp('createdate') }},
            {{ crm_timestamp('created_at') }}
        ) as created_at,
        coalesce(
            {{ crm_timestamp('lastmodifieddate') }},
            {{ crm_timestamp('updated_at') }}
        ) as modified_at,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from latest

)

select * from final
