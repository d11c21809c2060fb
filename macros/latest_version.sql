{#- Raw tables are append-only: a re-read appends a new version of each record. This keeps the
    newest version per natural key (latest dlt load, then latest ingestion time). -#}
{% macro latest_version(partition_by) -%}
    qualify row_number() over (
        partition by {{ partition_by | join(', ') }}
        order by cast(_dlt_load_id as double) desc, _ingested_at desc
    ) = 1
{%- endmacro %}
