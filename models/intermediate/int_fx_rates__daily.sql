{#- The rate of every currency into the reporting currency (var `reporting_currency`) for every day,
    from the `fx_rates_daily` seed. The seed quotes each day's rates against one base currency
    (1 base = `rate` quote); a cross rate goes through the base: rate(X -> R) = rate(base -> R) /
    rate(base -> X), the base itself at 1. A day without published rates (weekends, holidays, today
    before the fixing) keeps the last published rate; days before a currency's first rate have none.
    The days run from the first rate to today (var `fx_rates_fill_until` to fix another day) or the
    last rate, whichever is later. -#}

{%- set fill_until = "cast('" ~ var('fx_rates_fill_until') ~ "' as date)"
    if var('fx_rates_fill_until', none) else 'current_date' %}

with

rates as (

    select * from {{ ref('fx_rates_daily') }}

),

quotes as (

    select
        cast(rate_date as date) as rate_date,
        upper(base_currency) as base_currency,
        upper(quote_currency) as currency,
        cast(rate as double) as rate
    from rates

    union

    -- the base quoted in itself
    select distinct
        cast(rate_date as date) as rate_date,
        upper(base_currency) as base_currency,
        upper(base_currency) as currency,
        1.0 as rate
    from rates

),

cross_rates as (

    select
        quotes.rate_date,
        quotes.currency,
        reporting.rate / quotes.rate as rate_to_reporting
    from quotes
    inner join quotes as reporting
        on
            quotes.rate_date = reporting.rate_date
            and quotes.base_currency = reporting.base_currency
            and reporting.currency = upper('{{ var("reporting_currency") }}')

),

bounds as (

    select
        min(rate_date) as first_day,
        greatest(max(rate_date), {{ fill_until }}) as last_day
    from cross_rates

),

days as (

    select cast(unnest(generate_series(bounds.first_day, bounds.last_day, interval 1 day)) as date) as date_day
    from bounds

),

currencies as (

    select distinct currency from cross_rates

),

spine as (

    select
        days.date_day,
        currencies.currency
    from days
    cross join currencies

),

filled as (

    select
        spine.date_day,
        spine.currency,
        last_value(cross_rates.rate_date ignore nulls) over (
            partition by spine.currency
            order by spine.date_day
            rows between unbounded preceding and current row
        ) as rate_date,
        last_value(cross_rates.rate_to_reporting ignore nulls) over (
            partition by spine.currency
            order by spine.date_day
            rows between unbounded preceding and current row
        ) as rate_to_reporting
    from spine
    left join cross_rates
        on
            spine.date_day = cross_rates.rate_date
            and spine.currency = cross_rates.currency

),

final as (

    select
        date_day,
        currency,
        upper('{{ var("reporting_currency") }}') as reporting_currency,
        rate_date,
        rate_to_reporting
    from filled
    where rate_to_reporting is not null

)

select * from final
