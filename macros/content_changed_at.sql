{#- Every version of an append-only raw entity table with `_content_changed_at`: when the record's
    current values of `columns` were first ingested (the first version of the newest run of versions
    that share those values). Entity tables are re-read whole on every run, so the ingestion time of
    the latest version only says when it was last read; this says when what the marts use from it
    last changed, which is what the incremental marts compare with their watermark
    (macros/incremental_days.sql). Versions are ordered as latest_version orders them. -#}
{% macro content_changed_at(relation, partition_by, columns) -%}
    {%- set content = surrogate_key(columns) -%}
    {%- set partition = partition_by | join(', ') -%}
    {%- set version_order = "cast(_dlt_load_id as double), _ingested_at" -%}
    select
        *,
        last_value(case when _content_is_new then _ingested_at end ignore nulls) over (
            partition by {{ partition }}
            order by {{ version_order }}
            rows between unbounded preceding and unbounded following
        ) as _content_changed_at
    from (
        select
            *,
            -- the first version, or one whose content differs from the version before (md5s: never null)
            coalesce(lag({{ content }}) over (
                partition by {{ partition }}
                order by {{ version_order }}
            ) != {{ content }}, true) as _content_is_new
        from {{ relation }}
    ) as versions
{%- endmacro %}
