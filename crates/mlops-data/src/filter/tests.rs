use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, DictionaryArray, Float64Array, Int64Array, RecordBatch,
    StringArray, TimestampMillisecondArray,
};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::WriterProperties;

use super::prune::row_groups;
use super::*;
use crate::error::Error;

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter_with_nullable(columns.into_iter().map(|(n, c)| (n, c, true)))
        .expect("columns of one length")
}

/// The rows (indices) of `batch` where `text` holds.
fn rows(text: &str, batch: &RecordBatch) -> Vec<usize> {
    let filter = Filter::parse(text).expect("parses");
    filter
        .check(FilePath::new("t.parquet"), &batch.schema())
        .expect("checks");
    eval::truth(&filter.expr, batch)
        .expect("evaluates")
        .value
        .set_indices()
        .collect()
}

fn error(text: &str, batch: &RecordBatch) -> String {
    Filter::parse(text)
        .and_then(|f| f.check(FilePath::new("t.parquet"), &batch.schema()))
        .expect_err("refused")
        .to_string()
}

fn numbers() -> RecordBatch {
    batch(vec![
        (
            "x",
            Arc::new(Float64Array::from(vec![
                Some(1.0),
                Some(f64::NAN),
                None,
                Some(-2.0),
                Some(5.0),
            ])),
        ),
        (
            "n",
            Arc::new(Int64Array::from(vec![
                Some(4),
                Some(0),
                Some(3),
                None,
                Some(10),
            ])),
        ),
    ])
}

#[test]
fn a_missing_value_makes_a_comparison_unknown_and_drops_the_row() {
    let b = numbers();
    assert_eq!(rows("x > 0", &b), [0, 4]);
    assert_eq!(rows("x != 1", &b), [3, 4], "NaN and null are neither");
    assert_eq!(rows("not (x > 0)", &b), [3], "not of unknown is unknown");
    assert_eq!(rows("x > 0 or x <= 0", &b), [0, 3, 4]);
    assert_eq!(rows("x > 100 or n >= 3", &b), [0, 2, 4], "true or unknown");
    assert_eq!(rows("not (x > 100 and n >= 3)", &b), [0, 1, 3, 4]);
    assert_eq!(rows("not (x > 0 or x > 100)", &b), [3]);
    assert_eq!(
        rows("not (x > 0 or n > 100)", &b),
        Vec::<usize>::new(),
        "n is missing in row 3"
    );
    assert_eq!(rows("0 < x", &b), [0, 4]);
    assert_eq!(rows("1 < 2", &b), [0, 1, 2, 3, 4]);
}

/// A column of each kind with missing values: `n` an integer, `x` a float (NaN in row 1, null
/// in row 2), `name` text, `region` dictionary text, `flag` a boolean.
fn with_nulls() -> RecordBatch {
    let region: DictionaryArray<Int32Type> = vec![Some("eu"), None, Some("us"), Some("eu"), None]
        .into_iter()
        .collect();
    batch(vec![
        (
            "n",
            Arc::new(Int64Array::from(vec![
                Some(1),
                None,
                Some(3),
                None,
                Some(5),
            ])),
        ),
        (
            "x",
            Arc::new(Float64Array::from(vec![
                Some(0.5),
                Some(f64::NAN),
                None,
                Some(2.0),
                Some(-1.0),
            ])),
        ),
        (
            "name",
            Arc::new(StringArray::from(vec![
                None,
                Some("bob"),
                Some(""),
                None,
                Some("zoe"),
            ])),
        ),
        ("region", Arc::new(region)),
        (
            "flag",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                None,
                Some(false),
                Some(true),
                None,
            ])),
        ),
    ])
}

#[test]
fn is_null_asks_for_the_missing_values_a_comparison_leaves_out() {
    let b = with_nulls();
    let cases: &[(&str, &[usize])] = &[
        ("n is null", &[1, 3]),
        ("n is not null", &[0, 2, 4]),
        ("x is null", &[1, 2]),
        ("x is not null", &[0, 3, 4]),
        ("name is null", &[0, 3]),
        ("name is not null", &[1, 2, 4]),
        ("column(name) is null", &[0, 3]),
        ("region is null", &[1, 4]),
        ("region is not null", &[0, 2, 3]),
        ("flag is null", &[1, 4]),
        ("flag is not null", &[0, 2, 3]),
        // Never unknown itself: `not` of it is its negation.
        ("not (x is null)", &[0, 3, 4]),
        ("not x is not null", &[1, 2]),
        ("not flag is null", &[0, 2, 3]),
        // A comparison leaves the missing rows out; `is null` brings them back.
        ("x > 0", &[0, 3]),
        ("x > 0 or x is null", &[0, 1, 2, 3]),
        ("not (x > 0)", &[4]),
        ("n >= 3 or n is null", &[1, 2, 3, 4]),
        ("name != \"bob\" or name is null", &[0, 2, 3, 4]),
        ("flag or flag is null", &[0, 1, 3, 4]),
        ("not flag or flag is null", &[1, 2, 4]),
        ("x is not null and n is not null", &[0, 4]),
        ("n is null and region is null", &[1]),
        ("(n is null or x is null) and not (flag is null)", &[2, 3]),
        // Arithmetic on a missing value is missing; `0 / 0` too.
        ("n + x is null", &[1, 2, 3]),
        ("x / (n - n) is null", &[1, 2, 3]),
        ("1 is null", &[]),
        ("'eu' is not null", &[0, 1, 2, 3, 4]),
    ];
    for &(text, expected) in cases {
        assert_eq!(rows(text, &b), expected, "{text}");
    }
    let kept = Filter::parse("name is null or flag is null")
        .expect("parses")
        .apply(b.clone())
        .expect("filters");
    assert_eq!(kept.num_rows(), 4);
    assert!(
        error("x is nul", &b).contains("expected `null` after `is`, found `nul` at column 6"),
        "{}",
        error("x is nul", &b)
    );
    assert!(error("wobble is null", &b).contains("wobble"));
}

#[test]
fn arithmetic_mixes_integer_and_float_columns() {
    let b = numbers();
    assert_eq!(rows("x * 2 + n >= 6", &b), [0, 4]);
    assert_eq!(rows("-x > 1", &b), [3]);
    assert_eq!(rows("n / 0 > 1000", &b), [0, 2, 4], "x/0 is infinite");
    assert_eq!(rows("n / n == 1", &b), [0, 2, 4], "0/0 is missing");
    assert_eq!(rows("x == 1.05 +- 0.1", &b), [0]);
    assert_eq!(rows("x != 1 +- 0.1", &b), [3, 4]);
}

fn text() -> RecordBatch {
    let dictionary: DictionaryArray<Int32Type> =
        vec![Some("eu"), Some("us"), None, Some("eu"), Some("apac")]
            .into_iter()
            .collect();
    batch(vec![
        ("region", Arc::new(dictionary)),
        (
            "name",
            Arc::new(StringArray::from(vec![
                Some("eu"),
                Some("bob"),
                Some("carl"),
                None,
                Some("zoe"),
            ])),
        ),
    ])
}

#[test]
fn text_compares_byte_by_byte_plain_or_dictionary() {
    let b = text();
    assert_eq!(rows("region == \"eu\"", &b), [0, 3]);
    assert_eq!(rows("region != 'eu'", &b), [1, 4]);
    assert_eq!(rows("region >= \"b\"", &b), [0, 1, 3]);
    assert_eq!(rows("name < \"c\"", &b), [1]);
    assert_eq!(rows("\"c\" > name", &b), [1]);
    assert_eq!(rows("name == region", &b), [0]);
    assert_eq!(rows("column(name) != \"zoe\"", &b), [0, 1, 2]);
}

#[test]
fn a_boolean_column_is_a_condition() {
    let b = batch(vec![
        (
            "flag",
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
        ),
        ("x", Arc::new(Float64Array::from(vec![1.0, 1.0, 1.0]))),
    ]);
    assert_eq!(rows("flag", &b), [0]);
    assert_eq!(rows("not flag", &b), [1]);
    assert_eq!(rows("flag == false", &b), [1]);
    assert_eq!(rows("flag != true", &b), [1]);
    assert_eq!(rows("flag == flag", &b), [0, 1]);
    assert_eq!(rows("flag or x > 0", &b), [0, 1, 2]);
    assert_eq!(rows("flag and x > 0", &b), [0]);
}

#[test]
fn dates_and_timestamps_compare_with_iso_text() {
    let day = 20_788; // 2026-12-01
    let b = batch(vec![
        (
            "date",
            Arc::new(Date32Array::from(vec![Some(day - 1), Some(day), None])),
        ),
        (
            "ts",
            Arc::new(TimestampMillisecondArray::from(vec![
                Some(i64::from(day) * 86_400_000 + 3_600_000),
                Some(i64::from(day) * 86_400_000 + 13 * 3_600_000),
                Some(0),
            ])),
        ),
    ]);
    assert_eq!(rows("date >= \"2026-12-01\"", &b), [1]);
    assert_eq!(rows("date < '2026-12-01'", &b), [0]);
    assert_eq!(rows("ts < \"2026-12-01T12:00:00\"", &b), [0, 2]);
    assert_eq!(rows("ts >= \"2026-12-01 12:00:00Z\"", &b), [1]);
    assert_eq!(rows("ts >= date", &b), [0, 1]);
    assert!(
        error("date > \"2026-02-31\"", &b).contains("`2026-02-31` is not an ISO date"),
        "{}",
        error("date > \"2026-02-31\"", &b)
    );
    assert!(
        error("date > 3", &b)
            .contains("cannot compare a date with a number (write a date as ISO text in quotes")
    );
}

#[test]
fn types_that_do_not_compare_are_refused_before_any_row_is_read() {
    let b = text();
    let message = error("region > 1", &b);
    assert!(
        message.contains("invalid filter `region > 1`: cannot compare text with a number"),
        "{message}"
    );
    assert!(message.contains("at column 1"), "{message}");
    assert!(error("region", &b).contains("`region` is text, not a condition"));
    assert!(error("region + 1 > 2", &b).contains("arithmetic takes numbers, and `region` is text"));
    let message = error("x > 1 and y > 2", &numbers());
    assert!(message.contains("names column `y`"), "{message}");
    assert!(
        Filter::parse("slices.min(recall) > 1")
            .expect_err("not a column")
            .to_string()
            .contains("is not a column name")
    );
    assert!(Filter::parse("x + 1").is_err(), "not a condition");
}

#[test]
fn an_unknown_column_names_the_file_and_the_closest_column() {
    let filter = Filter::parse("regoin == \"eu\"").expect("parses");
    let err = filter
        .check(FilePath::new("data/a.parquet"), &text().schema())
        .expect_err("no such column");
    let Error::UnknownFilterColumn {
        column, suggestion, ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(column, "regoin");
    assert_eq!(suggestion.as_deref(), Some("region"));
    assert_eq!(
        err.to_string(),
        "filter `regoin == \"eu\"` names column `regoin`, which `data/a.parquet` does not have (it has: region, name)"
    );
    assert_eq!(filter.columns(), ["regoin"]);
}

#[test]
fn apply_keeps_the_matching_rows_of_every_column() {
    let filter = Filter::parse("region == \"eu\"").expect("parses");
    let kept = filter.apply(text()).expect("filters");
    assert_eq!(kept.num_rows(), 2);
    let names = kept.column(1).as_any().downcast_ref::<StringArray>();
    assert_eq!(
        names.expect("text").iter().collect::<Vec<_>>(),
        [Some("eu"), None]
    );
}

/// A Parquet file of four row groups of 100 rows: `x` runs 0..400, `region` is `a`..`d` by
/// group, `flag` is true only in the third, and `y` is missing in the last.
fn grouped() -> (Vec<RecordBatch>, ParquetMetaData, arrow_schema::SchemaRef) {
    let groups: Vec<RecordBatch> = (0..4i64)
        .map(|g| {
            let x: Vec<i64> = (g * 100..(g + 1) * 100).collect();
            let region = ["a", "b", "c", "d"][usize::try_from(g).expect("small")];
            batch(vec![
                ("x", Arc::new(Int64Array::from(x))),
                ("region", Arc::new(StringArray::from(vec![region; 100]))),
                ("flag", Arc::new(BooleanArray::from(vec![g == 2; 100]))),
                (
                    "y",
                    Arc::new(Float64Array::from(vec![(g < 3).then_some(1.5); 100])),
                ),
            ])
        })
        .collect();
    let schema = groups[0].schema();
    let file = tempfile::tempfile().expect("a temp file");
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(100))
        .build();
    let mut writer = ArrowWriter::try_new(
        file.try_clone().expect("a second handle"),
        schema.clone(),
        Some(properties),
    )
    .expect("writer");
    for group in &groups {
        writer.write(group).expect("writes");
    }
    writer.close().expect("closes");
    let metadata = parquet::arrow::arrow_reader::ArrowReaderMetadata::load(
        &file,
        parquet::arrow::arrow_reader::ArrowReaderOptions::new(),
    )
    .expect("metadata");
    (groups, metadata.metadata().as_ref().clone(), schema)
}

const CONDITIONS: [&str; 21] = [
    "y is null",
    "y is not null",
    "x is null",
    "region is not null or x > 0",
    "not (flag is null) and y is null",
    "x >= 250",
    "x < 0",
    "x > 399",
    "x == 150 or region == \"d\"",
    "x != 5",
    "not (x > 0)",
    "x > 50 and x < 120",
    "region == \"b\"",
    "region > \"b\"",
    "region != \"a\"",
    "flag",
    "flag == false",
    "y > 0",
    "y != 1.5",
    "x + 1 > 300",
    "150.5 > x and region <= 'b'",
];

#[test]
fn row_groups_are_skipped_only_where_the_statistics_prove_no_row_matches() {
    let (groups, metadata, schema) = grouped();
    let kept = |text: &str| {
        row_groups(
            &Filter::parse(text).expect("parses"),
            &metadata,
            &schema,
            &[],
        )
    };
    assert_eq!(kept("x >= 250"), [2, 3]);
    assert_eq!(kept("x < 0"), Vec::<usize>::new());
    assert_eq!(kept("x == 150 or region == \"d\""), [1, 3]);
    assert_eq!(kept("x > 50 and x < 120"), [0, 1]);
    assert_eq!(kept("region == \"b\""), [1]);
    assert_eq!(kept("flag"), [2]);
    assert_eq!(kept("y > 0"), [0, 1, 2], "all missing in the last");
    assert_eq!(kept("y is null"), [3], "none missing in the others");
    assert_eq!(kept("y is not null"), [0, 1, 2]);
    assert_eq!(kept("x is null"), Vec::<usize>::new());
    assert_eq!(kept("x is null or region == \"c\""), [2]);
    assert_eq!(
        kept("not (y is null)"),
        [0, 1, 2, 3],
        "not is never used to skip"
    );
    assert_eq!(
        kept("not (x > 0)"),
        [0, 1, 2, 3],
        "not is never used to skip"
    );
    // Never a group that holds a match, for every condition.
    for text in CONDITIONS {
        let filter = Filter::parse(text).expect("parses");
        let kept = row_groups(&filter, &metadata, &schema, &[]);
        for (g, group) in groups.iter().enumerate() {
            let matches = filter.apply(group.clone()).expect("filters").num_rows();
            assert!(
                matches == 0 || kept.contains(&g),
                "`{text}` skipped group {g} with {matches} matches"
            );
        }
    }
}

#[test]
fn partition_values_rule_out_a_whole_file() {
    let (_, metadata, schema) = grouped();
    let kept = |text: &str, partitions: &[(String, Bound)]| {
        row_groups(
            &Filter::parse(text).expect("parses"),
            &metadata,
            &schema,
            partitions,
        )
    };
    let eu = [(
        "part".to_owned(),
        Bound::Text {
            min: "eu".into(),
            max: "eu".into(),
            complete: true,
        },
    )];
    assert_eq!(kept("part == \"eu\"", &eu), [0, 1, 2, 3]);
    assert_eq!(kept("part == \"us\"", &eu), Vec::<usize>::new());
    assert_eq!(kept("part == \"us\" or x < 10", &eu), [0]);
    let missing = [("part".to_owned(), Bound::Missing)];
    assert_eq!(kept("part != \"us\"", &missing), Vec::<usize>::new());
    // A partition value is missing only as Hive's `__HIVE_DEFAULT_PARTITION__`.
    assert_eq!(kept("part is null", &eu), Vec::<usize>::new());
    assert_eq!(kept("part is not null", &eu), [0, 1, 2, 3]);
    assert_eq!(kept("part is null", &missing), [0, 1, 2, 3]);
    assert_eq!(kept("part is not null", &missing), Vec::<usize>::new());
    assert_eq!(kept("part is null or x < 10", &eu), [0]);
    let unknown = [("part".to_owned(), Bound::Unknown)];
    assert_eq!(kept("part is null", &unknown), [0, 1, 2, 3]);
    let day = [(
        "date".to_owned(),
        Bound::Numbers {
            min: 20_788.0,
            max: 20_788.0,
            date: true,
            complete: true,
        },
    )];
    assert_eq!(kept("date >= \"2026-12-02\"", &day), Vec::<usize>::new());
    assert_eq!(kept("date >= \"2026-12-01\"", &day), [0, 1, 2, 3]);
}

/// Writes `groups` as one Parquet file, a row group each.
fn write_groups(path: &FilePath, groups: &[RecordBatch]) {
    fs_err::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    let file = fs_err::File::create(path).expect("create").into_parts().0;
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(groups[0].num_rows()))
        .build();
    let mut writer =
        ArrowWriter::try_new(file, groups[0].schema(), Some(properties)).expect("writer");
    for group in groups {
        writer.write(group).expect("writes");
    }
    writer.close().expect("closes");
}

#[test]
fn a_dataset_hands_on_only_the_matching_rows_of_the_wanted_columns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (groups, ..) = grouped();
    let mut files = Vec::new();
    for region in ["eu", "us"] {
        let path = dir.path().join(format!("region={region}/part-0.parquet"));
        write_groups(&path, &groups);
        files.push(path);
    }
    let read = |text: &str, columns: &[&str]| {
        let options = crate::ReadOptions {
            filter: Some(Filter::parse(text).expect("parses")),
            ..crate::ReadOptions::default()
        };
        crate::Dataset::of_files(files.clone(), options).read(columns)
    };
    // 400 rows a file: x from 0 to 399, in four row groups.
    let table = read("x >= 250 and region == \"eu\"", &["y"]).expect("reads");
    assert_eq!(
        (table.rows, table.names.clone()),
        (150, vec!["y".to_owned()])
    );
    let table = read("flag or region != \"eu\"", &["x", "region"]).expect("reads");
    assert_eq!(table.rows, 100 + 400);
    let table = read("region == \"fr\"", &["x"]).expect("reads");
    assert_eq!(table.rows, 0);
    let err = read("regin == \"eu\"", &["x"]).expect_err("no such column");
    assert!(
        matches!(&err, Error::UnknownFilterColumn { suggestion: Some(s), .. } if s == "region"),
        "{err}"
    );
}

/// A dataset of `files` read for `columns` where `text` holds, `schema` giving types.
fn read_typed(
    files: &[std::path::PathBuf],
    schema: &[(&str, crate::ColumnType)],
    text: &str,
    columns: &[&str],
) -> crate::Result<crate::table::Table> {
    let options = crate::ReadOptions {
        schema: schema.iter().map(|(c, t)| ((*c).to_owned(), *t)).collect(),
        filter: Some(Filter::parse(text).expect("parses")),
        row_groups: None,
    };
    crate::Dataset::of_files(files.to_vec(), options).read(columns)
}

/// The statistics describe the stored values; a column `--schema` converts is filtered as
/// converted, so neither its statistics nor a retyped partition key may rule rows out.
#[test]
fn a_column_the_schema_retypes_is_not_pruned_by_its_stored_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("day=2026-12-01/k=07/part-0.parquet");
    write_groups(
        &path,
        &[batch(vec![
            ("x", Arc::new(Float64Array::from(vec![2.7, 2.2]))),
            (
                "d",
                Arc::new(StringArray::from(vec![
                    "2026-12-01T10:00:00",
                    "2026-12-01 23:00",
                ])),
            ),
        ])],
    );
    let files = [path];
    // x as stored lies within [2.2, 2.7]; as int it is 2 both times.
    let table =
        read_typed(&files, &[("x", crate::ColumnType::Int)], "x == 2", &["x"]).expect("reads");
    assert_eq!(table.rows, 2);
    // d as stored is text greater than "2026-12-01"; as a date it equals it.
    let table = read_typed(
        &files,
        &[("d", crate::ColumnType::Date)],
        "d <= \"2026-12-01\"",
        &["x"],
    )
    .expect("reads");
    assert_eq!(table.rows, 2);
    // The key `07` is an integer key; as text it is "07", not 7.
    let table = read_typed(
        &files,
        &[("k", crate::ColumnType::Text)],
        "k == \"07\"",
        &["x"],
    )
    .expect("reads");
    assert_eq!(table.rows, 2);
    // The key as a date is not before midnight; as text it sorts before the time.
    let table = read_typed(
        &files,
        &[("day", crate::ColumnType::Text)],
        "day < \"2026-12-01T00:00\"",
        &["day"],
    )
    .expect("reads");
    assert_eq!(table.rows, 2);
}

/// A Parquet text column given the type date reads by the same rules as a CSV column does.
#[test]
fn a_parquet_text_column_converts_to_a_date_as_csv_text_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.parquet");
    write_groups(
        &path,
        &[batch(vec![(
            "d",
            Arc::new(StringArray::from(vec!["2026-12-01", "20261202"])) as ArrayRef,
        )])],
    );
    let options = crate::ReadOptions {
        schema: vec![("d".to_owned(), crate::ColumnType::Date)],
        filter: None,
        row_groups: None,
    };
    let err = crate::Dataset::of_files(vec![path], options)
        .read(&["d"])
        .expect_err("20261202 is not an ISO date");
    assert!(
        matches!(&err, Error::BadStoredValue { column, value, row: 2, .. } if column == "d" && value == "20261202"),
        "{err}"
    );
}

/// The columns an unknown filter column is matched against are the file's names whole, a
/// name with a comma in it too.
#[test]
fn an_unknown_filter_column_is_matched_against_whole_column_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.parquet");
    write_groups(
        &path,
        &[batch(vec![
            (
                "net, gross",
                Arc::new(Float64Array::from(vec![1.0])) as ArrayRef,
            ),
            ("y", Arc::new(Float64Array::from(vec![2.0]))),
        ])],
    );
    let err = read_typed(&[path], &[], "gros > 1", &["y"]).expect_err("no column gros");
    let Error::UnknownFilterColumn {
        suggestion,
        available,
        ..
    } = &err
    else {
        panic!("{err}");
    };
    assert_ne!(suggestion.as_deref(), Some("gross"), "{err}");
    assert_eq!(available, "net, gross, y");
}

/// A file its partition values rule out is not opened at all: neither a CSV file's sample nor
/// an Arrow IPC file is read (garbage here, which opening would refuse).
#[test]
fn a_file_its_partition_values_rule_out_is_not_opened() {
    let dir = tempfile::tempdir().expect("temp dir");
    let eu = dir.path().join("region=eu/part-0.csv");
    fs_err::create_dir_all(eu.parent().expect("a parent")).expect("mkdir");
    fs_err::write(&eu, "x\n1\n2\n").expect("write");
    let mut files = vec![eu];
    for name in ["part-0.csv", "part-1.arrow"] {
        let path = dir.path().join("region=us").join(name);
        fs_err::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        fs_err::write(&path, "x\n1,2,3\n\u{0}garbage").expect("write");
        files.push(path);
    }
    let table = read_typed(&files, &[], "region == \"eu\"", &["x"]).expect("reads");
    assert_eq!(table.rows, 2);
    let mut rows = 0;
    crate::Dataset::of_files(
        files.clone(),
        crate::ReadOptions {
            filter: Some(Filter::parse("region == \"eu\"").expect("parses")),
            ..crate::ReadOptions::default()
        },
    )
    .for_each_piece::<Error>(&["x"], 10, |piece| {
        rows += piece.rows;
        Ok(())
    })
    .expect("reads");
    assert_eq!(rows, 2);
    // predict's row reader skips them too.
    let data = crate::Dataset::of_files(
        files.clone(),
        crate::ReadOptions {
            filter: Some(Filter::parse("region == \"eu\"").expect("parses")),
            ..crate::ReadOptions::default()
        },
    );
    let feature = crate::rows::Feature::Numeric {
        column: "x".into(),
        mean: 0.0,
        std: 1.0,
    };
    let rows: usize = crate::rows::RowReader::open(&data, vec![feature], &[], 10)
        .expect("opens")
        .map(|batch| batch.expect("reads").rows)
        .sum();
    assert_eq!(rows, 2);
    // Every file ruled out: the first is still opened, for its columns' types.
    let table = read_typed(&files, &[], "region == \"fr\"", &["x"]).expect("reads");
    assert_eq!(table.rows, 0);
}
