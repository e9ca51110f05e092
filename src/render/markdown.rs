//! Markdown, for a pull-request comment or a CI job summary: tables and headings.

use std::fmt::Write as _;

/// Rows under a header as a Markdown table; a `|` inside a cell is escaped.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(
        out,
        "|{}|",
        header.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// Text in backticks (code), with a run of backticks inside fenced by a longer one.
pub(crate) fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_escape_pipes_and_code_fences_backticks() {
        let rows = vec![vec!["a|b".to_owned(), "1".to_owned()]];
        assert_eq!(
            table(&["k", "v"], &rows),
            "| k | v |\n|---|---|\n| a\\|b | 1 |\n"
        );
        assert_eq!(code("data/a.csv"), "`data/a.csv`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
    }
}
