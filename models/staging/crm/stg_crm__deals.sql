{#- Deals, latest version per deal: a stage move or an amount edit arrives as a new version (the
    source is incremental on the last-modified date) and replaces the old one. Stages are mapped to
    won / lost / open with the `crm_won_deal_stages` and `crm_lost_deal_stages` vars (HubSpot's
    default pipeline ids by default; add the ids of custom pipelines' closing stages). -#}
{#- (vars are read when dbt executes; the linter's templater gets the defaults) -#}
{%- set won_stages = var('crm_won_deal_stages', ['closedwon']) if execute else ['closedwon'] -%}
{%- set lost_stages = var('crm_lost_deal_stages', ['closedlost']) if execute else ['closedlost'] -%}
{%- set won_stages = [won_stages] if won_stages is string else won_stages -%}
{%- set lost_stages = [lost_stages] if lost_stages is string else lost_stages -%}

with

source as (

    {{ source_columns('crm', 'deals') }}

),

latest as (

    select
        *,
        -- Versions read through the search endpoint carry no association: keep the newest known contact.
        last_value(contact_id ignore nulls) over (
            partition by id
            order by cast(_dlt_load_id as double), _ingested_at
            rows between unbounded preceding and unbounded following
        ) as known_contact_id
    from source
    {{ latest_version(['id']) }}

),

categorised as (

    select
        *,
        case
            when dealstage in ('{{ won_stages | join("', '") }}') then 'won'
            when dealstage in ('{{ lost_stages | join("', '") }}') then 'lost'
            else 'open'
        end as deal_stage_category,
        {{ crm_timestamp('closedate') }} as close_at
    from latest

),

final as (

    select
        -- ids
        cast(id as varchar) as deal_id,
        cast(known_contact_id as varchar) as contact_id,
        lead_event_id,

        -- strings
        dealname as deal_name,
        pipeline,
        dealstage as deal_stage,
        deal_stage_category,
        deal_currency_code as currency,

        -- numerics
        cast(amount as decimal(18, 6)) as amount,

        -- booleans
        deal_stage_category != 'open' as is_closed,
        deal_stage_category = 'won' as is_won,
        coalesce(archived, false) as is_archived,

        -- timestamps
        coalesce(
            {{ crm_timestamp('createdate') }},
            {{ crm_timestamp('created_at') }}
        ) as created_at,
        case when deal_stage_category != 'open' then close_at end as closed_at,
        case when deal_stage_category = 'open' then close_at end as expected_close_at,
        coalesce(
            {{ crm_timestamp('hs_lastmodifieddate') }},
            {{ crm_timestamp('updated_at') }}
        ) as modified_at,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from categorised

)

select * from final
