{#- The incremental rule every incremental model of adlake shares.

    `incremental_days(relation, partition_by, is_incremental(), ...)` is the body of a model's import
    CTE (the model passes is_incremental(), so a unit test's override of it reaches here). On a full
    build (no target yet, or --full-refresh) it selects all of `relation`. On an incremental run it
    selects every row of the partitions (`partition_by`, e.g. platform and report day) that hold at
    least one row ingested after the target's last build: a row whose `ingested_at` column is newer
    than the newest one the target holds (per `watermark_by` group, e.g. per platform: a platform new
    to the target is read whole). The model's `delete+insert` keyed on the same partition columns
    then replaces those partitions whole - a restated day can lose an ad, so a partition is deleted
    and rebuilt, never merged row by row. The rule is exact: it reads ingestion times, not a fixed
    look-back. Added on top:
      - the var `incremental_reprocess_days` (default 0): also rebuild every partition whose
        `day_column` is within that many days before today (late FX rates in the seed);
      - `reprocess_all_when`: a SQL condition that rebuilds every partition (a new pseudonym key).
    `relation` may be a parenthesized subquery.
    Changes no ingestion time shows (a seed, a var, the model's SQL) need `dbt build --full-refresh`.

    The model's post-hook `incremental_days_log` logs what the run wrote. -#}
{% macro incremental_days(relation, partition_by, incremental, watermark_by=[], ingested_at='source_ingested_at',
                          day_column='date_day', reprocess_all_when=none) -%}
    {%- if not incremental -%}
        select * from {{ relation }}
    {%- else -%}
        {%- set changed = incremental_changed_partitions(
            relation, partition_by, watermark_by, ingested_at, day_column, reprocess_all_when) -%}
        {%- set selected -%}
            select upstream.*
            from {{ relation }} as upstream
            where exists (
                select 1
                from ({{ changed }}) as changed
                where
                {%- for column in partition_by %}
                    {{ "and " if not loop.first }}changed.{{ column }} is not distinct from upstream.{{ column }}
                {%- endfor %}
            )
        {%- endset -%}
        {{ selected }}
    {%- endif -%}
{%- endmacro %}


{#- The partitions of `relation` to rebuild (see incremental_days). -#}
{% macro incremental_changed_partitions(relation, partition_by, watermark_by, ingested_at, day_column,
                                        reprocess_all_when) -%}
    {%- set horizon = var('incremental_reprocess_days', 0) | int -%}
    select distinct
        {%- for column in partition_by %}
        upstream.{{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ relation }} as upstream
    {%- if watermark_by %}
    left join (
        select
            {%- for column in watermark_by %}
            {{ column }},
            {%- endfor %}
            max({{ ingested_at }}) as watermark
        from {{ this }}
        group by {{ watermark_by | join(', ') }}
    ) as built
        on
        {%- for column in watermark_by %}
            {{ "and " if not loop.first }}upstream.{{ column }} is not distinct from built.{{ column }}
        {%- endfor %}
    {%- else %}
    cross join (select max({{ ingested_at }}) as watermark from {{ this }}) as built
    {%- endif %}
    where
        built.watermark is null
        or upstream.{{ ingested_at }} > built.watermark
        {%- if horizon > 0 and day_column %}
        or upstream.{{ day_column }} >= current_date - {{ horizon }}
        {%- endif %}
        {%- if reprocess_all_when %}
        or ({{ reprocess_all_when }})
        {%- endif %}
{%- endmacro %}


{#- Post-hook of every incremental model: one info line saying what this run wrote, read from the
    rows it inserted (dbt-duckdb reports no row counts in run_results.json):
      `fct_ad_performance_daily: incremental, 412 rows in 14 partitions over 5 days
       [google_ads: 2026-01-12..2026-01-14; meta_ads: 2026-01-10..2026-01-14]`
    (days as inclusive runs of consecutive days, per `watermark_by` group; without a `day_column`,
    rows per group), or `<model>: full build, N rows in P partitions ...` when the table was built
    whole. An incremental run is told apart by its temporary table (`<model>__dbt_tmp...`, which holds
    exactly the rows inserted and is still there when the post-hooks inside the transaction run);
    finding it uses DuckDB's duckdb_tables(). Renders no SQL. -#}
{% macro incremental_days_log(partition_by, watermark_by=[], day_column='date_day') -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {#- dbt-duckdb names it `<model>__dbt_tmp<timestamp>`: the newest such temporary table. -#}
    {%- set temporaries = run_query(
        "select max(table_name) from duckdb_tables() where temporary and starts_with(table_name, '"
        ~ this.identifier ~ "__dbt_tmp')").columns[0].values() -%}
    {%- set found = temporaries[0] is not none -%}
    {%- set written = adapter.quote(temporaries[0]) if found else this -%}
    {%- set group = ("cast(" ~ (watermark_by | join(" as varchar) || ':' || cast(")) ~ " as varchar)")
        if watermark_by else "'all'" -%}
    {%- set partition = "cast(" ~ (partition_by | join(" as varchar) || '|' || cast(")) ~ " as varchar)" -%}
    {%- set query -%}
        with
        {%- if day_column %}
        days as (
            select distinct {{ group }} as day_group, {{ day_column }} as day
            from {{ written }}
        ),
        runs as (
            select
                day_group,
                min(day) as first_day,
                max(day) as last_day
            from (
                select
                    day_group,
                    day,
                    day - cast(row_number() over (partition by day_group order by day) as integer) as run_id
                from days
            ) as numbered
            group by day_group, run_id
        ),
        groups as (
            select
                day_group,
                string_agg(
                    case when first_day = last_day then cast(first_day as varchar)
                        else cast(first_day as varchar) || '..' || cast(last_day as varchar) end,
                    ', ' order by first_day
                ) as detail
            from runs
            group by day_group
        ),
        {%- else %}
        groups as (
            select
                {{ group }} as day_group,
                cast(count(*) as varchar) || ' rows' as detail
            from {{ written }}
            group by 1
        ),
        {%- endif %}
        totals as (
            select
                count(*) as row_count,
                count(distinct {{ partition }}) as partition_count
                {%- if day_column %},
                count(distinct {{ day_column }}) as day_count
                {%- endif %}
            from {{ written }}
        )
        select
            totals.*,
            (select string_agg(day_group || ': ' || detail, '; ' order by day_group) from groups) as detail
        from totals
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- set message = model.name ~ ": " ~ ("incremental" if found else "full build") ~ ", "
        ~ row['row_count'] ~ " rows in " ~ row['partition_count'] ~ " partitions" -%}
    {%- if day_column -%}
        {%- set message = message ~ " over " ~ row['day_count'] ~ " days" -%}
    {%- endif -%}
    {%- do log(message ~ " [" ~ (row['detail'] or '') ~ "]", info=True) -%}
    {{ return('') }}
{%- endmacro %}
