//! The model card laid out as blocks (headings, paragraphs with code spans, tables, lists, free
//! text) and written out as Markdown or as one self-contained HTML page (the page and table
//! helpers every HTML report shares).

use std::fmt::Write as _;

use crate::render::{html, markdown};

/// A piece of a paragraph.
pub(super) enum Span {
    Text(String),
    Code(String),
}

/// A piece of the card.
pub(super) enum Block {
    Heading(u8, String),
    Para(Vec<Span>),
    Table(Vec<String>, Vec<Vec<String>>),
    List(Vec<String>),
    /// Free text from `card.yaml`, kept as written.
    Prose(String),
}

pub(super) fn t(text: impl Into<String>) -> Span {
    Span::Text(text.into())
}

pub(super) fn code(text: impl Into<String>) -> Span {
    Span::Code(text.into())
}

pub(super) fn table<const N: usize>(header: [&str; N], rows: Vec<Vec<String>>) -> Block {
    Block::Table(header.iter().map(|h| (*h).to_owned()).collect(), rows)
}

/// The blocks as Markdown.
pub(super) fn to_markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "{} {text}\n", "#".repeat(usize::from(*level)));
            }
            Block::Para(spans) => {
                for span in spans {
                    match span {
                        Span::Text(text) => out.push_str(text),
                        Span::Code(text) => out.push_str(&markdown::code(text)),
                    }
                }
                out.push_str("\n\n");
            }
            Block::Table(header, rows) => {
                let header: Vec<&str> = header.iter().map(String::as_str).collect();
                out.push_str(&markdown::table(&header, rows));
                out.push('\n');
            }
            Block::List(items) => {
                for item in items {
                    let _ = writeln!(out, "- {item}");
                }
                out.push('\n');
            }
            Block::Prose(text) => {
                let _ = writeln!(out, "{}\n", text.trim_end());
            }
        }
    }
    out
}

/// The blocks as one self-contained page.
pub(super) fn to_html(title: &str, blocks: &[Block]) -> String {
    let mut body = String::new();
    for block in blocks {
        match block {
            Block::Heading(level, text) => {
                let _ = write!(body, "<h{level}>{}</h{level}>", html::escape(text));
            }
            Block::Para(spans) => {
                body.push_str("<p>");
                for span in spans {
                    match span {
                        Span::Text(text) => body.push_str(&html::escape(text)),
                        Span::Code(text) => {
                            let _ = write!(body, "<code>{}</code>", html::escape(text));
                        }
                    }
                }
                body.push_str("</p>");
            }
            Block::Table(header, rows) => {
                let header: Vec<&str> = header.iter().map(String::as_str).collect();
                let rows: Vec<(Vec<String>, bool)> =
                    rows.iter().map(|r| (r.clone(), false)).collect();
                let table = html::table(&header, &rows);
                // A table of names and values (the summary) needs no header row on a page.
                if header.iter().all(|h| h.is_empty()) {
                    let empty = format!("<tr>{}</tr>", "<th></th>".repeat(header.len()));
                    body.push_str(&table.replacen(&empty, "", 1));
                } else {
                    body.push_str(&table);
                }
            }
            Block::List(items) => {
                body.push_str("<ul>");
                for item in items {
                    let _ = write!(body, "<li>{}</li>", html::escape(item));
                }
                body.push_str("</ul>");
            }
            Block::Prose(text) => {
                for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
                    let _ = write!(
                        body,
                        "<p>{}</p>",
                        html::escape(paragraph.trim()).replace('\n', "<br>")
                    );
                }
            }
        }
    }
    html::page(title, &body)
}
