//! What the HTML reports share: the page around them, their style, escaping and tables. Pages are
//! self-contained: inline CSS and SVG, no scripts, no network.

use std::fmt::Write as _;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:72rem}\
table{border-collapse:collapse;margin:0.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:0.25rem 0.6rem;text-align:left}\
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}.bad{background:#fde2e2}\
.pass{color:#17662b;font-weight:600}.fail{color:#a11;font-weight:600}.charts{display:flex;flex-wrap:wrap;gap:1.5rem}\
figure{margin:0}figcaption{font-weight:600;margin-bottom:0.3rem}svg text{font-size:11px;fill:#444}";

/// Escapes text for HTML.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A table; cells that parse as numbers are right-aligned; rows flagged true are highlighted.
pub(crate) fn table(header: &[&str], rows: &[(Vec<String>, bool)]) -> String {
    let mut out = String::from("<table><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>");
    for (cells, flagged) in rows {
        out.push_str(if *flagged {
            "<tr class=\"bad\">"
        } else {
            "<tr>"
        });
        for cell in cells {
            let class = if cell.parse::<f64>().is_ok_and(f64::is_finite) {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out
}

/// A whole page titled `title` around `body`.
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}</style></head><body>{body}</body></html>\n",
        escape(title)
    )
}

/// A gates section: one item per gate, PASS or FAIL, the gate's text and what it found; nothing
/// without gates.
pub(crate) fn gate_list<'a>(gates: impl IntoIterator<Item = (bool, &'a str, String)>) -> String {
    let mut items = String::new();
    for (passed, gate, detail) in gates {
        let (class, word) = if passed {
            ("pass", "PASS")
        } else {
            ("fail", "FAIL")
        };
        let _ = write!(
            items,
            "<li><span class=\"{class}\">{word}</span> <code>{}</code> {}</li>",
            escape(gate),
            escape(&detail)
        );
    }
    if items.is_empty() {
        items
    } else {
        format!("<h2>Gates</h2><ul>{items}</ul>")
    }
}
