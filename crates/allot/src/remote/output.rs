//! What a command prints: a table for people, JSON for programs (the API's own shapes) or
//! CSV for spreadsheets. Data goes to stdout only; progress and notes go to stderr.

use std::io::{IsTerminal as _, Write as _};

use anyhow::Result;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

impl Format {
    /// `asked`, else a table on a terminal and JSON otherwise.
    pub fn or_default(asked: Option<Format>) -> Format {
        asked.unwrap_or(if std::io::stdout().is_terminal() { Format::Table } else { Format::Json })
    }
}

/// Rows to print: named columns for the table and CSV, and the API's objects for JSON.
pub struct Listing {
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
    pub json: serde_json::Value,
}

impl Listing {
    /// `items` as rows of `columns`, each made by `row`; JSON is the items as the API sent them.
    pub fn of<T: Serialize>(columns: &'static [&'static str], items: &[T], row: impl Fn(&T) -> Vec<String>) -> Self {
        Self { columns, rows: items.iter().map(row).collect(), json: serde_json::to_value(items).unwrap_or_default() }
    }

    /// One object as one row; JSON is the object.
    pub fn one<T: Serialize>(columns: &'static [&'static str], item: &T, row: Vec<String>) -> Self {
        Self { columns, rows: vec![row], json: serde_json::to_value(item).unwrap_or_default() }
    }

    pub fn print(&self, format: Format) -> Result<()> {
        let mut out = std::io::stdout().lock();
        match format {
            Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&self.json)?)?,
            Format::Csv => {
                let mut writer = csv::Writer::from_writer(out);
                writer.write_record(self.columns)?;
                for row in &self.rows {
                    writer.write_record(row)?;
                }
                writer.flush()?;
            }
            Format::Table => write_table(&mut out, self.columns, &self.rows)?,
        }
        Ok(())
    }
}

/// Columns padded to their widest cell, headers in capitals; the last column unpadded.
fn write_table(out: &mut impl std::io::Write, columns: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let headers: Vec<String> = columns.iter().map(|c| c.to_uppercase()).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn std::io::Write, cells: &[String]| -> std::io::Result<()> {
        let last = cells.len().saturating_sub(1);
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, width))| if i == last { cell.clone() } else { format!("{cell:<width$}") })
            .collect();
        writeln!(out, "{}", padded.join("  ").trim_end())
    };
    line(out, &headers)?;
    for row in rows {
        line(out, row)?;
    }
    Ok(())
}

/// An optional cell: empty when absent.
pub fn cell(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_table_pads_every_column_but_the_last_to_its_widest_cell() {
        let rows = vec![vec!["ana".to_owned(), "Ana Okafor".to_owned()], vec!["benjamin".to_owned(), "B".to_owned()]];
        let mut out = Vec::new();
        super::write_table(&mut out, &["id", "name"], &rows).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "ID        NAME\nana       Ana Okafor\nbenjamin  B\n");
    }
}
