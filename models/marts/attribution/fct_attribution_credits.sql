{#- Every attribution model's credit for every touch of every attributed conversion: the credits
    (int_attribution__credits) with their touch and conversion (int_attribution__paths, fct_conversions).
    A touch that is in the paths of several conversions has a row for each. -#}

with

credits as (

    select * from {{ ref('int_attribution__credits') }}

),

paths as (

    select * from {{ ref('int_attribution__paths') }}

),

conversions as (

    select * from {{ ref('fct_conversions') }}

),

path_lengths as (

    select
        path_id,
        count(*) as path_touch_count
    from paths
    group by path_id

),

final as (

    select
        -- ids
        {{ surrogate_key(['paths.conversion_id', 'paths.touchpoint_id', 'credits.model']) }} as attribution_credit_sk,
        cast(paths.conversion_id as varchar) as conversion_id,
        cast(paths.touchpoint_id as varchar) as touchpoint_id,
        cast(paths.campaign_id as varchar) as campaign_id,

        -- strings
        cast(credits.model as varchar) as attribution_model,
        cast(conversions.conversion_name as varchar) as conversion_name,
        cast(paths.channel as varchar) as channel,
        cast(paths.platform as varchar) as platform,
        cast(paths.attribution_channel as varchar) as attribution_channel,
        cast(paths.touch_role as varchar) as touch_role,
        cast(upper('{{ var("reporting_currency") }}') as varchar) as reporting_currency,

        -- numerics: money in the reporting currency
        cast(paths.touch_index as integer) as touch_index,
        cast(path_lengths.path_touch_count as integer) as path_touch_count,
        cast(credits.credit as double) as credit,
        cast(credits.credited_value as double) as credited_value,
        cast(paths.conversion_value as double) as conversion_value,

        -- dates (UTC)
        cast(timezone('UTC', paths.converted_at) as date) as conversion_date,
        cast(timezone('UTC', paths.touched_at) as date) as touch_date,

        -- timestamps
        cast(paths.touched_at as timestamp with time zone) as touched_at,
        cast(paths.converted_at as timestamp with time zone) as converted_at

    from credits
    inner join paths
        on
            credits.path_id = paths.path_id
            and credits.touchpoint_id = paths.touchpoint_id
    inner join path_lengths
        on credits.path_id = path_lengths.path_id
    left join conversions
        on paths.conversion_id = conversions.conversion_id

)

select * from final
