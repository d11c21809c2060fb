{#- The pseudonymization boundary (field notes 8.2): keyed HMAC-SHA256, hex, over the value
    normalized for its kind. The key never appears in SQL: the DuckDB function adlake_hmac_sha256 is
    registered by the project dbt plugin (pipelines.dbt_plugin), which reads ADLAKE_PSEUDONYM_KEY itself. The
    macro only checks, at run time, that the variable is set (parsing does not need it). -#}
{% macro pseudonymize(column, kind) -%}
    {{ return(adapter.dispatch('pseudonymize', 'adlake')(column, kind)) }}
{%- endmacro %}

{% macro default__pseudonymize(column, kind) -%}
    {%- do pseudonym_key_check() -%}
    adlake_hmac_sha256({{ normalize_identifier(column, kind) }})
{%- endmacro %}

{#- A clear compile error naming the variable when the key is missing or short, never a default.
    Only the key's length is looked at; nothing of it is rendered. -#}
{% macro pseudonym_key_check() -%}
    {%- if execute and env_var('ADLAKE_PSEUDONYM_KEY', '') | length < 32 -%}
        {{ exceptions.raise_compiler_error(
            "ADLAKE_PSEUDONYM_KEY is not set (or shorter than 32 characters): " ~ model.name
            ~ " pseudonymizes personal data with a keyed HMAC and needs the key. Set it to a secret of at least"
            ~ " 32 random characters (python -c 'import secrets; print(secrets.token_hex(32))'), kept outside"
            ~ " the lake and the repository.") }}
    {%- endif -%}
{%- endmacro %}

{#- The value as it is pseudonymized; identical to pipelines.pseudonyms.normalize. Blank values become
    NULL, so they never turn into one pseudonym shared by everyone. -#}
{% macro normalize_identifier(column, kind) -%}
    {%- set trimmed = "trim(cast(" ~ column ~ " as varchar), ' ' || chr(9) || chr(10) || chr(13))" -%}
    {%- if kind == 'email' -%}
        nullif(lower({{ trimmed }}), '')
    {%- elif kind == 'phone' -%}
        {#- E.164: separators dropped, a 00 prefix becomes +; anything else (a national number
            without its country code) cannot be normalized without a region and is NULL. -#}
        {%- set compact = "regexp_replace(regexp_replace(" ~ trimmed ~ ", '[ \\t().-]', '', 'g'), '^00', '+')" -%}
        case when regexp_full_match({{ compact }}, '\+[1-9][0-9]{6,14}') then {{ compact }} end
    {%- elif kind in ('device_id', 'id') -%}
        {#- Junk guard (field notes 6.2): values trackers put in an id slot when they know nobody (blank,
            all zeros or dashes, the limited-tracking advertising id, and the var `blocked_identifier_values`,
            compared case-insensitively) are no identifier: as one pseudonym they would join everyone who
            sent them into one person. Device and advertising ids are also lowercased. -#}
        {%- set value = "lower(" ~ trimmed ~ ")" if kind == 'device_id' else trimmed -%}
        case when not {{ is_junk_identifier(trimmed) }} then {{ value }} end
    {%- else -%}
        {{ exceptions.raise_compiler_error("pseudonymize: unknown kind '" ~ kind ~ "' for " ~ column
            ~ "; one of email, phone, device_id, id") }}
    {%- endif -%}
{%- endmacro %}

{#- is_junk_identifier: whether a trimmed id is a placeholder trackers send when they know nobody (blank,
    all zeros or dashes, or a value of the var `blocked_identifier_values`, case-insensitively). One rule for
    pseudonyms and for conversion dedup ids: as a key either would merge everyone who sent it. -#}
{% macro is_junk_identifier(trimmed) -%}
    (regexp_full_match({{ trimmed }}, '[0-]*') or lower({{ trimmed }}) in ({{ blocked_identifier_values_sql() }}))
{%- endmacro %}

{#- The var `blocked_identifier_values`, lowercased, as a SQL list of string literals. -#}
{% macro blocked_identifier_values_sql() -%}
    {%- set blocked = var('blocked_identifier_values', ['-1', 'null', 'undefined', 'anonymous', 'n/a', 'none', 'void',
                                                         'abc123']) -%}
    {%- if blocked is string or blocked | length == 0 -%}
        {{ exceptions.raise_compiler_error("var blocked_identifier_values must be a non-empty list of strings") }}
    {%- endif -%}
    {%- for value in blocked -%}
        '{{ (value | string | lower) | replace("'", "''") }}'{{ ", " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
