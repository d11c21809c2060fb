{#- Every real conversion once. Each reported copy (pixel, server, AppsFlyer push and pull, Adjust
    push, CRM) is keyed by (conversion name, dedup id): the names map to one canonical name with the
    var `conversion_event_names` (only the names listed there are conversions), the dedup id is the
    event / order id (`event_id` = order id for the pixel and the server, `af_order_id` in AppsFlyer's
    event value, else the event's identifying columns; for installs the device's advertising-id
    pseudonym, else the MMP's device id pseudonym). Copies whose event times fall in one window of
    `conversion_dedup_window_hours` (48) counted from the key's first copy are one conversion; the
    first received copy is kept, except that a browser copy received within
    `conversion_browser_tie_seconds` of the first wins the tie (and the server's richer fields fill in
    what the browser lacks). Won CRM deals are offline conversions of their own, joined to the lead's
    first-party conversion by `lead_event_id`. -#}
{#- (vars are read when dbt executes; the linter's templater gets the defaults) -#}
{%- set names = var('conversion_event_names') if execute else {'Purchase': 'purchase'} -%}
{%- set window_seconds = (var('conversion_dedup_window_hours') if execute else 48) * 3600 -%}
{%- set tie_seconds = var('conversion_browser_tie_seconds') if execute else 300 -%}
{#- Which identifier stands for the person, best first (types of int_identifiers__pseudonymized). -#}
{%- set person_types = ['customer_user_id', 'email', 'appsflyer_id', 'gaid', 'idfa', 'adjust_adid', 'anonymous_id',
    'fbp'] -%}

with

first_party_events as (

    select * from {{ ref('stg_webhooks__first_party_events') }}

),

appsflyer_pushed_events as (

    select * from {{ ref('stg_webhooks__appsflyer_events') }}

),

appsflyer_in_app_events as (

    select * from {{ ref('stg_appsflyer__in_app_events') }}

),

appsflyer_installs as (

    select * from {{ ref('stg_appsflyer__installs') }}

),

adjust_callbacks as (

    select * from {{ ref('stg_webhooks__adjust_callbacks') }}

),

crm_deals as (

    select * from {{ ref('stg_crm__deals') }}

),

identifiers as (

    select * from {{ ref('int_identifiers__pseudonymized') }}

),

conversion_names as (

    {%- for event_name, conversion_name in names.items() %}
    select
        '{{ event_name }}' as event_name,
        '{{ conversion_name }}' as conversion_name
    {%- if not loop.last %}
    union all
    {%- endif -%}
    {%- endfor %}

),

-- one row per reported copy: who reported it, its key parts, time, value and record (for pseudonyms)
reported_copies as (

    select
        'stg_webhooks__first_party_events' as source_model,
        message_id as record_id,
        case when event_source = 'web' then 'pixel' else 'server' end as reported_by,
        event_name,
        nullif(trim(event_id), '') as event_dedup_id,
        conversion_value,
        currency,
        event_at as occurred_at,
        received_at
    from first_party_events

    union all

    select
        'stg_webhooks__appsflyer_events' as source_model,
        event_id as record_id,
        'mmp_push' as reported_by,
        event_name,
        nullif(trim(json_extract_string(event_value, '$.af_order_id')), '') as event_dedup_id,
        revenue as conversion_value,
        currency,
        coalesce(case when event_name = 'install' then installed_at end, event_at) as occurred_at,
        received_at
    from appsflyer_pushed_events
    where is_primary_attribution

    union all

    select
        'stg_appsflyer__in_app_events' as source_model,
        event_sk as record_id,
        'mmp_pull' as reported_by,
        event_name,
        nullif(trim(json_extract_string(event_value, '$.af_order_id')), '') as event_dedup_id,
        revenue as conversion_value,
        currency,
        event_at as occurred_at,
        ingested_at as received_at
    from appsflyer_in_app_events
    where is_primary_attribution

    union all

    select
        'stg_appsflyer__installs' as source_model,
        install_sk as record_id,
        'mmp_pull' as reported_by,
        event_name,
        cast(null as varchar) as event_dedup_id,
        cast(null as decimal(18, 6)) as conversion_value,
        cast(null as varchar) as currency,
        installed_at as occurred_at,
        ingested_at as received_at
    from appsflyer_installs
    where coalesce(is_primary_attribution, true)

    union all

    select
        'stg_webhooks__adjust_callbacks' as source_model,
        event_id as record_id,
        'mmp_push' as reported_by,
        activity_kind as event_name,
        cast(null as varchar) as event_dedup_id,
        revenue as conversion_value,
        currency,
        coalesce(installed_at, created_at) as occurred_at,
        received_at
    from adjust_callbacks

),

-- the person's pseudonym of each copy (best identifier type first) and its device pseudonym
ranked_identifiers as (

    select
        *,
        case identifier_type
            {%- for type in person_types %}
            when '{{ type }}' then {{ loop.index }}
            {%- endfor %}
            else 99
        end as identifier_rank
    from identifiers

),

copy_identifiers as (

    select
        source_model,
        record_id,
        arg_min(identifier_pseudonym, identifier_rank) as person_pseudonym,
        arg_min(identifier_type, identifier_rank) as person_identifier_type,
        min(identifier_rank) as identifier_rank,
        min(identifier_pseudonym) filter (
            where identifier_type in ('gaid', 'idfa')
        ) as device_pseudonym,
        min(identifier_pseudonym) filter (
            where identifier_type in ('appsflyer_id', 'adjust_adid')
        ) as mmp_device_pseudonym
    from ranked_identifiers
    group by source_model, record_id

),

named_copies as (

    select
        reported_copies.*,
        conversion_names.conversion_name,
        copy_identifiers.person_pseudonym,
        copy_identifiers.person_identifier_type,
        copy_identifiers.identifier_rank,
        case
            when conversion_names.conversion_name = 'install'
                then coalesce(copy_identifiers.device_pseudonym, copy_identifiers.mmp_device_pseudonym)
            when reported_copies.source_model like '%appsflyer%'
                then coalesce(reported_copies.event_dedup_id, {{ surrogate_key([
                    'copy_identifiers.mmp_device_pseudonym', 'reported_copies.event_name',
                    'epoch(reported_copies.occurred_at)'
                ]) }})
            else reported_copies.event_dedup_id
        end as dedup_id
    from reported_copies
    inner join conversion_names
        on reported_copies.event_name = conversion_names.event_name
    left join copy_identifiers
        on
            reported_copies.source_model = copy_identifiers.source_model
            and reported_copies.record_id = copy_identifiers.record_id

),

-- empty, constant and placeholder ids never merge conversions (field notes 6.1): such copies stand alone
keyed_copies as (

    select
        *,
        case
            when {{ is_junk_identifier("trim(coalesce(dedup_id, ''))") }}
                then source_model || ':' || record_id
            else dedup_id
        end as conversion_key
    from named_copies

),

windowed_copies as (

    select
        *,
        cast(floor(
            (epoch(occurred_at) - min(epoch(occurred_at)) over (partition by conversion_name, conversion_key))
            / {{ window_seconds }}
        ) as bigint) as window_number
    from keyed_copies

),

window_firsts as (

    select
        *,
        min(received_at) over (
            partition by conversion_name, conversion_key, window_number
        ) as window_first_received_at
    from windowed_copies

),

ranked_copies as (

    select
        *,
        row_number() over (
            partition by conversion_name, conversion_key, window_number
            order by
                -- a browser copy received within the tie window of the first copy wins the tie
                case
                    when
                        reported_by = 'pixel'
                        and epoch(received_at) - epoch(window_first_received_at) <= {{ tie_seconds }}
                        then 0
                    else 1
                end,
                received_at,
                case reported_by
                    when 'pixel' then 1 when 'server' then 2 when 'mmp_push' then 3 when 'mmp_pull' then 4 else 5
                end,
                record_id
        ) as keep_rank
    from window_firsts

),

online_conversions as (

    select
        -- ids
        {{ surrogate_key(['conversion_name', 'conversion_key', 'window_number']) }} as conversion_id,
        conversion_key as dedup_id,
        arg_min(person_pseudonym, identifier_rank * 1000 + keep_rank) filter (
            where person_pseudonym is not null
        ) as person_pseudonym,
        cast(null as varchar) as lead_conversion_id,

        -- strings
        conversion_name,
        case
            when bool_or(reported_by in ('mmp_push', 'mmp_pull')) then 'app'
            else 'web'
        end as conversion_type,
        -- the best identifier over all copies (the server knows the customer, the browser a cookie)
        arg_min(person_identifier_type, identifier_rank * 1000 + keep_rank) filter (
            where person_pseudonym is not null
        ) as person_identifier_type,
        arg_min(currency, keep_rank) filter (where conversion_value is not null) as currency,
        list(distinct reported_by order by reported_by) as reported_by,

        -- numerics
        arg_min(conversion_value, keep_rank) filter (where conversion_value is not null) as conversion_value,
        count(*) as reported_copies,

        -- booleans
        bool_or(reported_by = 'pixel') as seen_by_pixel,
        bool_or(reported_by = 'server') as seen_by_server,
        bool_or(reported_by in ('mmp_push', 'mmp_pull')) as seen_by_mmp,
        false as seen_by_crm,

        -- timestamps
        arg_min(occurred_at, keep_rank) as occurred_at,
        min(received_at) as first_received_at,
        arg_min(reported_by, keep_rank) as kept_copy_reported_by

    from ranked_copies
    group by conversion_name, conversion_key, window_number

),

won_deals as (

    select *
    from crm_deals
    where is_won and not is_archived

),

deal_people as (

    select
        record_id as contact_id,
        min(identifier_pseudonym) as person_pseudonym
    from identifiers
    where source_model = 'stg_crm__contacts' and identifier_type = 'email'
    group by record_id

),

-- the lead's conversion: the first one whose event id the deal names
deal_leads as (

    select
        won_deals.deal_id,
        online_conversions.conversion_id,
        online_conversions.person_pseudonym,
        online_conversions.person_identifier_type
    from won_deals
    inner join online_conversions
        on won_deals.lead_event_id = online_conversions.dedup_id
    qualify row_number() over (
        partition by won_deals.deal_id
        order by online_conversions.occurred_at, online_conversions.conversion_id
    ) = 1

),

offline_conversions as (

    select
        -- ids
        {{ surrogate_key(["'deal'", 'won_deals.deal_id']) }} as conversion_id,
        'deal:' || won_deals.deal_id as dedup_id,
        coalesce(deal_people.person_pseudonym, deal_leads.person_pseudonym) as person_pseudonym,
        deal_leads.conversion_id as lead_conversion_id,

        -- strings
        'deal' as conversion_name,
        'offline' as conversion_type,
        case when deal_people.person_pseudonym is not null then 'email' else deal_leads.person_identifier_type end
            as person_identifier_type,
        won_deals.currency,
        ['crm'] as reported_by,

        -- numerics
        won_deals.amount as conversion_value,
        1 as reported_copies,

        -- booleans
        false as seen_by_pixel,
        false as seen_by_server,
        false as seen_by_mmp,
        true as seen_by_crm,

        -- timestamps
        coalesce(won_deals.closed_at, won_deals.modified_at) as occurred_at,
        won_deals.ingested_at as first_received_at,
        'crm' as kept_copy_reported_by

    from won_deals
    left join deal_people
        on won_deals.contact_id = deal_people.contact_id
    left join deal_leads
        on won_deals.deal_id = deal_leads.deal_id

),

unioned as (

    select * from online_conversions

    union all by name

    select * from offline_conversions

),

final as (

    select
        -- ids
        conversion_id,
        dedup_id,
        person_pseudonym,
        lead_conversion_id,

        -- strings
        conversion_name,
        conversion_type,
        person_identifier_type,
        currency,
        kept_copy_reported_by,
        reported_by,

        -- numerics
        conversion_value,
        reported_copies,

        -- booleans
        seen_by_pixel,
        seen_by_server,
        seen_by_mmp,
        seen_by_crm,

        -- dates
        cast(timezone('UTC', occurred_at) as date) as conversion_date,

        -- timestamps
        occurred_at,
        first_received_at

    from unioned

)

select * from final
