"""The filter language of Amazon Personalize, in phases: tokens → AST → validate → execute.

At CreateFilter::

    expr = parse(filter_expression)                      # syntax; InvalidInputException
    validated = validate(expr, schemas)                  # against the dataset group's schemas
    describe_fields(validated)                           # for the per-dataset-group field limit

Per request::

    bound = bind(validated, request.filterValues)        # InvalidInputException on bad values
    keep = compile_mask(bound, FilterData(...))          # bool (n_candidates,); cannot fail

See docs/filters.md for the language and its semantics.
"""

from openpersonalize.filtering.ast import (
    Action,
    Dataset,
    Field,
    FilterExpression,
    Op,
    Target,
    to_text,
)
from openpersonalize.filtering.compiler import (
    BoundFilter,
    bind,
    compile_mask,
    evaluate,
)
from openpersonalize.filtering.data import (
    DEFAULT_HISTORY_DEPTH,
    CategoricalColumn,
    Column,
    DictIndex,
    FilterData,
    IdIndex,
    NumericColumn,
    RowValue,
    event_type_key,
    row_of,
)
from openpersonalize.filtering.parser import parse
from openpersonalize.filtering.validate import (
    MAX_FIELDS_PER_DATASET_GROUP,
    MAX_FIELDS_PER_FILTER,
    ColumnInfo,
    Schemas,
    ValidatedFilter,
    check_dataset_group_fields,
    columns_from_avro,
    dataset_from_type,
    describe_fields,
    required_parameters,
    validate,
)
from openpersonalize.filtering.values import format_filter_value, parse_filter_value

__all__ = [
    "DEFAULT_HISTORY_DEPTH",
    "MAX_FIELDS_PER_DATASET_GROUP",
    "MAX_FIELDS_PER_FILTER",
    "Action",
    "BoundFilter",
    "CategoricalColumn",
    "Column",
    "ColumnInfo",
    "Dataset",
    "DictIndex",
    "Field",
    "FilterData",
    "FilterExpression",
    "IdIndex",
    "NumericColumn",
    "Op",
    "RowValue",
    "Schemas",
    "Target",
    "ValidatedFilter",
    "bind",
    "check_dataset_group_fields",
    "columns_from_avro",
    "compile_mask",
    "dataset_from_type",
    "describe_fields",
    "evaluate",
    "event_type_key",
    "format_filter_value",
    "parse",
    "parse_filter_value",
    "required_parameters",
    "row_of",
    "to_text",
    "validate",
]
