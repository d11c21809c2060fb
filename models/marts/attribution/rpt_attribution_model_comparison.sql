{#- Each attribution model's share of the attributed conversions per channel, side by side (all days).
    One pair of columns per model of attribution.engine.MODELS (the contract needs fixed columns): the
    conversions credited to the channel and their share of the model's total. A model left out of var
    `attribution_models` has NULL columns. -#}
{%- set models = ['first_touch', 'last_touch', 'last_non_direct', 'linear', 'time_decay', 'position_based',
                  'custom', 'markov', 'shapley'] -%}

with

credits as (

    select * from {{ ref('fct_attribution_credits') }}

),

channel_models as (

    select
        attribution_model,
        attribution_channel,
        max(channel) as channel,
        max(platform) as platform,
        sum(credit) as attributed_conversions,
        sum(credited_value) as attributed_value
    from credits
    group by attribution_model, attribution_channel

),

model_totals as (

    select
        attribution_model,
        sum(attributed_conversions) as total_conversions,
        sum(attributed_value) as total_value
    from channel_models
    group by attribution_model

),

shares as (

    select
        channel_models.*,
        channel_models.attributed_conversions / nullif(model_totals.total_conversions, 0) as conversion_share,
        channel_models.attributed_value / nullif(model_totals.total_value, 0) as value_share
    from channel_models
    inner join model_totals
        on channel_models.attribution_model = model_totals.attribution_model

),

pivoted as (

    select
        attribution_channel,
        {%- for model in models %}
        sum(attributed_conversions) filter (where attribution_model = '{{ model }}') as {{ model }}_conversions,
        sum(conversion_share) filter (where attribution_model = '{{ model }}') as {{ model }}_share,
        sum(value_share) filter (where attribution_model = '{{ model }}') as {{ model }}_value_share,
        {%- endfor %}
        max(channel) as channel,
        max(platform) as platform,
        max(conversion_share) - min(conversion_share) as share_spread
    from shares
    group by attribution_channel

),

final as (

    select
        -- ids
        cast(attribution_channel as varchar) as attribution_channel,

        -- strings
        cast(channel as varchar) as channel,
        cast(platform as varchar) as platform,

        -- numerics
        {%- for model in models %}
        cast({{ model }}_conversions as double) as {{ model }}_conversions,
        cast({{ model }}_share as double) as {{ model }}_share,
        cast({{ model }}_value_share as double) as {{ model }}_value_share,
        {%- endfor %}
        cast(share_spread as double) as share_spread

    from pivoted

)

select * from final
