-- Integrity: per model, rpt_attribution_channel and rpt_attribution_model_comparison hold the conversions and
-- value of fct_attribution_credits, which total the attributed conversions (one per conversion) and their
-- values; rpt_attribution_campaign holds those of the credits that know their campaign; the spend of
-- rpt_attribution_channel is rpt_channel_performance_daily's for every model and channel-day.
{%- set models = ['first_touch', 'last_touch', 'last_non_direct', 'linear', 'time_decay', 'position_based',
                  'custom', 'markov', 'shapley'] %}

with

credits as (

    select * from {{ ref('fct_attribution_credits') }}

),

channel_report as (

    select * from {{ ref('rpt_attribution_channel') }}

),

campaign_report as (

    select * from {{ ref('rpt_attribution_campaign') }}

),

comparison_report as (

    select * from {{ ref('rpt_attribution_model_comparison') }}

),

channel_performance as (

    select * from {{ ref('rpt_channel_performance_daily') }}

),

conversion_values as (

    select
        count(*) as conversions,
        coalesce(sum(conversion_value), 0) as conversion_value
    from (
        select
            conversion_id,
            max(conversion_value) as conversion_value
        from credits
        group by conversion_id
    ) as per_conversion

),

totals as (

    select
        'fct_attribution_credits' as relation_name,
        attribution_model,
        sum(credit) as conversions,
        sum(credited_value) as conversion_value
    from credits
    group by attribution_model

    union all

    select
        'rpt_attribution_channel' as relation_name,
        attribution_model,
        sum(attributed_conversions) as conversions,
        sum(attributed_value) as conversion_value
    from channel_report
    group by attribution_model
    having sum(attributed_conversions) > 0

    {%- for model in models %}

    union all

    select
        'rpt_attribution_model_comparison' as relation_name,
        '{{ model }}' as attribution_model,
        sum({{ model }}_conversions) as conversions,
        sum({{ model }}_value_share) * max(conversion_values.conversion_value) as conversion_value
    from comparison_report
    cross join conversion_values
    having count({{ model }}_conversions) > 0
    {%- endfor %}

),

total_mismatches as (

    select
        totals.relation_name,
        totals.attribution_model,
        totals.conversions as amount,
        conversion_values.conversions as expected_amount
    from totals
    cross join conversion_values
    where
        abs(totals.conversions - conversion_values.conversions) > 1e-6
        or abs(totals.conversion_value - conversion_values.conversion_value)
        > 1e-6 * greatest(1, conversion_values.conversion_value)

),

campaign_credits as (

    select
        attribution_model,
        sum(credit) as conversions
    from credits
    where campaign_id is not null
    group by attribution_model

),

campaign_totals as (

    select
        attribution_model,
        sum(attributed_conversions) as conversions
    from campaign_report
    group by attribution_model

),

campaign_mismatches as (

    select
        'rpt_attribution_campaign' as relation_name,
        campaign_credits.attribution_model,
        campaign_totals.conversions as amount,
        campaign_credits.conversions as expected_amount
    from campaign_credits
    left join campaign_totals
        on campaign_credits.attribution_model = campaign_totals.attribution_model
    where
        campaign_totals.conversions is null
        or abs(campaign_totals.conversions - campaign_credits.conversions) > 1e-6

),

report_spend as (

    select
        attribution_model,
        channel,
        date_day,
        sum(spend_reporting) as spend_reporting
    from channel_report
    where spend_reporting is not null
    group by attribution_model, channel, date_day

),

spend_mismatches as (

    select
        'rpt_attribution_channel spend ' || report_spend.channel || ' ' || report_spend.date_day as relation_name,
        report_spend.attribution_model,
        report_spend.spend_reporting as amount,
        channel_performance.spend_reporting as expected_amount
    from report_spend
    left join channel_performance
        on
            report_spend.channel = channel_performance.channel
            and report_spend.date_day = channel_performance.date_day
    where report_spend.spend_reporting is distinct from channel_performance.spend_reporting

),

missing_spend as (

    select
        'rpt_channel_performance_daily spend ' || channel_performance.channel || ' ' || channel_performance.date_day
            as relation_name,
        cast(null as varchar) as attribution_model,
        cast(null as double) as amount,
        channel_performance.spend_reporting as expected_amount
    from channel_performance
    where
        channel_performance.spend_reporting is not null
        and not exists (
            select 1
            from report_spend
            where
                report_spend.channel = channel_performance.channel
                and report_spend.date_day = channel_performance.date_day
        )

),

final as (

    select * from total_mismatches
    union all
    select * from campaign_mismatches
    union all
    select * from spend_mismatches
    union all
    select * from missing_spend

)

select * from final
