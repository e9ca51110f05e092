"""The anchor of benches/validate.sh, timed as a whole process by it: Great Expectations (pandas
engine) checks the rules of SCHEMA (mlops' validate schema, GE's expectation names and arguments)
on the Parquet file DATA, read with pandas, as `mlops validate check` does. Prints how many rules
passed.

    validate_anchor.py SCHEMA.yaml DATA.parquet

Needs great-expectations 1.24.1, pandas<3 and pyarrow (scripts/golden/validate_ge.py says how).
"""

import sys


def main(schema_path, data_path):
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd
    from ruamel.yaml import YAML

    schema = YAML(typ="safe").load(open(schema_path))
    df = pd.read_parquet(data_path)
    ctx = gx.get_context(mode="ephemeral")
    batch = (
        ctx.data_sources.add_pandas("pd")
        .add_dataframe_asset("df")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": df})
    )

    def expectation(rule, column=None):
        args = {k: v for k, v in rule.items() if k not in ("name", "expect", "severity")}
        if column is not None:
            args["column"] = column
        name = "".join(part.title() for part in ("expect_" + rule["expect"]).split("_"))
        return getattr(gxe, name)(**args)

    rules = [expectation(rule) for rule in schema.get("table", [])]
    for column, column_rules in schema.get("columns", {}).items():
        rules.extend(expectation(rule, column) for rule in column_rules)
    format_ = {"result_format": "SUMMARY", "unexpected_index_column_names": ["id"]}
    passed = sum(batch.validate(rule, result_format=format_).success for rule in rules)
    print(f"{passed} of {len(rules)} rules passed")


if __name__ == "__main__":
    main(*sys.argv[1:3])
