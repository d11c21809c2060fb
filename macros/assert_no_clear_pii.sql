{#- The PII guard, run after every `dbt build` / `dbt run` (on-run-end in dbt_project.yml): fails the
    invocation when any relation built by a model outside staging has
    - a column named like a staging column marked `meta: {pii: true}`,
    - values that look like an email address or an international phone number (in any column, cast
      to text, so lists and structs are covered),
    - or text values equal (case-insensitively) to a value of a staging column marked PII (clear
      advertising ids, user ids... that no pattern recognizes; values shorter than 6 characters are
      not compared).
    The report names relations, columns and counts, never a value. -#}
{% macro assert_no_clear_pii() -%}
    {%- if not execute or flags.WHICH not in ['build', 'run'] -%}
        {{ return('') }}
    {%- endif -%}
    {%- set email_pattern = '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}' -%}
    {#- The whole value is a phone with its country code, or a +<digits> phone stands inside the text. -#}
    {%- set phone_pattern = '^\\s*(\\+|00)[1-9][0-9 ()./-]{5,20}[0-9]\\s*$|(^|[^0-9A-Za-z+])\\+[1-9][0-9]{6,14}([^0-9]|$)' -%}

    {%- set pii_names = [] -%}
    {%- set pii_selects = [] -%}
    {%- set downstream = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
        {%- set relation = adapter.get_relation(database=node.database, schema=node.schema,
            identifier=node.alias) -%}
        {%- if node.fqn[1] == 'staging' -%}
            {%- for column in node.columns.values() -%}
                {%- set meta = column.meta or (column.config or {}).get('meta') or {} -%}
                {%- if meta.get('pii') -%}
                    {%- do pii_names.append(column.name | lower) -%}
                    {%- if relation is not none -%}
                        {%- do pii_selects.append('select lower(cast(' ~ adapter.quote(column.name)
                            ~ ' as varchar)) as value from ' ~ relation) -%}
                    {%- endif -%}
                {%- endif -%}
            {%- endfor -%}
        {%- elif relation is not none -%}
            {%- do downstream.append(relation) -%}
        {%- endif -%}
    {%- endfor -%}

    {%- if pii_selects -%}
        {%- call statement('pii_values') -%}
            create or replace temp table adlake_pii_values as
            select distinct value
            from (
                {{ pii_selects | join('\n                union all\n                ') }}
            ) as pii
            where length(value) >= 6
        {%- endcall -%}
    {%- else -%}
        {%- call statement('pii_values') -%}
            create or replace temp table adlake_pii_values as select cast(null as varchar) as value where false
        {%- endcall -%}
    {%- endif -%}

    {%- set problems = [] -%}
    {%- set scanned = namespace(columns=0) -%}
    {%- for relation in downstream -%}
        {%- set columns = adapter.get_columns_in_relation(relation) -%}
        {%- set checks = [] -%}
        {%- for column in columns -%}
            {%- set scanned.columns = scanned.columns + 1 -%}
            {%- if column.name | lower in pii_names -%}
                {%- do problems.append(relation ~ '.' ~ column.name ~ ': named like a staging column marked PII') -%}
            {%- endif -%}
            {%- set text = 'cast(' ~ adapter.quote(column.name) ~ ' as varchar)' -%}
            {%- do checks.append((column.name, 'email-like',
                "count(*) filter (where regexp_matches(" ~ text ~ ", '" ~ email_pattern ~ "'))")) -%}
            {%- do checks.append((column.name, 'phone-like',
                "count(*) filter (where regexp_matches(" ~ text ~ ", '" ~ phone_pattern ~ "'))")) -%}
            {%- if column.is_string() -%}
                {%- do checks.append((column.name, 'equal to a value of a PII column',
                    "count(*) filter (where lower(" ~ text ~ ") in (select value from adlake_pii_values))")) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if checks -%}
            {%- set query -%}
                select
                {%- for check in checks %}
                    {{ check[2] }}{{ ',' if not loop.last }}
                {%- endfor %}
                from {{ relation }}
            {%- endset -%}
            {%- set counts = run_query(query).rows[0] -%}
            {%- for check in checks -%}
                {%- if counts[loop.index0] > 0 -%}
                    {%- do problems.append(relation ~ '.' ~ check[0] ~ ': ' ~ counts[loop.index0] ~ ' values '
                        ~ check[1]) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- call statement('drop_pii_values') -%}
        drop table if exists adlake_pii_values
    {%- endcall -%}

    {%- if problems -%}
        {{ exceptions.raise_compiler_error("clear personal data past the pseudonymization boundary (pseudonymize "
            ~ "it in int_identifiers__pseudonymized and select the pseudonym instead):\n  "
            ~ problems | join('\n  ')) }}
    {%- endif -%}
    {{ log('PII boundary: ' ~ downstream | length ~ ' relations past staging, ' ~ scanned.columns
        ~ ' columns, no clear personal data', info=True) }}
{%- endmacro %}
